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

"""Functional tests of the AMT simulator over real loopback sockets.

The requests here are written from the protocol notes, independently of
the driver's client, in both envelope dialects AMT accepts.
"""

import hashlib
import os
import re
import socket
import ssl
import uuid
from xml.etree import ElementTree

import requests
from requests.auth import HTTPDigestAuth
import testtools

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.testing import waiting

PASSWORD = 'Sim-Passw0rd!'
CIM = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
AMT = 'http://intel.com/wbem/wscim/1/amt-schema/1/'
NS = {
    's': 'http://www.w3.org/2003/05/soap-envelope',
    'wsa': 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
    'wsman': 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
    'wsen': 'http://schemas.xmlsoap.org/ws/2004/09/enumeration',
    'common': 'http://schemas.dmtf.org/wbem/wscim/1/common',
}
TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer/'
ENUMERATION = NS['wsen'] + '/'
PXE = 'Intel(r) AMT: Force PXE Boot'
DISK = 'Intel(r) AMT: Force Hard-drive Boot'
CDROM = 'Intel(r) AMT: Force CD/DVD Boot'
BOOT_CONFIG = 'Intel(r) AMT: Boot Configuration 0'
CHALLENGE_RE = re.compile(
    r'^Digest realm="(Digest:[0-9A-F]{32})", nonce="([A-Za-z0-9+/]{32})",'
    r'stale="(true|false)",qop="(auth|auth-int,auth)"$')
# Bound on every wait loop in these tests, in seconds.
WAIT = 10


def class_uri(class_name):
    """The ResourceURI of a CIM_ or AMT_ class."""
    return (AMT if class_name.startswith('AMT_') else CIM) + class_name


def selector_xml(selectors, prefix='wsman', attr='Name'):
    return ''.join('<%s:Selector %s="%s">%s</%s:Selector>'
                   % (prefix, attr, k, v, prefix)
                   for k, v in selectors.items())


def envelope(action, resource_uri, body='', selectors=None,
             dialect='openwsman', url='http://127.0.0.1:16992/wsman',
             message_id=None, extra_header=''):
    """Build a request envelope in the openwsman or the TWM dialect."""
    if dialect == 'openwsman':
        sel = ('<wsman:SelectorSet>%s</wsman:SelectorSet>'
               % selector_xml(selectors) if selectors else '')
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<s:Envelope xmlns:s="%(s)s" xmlns:wsa="%(wsa)s" '
            'xmlns:wsman="%(wsman)s"><s:Header>'
            '<wsa:Action s:mustUnderstand="true">%(action)s</wsa:Action>'
            '<wsa:To s:mustUnderstand="true">%(url)s</wsa:To>'
            '<wsman:ResourceURI s:mustUnderstand="true">%(uri)s'
            '</wsman:ResourceURI><wsa:MessageID s:mustUnderstand="true">'
            '%(mid)s</wsa:MessageID><wsa:ReplyTo><wsa:Address>'
            '%(wsa)s/role/anonymous</wsa:Address></wsa:ReplyTo>%(sel)s'
            '%(extra)s</s:Header><s:Body>%(body)s</s:Body></s:Envelope>'
            % dict(NS, action=action, url=url, uri=resource_uri,
                   mid=message_id or 'uuid:%s' % uuid.uuid4(), sel=sel,
                   body=body, extra=extra_header)).encode()
    sel = ('<w:SelectorSet>%s</w:SelectorSet>'
           % selector_xml(selectors, 'w') if selectors else '')
    return (
        '<Envelope xmlns:a="%(wsa)s" xmlns:w="%(wsman)s" xmlns="%(s)s">'
        '<Header><a:Action>%(action)s</a:Action><a:To>/wsman</a:To>'
        '<w:ResourceURI>%(uri)s</w:ResourceURI><a:MessageID>%(mid)s'
        '</a:MessageID><a:ReplyTo><a:Address>%(wsa)s/role/anonymous'
        '</a:Address></a:ReplyTo><w:OperationTimeout>PT60S'
        '</w:OperationTimeout>%(sel)s%(extra)s</Header><Body>%(body)s'
        '</Body></Envelope>'
        % dict(NS, action=action, uri=resource_uri,
               mid=message_id or '0', sel=sel, body=body,
               extra=extra_header)).encode()


