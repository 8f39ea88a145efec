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

"""Sphinx configuration of the ironic-amt documentation."""

import os
import sys
import warnings

sys.path.insert(0, os.path.abspath('_exts'))
# The generated tables import Ironic, whose oslo.service and futurist
# import eventlet, which warns that it is deprecated: Ironic's warning, not
# the documentation's, and noise in the build output.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

extensions = [
    'openstackdocstheme',
    'oslo_config.sphinxext',
    'amt_driver_properties',
    'amt_entry_points',
]

# openstackdocstheme
openstackdocs_repo_name = 'x/ironic-amt'
openstackdocs_use_storyboard = False
openstackdocs_bug_project = 'ironic-amt'
openstackdocs_bug_tag = ''
openstackdocs_auto_name = False

project = 'ironic-amt'
copyright = 'ironic-amt developers'
master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'native'
add_module_names = False

html_theme = 'openstackdocs'
html_title = 'ironic-amt'
html_last_updated_fmt = '%Y-%m-%d'
html_static_path = ['_static']
html_css_files = ['ironic-amt.css']
