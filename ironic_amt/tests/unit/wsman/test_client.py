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

"""Tests of the pure-Python AMT WS-Management client."""

import datetime
import hashlib
import http.server
import ipaddress
import logging
import os
import secrets
import ssl
import threading
import time
from unittest import mock
import urllib.request
import uuid
from xml.etree import ElementTree

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
import fixtures
from oslotest import base

from ironic_amt.testing import waiting
from ironic_amt.tests.unit.wsman import fake_http
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import envelope
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import http as transport_http
from ironic_amt.wsman import resource_uris
from ironic_amt.wsman import tls
from ironic_amt.wsman import transport

PASSWORD = 'Sup3r-s3cret!pw'
ADDRESS = '192.0.2.10'
ENDPOINT = 'https://192.0.2.10:16993/wsman'
REALM = 'Digest:34BF4B5A0561F95248F58509A406E046'
RESPONSES = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                         'responses')

NS = {'s': envelope.NS_SOAP, 'wsa': envelope.NS_ADDRESSING,
      'wsman': envelope.NS_WSMAN, 'wsen': envelope.NS_ENUMERATION}


def load_response(name):
    with open(os.path.join(RESPONSES, name), 'rb') as f:
        return f.read()


def md5(text):
    return hashlib.md5(text.encode('utf-8')).hexdigest()


def parse_authorization(value):
    scheme, _sep, rest = value.partition(' ')
    if scheme != 'Digest':
        return {}
    return urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest))


def canonical(element):
    """Namespace-resolved, prefix-independent form of an element."""
    return (element.tag, sorted(element.attrib.items()),
            (element.text or '').strip(),
            [canonical(child) for child in element])


class FakeDigestDevice(object):
    """Digest checks of an AMT device, usable as a fake_http callback.

    Answers 401 with an AMT-shaped challenge unless the Authorization
    header is valid for the current nonce, then returns the body.
    """

    def __init__(self, body, password=PASSWORD):
        self.body = body
        self.password = password
        self.nonce = secrets.token_urlsafe(24)
        self.old_nonces = set()
        self.nc_seen = []
        self.challenges = 0
        self.lock = threading.Lock()

    def expire_nonce(self):
        self.old_nonces.add(self.nonce)
        self.nonce = secrets.token_urlsafe(24)

    def check(self, authorization, method='POST'):
        """Return None if valid, else the stale flag for the 401."""
        fields = parse_authorization(authorization or '')
        if not fields:
            return 'false'
        ha1 = md5('admin:%s:%s' % (REALM, self.password))
        ha2 = md5('%s:%s' % (method, fields['uri']))
        expected = md5(':'.join([ha1, fields['nonce'], fields['nc'],
                                 fields['cnonce'], fields['qop'], ha2]))
        if fields['response'] != expected or fields['realm'] != REALM:
            return 'false'
        if fields['nonce'] != self.nonce:
            return 'true' if fields['nonce'] in self.old_nonces else 'false'
        with self.lock:
            self.nc_seen.append(int(fields['nc'], 16))
        return None

    def www_authenticate(self, stale):
        return ('Digest realm="%s", nonce="%s",stale="%s",qop="auth"'
                % (REALM, self.nonce, stale))

    def __call__(self, request, context):
        stale = self.check(request.headers.get('Authorization'))
        if stale is None:
            context.status_code = 200
            return self.body
        with self.lock:
            self.challenges += 1
        context.status_code = 401
        context.headers['WWW-Authenticate'] = self.www_authenticate(stale)
        context.headers['Connection'] = 'close'
        return b'<html><head><title>401</title></head></html>'


class BaseWSManTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.mock = self.useFixture(fake_http.FakeHTTP())
        self.sleep = self.useFixture(fixtures.MockPatchObject(
            time, 'sleep', autospec=True)).mock
        # Ironic's DB migrations (in other tests of the same process)
        # disable the loggers that exist at that time.
        for log in (wsman.LOG, transport.LOG):
            self.useFixture(fixtures.MockPatchObject(log, 'disabled', False))
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG,
            format='%(levelname)s %(name)s %(message)s'))
        self.client = wsman.Client(ADDRESS, 'admin', PASSWORD,
                                   retry_wait=7.0)
        self.addCleanup(self.client.close)

    def tearDown(self):
        self.assertNotIn(PASSWORD, self.logger.output)
        super().tearDown()

    def make_client(self, password=PASSWORD, **kwargs):
        client = wsman.Client(ADDRESS, 'admin', password, **kwargs)
        self.addCleanup(client.close)
        return client

    def respond(self, *responses):
        """Register responses (bytes or dicts) for the endpoint."""
        self.mock.post(ENDPOINT, [
            r if isinstance(r, dict) else {'content': r, 'status_code': 200}
            for r in responses])

    def request_xml(self, index=-1):
        return ElementTree.fromstring(
            self.mock.request_history[index].body)

    def request_body(self, index=-1):
        body = self.request_xml(index).find('s:Body', NS)
        self.assertIsNotNone(body)
        return body

    def assertRaisesWSMan(self, exc_class, func, *args, **kwargs):
        exc = self.assertRaises(exc_class, func, *args, **kwargs)
        self.assertIn(self.client.endpoint, str(exc))
        self.assertNotIn(PASSWORD, str(exc))
        self.assertEqual(self.client.endpoint, exc.endpoint)
        return exc


class ClientInitTestCase(base.BaseTestCase):

    def test_endpoints(self):
        cases = [
            (('192.0.2.1',), {}, 'https://192.0.2.1:16993/wsman'),
            (('192.0.2.1', 'http'), {}, 'http://192.0.2.1:16992/wsman'),
            (('amt.example.com',), {'port': 1443},
             'https://amt.example.com:1443/wsman'),
            (('::1',), {}, 'https://[::1]:16993/wsman'),
            (('[2001:db8::5]', 'http'), {},
             'http://[2001:db8::5]:16992/wsman'),
            (('fe80::1%eth0',), {}, 'https://[fe80::1%25eth0]:16993/wsman'),
        ]
        for args, kwargs, expected in cases:
            client = wsman.Client(args[0], 'admin', PASSWORD, *args[1:],
                                  **kwargs)
            self.assertEqual(expected, client.endpoint)
            self.assertNotIn(PASSWORD, repr(client))
            client.close()

    def test_invalid(self):
        self.assertRaises(ValueError, wsman.Client, ADDRESS, 'admin',
                          PASSWORD, protocol='ftp')
        self.assertRaises(ValueError, wsman.Client, '', 'admin', PASSWORD)
        self.assertRaises(ValueError, wsman.Client, ADDRESS, 'admin',
                          PASSWORD, attempts=0)

    def test_legacy_tls_context(self):
        context = tls.create_legacy_ssl_context()
        self.assertEqual(ssl.TLSVersion.TLSv1, context.minimum_version)
        # Verified like any other: certificate and host name.
        self.assertTrue(context.check_hostname)
        self.assertEqual(ssl.CERT_REQUIRED, context.verify_mode)
        self.assertIn('AES128-SHA', [c['name'] for c in context.get_ciphers()])

    def test_one_context_per_tls_setting(self):
        def context(**kwargs):
            client = wsman.Client(ADDRESS, 'admin', PASSWORD, **kwargs)
            self.addCleanup(client.close)
            return client._transport._tls_context

        legacy = context(legacy_tls=True)
        self.assertEqual(ssl.TLSVersion.TLSv1, legacy.minimum_version)
        self.assertIs(legacy, context(legacy_tls=True, port=1443))
        plain = context()
        self.assertIsNot(legacy, plain)
        self.assertIs(plain, context(verify=True))
        self.assertNotEqual(ssl.TLSVersion.TLSv1, plain.minimum_version)
        unverified = context(verify=False)
        self.assertEqual(ssl.CERT_NONE, unverified.verify_mode)
        self.assertIsNone(context(protocol='http'))