def epr(resource, selectors, address=None, dialect='openwsman'):
    """The content of an EPR argument."""
    if dialect == 'openwsman':
        return ('<wsa:Address>%s</wsa:Address><wsa:ReferenceParameters>'
                '<wsman:ResourceURI>%s</wsman:ResourceURI>'
                '<wsman:SelectorSet>%s</wsman:SelectorSet>'
                '</wsa:ReferenceParameters>'
                % (address or NS['wsa'] + '/role/anonymous',
                   class_uri(resource),
                   selector_xml(selectors, attr='wsman:Name')))
    return ('<Address xmlns="%(wsa)s">%(wsa)s</Address>'
            '<ReferenceParameters xmlns="%(wsa)s"><ResourceURI '
            'xmlns="%(wsman)s">%(uri)s</ResourceURI><SelectorSet '
            'xmlns="%(wsman)s">%(sel)s</SelectorSet></ReferenceParameters>'
            % dict(NS, uri=class_uri(resource),
                   sel=''.join('<Selector Name="%s">%s</Selector>' % kv
                               for kv in selectors.items())))


def method_input(class_name, method, inner):
    return ('<h:%s_INPUT xmlns:h="%s">%s</h:%s_INPUT>'
            % (method, class_uri(class_name), inner, method))


def power_body(state, dialect='openwsman', name='ManagedSystem'):
    selectors = {'Name': name}
    if dialect != 'openwsman':
        selectors = {'CreationClassName': 'CIM_ComputerSystem',
                     'Name': name}
    return method_input(
        'CIM_PowerManagementService', 'RequestPowerStateChange',
        '<h:PowerState>%d</h:PowerState><h:ManagedElement>%s'
        '</h:ManagedElement>'
        % (state, epr('CIM_ComputerSystem', selectors, dialect=dialect)))


def boot_order_body(instance_id, dialect='openwsman'):
    if instance_id is None:
        return ('<h:ChangeBootOrder_INPUT xmlns:h="%s"/>'
                % class_uri('CIM_BootConfigSetting'))
    return method_input(
        'CIM_BootConfigSetting', 'ChangeBootOrder',
        '<h:Source>%s</h:Source>'
        % epr('CIM_BootSourceSetting', {'InstanceID': instance_id},
              dialect=dialect))


def role_body(role, instance_id=BOOT_CONFIG):
    return method_input(
        'CIM_BootService', 'SetBootConfigRole',
        '<h:BootConfigSetting>%s</h:BootConfigSetting><h:Role>%d</h:Role>'
        % (epr('CIM_BootConfigSetting', {'InstanceID': instance_id}), role))


def parse(content):
    return ElementTree.fromstring(content)


def fields_of(element):
    """Child local name -> text (lists for repeated children)."""
    result = {}
    for child in element:
        name = child.tag.rsplit('}', 1)[-1]
        value = (child.text or '') if not len(child) else child
        if name in result:
            if not isinstance(result[name], list):
                result[name] = [result[name]]
            result[name].append(value)
        else:
            result[name] = value
    return result


def fault_subcode(content):
    """The fault subcode's local name (resolving nothing but the text)."""
    root = parse(content)
    value = root.find('.//s:Fault/s:Code/s:Subcode/s:Value', NS)
    if value is None:
        value = root.find('.//s:Fault/s:Code/s:Value', NS)
    return value.text.split(':', 1)[1]


def digest_header(username, password, realm, nonce, method, uri, nc,
                  cnonce='0a4f113b', quote_all=False):
    """A Digest Authorization header with nc written exactly as given."""
    def md5(text):
        return hashlib.md5(text.encode()).hexdigest()
    ha1 = md5('%s:%s:%s' % (username, realm, password))
    response = md5(':'.join([ha1, nonce, nc, cnonce, 'auth',
                             md5('%s:%s' % (method, uri))]))
    if quote_all:
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                'qop="auth", nc="%s", cnonce="%s", response="%s"'
                % (username, realm, nonce, uri, nc, cnonce, response))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'cnonce="%s", nc=%s, qop=auth, response="%s"'
            % (username, realm, nonce, uri, cnonce, nc, response))


