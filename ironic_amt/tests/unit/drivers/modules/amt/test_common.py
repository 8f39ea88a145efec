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

import os
import tempfile

import fixtures
from ironic.common import exception

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.tests.unit.drivers.modules.amt import utils
from ironic_amt.wsman import exceptions as wsman_exc


class ParseDriverInfoTestCase(utils.AMTTestCase):

    def _parse(self, **changes):
        info = dict(utils.INFO)
        info.update(changes)
        for key, value in list(info.items()):
            if value is None:
                del info[key]
        self.node.driver_info = info
        return common.parse_driver_info(self.node)

    def test_defaults(self):
        self.assertEqual({'address': '192.0.2.10', 'port': 16992,
                          'protocol': 'http', 'username': 'admin',
                          'password': utils.PASSWORD, 'verify': True},
                         self._parse())

    def test_https_default_port_and_conf_protocol(self):
        self.config(protocol='https', group='amt')
        info = self._parse()
        self.assertEqual(('https', 16993), (info['protocol'], info['port']))

    def test_protocol_and_port_from_driver_info(self):
        info = self._parse(amt_protocol='https', amt_port='1234')
        self.assertEqual(('https', 1234), (info['protocol'], info['port']))

    def test_every_missing_key_named(self):
        self.node.driver_info = {}
        error = self.assertRaises(exception.MissingParameterValue,
                                  common.parse_driver_info, self.node)
        message = str(error)
        self.assertIn(self.node.uuid, message)
        for key in ('amt_address', 'amt_username', 'amt_password'):
            self.assertIn(key, message)

    def test_empty_value_is_missing(self):
        error = self.assertRaises(exception.MissingParameterValue,
                                  self._parse, amt_password='')
        self.assertIn('amt_password', str(error))
        self.assertNotIn('amt_address', str(error))

    def test_addresses(self):
        for address, expected in [('amt-01.example.org', 'amt-01.example.org'),
                                  ('10.0.0.1', '10.0.0.1'),
                                  ('fd00::5', 'fd00::5'),
                                  ('[fd00::5]', 'fd00::5'),
                                  (' 10.0.0.2 ', '10.0.0.2')]:
            self.assertEqual(expected,
                             self._parse(amt_address=address)['address'])

    def test_bad_values_name_key_value_and_node(self):
        cases = [('amt_address', 'http://host/'),
                 ('amt_address', 'bad host'),
                 ('amt_address', 12),
                 ('amt_protocol', 'ftp'),
                 ('amt_port', 'eighty'),
                 ('amt_port', '0'),
                 ('amt_port', 70000),
                 ('amt_verify_ca', 'maybe'),
                 ('amt_verify_ca', '/nonexistent/ca.pem')]
        for key, value in cases:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      self._parse, **{key: value})
            message = str(error)
            self.assertIn(key, message)
            self.assertIn(str(value), message)
            self.assertIn(self.node.uuid, message)

    def test_ports(self):
        for port, expected in [(1, 1), ('16993', 16993), (' 623 ', 623),
                               (65535, 65535)]:
            self.assertEqual(expected, self._parse(amt_port=port)['port'])
        for port in (True, 16992.5, '1_000', '+80', '-1', 65536, '', []):
            error = self.assertRaises(exception.InvalidParameterValue,
                                      self._parse, amt_port=port)
            self.assertIn('amt_port', str(error))

    def test_digits_password_given_as_a_number(self):
        # "amt_password=12345678" on the command line is a JSON number.
        info = self._parse(amt_password=12345678, amt_username=1000)
        self.assertEqual(('1000', '12345678'),
                         (info['username'], info['password']))

    def test_bad_credentials_refused_without_echo(self):
        secret = 'Sup3r\r\nX-Injected: yes'
        cases = [('amt_username', 'admin\r\nX-Injected: yes', 'control'),
                 ('amt_username', 'ad\x00min', 'control'),
                 ('amt_username', 'adm\u0129n\u2603', 'Latin-1'),
                 ('amt_username', '   ', 'empty'),
                 ('amt_password', secret, 'control'),
                 ('amt_password', '\t', 'empty'),
                 ('amt_password', 1234.5, 'quote'),
                 ('amt_password', True, 'expected a string'),
                 ('amt_username', {'a': 1}, 'expected a string')]
        for key, value, why in cases:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      self._parse, **{key: value})
            message = str(error)
            self.assertIn(key, message)
            self.assertIn(why, message)
            self.assertIn(self.node.uuid, message)
            self.assertNotIn(str(value).strip() or 'X', message)
        # A non-Latin-1 password is fine: it only goes into the digest.
        self.assertEqual('p\u00e4ss\u2603w0rd', self._parse(
            amt_password='p\u00e4ss\u2603w0rd')['password'])

    def test_control_characters_in_address(self):
        error = self.assertRaises(exception.InvalidParameterValue,
                                  self._parse,
                                  amt_address='10.0.0.1\r\nHost: evil')
        self.assertIn('amt_address', str(error))
        self.assertNotIn('\n', str(error))

    def test_non_string_password_is_not_echoed(self):
        error = self.assertRaises(exception.InvalidParameterValue,
                                  self._parse, amt_password=['hunter2'])
        self.assertIn('amt_password', str(error))
        self.assertNotIn('hunter2', str(error))

    def test_verify_ca(self):
        with tempfile.NamedTemporaryFile(suffix='.pem') as ca:
            for value, expected in [('false', False), ('True', True),
                                    (False, False), (ca.name, ca.name),
                                    (os.path.dirname(ca.name),
                                     os.path.dirname(ca.name))]:
                self.assertEqual(expected,
                                 self._parse(amt_verify_ca=value)['verify'])

    def test_verify_ca_from_conf(self):
        self.config(verify_ca='false', group='amt')
        self.assertIs(False, self._parse()['verify'])

    def test_bad_verify_ca_in_conf_names_the_option(self):
        self.config(verify_ca='/nonexistent.pem', group='amt')
        error = self.assertRaises(exception.InvalidParameterValue,
                                  self._parse)
        self.assertIn('[amt]verify_ca', str(error))