class EndpointReferenceTestCase(base.BaseTestCase):

    def test_equality(self):
        epr = wsman.EndpointReference(resource_uris.CIM_BootSourceSetting,
                                      {'InstanceID': 'a'})
        self.assertEqual(wsman.EndpointReference(
            resource_uris.CIM_BootSourceSetting, {'InstanceID': 'a'}), epr)
        self.assertNotEqual(wsman.EndpointReference(
            resource_uris.CIM_BootSourceSetting, {'InstanceID': 'b'}), epr)
        self.assertNotEqual(epr, 'a')
        self.assertIn('InstanceID', repr(epr))


class RequestTestCase(BaseWSManTestCase):

    def assertHeader(self, action, resource_uri, selectors=None, index=-1):
        request = self.request_xml(index)
        self.assertEqual('{%s}Envelope' % envelope.NS_SOAP, request.tag)
        header = request.find('s:Header', NS)
        must = '{%s}mustUnderstand' % envelope.NS_SOAP
        for path, value in (('wsa:Action', action),
                            ('wsa:To', ENDPOINT),
                            ('wsman:ResourceURI', resource_uri),
                            ('wsman:MaxEnvelopeSize', '51200')):
            element = header.find(path, NS)
            self.assertEqual(value, element.text)
            self.assertEqual('true', element.get(must))
        self.assertTrue(header.find('wsa:MessageID', NS).text.startswith(
            'uuid:'))
        self.assertEqual(envelope.ANONYMOUS,
                         header.find('wsa:ReplyTo/wsa:Address', NS).text)
        self.assertEqual('PT60S',
                         header.find('wsman:OperationTimeout', NS).text)
        found = {s.get('Name'): s.text for s in header.findall(
            'wsman:SelectorSet/wsman:Selector', NS)}
        self.assertEqual(selectors or {}, found)

    def assertBody(self, expected_xml, index=-1):
        expected = ElementTree.fromstring(
            '<s:Body xmlns:s="%s">%s</s:Body>'
            % (envelope.NS_SOAP, expected_xml))
        self.assertEqual(canonical(expected),
                         canonical(self.request_body(index)))

    def test_get(self):
        self.respond(load_response(
            'get_associated_power_management_service.xml'))
        self.client.get(resource_uris.CIM_AssociatedPowerManagementService)
        self.assertHeader(envelope.ACTION_GET,
                          resource_uris.CIM_AssociatedPowerManagementService)
        self.assertBody('')
        request = self.mock.last_request
        self.assertEqual(transport.CONTENT_TYPE,
                         request.headers['Content-Type'])
        self.assertEqual('POST', request.method)
        opened = self.mock.opened[-1]
        self.assertEqual((10.0, 30.0), (opened['connect_timeout'],
                                        opened['read_timeout']))
        self.assertEqual(ssl.CERT_REQUIRED,
                         opened['tls_context'].verify_mode)
        self.assertTrue(opened['tls_context'].check_hostname)

    def test_get_selectors(self):
        self.respond(load_response('get_boot_setting_data.xml'))
        self.client.get(resource_uris.AMT_BootSettingData,
                        {'InstanceID': 'Intel(r) AMT:BootSettingData 0'})
        self.assertHeader(envelope.ACTION_GET,
                          resource_uris.AMT_BootSettingData,
                          {'InstanceID': 'Intel(r) AMT:BootSettingData 0'})

    def test_message_ids_unique(self):
        self.respond(load_response('get_boot_setting_data.xml'))
        for _i in range(2):
            self.client.get(resource_uris.AMT_BootSettingData)
        ids = {self.request_xml(i).find('s:Header/wsa:MessageID', NS).text
               for i in (0, 1)}
        self.assertEqual(2, len(ids))

    def test_message_ids_are_version_4_uuids_without_a_system_call(self):
        with mock.patch.object(os, 'urandom', autospec=True) as urandom:
            ids = [envelope.new_message_id() for _i in range(3)]
        urandom.assert_not_called()
        self.assertEqual(3, len(set(ids)))
        for message_id in ids:
            value = uuid.UUID(message_id[len('uuid:'):])
            self.assertEqual(4, value.version)
            self.assertEqual(message_id, 'uuid:%s' % value)
        # A forked conductor worker draws its own random part.
        envelope._new_message_ids()
        after_fork = envelope.new_message_id()
        self.assertNotEqual(ids[0][:24], after_fork[:24])

    def test_put(self):
        self.respond(load_response('put_boot_setting_data.xml'))
        self.client.put(resource_uris.AMT_BootSettingData, {
            'BIOSPause': False, 'BIOSSetup': True, 'BootMediaIndex': 0,
            'ElementName': 'a <b> & "c"',
            'InstanceID': 'Intel(r) AMT:BootSettingData 0',
            'BIOSLastStatus': ['2', '0'], 'UseSOL': False})
        self.assertHeader(envelope.ACTION_PUT,
                          resource_uris.AMT_BootSettingData)
        self.assertBody(
            '<h:AMT_BootSettingData xmlns:h="%(uri)s">'
            '<h:BIOSPause>false</h:BIOSPause><h:BIOSSetup>true</h:BIOSSetup>'
            '<h:BootMediaIndex>0</h:BootMediaIndex>'
            '<h:ElementName>a &lt;b&gt; &amp; "c"</h:ElementName>'
            '<h:InstanceID>Intel(r) AMT:BootSettingData 0</h:InstanceID>'
            '<h:BIOSLastStatus>2</h:BIOSLastStatus>'
            '<h:BIOSLastStatus>0</h:BIOSLastStatus>'
            '<h:UseSOL>false</h:UseSOL></h:AMT_BootSettingData>'
            % {'uri': resource_uris.AMT_BootSettingData})

    def test_invoke_with_epr(self):
        self.respond(load_response('request_power_state_change.xml'))
        epr = wsman.EndpointReference(
            resource_uris.CIM_ComputerSystem,
            {'CreationClassName': 'CIM_ComputerSystem',
             'Name': 'ManagedSystem'})
        selectors = {'Name': 'Intel(r) AMT Power Management Service'}
        self.client.invoke(resource_uris.CIM_PowerManagementService,
                           'RequestPowerStateChange',
                           [('PowerState', 8), ('ManagedElement', epr)],
                           selectors=selectors)
        self.assertHeader(resource_uris.CIM_PowerManagementService
                          + '/RequestPowerStateChange',
                          resource_uris.CIM_PowerManagementService,
                          selectors)
        self.assertBody(
            '<h:RequestPowerStateChange_INPUT xmlns:h="%(pms)s" '
            'xmlns:a="%(addr)s" xmlns:w="%(wsman)s">'
            '<h:PowerState>8</h:PowerState><h:ManagedElement>'
            '<a:Address>%(anon)s</a:Address><a:ReferenceParameters>'
            '<w:ResourceURI>%(cs)s</w:ResourceURI><w:SelectorSet>'
            '<w:Selector Name="CreationClassName">CIM_ComputerSystem'
            '</w:Selector><w:Selector Name="Name">ManagedSystem</w:Selector>'
            '</w:SelectorSet></a:ReferenceParameters></h:ManagedElement>'
            '</h:RequestPowerStateChange_INPUT>'
            % {'pms': resource_uris.CIM_PowerManagementService,
               'addr': envelope.NS_ADDRESSING, 'wsman': envelope.NS_WSMAN,
               'anon': envelope.ANONYMOUS,
               'cs': resource_uris.CIM_ComputerSystem})

    def test_invoke_empty_input(self):
        self.respond(load_response('change_boot_order.xml'))
        self.client.invoke(resource_uris.CIM_BootConfigSetting,
                           'ChangeBootOrder')
        self.assertBody('<h:ChangeBootOrder_INPUT xmlns:h="%s"/>'
                        % resource_uris.CIM_BootConfigSetting)

    def test_invoke_list_of_eprs(self):
        self.respond(load_response('change_boot_order.xml'))
        sources = [wsman.EndpointReference(
            resource_uris.CIM_BootSourceSetting,
            {'InstanceID': 'Intel(r) AMT: Force %s Boot' % name})
            for name in ('PXE', 'Hard-drive')]
        self.client.invoke(resource_uris.CIM_BootConfigSetting,
                           'ChangeBootOrder', [('Source', sources)])
        ids = [e.text for e in self.request_body().findall(
            '*/{%s}Source/wsa:ReferenceParameters/wsman:SelectorSet/'
            'wsman:Selector' % resource_uris.CIM_BootConfigSetting, NS)]
        self.assertEqual(['Intel(r) AMT: Force PXE Boot',
                          'Intel(r) AMT: Force Hard-drive Boot'], ids)

    def test_invoke_unsupported_value(self):
        self.assertRaises(TypeError, self.client.invoke,
                          resource_uris.CIM_BootService, 'SetBootConfigRole',
                          [('Role', 1.5)])
        self.assertEqual(0, self.mock.call_count)

    def test_enumerate_and_pull(self):
        self.respond(load_response('enumerate_physical_memory.xml'),
                     load_response('pull_physical_memory_1.xml'),
                     load_response('pull_physical_memory_2.xml'))
        self.client.enumerate(resource_uris.CIM_PhysicalMemory,
                              max_elements=2)
        self.assertEqual(3, self.mock.call_count)
        self.assertHeader(envelope.ACTION_ENUMERATE,
                          resource_uris.CIM_PhysicalMemory, index=0)
        self.assertBody(
            '<n:Enumerate xmlns:n="%s"/>' % envelope.NS_ENUMERATION, index=0)
        pull = ('<n:Pull xmlns:n="%s"><n:EnumerationContext>%%s'
                '</n:EnumerationContext><n:MaxElements>2</n:MaxElements>'
                '</n:Pull>' % envelope.NS_ENUMERATION)
        self.assertHeader(envelope.ACTION_PULL,
                          resource_uris.CIM_PhysicalMemory, index=1)
        self.assertBody(pull % '5E1A0000-0000-0000-0000-000000000000',
                        index=1)
        self.assertBody(pull % '5F1A0000-0000-0000-0000-000000000000',
                        index=2)

    def test_redirect_not_followed(self):
        self.respond({'status_code': 302, 'headers': {
            'Location': 'https://evil.example.com/wsman'}})
        exc = self.assertRaisesWSMan(
            exceptions.WSManHTTPError, self.client.get,
            resource_uris.AMT_GeneralSettings)
        self.assertEqual(302, exc.status_code)
        self.assertIn('redirect not followed', str(exc))
        self.assertNotIn('evil', str(exc))
        self.assertEqual(1, self.mock.call_count)

    def test_request_head(self):
        self.respond(load_response('get_boot_setting_data.xml'))
        self.client.get(resource_uris.AMT_BootSettingData)
        request = self.mock.last_request
        self.assertEqual(('POST', '/wsman'), (request.method, request.path))
        self.assertEqual('192.0.2.10:16993', request.headers['Host'])
        self.assertEqual(str(len(request.body)),
                         request.headers['Content-Length'])
        self.assertEqual('identity', request.headers['Accept-Encoding'])

    def test_envelope_templates_stamp_a_new_message_id(self):
        self.respond(load_response('get_boot_setting_data.xml'))
        for _i in range(2):
            self.client.get(resource_uris.AMT_BootSettingData,
                            {'InstanceID': 'Intel(r) AMT:BootSettingData 0'})
        first, second = [self.request_xml(i) for i in (0, 1)]
        ids = [x.find('s:Header/wsa:MessageID', NS).text
               for x in (first, second)]
        self.assertNotEqual(ids[0], ids[1])
        for message_id in ids:
            self.assertRegex(message_id, '^uuid:[0-9a-f-]{36}$')
        first.find('s:Header/wsa:MessageID', NS).text = ids[1]
        self.assertEqual(canonical(first), canonical(second))
        # The same bytes build_envelope gives, but for the MessageID.
        self.assertEqual(
            self.mock.request_history[1].body,
            envelope.build_envelope(
                ENDPOINT, envelope.ACTION_GET,
                resource_uris.AMT_BootSettingData,
                {'InstanceID': 'Intel(r) AMT:BootSettingData 0'},
                message_id=ids[1]))

    def test_context_manager_closes_transport(self):
        client = wsman.Client(ADDRESS, 'admin', PASSWORD)
        with mock.patch.object(client._transport, 'close',
                               autospec=True) as mock_close:
            with client as entered:
                self.assertIs(client, entered)
            mock_close.assert_called_once_with()