class SimulatorTestCase(testtools.TestCase):
    """Starts one simulated device on 127.0.0.1 for each test."""

    spec = {}

    def setUp(self):
        super().setUp()
        fields = dict(name='node-1', password=PASSWORD, power_delay=0.05)
        fields.update(self.spec)
        self.sim = Simulator([DeviceSpec(**fields)])
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.dev = self.sim.device('node-1')
        self.session = requests.Session()
        self.session.auth = HTTPDigestAuth('admin', PASSWORD)
        self.addCleanup(self.session.close)

    def url(self, scheme='http'):
        port = self.dev.http_port if scheme == 'http' else self.dev.https_port
        return '%s://127.0.0.1:%d/wsman' % (scheme, port)

    def post(self, data, scheme='http', session=None, **kwargs):
        kwargs.setdefault('timeout', WAIT)
        return (session or self.session).post(
            self.url(scheme), data=data, verify=self.sim.ca_cert_path,
            **kwargs)

    def call(self, action, class_name, body='', selectors=None,
             dialect='openwsman', expect=200, **kwargs):
        response = self.post(envelope(action, class_uri(class_name), body,
                                      selectors, dialect), **kwargs)
        self.assertEqual(expect, response.status_code, response.text)
        return response

    def get(self, class_name, selectors=None, dialect='openwsman'):
        response = self.call(TRANSFER + 'Get', class_name,
                             selectors=selectors, dialect=dialect)
        body = parse(response.content).find('s:Body', NS)
        return fields_of(body[0])

    def invoke(self, class_name, method, body, selectors=None,
               dialect='openwsman'):
        response = self.call(class_uri(class_name) + '/' + method,
                             class_name, body, selectors, dialect)
        value = parse(response.content).find(
            './/{%s}ReturnValue' % class_uri(class_name))
        return int(value.text)

    def power(self, state, dialect='openwsman'):
        return self.invoke('CIM_PowerManagementService',
                           'RequestPowerStateChange',
                           power_body(state, dialect), dialect=dialect)

    def wait_until(self, predicate, message='condition'):
        waiting.wait_until(predicate, WAIT, interval=0.02, what=message)

    def power_and_wait(self, state, expected):
        self.assertEqual(0, self.power(state))
        self.wait_until(lambda: not self.dev.power_change_pending,
                        'the power change')
        self.assertEqual(expected, self.dev.power_state)

    def last_request(self):
        return [e for e in self.dev.request_log
                if e['event'] == 'request'][-1]


class DigestTestCase(SimulatorTestCase):

    def test_challenge_is_shaped_like_amt(self):
        response = requests.post(self.url(), data=b'', timeout=WAIT)
        self.assertEqual(401, response.status_code)
        match = CHALLENGE_RE.match(response.headers['WWW-Authenticate'])
        self.assertIsNotNone(match, response.headers['WWW-Authenticate'])
        self.assertEqual(self.dev.realm, match.group(1))
        self.assertEqual('false', match.group(3))
        # AMT 14 and later also offer auth-int; clients answer with auth.
        self.assertEqual('auth-int,auth', match.group(4))
        self.assertEqual('text/html', response.headers['Content-Type'])
        self.assertEqual('close', response.headers['Connection'])
        self.assertEqual(
            'Intel(R) Active Management Technology 16.1.25.2124',
            response.headers['Server'])
        self.assertIn('<html>', response.text)
        self.assertEqual('challenge', self.last_request()['auth'])

    def _nonce(self):
        response = requests.post(self.url(), data=b'', timeout=WAIT)
        return CHALLENGE_RE.match(
            response.headers['WWW-Authenticate']).group(2)

    def _raw(self, nc, nonce, password=PASSWORD, quote_all=False):
        header = digest_header('admin', password, self.dev.realm, nonce,
                               'POST', '/wsman', nc, quote_all=quote_all)
        return requests.post(
            self.url(), headers={'Authorization': header},
            data=envelope(TRANSFER + 'Get', class_uri(
                'CIM_AssociatedPowerManagementService')), timeout=WAIT)

    def test_nonce_reuse_with_every_nc_form(self):
        nonce = self._nonce()
        forms = [('00000001', False), ('2', True), ('00000003', True),
                 ('4', False), ('0000000a', False), ('11', True)]
        for nc, quote_all in forms:
            response = self._raw(nc, nonce, quote_all=quote_all)
            self.assertEqual(200, response.status_code, nc)
        self.assertEqual(['ok'] * len(forms),
                         [e['auth'] for e in self.dev.request_log[-6:]])

    def test_nc_that_does_not_rise_is_stale(self):
        nonce = self._nonce()
        self.assertEqual(200, self._raw('00000002', nonce).status_code)
        response = self._raw('00000002', nonce)
        self.assertEqual(401, response.status_code)
        self.assertIn('stale="true"', response.headers['WWW-Authenticate'])
        self.assertEqual('stale', self.last_request()['auth'])

    def test_unknown_nonce_with_good_digest_is_stale(self):
        response = self._raw('00000001', 'A' * 32)
        self.assertEqual(401, response.status_code)
        self.assertIn('stale="true"', response.headers['WWW-Authenticate'])

    def test_wrong_password(self):
        response = self._raw('00000001', self._nonce(), password='wrong')
        self.assertEqual(401, response.status_code)
        self.assertIn('stale="false"', response.headers['WWW-Authenticate'])
        self.assertEqual('bad', self.last_request()['auth'])
        session = requests.Session()
        self.addCleanup(session.close)
        session.auth = HTTPDigestAuth('admin', 'wrong')
        self.assertEqual(401, self.post(b'', session=session).status_code)

    def test_nonce_reset_makes_nonces_stale(self):
        self.get('CIM_AssociatedPowerManagementService')
        self.dev.inject('nonce_reset')
        # requests answers the stale 401 by retrying with the new nonce.
        self.get('CIM_AssociatedPowerManagementService')
        auths = [e['auth'] for e in self.dev.request_log[-2:]]
        self.assertEqual(['stale', 'ok'], auths)
        self.assertEqual(['nonce_reset'],
                         self.dev.request_log[-2]['injected'])

    def test_preemptive_auth_reuses_the_connection(self):
        for _ in range(3):
            self.get('CIM_AssociatedPowerManagementService')
        log = [e for e in self.dev.request_log if e['event'] == 'request']
        self.assertEqual(['challenge', 'ok', 'ok', 'ok'],
                         [e['auth'] for e in log])
        self.assertEqual([True, True, False, False],
                         [e['new_connection'] for e in log])
        self.assertEqual(log[1]['conn'], log[3]['conn'])