class ClientCacheTestCase(utils.AMTTestCase):

    def setUp(self):
        super().setUp()
        cache = common._ClientCache()
        self.useFixture(fixtures.MockPatchObject(common, '_CLIENTS', cache))

    def test_same_endpoint_same_client(self):
        first = common.get_client(self.node)
        self.assertIs(first, common.get_client(self.node))
        self.assertEqual('http://192.0.2.10:16992/wsman', first.endpoint)

    def test_changed_password_replaces_client(self):
        first = common.get_client(self.node)
        self.node.driver_info = dict(utils.INFO, amt_password='other')
        second = common.get_client(self.node)
        self.assertIsNot(first, second)
        self.assertIs(second, common.get_client(self.node))

    def test_changed_options_replace_client(self):
        first = common.get_client(self.node)
        self.config(read_timeout=5, group='amt')
        self.assertIsNot(first, common.get_client(self.node))

    def test_ipv6_endpoint(self):
        self.node.driver_info = dict(utils.INFO, amt_address='fd00::5',
                                     amt_protocol='https')
        self.assertEqual('https://[fd00::5]:16993/wsman',
                         common.get_client(self.node).endpoint)


class TranslateErrorsTestCase(utils.AMTTestCase):

    def _raise(self, error):
        with errors.translate_errors(self.node, 'testing'):
            raise error

    def test_mapping(self):
        endpoint = 'http://192.0.2.10:16992/wsman'
        cases = [
            (wsman_exc.WSManAuthError(endpoint, 'refused'),
             errors.AMTAuthenticationFailure, 'authentication failed'),
            (wsman_exc.WSManConnectionError(endpoint, 'refused'),
             errors.AMTConnectionFailure, 'could not be reached'),
            (wsman_exc.WSManTimeoutError(endpoint, 'timed out'),
             errors.AMTConnectionFailure, 'could not be reached'),
            (wsman_exc.WSManProtocolError(endpoint, 'garbage'),
             errors.AMTOperationError, 'garbage'),
        ]
        for error, expected, text in cases:
            raised = self.assertRaises(expected, self._raise, error)
            self.assertIn(self.node.uuid, str(raised))
            self.assertIn(text, str(raised))
            self.assertIn('testing', str(raised))
            self.assertIsInstance(raised, exception.IronicException)

    def test_hints(self):
        endpoint = 'https://192.0.2.10:16993/wsman'
        cases = [
            (wsman_exc.WSManTLSError(endpoint, 'self-signed certificate'),
             'amt_verify_ca'),
            (wsman_exc.WSManFault(endpoint, 'AccessDenied', 'denied'),
             'user consent'),
            (wsman_exc.WSManReturnValueError.for_code(
                endpoint, 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/'
                '2/CIM_BootService', 'SetBootConfigRole', 6),
             'user consent'),
        ]
        for error, hint in cases:
            raised = self.assertRaises(errors.AMTOperationError,
                                       self._raise, error)
            self.assertIn(hint, str(raised))
            self.assertIn(str(error), str(raised))

    def test_hints_are_typed_not_read_from_text(self):
        # A code meaning nothing in particular carries no hint, whatever
        # its description says; the typed error alone decides.
        endpoint = 'https://192.0.2.10:16993/wsman'
        error = wsman_exc.WSManReturnValueError(
            endpoint, 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/'
            '2/CIM_BootService', 'SetBootConfigRole', 6)
        raised = self.assertRaises(errors.AMTOperationError,
                                   self._raise, error)
        self.assertNotIn('user consent', str(raised))

    def test_other_errors_pass(self):
        self.assertRaises(ZeroDivisionError, self._raise, ZeroDivisionError())