class ResponseTestCase(BaseWSManTestCase):

    def test_get_power_state(self):
        self.respond(load_response(
            'get_associated_power_management_service.xml'))
        result = self.client.get(
            resource_uris.CIM_AssociatedPowerManagementService)
        self.assertEqual('2', result['PowerState'])
        self.assertEqual(['10', '8', '5'],
                         result['AvailableRequestedPowerStates'])
        expected_user = {
            'Address': envelope.ANONYMOUS,
            'ReferenceParameters': {
                'ResourceURI': resource_uris.CIM_ComputerSystem,
                'SelectorSet': {'CreationClassName': 'CIM_ComputerSystem',
                                'Name': 'ManagedSystem'}}}
        self.assertEqual(expected_user, result['UserOfService'])
        service = result['ServiceProvided']['ReferenceParameters']
        self.assertEqual('Intel(r) AMT Power Management Service',
                         service['SelectorSet']['Name'])

    def test_get_boot_setting_data(self):
        self.respond(load_response('get_boot_setting_data.xml'))
        result = self.client.get(resource_uris.AMT_BootSettingData)
        self.assertEqual('Intel(r) AMT:BootSettingData 0',
                         result['InstanceID'])
        self.assertEqual('', result['RSEPassword'])
        self.assertEqual('false', result['UseSOL'])
        self.assertEqual(['2', '0'], result['BIOSLastStatus'])
        self.assertEqual('0', result['BootMediaIndex'])

    def test_single_value_is_not_a_list(self):
        body = load_response(
            'get_associated_power_management_service.xml').replace(
            b'<g:AvailableRequestedPowerStates>8'
            b'</g:AvailableRequestedPowerStates>'
            b'<g:AvailableRequestedPowerStates>5'
            b'</g:AvailableRequestedPowerStates>', b'')
        self.respond(body)
        result = self.client.get(
            resource_uris.CIM_AssociatedPowerManagementService)
        self.assertEqual('10', result['AvailableRequestedPowerStates'])

    def test_put_returns_instance(self):
        self.respond(load_response('put_boot_setting_data.xml'))
        result = self.client.put(resource_uris.AMT_BootSettingData,
                                 {'UseSOL': False})
        self.assertEqual('true', result['OptionsCleared'])

    def test_put_empty_response(self):
        body = load_response('put_boot_setting_data.xml')
        start = body.index(b'<a:Body>') + len(b'<a:Body>')
        self.respond(body[:start] + body[body.index(b'</a:Body>'):])
        self.assertEqual({}, self.client.put(
            resource_uris.AMT_BootSettingData, {'UseSOL': False}))

    def test_invoke(self):
        self.respond(load_response('request_power_state_change.xml'))
        self.assertEqual({'ReturnValue': 0}, self.client.invoke(
            resource_uris.CIM_PowerManagementService,
            'RequestPowerStateChange', [('PowerState', 2)]))

    def test_enumerate_pages(self):
        self.respond(load_response('enumerate_physical_memory.xml'),
                     load_response('pull_physical_memory_1.xml'),
                     load_response('pull_physical_memory_2.xml'))
        items = self.client.enumerate(resource_uris.CIM_PhysicalMemory)
        self.assertEqual(['BANK 0', 'BANK 1', 'BANK 2'],
                         [item['BankLabel'] for item in items])
        self.assertEqual('17179869184', items[0]['Capacity'])
        self.assertEqual('CT16G4SFRA266.C8FE ', items[0]['PartNumber'])

    def test_enumerate_single_page(self):
        self.respond(load_response('enumerate_physical_memory.xml'),
                     load_response('pull_physical_memory_2.xml'))
        items = self.client.enumerate(resource_uris.CIM_PhysicalMemory)
        self.assertEqual(1, len(items))
        self.assertEqual(2, self.mock.call_count)

    def test_enumerate_empty(self):
        page = load_response('pull_physical_memory_2.xml')
        start = page.index(b'<g:Items>')
        end = page.index(b'</g:Items>') + len(b'</g:Items>')
        self.respond(load_response('enumerate_physical_memory.xml'),
                     page[:start] + page[end:])
        self.assertEqual([], self.client.enumerate(
            resource_uris.CIM_PhysicalMemory))