class OldFirmwareDigestTestCase(SimulatorTestCase):

    spec = {'profile': '12'}

    def test_offers_auth_only(self):
        response = requests.post(self.url(), data=b'', timeout=WAIT)
        match = CHALLENGE_RE.match(response.headers['WWW-Authenticate'])
        self.assertEqual('auth', match.group(4))
        self.assertEqual(200, self.post(envelope(
            TRANSFER + 'Get', class_uri('AMT_GeneralSettings'))).status_code)


class HttpTestCase(SimulatorTestCase):

    def test_reply_headers_and_single_line_body(self):
        response = self.call(TRANSFER + 'Get',
                             'CIM_AssociatedPowerManagementService')
        headers = response.headers
        self.assertEqual('chunked', headers['Transfer-Encoding'])
        self.assertEqual('DENY', headers['X-Frame-Options'])
        self.assertEqual('application/soap+xml; charset=UTF-8',
                         headers['Content-Type'])
        self.assertTrue(headers['Server'].startswith(
            'Intel(R) Active Management Technology '))
        self.assertIn('Date', headers)
        self.assertNotIn(b'\n', response.content)

    def test_chunked_request_and_no_content_type(self):
        # Authenticate first: the digest retry cannot replay a generator.
        self.get('CIM_Chassis')
        data = envelope(TRANSFER + 'Get',
                        class_uri('CIM_AssociatedPowerManagementService'))
        pieces = (data[i:i + 100] for i in range(0, len(data), 100))
        response = self.post(pieces)
        self.assertEqual(200, response.status_code)
        self.assertEqual('Get', self.last_request()['action'])

    def test_raw_socket_expect_continue(self):
        body = b'x' * 10
        with socket.create_connection(('127.0.0.1', self.dev.http_port),
                                      timeout=WAIT) as sock:
            sock.sendall(b'POST /wsman HTTP/1.1\r\nHost: x\r\n'
                         b'Expect: 100-continue\r\nContent-Length: 10\r\n'
                         b'\r\n')
            self.assertTrue(sock.recv(100).startswith(
                b'HTTP/1.1 100 Continue\r\n\r\n'))
            sock.sendall(body)
            self.assertIn(b'401 Unauthorized', sock.recv(4096))

    def test_other_paths_and_methods(self):
        self.assertEqual(404, requests.post(
            self.url().replace('/wsman', '/index.htm'),
            timeout=WAIT).status_code)
        response = requests.get(self.url(), timeout=WAIT)
        self.assertEqual(405, response.status_code)
        self.assertEqual(405, self.last_request()['status'])

    def test_https_with_the_simulator_ca(self):
        fields = self.get('AMT_GeneralSettings', dialect='twm')
        self.assertEqual(self.dev.realm, fields['DigestRealm'])
        for _ in range(2):
            self.call(TRANSFER + 'Get',
                      'CIM_AssociatedPowerManagementService', scheme='https')
        entry = self.last_request()
        self.assertEqual('https', entry['scheme'])
        log = [e for e in self.dev.request_log
               if e['event'] == 'request' and e['scheme'] == 'https']
        self.assertTrue(log[0]['tls_handshake'])
        self.assertFalse(entry['tls_handshake'])

    def _tls_request(self, context, session=None):
        """One unauthenticated POST on a new TLS connection.

        :returns: the TLS session after the answer (tickets included).
        """
        with socket.create_connection(('127.0.0.1', self.dev.https_port),
                                      timeout=WAIT) as raw:
            with context.wrap_socket(raw, server_hostname='127.0.0.1',
                                     session=session) as tls:
                tls.sendall(b'POST /wsman HTTP/1.1\r\nHost: x\r\n'
                            b'Content-Length: 0\r\n\r\n')
                self.assertIn(b'401 Unauthorized', tls.recv(4096))
                return tls.session

    def test_tls_resumption_is_logged(self):
        context = ssl.create_default_context(cafile=self.sim.ca_cert_path)
        session = self._tls_request(context)
        self._tls_request(context, session=session)
        log = [e for e in self.dev.request_log
               if e['event'] == 'request' and e['scheme'] == 'https']
        self.assertEqual([(True, False), (True, True)],
                         [(e['tls_handshake'], e['tls_resumed'])
                          for e in log])

    def test_reply_envelope_shape(self):
        data = envelope(TRANSFER + 'Get',
                        class_uri('CIM_AssociatedPowerManagementService'),
                        message_id='uuid:1234')
        text = self.post(data).text
        for prefix, ns in (('a', NS['s']), ('b', NS['wsa']),
                           ('c', NS['wsman']), ('h', NS['common'])):
            self.assertIn('xmlns:%s="%s"' % (prefix, ns), text)
        self.assertIn('xmlns:g="%s"' % class_uri(
            'CIM_AssociatedPowerManagementService'), text)
        self.assertIn('<b:RelatesTo>uuid:1234</b:RelatesTo>', text)
        self.assertIn('<b:Action a:mustUnderstand="true">%sGetResponse'
                      '</b:Action>' % TRANSFER, text)
        self.assertRegex(text, r'<b:MessageID>uuid:00000000-8086-8086-8086-'
                               r'[0-9A-F]{12}</b:MessageID>')
        self.assertIn('<c:ResourceURI>%s</c:ResourceURI>' % class_uri(
            'CIM_AssociatedPowerManagementService'), text)
        self.assertIn('<g:PowerState>8</g:PowerState>', text)

    def test_twm_dialect_integer_message_id(self):
        response = self.call(TRANSFER + 'Get', 'CIM_PowerManagementService',
                             dialect='twm')
        root = parse(response.content)
        self.assertEqual('0', root.find('.//wsa:RelatesTo', NS).text)

    def test_identify(self):
        data = ('<s:Envelope xmlns:s="%s" xmlns:wsmid="http://schemas.dmtf.'
                'org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/>'
                '<s:Body><wsmid:Identify/></s:Body></s:Envelope>' % NS['s'])
        response = self.post(data.encode())
        self.assertEqual(200, response.status_code)
        self.assertIn('AMT 16.1', response.text)
        self.assertEqual('Identify', self.last_request()['action'])


