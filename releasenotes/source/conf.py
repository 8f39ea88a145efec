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

"""Sphinx configuration of the ironic-amt release notes."""

import configparser
import os

from docutils import nodes

extensions = [
    'openstackdocstheme',
    'reno.sphinxext',
]

openstackdocs_repo_name = 'x/ironic-amt'
openstackdocs_use_storyboard = False
openstackdocs_bug_project = 'ironic-amt'
openstackdocs_bug_tag = ''
openstackdocs_auto_name = False

project = 'ironic-amt Release Notes'
copyright = 'ironic-amt developers'
master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'native'

html_theme = 'openstackdocs'
html_static_path = []


def _release_version():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(os.path.dirname(__file__), '..', '..',
                             'setup.cfg'))
    return parser.get('metadata', 'version', fallback=None)


def _title_first_release(app, doctree, docname):
    # reno names the notes of a repository without any release tag
    # "0.0.0". Until the first release commit is tagged, those notes are
    # that release's: pbr's [metadata]version in setup.cfg. Once the tag
    # exists reno uses it and there is no "0.0.0" left to rename.
    version = _release_version()
    if not version:
        return
    for title in list(doctree.findall(nodes.title)):
        if title.astext() == '0.0.0':
            title.replace(title.children[0], nodes.Text(version))


def setup(app):
    """Sphinx extension hook of this conf.py."""
    app.connect('doctree-resolved', _title_first_release)
