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

"""Tests of enabling KVM over WS-Man and of the KVM start."""

import struct
from unittest import mock

from oslotest import base

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import kvm
from ironic_amt.wsman import kvm_service
from ironic_amt.wsman import resource_uris
from ironic_amt.wsman import rfb

ENDPOINT = 'https://192.0.2.1:16993/wsman'


class EnableKVMTestCase(base.BaseTestCase):

    def client(self, mebx=True, sap=(3, 6), listener=True, required=0,
               opt_in_state=0, mode=1):
        client = mock.Mock(endpoint=ENDPOINT)
        saps = list(sap)

        def get(uri, selectors=None):
            if uri == resource_uris.IPS_KVMRedirectionSettingData:
                return {'EnabledByMEBx': 'true' if mebx else 'false'}
            if uri == resource_uris.IPS_OptInService:
                return {'OptInRequired': str(required),
                        'OptInState': str(opt_in_state)}
            if uri == resource_uris.AMT_SetupAndConfigurationService:
                return {'ProvisioningMode': str(mode)}
            if uri == resource_uris.CIM_KVMRedirectionSAP:
                return {'EnabledState': str(saps.pop(0))}
            if uri == resource_uris.AMT_RedirectionService:
                return {'EnabledState': '32768', 'Name': 'x',
                        'ListenerEnabled': 'true' if listener else 'false'}
            raise AssertionError(uri)

        client.get.side_effect = get
        return client

    def test_enables_kvm_and_listener(self):
        client = self.client(listener=False)
        self.assertEqual(['kvm', 'listener'],
                         kvm_service.enable_kvm(client))
        client.invoke.assert_called_once_with(
            resource_uris.CIM_KVMRedirectionSAP, 'RequestStateChange',
            arguments=[('RequestedState', 2)],
            selectors={'Name': kvm_service.SAP_NAME})
        self.assertIs(True, client.put.call_args[0][1]['ListenerEnabled'])

    def test_already_enabled(self):
        client = self.client(sap=(6,))
        self.assertEqual([], kvm_service.enable_kvm(client))
        client.invoke.assert_not_called()
        client.put.assert_not_called()

    def test_disabled_in_mebx(self):
        client = self.client(mebx=False)
        error = self.assertRaises(exceptions.KVMNotEnabled,
                                  kvm_service.enable_kvm, client)
        self.assertIn('disabled in MEBx', str(error))
        client.invoke.assert_not_called()

    def test_consent_in_client_control_mode(self):
        client = self.client(required=4294967295, mode=4)
        error = self.assertRaises(exceptions.KVMNotEnabled,
                                  kvm_service.enable_kvm, client)
        self.assertIn('client control mode', str(error))
        self.assertIn('OptInState 0', str(error))
        client.invoke.assert_not_called()

    def test_consent_for_kvm_in_admin_control_mode(self):
        client = self.client(required=1, mode=1)
        error = self.assertRaises(exceptions.KVMNotEnabled,
                                  kvm_service.enable_kvm, client)
        self.assertIn('OptInRequired = 0', str(error))

    def test_consent_granted(self):
        client = self.client(required=4294967295, opt_in_state=3, sap=(6,))
        self.assertEqual([], kvm_service.enable_kvm(client))

    def test_refused_state_change(self):
        client = self.client()
        client.invoke.side_effect = exceptions.WSManReturnValueError(
            ENDPOINT, resource_uris.CIM_KVMRedirectionSAP,
            'RequestStateChange', 1)
        error = self.assertRaises(exceptions.KVMNotEnabled,
                                  kvm_service.enable_kvm, client)
        self.assertIn('Not Supported', str(error))

    def test_still_disabled(self):
        client = self.client(sap=(3, 3))
        self.assertRaises(exceptions.KVMNotEnabled, kvm_service.enable_kvm,
                          client)


class FakeSession(object):
    """A redirection session replaying what the device sends."""

    endpoint = 'tls://192.0.2.1:16995'

    def __init__(self, incoming):
        self.incoming = bytearray(incoming)
        self.sent = []

    def send(self, data):
        self.sent.append(bytes(data))

    def read_exact(self, count, deadline):
        if len(self.incoming) < count:
            raise exceptions.RedirectionTimeoutError(self.endpoint, 'short')
        data = bytes(self.incoming[:count])
        del self.incoming[:count]
        return data


def server_init(width=800, height=600, name=b'Intel(r) AMT KVM'):
    return (rfb.SERVER_INIT.pack(width, height, rfb.RGB565.pack(),
                                 len(name)) + name)


class StartKVMTestCase(base.BaseTestCase):

    def test_amt11_version_and_handshake(self):
        session = FakeSession(b'\x41' + bytes(7) + b'RFB 004.000\n'
                              + b'\x01\x01' + bytes(4) + server_init())
        connection = kvm.start_kvm(session, 1)
        self.assertEqual((800, 600, 'Intel(r) AMT KVM'),
                         (connection.width, connection.height,
                          connection.name))
        self.assertEqual([kvm.START_KVM, rfb.VERSION_3_8, b'\x01', b'\x01',
                          struct.pack('!B3x', 0) + rfb.RGB565.pack()],
                         session.sent)

    def test_kvm_start_refused(self):
        session = FakeSession(b'\x41\x02' + bytes(6))
        error = self.assertRaises(exceptions.RedirectionRefused,
                                  kvm.start_kvm, session, 1)
        self.assertEqual('busy', error.description)

    def test_unknown_version(self):
        session = FakeSession(b'\x41' + bytes(7) + b'RFB 003.003\n')
        self.assertRaises(exceptions.RedirectionProtocolError,
                          kvm.start_kvm, session, 1)

    def test_no_security_none(self):
        session = FakeSession(b'\x41' + bytes(7) + rfb.VERSION_3_8
                              + b'\x01\x02')
        error = self.assertRaises(exceptions.RedirectionProtocolError,
                                  kvm.start_kvm, session, 1)
        self.assertIn('offered: 2', str(error))

    def test_refusal_reason_is_bounded_and_escaped(self):
        reason = b'no\x1b[31m way'
        session = FakeSession(b'\x41' + bytes(7) + rfb.VERSION_3_8 + b'\x00'
                              + struct.pack('!I', len(reason)) + reason)
        error = self.assertRaises(exceptions.RedirectionProtocolError,
                                  kvm.start_kvm, session, 1)
        self.assertNotIn('\x1b', str(error))
        self.assertIn('no\\x1b[31m way', str(error))

    def test_oversized_screen_refused(self):
        session = FakeSession(b'\x41' + bytes(7) + rfb.VERSION_3_8
                              + b'\x01\x01' + bytes(4)
                              + server_init(width=60000))
        self.assertRaises(exceptions.RedirectionProtocolError,
                          kvm.start_kvm, session, 1)