class FaultReplyTestCase(SimulatorTestCase):

    def _fault(self, data, subcode):
        response = self.post(data)
        self.assertEqual(400, response.status_code, response.text)
        self.assertEqual(subcode, fault_subcode(response.content))
        self.assertEqual(subcode, self.last_request()['fault'])
        self.assertEqual(400, self.last_request()['status'])
        return response

    def test_destination_unreachable(self):
        response = self._fault(envelope(
            TRANSFER + 'Get',
            'http://intel.com/wbem/wscim/1/ips-schema/1/'
            'IPS_IEEE8021xSettings', message_id='uuid:42'),
            'DestinationUnreachable')
        self.assertIn('<b:RelatesTo>uuid:42</b:RelatesTo>', response.text)
        self.assertIn('b:DestinationUnreachable', response.text)
        self.assertIn('No route can be determined', response.text)

    def test_action_not_supported(self):
        self._fault(envelope(class_uri('CIM_BootService') + '/Frobnicate',
                             class_uri('CIM_BootService')),
                    'ActionNotSupported')
        self._fault(envelope(TRANSFER + 'Delete',
                             class_uri('CIM_BootService')),
                    'ActionNotSupported')
        self._fault(envelope(TRANSFER + 'Put', class_uri('CIM_Chassis')),
                    'ActionNotSupported')

    def test_invalid_selectors(self):
        self._fault(envelope(TRANSFER + 'Get',
                             class_uri('CIM_BootSourceSetting'),
                             selectors={'InstanceID': 'nope'}),
                    'InvalidSelectors')
        self._fault(envelope(
            class_uri('CIM_PowerManagementService')
            + '/RequestPowerStateChange',
            class_uri('CIM_PowerManagementService'), power_body(2),
            selectors={'Name': 'Wrong Service'}), 'InvalidSelectors')

    def test_get_with_matching_selector(self):
        fields = self.get('CIM_BootSourceSetting', {'InstanceID': CDROM})
        self.assertEqual('CIM:CD/DVD:1', fields['StructuredBootString'])
        self.assertEqual('2', fields['FailThroughSupported'])

    def test_encoding_limit_and_must_understand(self):
        header = '<wsman:MaxEnvelopeSize>4096</wsman:MaxEnvelopeSize>'
        self._fault(envelope(TRANSFER + 'Get', class_uri('CIM_Chassis'),
                             extra_header=header), 'EncodingLimit')
        header = ('<wsman:OptionSet s:mustUnderstand="true"><wsman:Option '
                  'Name="x">1</wsman:Option></wsman:OptionSet>')
        self._fault(envelope(TRANSFER + 'Get', class_uri('CIM_Chassis'),
                             extra_header=header), 'MustUnderstand')
        header = '<wsman:MaxEnvelopeSize>153600</wsman:MaxEnvelopeSize>'
        self.assertEqual(200, self.post(envelope(
            TRANSFER + 'Get', class_uri('CIM_Chassis'),
            extra_header=header)).status_code)

    def test_schema_validation_error(self):
        self._fault(b'<not-xml', 'SchemaValidationError')
        self._fault(envelope(
            class_uri('CIM_BootService') + '/SetBootConfigRole',
            class_uri('CIM_BootService'), '<x/>'), 'SchemaValidationError')


