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

"""parse_xml: what expat is allowed to build, and what ends it."""

from oslotest import base

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import parsing

ENDPOINT = 'http://192.0.2.1:16992/wsman'
NS_A = 'http://example.com/a'


class ParseXMLTestCase(base.BaseTestCase):

    def parse(self, content):
        return parsing.parse_xml(ENDPOINT, content)

    def assertRefused(self, error_class, content, message):
        error = self.assertRaises(error_class, self.parse, content)
        self.assertIn(message, str(error))
        return error

    def test_names_and_attributes_in_elementtree_form(self):
        root = self.parse(
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<a:Root xmlns:a="%s" Plain="1" a:Qualified="2">'
            b'<a:Child>one &amp; two</a:Child><Bare/><a:Child>x</a:Child>'
            b'</a:Root>' % NS_A.encode())
        self.assertEqual('{%s}Root' % NS_A, root.tag)
        self.assertEqual({'Plain': '1', '{%s}Qualified' % NS_A: '2'},
                         dict(root.attrib))
        self.assertEqual(['{%s}Child' % NS_A, 'Bare', '{%s}Child' % NS_A],
                         [child.tag for child in root])
        self.assertEqual('one & two', root[0].text)
        self.assertIsNone(root[1].text)

    def test_text_split_across_reads_is_joined(self):
        text = 'x' * 100000
        root = self.parse(b'<r>%s</r>' % text.encode())
        self.assertEqual(text, root.text)

    def test_a_document_type_is_refused(self):
        # defusedxml allows a DTD without entities; AMT never sends one.
        self.assertRefused(exceptions.WSManInvalidResponse,
                           b'<!DOCTYPE r><r/>',
                           'forbidden XML construct (DTD)')

    def test_entities_and_external_references_are_refused(self):
        for content in (
                b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
                b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b'<r>&e;</r>',
                b'<!DOCTYPE r SYSTEM "http://192.0.2.9/r.dtd"><r/>'):
            self.assertRefused(exceptions.WSManInvalidResponse, content,
                               'forbidden XML construct')

    def test_undeclared_entity_is_malformed(self):
        error = self.assertRefused(exceptions.WSManProtocolError,
                                   b'<r>&e;</r>', 'unparsable XML')
        self.assertNotIsInstance(error, exceptions.WSManInvalidResponse)

    def test_nesting_limit(self):
        deep = parsing.MAX_DEPTH
        self.assertEqual('r', self.parse(
            b'<r>' * deep + b'</r>' * deep).tag)
        self.assertRefused(exceptions.WSManInvalidResponse,
                           b'<r>' * (deep + 1) + b'</r>' * (deep + 1),
                           'nested deeper than %d' % deep)

    def test_device_text_in_a_syntax_error_is_sanitised(self):
        error = self.assertRefused(exceptions.WSManProtocolError,
                                   b'<r>\x1b[31m</x>', 'unparsable XML')
        self.assertNotIn('\x1b', str(error))

    def test_truncated_and_empty(self):
        for content in (b'', b'<r><a>', b'<?xml version="1.0"?>'):
            self.assertRefused(exceptions.WSManProtocolError, content,
                               'unparsable XML')
