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

"""Sphinx directive listing the entry points the package registers.

``.. amt-entry-points::`` renders a table generated from the
``[entry_points]`` section of setup.cfg, with the ``ironic.conf`` option
that enables each Ironic interface, so the install page always lists every
interface, command and option group the package ships.
"""

import configparser
import os

import doc_tables
from sphinx.util import docutils as sphinx_docutils


_SETUP_CFG = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                          'setup.cfg')
_HEADER = ('Entry point group', 'Name', 'Object', 'Enable with')
_WIDTHS = (30, 16, 34, 40)
_INTERFACES = 'ironic.hardware.interfaces.'


def entry_points(path=_SETUP_CFG):
    """Read the entry points of setup.cfg.

    :param path: the setup.cfg path.
    :returns: list of (group, name, object path) in file order.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    found = []
    for group, text in parser.items('entry_points'):
        for line in text.splitlines():
            if '=' in line:
                name, target = (part.strip() for part in line.split('=', 1))
                found.append((group, name, target))
    return found


def how_to_enable(group, name):
    """What an operator sets or runs to use an entry point.

    :param group: the entry point group.
    :param name: the entry point name.
    :returns: a short text.
    """
    if group.startswith(_INTERFACES):
        kind = group[len(_INTERFACES):]
        return '[DEFAULT]enabled_%s_interfaces += %s' % (kind, name)
    if group == 'ironic.hardware.types':
        return '[DEFAULT]enabled_hardware_types += %s' % name
    if group == 'oslo.config.opts':
        return ('oslo-config-generator --namespace %s (the sample is '
                'installed as etc/ironic/ironic.conf.amt.sample)' % name)
    if group == 'console_scripts':
        return 'the %s command' % name
    return '-'


class AMTEntryPoints(sphinx_docutils.SphinxDirective):
    """Render setup.cfg's entry points as a table."""

    has_content = False

    def run(self):
        """Build the table.

        :returns: a list holding one table node.
        """
        self.env.note_dependency(os.path.abspath(_SETUP_CFG))
        rows = []
        for ep_group, name, target in entry_points():
            enable = how_to_enable(ep_group, name)
            command = enable.startswith('the ') or enable == '-'
            rows.append(((ep_group, name, target, enable),
                         (0, 1, 2) if command else (0, 1, 2, 3)))
        return [doc_tables.table(_HEADER, _WIDTHS, rows,
                                 'amt-entry-points')]


def setup(app):
    """Register the directive.

    :param app: the Sphinx application.
    :returns: the extension metadata.
    """
    app.add_directive('amt-entry-points', AMTEntryPoints)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