class PowerTestCase(SimulatorTestCase):

    def available(self):
        fields = self.get('CIM_AssociatedPowerManagementService')
        return sorted(int(v) for v in fields['AvailableRequestedPowerStates'])

    def test_power_on_is_delayed_boot_and_refuses_while_pending(self):
        self.dev.power_delay = 0.5
        self.assertEqual(0, self.power(2))
        self.assertEqual(4099, self.power(8))
        self.assertEqual(4099, self.last_request()['return_value'])
        self.assertEqual(8, self.dev.power_state)
        self.wait_until(lambda: self.dev.power_state == 2, 'power on')
        self.assertEqual([('disk', False, 2)],
                         [(b['source'], b['override'], b['via'])
                          for b in self.dev.boot_history])
        entry = [e for e in self.dev.request_log
                 if e.get('method') == 'RequestPowerStateChange'][0]
        self.assertEqual({'PowerState': 2}, entry['args'])
        self.assertEqual(0, entry['return_value'])

    def test_invalid_transitions_return_2(self):
        for state in (8, 5, 10, 12, 14):
            self.assertEqual(2, self.power(state), state)
        self.power_and_wait(2, 2)
        self.assertEqual(2, self.power(2))
        self.assertEqual(2, self.dev.power_state)

    def test_available_states_follow_the_state(self):
        self.assertEqual([2], self.available())
        self.power_and_wait(2, 2)
        self.assertEqual([4, 5, 7, 8, 10, 11, 12, 14], self.available())

    def test_power_cycle_and_resets_boot(self):
        self.dev.set_power_state(2)
        self.power_and_wait(5, 2)
        self.power_and_wait(10, 2)
        self.power_and_wait(14, 2)
        self.power_and_wait(11, 2)
        self.power_and_wait(12, 8)
        self.assertEqual([2, 5, 10, 14],
                         [b['via'] for b in self.dev.boot_history])

    def test_twm_dialect_power_request(self):
        self.assertEqual(0, self.power(2, dialect='twm'))
        self.wait_until(lambda: self.dev.power_state == 2, 'power on')

    def test_wrong_managed_element_is_invalid_parameter(self):
        self.assertEqual(5, self.invoke(
            'CIM_PowerManagementService', 'RequestPowerStateChange',
            power_body(2, name='SomethingElse')))

    def test_power_state_by_enumeration(self):
        for class_name in ('CIM_AssociatedPowerManagementService',
                           'CIM_ServiceAvailableToElement'):
            context = self.enumerate(class_name)
            items = self.pull(class_name, context, 10)[0]
            self.assertEqual('8', fields_of(items[0])['PowerState'])
            self.assertTrue(items[0].tag.endswith(
                'CIM_AssociatedPowerManagementService'))

    def enumerate(self, class_name):
        response = self.call(ENUMERATION + 'Enumerate', class_name,
                             '<Enumerate xmlns="%s"/>' % NS['wsen'])
        return parse(response.content).find('.//wsen:EnumerationContext',
                                            NS).text

    def pull(self, class_name, context, max_elements=None, expect=200):
        maximum = ('<MaxElements>%d</MaxElements>' % max_elements
                   if max_elements else '')
        response = self.call(
            ENUMERATION + 'Pull', class_name,
            '<Pull xmlns="%s"><EnumerationContext>%s</EnumerationContext>'
            '%s<MaxCharacters>99999</MaxCharacters></Pull>'
            % (NS['wsen'], context, maximum), expect=expect)
        if expect != 200:
            return response
        root = parse(response.content)
        following = root.find('.//wsen:PullResponse/wsen:EnumerationContext',
                              NS)
        end = root.find('.//wsen:EndOfSequence', NS)
        return (list(root.find('.//wsen:Items', NS)),
                following.text if following is not None else None,
                end is not None)