class ErrorTestCase(BaseWSManTestCase):

    def _get(self):
        return self.client.get(resource_uris.AMT_GeneralSettings)

    def setUp(self):
        super().setUp()
        self.calls_before = 0

    def next_case(self):
        """Start another case of a table-driven test."""
        self.calls_before = self.mock.call_count
        self.sleep.reset_mock()

    def assertAttempts(self, attempts):
        self.assertEqual(attempts, self.mock.call_count - self.calls_before)
        self.assertEqual([mock.call(7.0)] * (attempts - 1),
                         self.sleep.call_args_list)

    def test_transient_flags(self):
        expected = {
            exceptions.WSManError: False,
            exceptions.WSManConnectionError: True,
            exceptions.WSManTimeoutError: True,
            exceptions.WSManTLSError: False,
            exceptions.WSManAuthError: False,
            exceptions.WSManStaleNonceError: True,
            exceptions.WSManHTTPError: False,
            exceptions.WSManServerError: True,
            exceptions.WSManProtocolError: True,
            exceptions.WSManFault: False,
            exceptions.WSManReturnValueError: False,
        }
        for cls, transient in expected.items():
            self.assertIs(transient, cls.transient, cls.__name__)
            self.assertTrue(issubclass(cls, exceptions.WSManError))
        self.assertTrue(issubclass(exceptions.WSManTimeoutError,
                                   exceptions.WSManConnectionError))
        self.assertTrue(issubclass(exceptions.WSManServerError,
                                   exceptions.WSManHTTPError))

    def test_endless_stale_nonces_are_not_a_credential_error(self):
        stale = {'status_code': 401, 'headers': {
            'WWW-Authenticate': 'Digest realm="%s", nonce="n%%d",'
            'stale="true",qop="auth"' % REALM}}
        self.mock.post(ENDPOINT, [dict(stale, headers={
            'WWW-Authenticate': stale['headers']['WWW-Authenticate'] % i})
            for i in range(20)])
        exc = self.assertRaisesWSMan(exceptions.WSManStaleNonceError,
                                     self._get)
        self.assertIn('stale', str(exc))
        # Each of the 3 attempts: the request and three re-challenges.
        self.assertEqual(12, self.mock.call_count)
        self.assertEqual([mock.call(7.0)] * 2, self.sleep.call_args_list)

    def test_connection_error_retried(self):
        self.mock.post(ENDPOINT, exc=exceptions.WSManConnectError(
            ENDPOINT, 'Connection refused'))
        exc = self.assertRaisesWSMan(exceptions.WSManConnectionError,
                                     self._get)
        self.assertIn('Connection refused', str(exc))
        self.assertAttempts(3)
        self.assertEqual(2, self.logger.output.count('WARNING'))
        self.assertIn('attempt 1 of 3', self.logger.output)

    def test_connection_error_then_success(self):
        self.respond({'exc': exceptions.WSManConnectionError(ENDPOINT,
                                                             'reset')},
                     load_response('get_boot_setting_data.xml'))
        self.assertEqual('false', self.client.get(
            resource_uris.AMT_BootSettingData)['UseSOL'])
        self.assertAttempts(2)

    def test_dropped_mid_response(self):
        self.mock.post(ENDPOINT, exc=exceptions.WSManConnectionError(
            ENDPOINT, 'the device closed the connection after 10 bytes'))
        self.assertRaisesWSMan(exceptions.WSManConnectionError, self._get)
        self.assertAttempts(3)

    def test_timeouts_and_deadline_retried(self):
        for error in (exceptions.WSManConnectTimeoutError,
                      exceptions.WSManTimeoutError,
                      exceptions.WSManDeadlineError):
            self.next_case()
            self.mock.post(ENDPOINT, exc=error(ENDPOINT, 'slow'))
            self.assertRaisesWSMan(error, self._get)
            self.assertAttempts(3)

    def test_tls_error_not_retried(self):
        self.mock.post(ENDPOINT, exc=exceptions.WSManTLSError(
            ENDPOINT, 'certificate verify failed'))
        self.assertRaisesWSMan(exceptions.WSManTLSError, self._get)
        self.assertAttempts(1)

    def test_too_large_not_retried(self):
        self.mock.post(ENDPOINT, exc=exceptions.WSManResponseTooLarge(
            ENDPOINT, 'over the cap'))
        exc = self.assertRaisesWSMan(exceptions.WSManResponseTooLarge,
                                     self._get)
        self.assertIn('too large', str(exc))
        self.assertAttempts(1)

    def test_connect_failure_retried_for_a_reset(self):
        # Nothing was sent when no connection could be made.
        self.respond({'exc': exceptions.WSManConnectError(ENDPOINT,
                                                          'refused')},
                     load_response('request_power_state_change.xml'))
        self.client.invoke(resource_uris.CIM_PowerManagementService,
                           'RequestPowerStateChange', [('PowerState', 10)],
                           resend=False)
        self.assertAttempts(2)

    def test_server_error_retried(self):
        self.respond({'status_code': 503, 'text': 'busy'})
        exc = self.assertRaisesWSMan(exceptions.WSManServerError, self._get)
        self.assertEqual(503, exc.status_code)
        self.assertIn('503', str(exc))
        self.assertAttempts(3)

    def test_one_attempt(self):
        client = self.make_client(attempts=1)
        self.respond({'status_code': 500})
        self.assertRaises(exceptions.WSManServerError, client.get,
                          resource_uris.AMT_GeneralSettings)
        self.assertAttempts(1)

    def test_unexpected_status(self):
        self.respond({'status_code': 404, 'text': 'not found'})
        exc = self.assertRaisesWSMan(exceptions.WSManHTTPError, self._get)
        self.assertEqual(404, exc.status_code)
        self.assertAttempts(1)

    def test_garbage_xml(self):
        self.respond(b'\x00\xffgarbage <<')
        exc = self.assertRaisesWSMan(exceptions.WSManProtocolError,
                                     self._get)
        self.assertIn('unparsable XML', str(exc))
        self.assertAttempts(3)

    def test_not_resent_when_the_answer_is_lost(self):
        # resend=False: a garbled answer means the method may have run.
        self.respond(b'\x00\xffgarbage <<')
        self.assertRaises(exceptions.WSManProtocolError, self.client.invoke,
                          resource_uris.CIM_PowerManagementService,
                          'RequestPowerStateChange', resend=False)
        self.assertAttempts(1)

    def test_not_resent_retries_what_did_not_run(self):
        body = load_response('request_power_state_change.xml')
        busy = body.replace(b'<g:ReturnValue>0<', b'<g:ReturnValue>4099<')
        self.respond({'status_code': 500}, busy, body)
        result = self.client.invoke(
            resource_uris.CIM_PowerManagementService,
            'RequestPowerStateChange', resend=False)
        self.assertEqual(0, result['ReturnValue'])
        self.assertAttempts(3)

    def test_truncated_xml_then_success(self):
        body = load_response('get_boot_setting_data.xml')
        self.respond(body[:len(body) // 2], body)
        self.assertEqual('false', self.client.get(
            resource_uris.AMT_BootSettingData)['UseSOL'])
        self.assertAttempts(2)

    def test_entities_forbidden(self):
        self.respond(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'
                     b'<x>&a;</x>')
        self.assertRaisesWSMan(exceptions.WSManProtocolError, self._get)

    def test_not_soap(self):
        self.respond(b'<html><body>hello</body></html>')
        exc = self.assertRaisesWSMan(exceptions.WSManProtocolError,
                                     self._get)
        self.assertIn('not a SOAP 1.2 envelope', str(exc))

    def test_unexpected_action(self):
        self.respond(load_response('get_boot_setting_data.xml'))
        exc = self.assertRaisesWSMan(
            exceptions.WSManProtocolError, self.client.invoke,
            resource_uris.CIM_BootService, 'SetBootConfigRole',
            [('Role', 1)])
        self.assertIn('unexpected Action', str(exc))

    def test_get_empty_body(self):
        body = load_response('get_boot_setting_data.xml')
        start = body.index(b'<g:AMT_BootSettingData>')
        end = body.index(b'</a:Body>')
        self.respond(body[:start] + body[end:])
        exc = self.assertRaisesWSMan(exceptions.WSManProtocolError,
                                     self.client.get,
                                     resource_uris.AMT_BootSettingData)
        self.assertIn('expected one instance', str(exc))
        self.assertAttempts(3)

    def test_fault(self):
        self.respond({'status_code': 400, 'content': load_response(
            'fault_destination_unreachable.xml')})
        exc = self.assertRaisesWSMan(exceptions.WSManFault, self._get)
        self.assertEqual('DestinationUnreachable', exc.subcode)
        self.assertEqual('No route can be determined to reach the '
                         'destination role defined by the WSAddressing To.',
                         exc.reason)
        self.assertIn('DestinationUnreachable', str(exc))
        self.assertAttempts(1)

    def test_device_text_in_errors_is_sanitised(self):
        body = load_response('fault_destination_unreachable.xml').replace(
            b'No route can be', b'No&#13;&#10;Set-Cookie: x&#9;route')
        self.respond({'status_code': 400, 'content': body})
        exc = self.assertRaisesWSMan(exceptions.WSManFault, self._get)
        self.assertIn('No??Set-Cookie: x?route', exc.reason)
        self.next_case()
        self.respond({'status_code': 401, 'headers': {
            'WWW-Authenticate': 'Digest realm="r", nonce="n", '
            'algorithm="SHA\x1b[31m-999"'}})
        exc = self.assertRaisesWSMan(exceptions.WSManAuthError, self._get)
        self.assertIn('unsupported Digest algorithm SHA?[31M-999', str(exc))

    def test_fault_without_subcode_in_http_200(self):
        body = load_response('fault_destination_unreachable.xml')
        start = body.index(b'<a:Subcode>')
        end = body.index(b'</a:Subcode>') + len(b'</a:Subcode>')
        self.respond(body[:start].replace(b'a:Sender', b'a:Receiver')
                     + body[end:])
        exc = self.assertRaisesWSMan(exceptions.WSManFault, self._get)
        self.assertEqual('Receiver', exc.subcode)

    def test_400_without_fault(self):
        self.respond({'status_code': 400, 'content': load_response(
            'get_boot_setting_data.xml')})
        exc = self.assertRaisesWSMan(exceptions.WSManHTTPError, self._get)
        self.assertEqual(400, exc.status_code)
        self.assertAttempts(1)

    def test_invoke_without_output(self):
        self.respond(load_response('change_boot_order.xml').replace(
            b'ChangeBootOrder_OUTPUT', b'Other_OUTPUT'))
        self.assertRaisesWSMan(exceptions.WSManProtocolError,
                               self.client.invoke,
                               resource_uris.CIM_BootConfigSetting,
                               'ChangeBootOrder')

    def test_invoke_bad_return_value(self):
        for bad in (b'<g:ReturnValue>x</g:ReturnValue>', b'',
                    b'<g:ReturnValue>1</g:ReturnValue>'
                    b'<g:ReturnValue>2</g:ReturnValue>'):
            self.respond(load_response('change_boot_order.xml').replace(
                b'<g:ReturnValue>0</g:ReturnValue>', bad))
            exc = self.assertRaisesWSMan(
                exceptions.WSManProtocolError, self.client.invoke,
                resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder')
            self.assertIn('ReturnValue', str(exc))

    def _return_value(self, fixture, resource_uri, method, code):
        self.respond(load_response(fixture).replace(
            b'<g:ReturnValue>0<', b'<g:ReturnValue>%d<' % code))
        return self.assertRaisesWSMan(exceptions.WSManReturnValueError,
                                      self.client.invoke, resource_uri,
                                      method)

    def test_return_value_error(self):
        exc = self._return_value('request_power_state_change.xml',
                                 resource_uris.CIM_PowerManagementService,
                                 'RequestPowerStateChange', 2)
        self.assertEqual(2, exc.code)
        self.assertEqual('RequestPowerStateChange', exc.method)
        self.assertEqual(resource_uris.CIM_PowerManagementService,
                         exc.resource_uri)
        self.assertEqual('Unknown or Unspecified Error', exc.description)
        self.assertFalse(exc.transient)
        self.assertIn('returned 2 (Unknown or Unspecified Error)', str(exc))
        self.assertAttempts(1)

    def test_return_value_busy_retried(self):
        cases = [('request_power_state_change.xml',
                  resource_uris.CIM_PowerManagementService,
                  'RequestPowerStateChange', 4099, 'Busy'),
                 ('request_power_state_change.xml',
                  resource_uris.CIM_PowerManagementService,
                  'RequestPowerStateChange', 6, 'In Use'),
                 ('change_boot_order.xml',
                  resource_uris.CIM_BootConfigSetting,
                  'ChangeBootOrder', 3, 'Busy'),
                 ('change_boot_order.xml', resource_uris.CIM_BootService,
                  'SetBootConfigRole', 3, 'Busy')]
        for fixture, uri, method, code, description in cases:
            self.next_case()
            if method == 'SetBootConfigRole':
                fixture_body = load_response(fixture).replace(
                    b'CIM_BootConfigSetting/ChangeBootOrder',
                    b'CIM_BootService/SetBootConfigRole').replace(
                    b'ChangeBootOrder_OUTPUT', b'SetBootConfigRole_OUTPUT')
                self.respond(fixture_body.replace(
                    b'<g:ReturnValue>0<', b'<g:ReturnValue>%d<' % code))
                exc = self.assertRaises(exceptions.WSManReturnValueError,
                                        self.client.invoke, uri, method)
            else:
                exc = self._return_value(fixture, uri, method, code)
            self.assertTrue(exc.transient, method)
            self.assertEqual(description, exc.description)
            self.assertAttempts(3)

    def test_busy_then_success(self):
        body = load_response('request_power_state_change.xml')
        self.respond(body.replace(b'<g:ReturnValue>0<',
                                  b'<g:ReturnValue>4099<'), body)
        self.assertEqual({'ReturnValue': 0}, self.client.invoke(
            resource_uris.CIM_PowerManagementService,
            'RequestPowerStateChange', [('PowerState', 8)]))
        self.assertAttempts(2)

    def test_busy_resent_after_before_resend(self):
        body = load_response('request_power_state_change.xml')
        busy = body.replace(b'<g:ReturnValue>0<', b'<g:ReturnValue>4099<')
        self.respond(busy, busy, body)
        events = []
        self.sleep.side_effect = lambda seconds: events.append('sleep')

        def before_resend():
            events.append('before_resend %d' % self.mock.call_count)
        self.client.invoke(resource_uris.CIM_PowerManagementService,
                           'RequestPowerStateChange', [('PowerState', 2)],
                           before_resend=before_resend)
        self.assertAttempts(3)
        # Called after the wait, right before each resend, never before
        # the first send.
        self.assertEqual(['sleep', 'before_resend 1', 'sleep',
                          'before_resend 2'], events)

    def test_before_resend_failure_ends_the_call(self):
        body = load_response('request_power_state_change.xml')
        self.respond(body.replace(b'<g:ReturnValue>0<',
                                  b'<g:ReturnValue>4099<'), body)

        class ArmingFailed(Exception):
            pass

        def before_resend():
            raise ArmingFailed()
        self.assertRaises(ArmingFailed, self.client.invoke,
                          resource_uris.CIM_PowerManagementService,
                          'RequestPowerStateChange', [('PowerState', 2)],
                          before_resend=before_resend)
        # Sent once, waited once, then the hook failed: no resend.
        self.assertEqual(1, self.mock.call_count - self.calls_before)
        self.assertEqual(1, self.sleep.call_count)

    def test_5xx_retried_for_a_reset(self):
        body = load_response('request_power_state_change.xml')
        self.respond({'status_code': 503}, body)
        self.client.invoke(resource_uris.CIM_PowerManagementService,
                           'RequestPowerStateChange', [('PowerState', 10)],
                           resend=False)
        self.assertAttempts(2)

    def test_typed_return_value_errors(self):
        power = (resource_uris.CIM_PowerManagementService,
                 'RequestPowerStateChange')
        boot = (resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder')
        cases = [(power, 4099, exceptions.WSManBusyError),
                 (power, 6, exceptions.WSManBusyError),
                 (power, 2, exceptions.WSManReturnValueError),
                 (boot, 3, exceptions.WSManBusyError),
                 (boot, 6, exceptions.WSManAccessDeniedError),
                 (boot, 4, exceptions.WSManReturnValueError)]
        for (uri, method), code, error_cls in cases:
            exc = exceptions.WSManReturnValueError.for_code(
                ENDPOINT, uri, method, code)
            self.assertIs(error_cls, type(exc), (method, code))
            busy = error_cls is exceptions.WSManBusyError
            self.assertEqual(busy, exc.transient)
            self.assertEqual(busy, exc.unprocessed)
            self.assertEqual(code, exc.code)

    def test_return_value_not_transient_for_other_method(self):
        exc = self._return_value('request_power_state_change.xml',
                                 resource_uris.CIM_PowerManagementService,
                                 'RequestPowerStateChange', 3)
        self.assertFalse(exc.transient)
        self.assertEqual('Cannot complete within Timeout', exc.description)

    def test_return_value_unknown(self):
        exc = self._return_value('request_power_state_change.xml',
                                 resource_uris.CIM_PowerManagementService,
                                 'RequestPowerStateChange', 77)
        self.assertEqual('unknown return value', exc.description)
        exc = exceptions.WSManReturnValueError(
            ENDPOINT, resource_uris.AMT_GeneralSettings, 'Foo', 3)
        self.assertEqual('unknown return value', exc.description)
        self.assertFalse(exc.transient)

    def test_enumerate_without_context(self):
        self.respond(load_response('enumerate_physical_memory.xml').replace(
            b'EnumerationContext', b'Other'))
        self.assertRaisesWSMan(exceptions.WSManProtocolError,
                               self.client.enumerate,
                               resource_uris.CIM_PhysicalMemory)
        self.assertAttempts(3)

    def test_pull_without_end_or_context(self):
        page = load_response('pull_physical_memory_1.xml')
        start = page.index(b'<g:EnumerationContext>')
        end = page.index(b'</g:EnumerationContext>') + len(
            b'</g:EnumerationContext>')
        self.respond(load_response('enumerate_physical_memory.xml'),
                     page[:start] + page[end:])
        self.client = self.make_client(attempts=1)
        self.assertRaisesWSMan(exceptions.WSManProtocolError,
                               self.client.enumerate,
                               resource_uris.CIM_PhysicalMemory)
        self.assertEqual(2, self.mock.call_count)

    def test_pull_without_pull_response(self):
        self.respond(load_response('enumerate_physical_memory.xml'),
                     load_response('pull_physical_memory_1.xml').replace(
                         b'PullResponse>', b'Other>'))
        self.client = self.make_client(attempts=1)
        exc = self.assertRaisesWSMan(exceptions.WSManProtocolError,
                                     self.client.enumerate,
                                     resource_uris.CIM_PhysicalMemory)
        self.assertIn('PullResponse', str(exc))

    def test_pull_pages_bounded(self):
        self.useFixture(fixtures.MockPatchObject(wsman, 'MAX_PULL_PAGES', 4))
        self.respond(load_response('enumerate_physical_memory.xml'),
                     load_response('pull_physical_memory_1.xml'))
        self.client = self.make_client(attempts=1)
        exc = self.assertRaisesWSMan(exceptions.WSManProtocolError,
                                     self.client.enumerate,
                                     resource_uris.CIM_PhysicalMemory)
        self.assertIn('after 4 Pull requests', str(exc))
        self.assertEqual(5, self.mock.call_count)

    def test_enumerate_restarted_on_transient_error(self):
        self.respond(load_response('enumerate_physical_memory.xml'),
                     {'exc': exceptions.WSManConnectionError(ENDPOINT,
                                                             'reset')},
                     load_response('enumerate_physical_memory.xml'),
                     load_response('pull_physical_memory_2.xml'))
        items = self.client.enumerate(resource_uris.CIM_PhysicalMemory)
        self.assertEqual(1, len(items))
        self.assertEqual(4, self.mock.call_count)
        self.assertEqual(1, self.sleep.call_count)
        actions = [self.request_xml(i).find('s:Header/wsa:Action', NS).text
                   for i in range(4)]
        self.assertEqual([envelope.ACTION_ENUMERATE, envelope.ACTION_PULL,
                          envelope.ACTION_ENUMERATE, envelope.ACTION_PULL],
                         actions)

    def test_messages_name_endpoint(self):
        errors = [
            exceptions.WSManError(ENDPOINT, 'x'),
            exceptions.WSManConnectionError(ENDPOINT, 'refused'),
            exceptions.WSManTimeoutError(ENDPOINT, 'timed out'),
            exceptions.WSManTLSError(ENDPOINT, 'bad cert'),
            exceptions.WSManAuthError(ENDPOINT, 'rejected'),
            exceptions.WSManHTTPError(ENDPOINT, 404),
            exceptions.WSManServerError(ENDPOINT, 500, 'oops'),
            exceptions.WSManProtocolError(ENDPOINT, 'garbage'),
            exceptions.WSManFault(ENDPOINT, 'AccessDenied', 'denied'),
            exceptions.WSManReturnValueError(
                ENDPOINT, resource_uris.CIM_BootService,
                'SetBootConfigRole', 5),
        ]
        for error in errors:
            self.assertIn(ENDPOINT, str(error))
            self.assertEqual(ENDPOINT, error.endpoint)
        self.assertIn('Invalid Parameter', str(errors[-1]))


class DigestFlowTestCase(BaseWSManTestCase):

    def setUp(self):
        super().setUp()
        self.device = FakeDigestDevice(load_response(
            'get_associated_power_management_service.xml'))
        self.mock.post(ENDPOINT, content=self.device)

    def _get(self, client=None):
        return (client or self.client).get(
            resource_uris.CIM_AssociatedPowerManagementService)

    def _authorization(self, index):
        return parse_authorization(self.mock.request_history[index].headers
                                   .get('Authorization', ''))

    def test_challenge_then_preemptive(self):
        self.assertEqual('2', self._get()['PowerState'])
        self.assertEqual(2, self.mock.call_count)
        self.assertNotIn('Authorization',
                         self.mock.request_history[0].headers)
        self.assertEqual('00000001', self._authorization(1)['nc'])
        self._get()
        self._get()
        self.assertEqual(4, self.mock.call_count)
        self.assertEqual(1, self.device.challenges)
        self.assertEqual(['00000002', '00000003'],
                         [self._authorization(i)['nc'] for i in (2, 3)])
        self.assertEqual({self.device.nonce}, {
            self._authorization(i)['nonce'] for i in (1, 2, 3)})
        self.assertEqual([1, 2, 3], self.device.nc_seen)
        self.sleep.assert_not_called()

    def test_stale_nonce(self):
        self._get()
        self.device.expire_nonce()
        self._get()
        self.assertEqual(4, self.mock.call_count)
        self.assertEqual(2, self.device.challenges)
        retried = self._authorization(3)
        self.assertEqual(self.device.nonce, retried['nonce'])
        self.assertEqual('00000001', retried['nc'])
        self.assertIn('stale nonce: True', self.logger.output)
        self._get()
        self.assertEqual(5, self.mock.call_count)
        self.assertEqual('00000002', self._authorization(4)['nc'])
        self.sleep.assert_not_called()

    def test_wrong_password(self):
        client = self.make_client(password='wrong-password')
        exc = self.assertRaisesWSMan(exceptions.WSManAuthError, self._get,
                                     client)
        self.assertNotIn('wrong-password', str(exc))
        self.assertIn(REALM, str(exc))
        self.assertEqual(2, self.mock.call_count)
        self.sleep.assert_not_called()

    def test_password_changed_on_device(self):
        self._get()
        self.device.password = 'changed'
        self.assertRaisesWSMan(exceptions.WSManAuthError, self._get)
        self.assertEqual(4, self.mock.call_count)
        self.assertEqual(3, self.device.challenges)
        self.sleep.assert_not_called()

    def test_401_without_digest_challenge(self):
        for count, headers in enumerate(
                ({}, {'WWW-Authenticate': 'Basic realm="x"'}), 1):
            self.mock.post(ENDPOINT, status_code=401, headers=headers)
            exc = self.assertRaisesWSMan(exceptions.WSManAuthError,
                                         self._get)
            self.assertIn('Digest challenge', str(exc))
            self.assertEqual(count, self.mock.call_count)

    def test_threads_share_nonce(self):
        self._get()
        threads_count, calls = 8, 10
        errors = []

        def worker():
            try:
                for _i in range(calls):
                    self._get()
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=worker)
                   for _i in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
            self.assertFalse(thread.is_alive())
        self.assertEqual([], errors)
        total = threads_count * calls + 1
        # At most one challenge per request in flight at once.
        self.assertLessEqual(self.device.challenges, threads_count)
        self.assertEqual(total + self.device.challenges,
                         self.mock.call_count)
        self.assertEqual(total, len(self.device.nc_seen))

    def test_requests_in_flight_never_share_a_nonce(self):
        # A nonce count must rise in the order the device receives the
        # requests; two requests in flight on one nonce may arrive out of
        # order, so the second one gets a nonce of its own.
        self._get()
        send = self.client._transport._exchange
        seen = []

        def send_with_another_in_flight(payload, challenge, deadline,
                                        *args):
            seen.append(challenge)
            if len(seen) == 1:
                # Another request starts while this one is in flight.
                self._get()
            return send(payload, challenge, deadline, *args)

        self.useFixture(fixtures.MockPatchObject(
            self.client._transport, '_exchange',
            side_effect=send_with_another_in_flight))
        self._get()
        # The nested request went without Authorization, then answered
        # its own challenge instead of reusing the borrowed nonce.
        self.assertIsNotNone(seen[0])
        self.assertIsNone(seen[1])
        self.assertIsNot(seen[0], seen[2])
        # Both nonces are pooled now: two requests in flight, no 401.
        challenges = self.device.challenges
        seen.clear()
        self._get()
        self.assertEqual(challenges, self.device.challenges)
        self.assertNotIn(None, seen)
        self.assertIsNot(seen[0], seen[1])

    def test_no_secret_in_logs(self):
        self._get()
        self.device.expire_nonce()
        self._get()
        self.device.password = 'changed'
        self.assertRaises(exceptions.WSManAuthError, self._get)
        self.assertIn('CIM_AssociatedPowerManagementService',
                      self.logger.output)
        self.assertNotIn(PASSWORD, self.logger.output)
        for request in self.mock.request_history:
            authorization = request.headers.get('Authorization')
            if authorization:
                self.assertNotIn(authorization, self.logger.output)
                self.assertNotIn(PASSWORD, authorization)
            self.assertNotIn(PASSWORD.encode(), request.body)
            self.assertNotIn(PASSWORD, request.url)


class _AMTHandler(http.server.BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler with AMT-like digest behaviour."""

    protocol_version = 'HTTP/1.1'
    timeout = 5

    def setup(self):
        self.timeout = self.server.idle_timeout
        super().setup()
        with self.server.stats_lock:
            self.server.stats['connections'] += 1

    def finish(self):
        super().finish()
        with self.server.stats_lock:
            self.server.stats['closed'] += 1

    def do_POST(self):
        self.rfile.read(int(self.headers['Content-Length']))
        stale = self.server.device.check(self.headers.get('Authorization'))
        with self.server.stats_lock:
            self.server.stats['requests'] += 1
        if stale is None:
            body = self.server.device.body
            self.send_response(200)
            self.send_header('Content-Type', transport.CONTENT_TYPE)
        else:
            with self.server.device.lock:
                self.server.device.challenges += 1
            body = b'<html>401</html>'
            self.send_response(401)
            self.send_header('WWW-Authenticate',
                             self.server.device.www_authenticate(stale))
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def make_certificate(directory):
    """Write a self-signed certificate for 127.0.0.1; return the paths."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME,
                                         'ironic-amt test')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(directory, 'cert.pem')
    key_path = os.path.join(directory, 'key.pem')
    with open(cert_path, 'wb') as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


class RealServerTestCase(base.BaseTestCase):
    """A stdlib HTTP(S) server on 127.0.0.1 with AMT-like digest."""

    def setUp(self):
        super().setUp()
        for log in (wsman.LOG, transport.LOG):
            self.useFixture(fixtures.MockPatchObject(log, 'disabled', False))
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG))

    def tearDown(self):
        self.assertNotIn(PASSWORD, self.logger.output)
        super().tearDown()

    def start_server(self, tls=False, idle_timeout=5):
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                 _AMTHandler)
        server.daemon_threads = True
        server.device = FakeDigestDevice(load_response(
            'get_associated_power_management_service.xml'))
        server.stats = {'connections': 0, 'requests': 0, 'closed': 0}
        server.stats_lock = threading.Lock()
        server.idle_timeout = idle_timeout
        if tls:
            directory = self.useFixture(fixtures.TempDir()).path
            self.cert_path, key_path = make_certificate(directory)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.cert_path, key_path)
            server.socket = context.wrap_socket(server.socket,
                                                server_side=True)
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.05})
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.server = server

    def make_client(self, **kwargs):
        client = wsman.Client('127.0.0.1', 'admin', PASSWORD,
                              port=self.server.server_address[1],
                              connect_timeout=2, read_timeout=5,
                              attempts=1, **kwargs)
        self.addCleanup(client.close)
        return client

    def _get(self, client):
        return client.get(resource_uris.CIM_AssociatedPowerManagementService)

    def test_one_exchange_per_steady_state_call(self):
        self.start_server()
        client = self.make_client(protocol='http')
        self.assertEqual('2', self._get(client)['PowerState'])
        # The 401 closes its connection, as AMT does.
        self.assertEqual({'connections': 2, 'requests': 2, 'closed': 1},
                         self.server.stats)
        for _i in range(5):
            self._get(client)
        self.assertEqual({'connections': 2, 'requests': 7, 'closed': 1},
                         self.server.stats)
        self.assertEqual(1, self.server.device.challenges)
        self.assertEqual([1, 2, 3, 4, 5, 6], self.server.device.nc_seen)

    def wait_idle_closed(self):
        waiting.wait_until(
            lambda: (self.server.stats['closed']
                     == self.server.stats['connections']),
            10, 0.02, 'the server closing its idle connections')

    def test_connection_closed_while_idle(self):
        # AMT closes a kept-alive connection after a while. A Get goes out
        # on it unchecked and, unanswered, again at once on a new one;
        # anything else checks it first. Neither is a failed attempt.
        self.start_server(idle_timeout=0.2)
        client = self.make_client(protocol='http')
        self._get(client)
        payload = envelope.Template(
            client.endpoint, envelope.ACTION_GET,
            resource_uris.CIM_AssociatedPowerManagementService).stamp()
        for idempotent in (True, False):
            self.wait_idle_closed()
            with mock.patch.object(
                    transport_http.Connection, 'is_dropped',
                    autospec=True,
                    side_effect=transport_http.Connection.is_dropped
            ) as is_dropped:
                response = client._transport.post(payload,
                                                  idempotent=idempotent)
            self.assertEqual(200, response.status)
            self.assertEqual(not idempotent, is_dropped.called)
        self.assertEqual(4, self.server.stats['connections'])
        self.assertEqual(4, self.server.stats['requests'])
        self.assertEqual(1, self.logger.output.count(
            'closed an idle connection, resending'))

    def test_get_sends_idempotent_requests_only(self):
        self.start_server()
        client = self.make_client(protocol='http')
        with mock.patch.object(client._transport, 'post', autospec=True,
                               side_effect=client._transport.post) as post:
            self._get(client)
        self.assertEqual([True], [c.kwargs['idempotent']
                                  for c in post.call_args_list])
        with mock.patch.object(client._transport, 'post', autospec=True,
                               side_effect=client._transport.post) as post:
            self.assertRaises(
                exceptions.WSManProtocolError, client.put,
                resource_uris.CIM_AssociatedPowerManagementService,
                {'PowerState': '2'})
        self.assertEqual([False], [c.kwargs['idempotent']
                                   for c in post.call_args_list])

    def test_tls_verification(self):
        self.start_server(tls=True)
        cases = [({'verify': False}, True),
                 ({'verify': False, 'legacy_tls': True}, True),
                 ({'verify': self.cert_path}, True),
                 ({'verify': self.cert_path, 'legacy_tls': True}, True),
                 ({}, False),
                 ({'legacy_tls': True}, False)]
        for kwargs, succeeds in cases:
            client = self.make_client(**kwargs)
            self.assertEqual('https://127.0.0.1:%d/wsman'
                             % self.server.server_address[1],
                             client.endpoint)
            if succeeds:
                self.assertEqual('2', self._get(client)['PowerState'])
            else:
                exc = self.assertRaises(exceptions.WSManTLSError, self._get,
                                        client)
                self.assertIn('certificate verify failed', str(exc))

    def test_tls_session_resumed_on_new_connections(self):
        self.start_server(tls=True)
        client = self.make_client(verify=self.cert_path)
        self._get(client)
        # The 401 closed the first connection; the second resumed.
        self.assertEqual((2, 1), (client.stats.connections,
                                  client.stats.tls_resumed))
        for _i in range(3):
            client.close()
            self._get(client)
        self.assertEqual((5, 4), (client.stats.connections,
                                  client.stats.tls_resumed))
        self.assertEqual(5, self.server.stats['connections'])

    def test_tls_legacy_checks_host_name(self):
        self.start_server(tls=True)
        client = wsman.Client('localhost', 'admin', PASSWORD,
                              port=self.server.server_address[1],
                              verify=self.cert_path, legacy_tls=True,
                              connect_timeout=2, read_timeout=5, attempts=1)
        self.addCleanup(client.close)
        exc = self.assertRaises(exceptions.WSManTLSError, self._get, client)
        self.assertIn("not valid for 'localhost'", str(exc))

    def test_connection_refused(self):
        self.start_server()
        port = self.server.server_address[1]
        self.server.shutdown()
        self.server.server_close()
        client = wsman.Client('127.0.0.1', 'admin', PASSWORD,
                              protocol='http', port=port, attempts=1)
        self.addCleanup(client.close)
        exc = self.assertRaises(exceptions.WSManConnectionError, self._get,
                                client)
        self.assertNotIsInstance(exc, exceptions.WSManTimeoutError)
        self.assertNotIn(PASSWORD, str(exc))
