# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Sphinx directive listing the driver_info keys of the AMT interfaces.

``.. amt-driver-properties::`` renders a table generated from
``ironic_amt.drivers.modules.amt.common``, so the documentation always
matches what ``baremetal driver property list pxe_amt`` prints; with
``:interface: console`` it lists the keys only the amt-socat console
interface reads.
"""

import doc_tables
from docutils.parsers.rst import directives
from sphinx.util import docutils as sphinx_docutils

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import console

_HEADER = ('Key', 'Required', 'Description')
_WIDTHS = (20, 10, 70)


class AMTDriverProperties(sphinx_docutils.SphinxDirective):
    """Render common.COMMON_PROPERTIES as a table, required keys first."""

    has_content = False
    option_spec = {'interface': directives.unchanged}

    def run(self):
        """Build the table.

        :returns: a list holding one table node.
        """
        rows = []
        properties = (console.CONSOLE_PROPERTIES
                      if self.options.get('interface') == 'console'
                      else common.COMMON_PROPERTIES)
        for key, description in properties.items():
            required = 'yes' if key in common.REQUIRED_PROPERTIES else 'no'
            rows.append(((key, required, str(description)), (0,)))
        return [doc_tables.table(_HEADER, _WIDTHS, rows,
                                 'amt-driver-properties')]


def setup(app):
    """Register the directive.

    :param app: the Sphinx application.
    :returns: the extension metadata.
    """
    app.add_directive('amt-driver-properties', AMTDriverProperties)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