class PowerWithoutLmsTestCase(SimulatorTestCase):

    spec = {'lms': False, 'power_state': 2}

    def test_graceful_and_sleep_states_need_lms(self):
        fields = self.get('CIM_AssociatedPowerManagementService')
        self.assertEqual(['10', '8', '5', '11'],
                         fields['AvailableRequestedPowerStates'])
        self.assertEqual(2, self.power(12))
        self.assertEqual(2, self.power(4))


class EnumerationTestCase(PowerTestCase):

    def test_paging_with_max_elements(self):
        context = self.enumerate('CIM_BootSourceSetting')
        self.assertRegex(context, r'^[0-9A-F]{8}-0000-0000-0000-0{12}$')
        items, following, end = self.pull('CIM_BootSourceSetting', context,
                                          2)
        self.assertEqual(2, len(items))
        self.assertFalse(end)
        self.assertNotEqual(context, following)
        response = self.pull('CIM_BootSourceSetting', context, 2,
                             expect=400)
        self.assertEqual('InvalidEnumerationContext',
                         fault_subcode(response.content))
        ids = [fields_of(i)['InstanceID'] for i in items]
        for _ in range(20):
            items, following, end = self.pull('CIM_BootSourceSetting',
                                              following, 5)
            ids += [fields_of(i)['InstanceID'] for i in items]
            if end:
                break
        self.assertTrue(end)
        self.assertIsNone(following)
        self.assertEqual([DISK, PXE, CDROM], ids[:3])
        self.assertEqual(14, len(ids))   # 3 Force + 11 OCR sources (16.1)

    def test_default_page_is_one_item_and_release(self):
        context = self.enumerate('CIM_PhysicalMemory')
        items, following, end = self.pull('CIM_PhysicalMemory', context)
        self.assertEqual(1, len(items))
        self.assertFalse(end)
        release = ('<Release xmlns="%s"><EnumerationContext>%s'
                   '</EnumerationContext></Release>' % (NS['wsen'],
                                                        following))
        response = self.call(ENUMERATION + 'Release', 'CIM_PhysicalMemory',
                             release)
        self.assertIn('ReleaseResponse', response.text)
        self.call(ENUMERATION + 'Release', 'CIM_PhysicalMemory', release,
                  expect=400)
        self.assertEqual('InvalidEnumerationContext',
                         self.last_request()['fault'])


class BootTestCase(SimulatorTestCase):

    spec = {'power_state': 2}

    def change_boot_order(self, instance_id, dialect='openwsman'):
        return self.invoke('CIM_BootConfigSetting', 'ChangeBootOrder',
                           boot_order_body(instance_id, dialect),
                           {'InstanceID': BOOT_CONFIG}, dialect)

    def set_role(self, role, instance_id=BOOT_CONFIG):
        return self.invoke('CIM_BootService', 'SetBootConfigRole',
                           role_body(role, instance_id),
                           {'Name': 'Intel(r) AMT Boot Service'})

    def put_settings(self, expect=200, **values):
        fields = self.get('AMT_BootSettingData')
        fields.update({k: v for k, v in values.items()})
        inner = ''.join('<h:%s>%s</h:%s>' % (k, v, k)
                        for k, v in fields.items()
                        if not isinstance(v, (list, ElementTree.Element)))
        body = ('<h:AMT_BootSettingData xmlns:h="%s">%s'
                '</h:AMT_BootSettingData>'
                % (class_uri('AMT_BootSettingData'), inner))
        return self.call(TRANSFER + 'Put', 'AMT_BootSettingData', body,
                         expect=expect)

    def test_one_shot_pxe_override(self):
        self.assertEqual(0, self.change_boot_order(PXE))
        self.assertEqual(0, self.set_role(1))
        armed = self.dev.boot_override
        self.assertEqual(('pxe', 1, True),
                         (armed['source'], armed['role'], armed['armed']))
        self.power_and_wait(10, 2)
        self.assertEqual(('pxe', True, 10),
                         tuple(self.dev.boot_history[-1][k]
                               for k in ('source', 'override', 'via')))
        after = self.dev.boot_override
        self.assertEqual((None, 32768, False, True),
                         (after['source'], after['role'], after['armed'],
                          after['options_cleared']))
        self.power_and_wait(5, 2)
        self.assertEqual('disk', self.dev.last_boot_source)
        self.assertFalse(self.dev.boot_history[-1]['override'])
        log = [e for e in self.dev.request_log if e.get('method')]
        self.assertEqual({'Source': PXE}, log[0]['args'])
        self.assertEqual({'Role': 1}, log[1]['args'])

    def test_source_without_role_does_not_apply(self):
        self.assertEqual(0, self.change_boot_order(CDROM, dialect='twm'))
        self.power_and_wait(5, 2)
        self.assertEqual(('disk', False),
                         (self.dev.last_boot_source,
                          self.dev.boot_history[-1]['override']))
        self.assertIsNone(self.dev.boot_override['source'])

    def test_second_change_boot_order_is_ignored_until_cleared(self):
        self.assertEqual(0, self.change_boot_order(PXE))
        self.assertEqual(0, self.change_boot_order(CDROM))
        self.assertTrue(self.last_request()['ignored'])
        self.assertEqual('pxe', self.dev.boot_override['source'])
        self.assertEqual(0, self.change_boot_order(None))
        self.assertEqual({'Source': None}, self.last_request()['args'])
        self.assertFalse(self.last_request()['ignored'])
        self.assertEqual(0, self.change_boot_order(CDROM))
        self.assertEqual(0, self.set_role(1))
        self.power_and_wait(5, 2)
        self.assertEqual('cdrom', self.dev.last_boot_source)

    def test_bad_arguments(self):
        self.assertEqual(4, self.change_boot_order('Intel(r) AMT: Nope'))
        self.assertEqual(5, self.set_role(2))
        self.assertEqual(5, self.set_role(0))
        self.assertEqual(4, self.set_role(1, 'Intel(r) AMT: Other'))
        self.assertEqual(32768, self.dev.boot_override['role'])

    def test_put_bios_setup_and_one_shot_reset(self):
        response = self.put_settings(BIOSSetup='true', BIOSPause='false')
        self.assertIn(TRANSFER + 'PutResponse', response.text)
        self.assertEqual('true', fields_of(parse(response.content).find(
            's:Body', NS)[0])['BIOSSetup'])
        self.assertEqual({'BIOSSetup': True}, self.last_request()['args'])
        self.assertFalse(self.dev.boot_override['options_cleared'])
        self.assertEqual(0, self.set_role(1))
        self.dev.set_power_state(8)
        self.power_and_wait(2, 2)
        self.assertEqual('bios', self.dev.last_boot_source)
        self.assertEqual('false',
                         self.get('AMT_BootSettingData')['BIOSSetup'])
        self.assertEqual('true',
                         self.get('AMT_BootSettingData')['OptionsCleared'])

    def test_put_sol_refused_while_source_chosen(self):
        self.assertEqual(0, self.change_boot_order(PXE))
        response = self.put_settings(expect=400, UseSOL='true')
        self.assertEqual('InvalidRepresentation',
                         fault_subcode(response.content))
        self.assertFalse(self.dev.boot_override['use_sol'])
        self.assertEqual(0, self.change_boot_order(None))
        self.put_settings(UseSOL='true')
        self.assertTrue(self.dev.boot_override['use_sol'])

    def test_put_with_wrong_key(self):
        response = self.put_settings(expect=400,
                                     InstanceID='Intel(r) AMT:Other')
        self.assertEqual('InvalidSelectors', fault_subcode(response.content))

    def test_os_initiated_reboot_applies_the_override(self):
        self.change_boot_order(PXE)
        self.set_role(1)
        event = self.dev.os_boot()
        self.assertEqual(('pxe', True, 'os'),
                         (event['source'], event['override'], event['via']))
        self.dev.set_power_state(8)
        self.assertRaises(ValueError, self.dev.os_boot)


class LogFileTestCase(testtools.TestCase):

    def test_log_file_gets_json_lines(self):
        import json
        import tempfile
        tmp = tempfile.mkdtemp()
        self.addCleanup(lambda: [os.remove(os.path.join(tmp, f))
                                 for f in os.listdir(tmp)]
                        and os.rmdir(tmp))
        path = os.path.join(tmp, 'log.jsonl')
        sim = Simulator([DeviceSpec('a', password=PASSWORD, power_delay=0)],
                        log_path=path)
        sim.start()
        self.addCleanup(sim.stop)
        session = requests.Session()
        self.addCleanup(session.close)
        session.auth = HTTPDigestAuth('admin', PASSWORD)
        port = sim.device('a').http_port
        session.post('http://127.0.0.1:%d/wsman' % port, timeout=WAIT,
                     data=envelope(TRANSFER + 'Get',
                                   class_uri('CIM_Chassis')))
        sim.device('a').set_power_state(2)
        with open(path) as f:
            entries = [json.loads(line) for line in f]
        self.assertEqual(['request', 'request', 'boot'],
                         [e['event'] for e in entries])
        self.assertNotIn(PASSWORD, open(path).read())
