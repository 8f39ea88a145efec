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

"""One-Click Recovery HTTPS boot on the wire."""

import base64
import hashlib
from unittest import mock

from oslotest import base

from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import ocr
from ironic_amt.wsman import resource_uris

URL = 'https://images.example.com/amt/boot-1.iso'
DER = b'0\x82\x01\x00fake-certificate'
PEM = ('-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n'
       % base64.b64encode(DER).decode())


def _client():
    client = mock.create_autospec(wsman.Client, instance=True)
    client.endpoint = 'http://192.0.2.10:16992/wsman'
    return client


class EncodeParametersTestCase(base.BaseTestCase):

    def test_url_and_root_ca(self):
        text, count = ocr.encode_parameters(URL)
        blob = base64.b64decode(text)
        uri = URL.encode()
        self.assertEqual(2, count)
        # u16 vendor 0x8086, u16 type, u32 length, value; little-endian.
        self.assertEqual(b'\x86\x80\x01\x00' + bytes([len(uri), 0, 0, 0])
                         + uri, blob[:8 + len(uri)])
        # The 9-byte "type 20 = true" entry of the protocol notes.
        self.assertEqual(bytes.fromhex('868014000100000001'),
                         blob[8 + len(uri):])

    def test_pin_and_timeout(self):
        pin = hashlib.sha256(b'x').digest()
        text, count = ocr.encode_parameters(URL, sync_root_ca=False,
                                            server_cert_sha256=pin,
                                            request_timeout=30)
        blob = base64.b64decode(text)
        self.assertEqual(3, count)
        self.assertIn(b'\x86\x80\x17\x00\x20\x00\x00\x00' + pin, blob)
        self.assertTrue(blob.endswith(
            b'\x86\x80\x1e\x00\x02\x00\x00\x00\x1e\x00'))
        self.assertNotIn(b'\x86\x80\x14\x00', blob)

    def test_refuses_plain_http_and_long_urls(self):
        self.assertRaises(ValueError, ocr.encode_parameters,
                          'http://images.example.com/boot.iso')
        self.assertRaises(ValueError, ocr.encode_parameters,
                          'https://h/' + 'a' * 300)
        self.assertRaises(ValueError, ocr.encode_parameters, URL,
                          server_cert_sha256=b'short')


class CertificatesTestCase(base.BaseTestCase):

    def test_der_from_pem(self):
        self.assertEqual(DER, ocr.der_from_pem('junk\n' + PEM + PEM))
        self.assertRaises(ValueError, ocr.der_from_pem, 'no certificate')
        self.assertRaises(ValueError, ocr.der_from_pem,
                          PEM.replace(base64.b64encode(DER).decode(), '%%'))

    def test_trusted_root_digests(self):
        client = _client()
        other = base64.b64encode(b'other').decode()
        client.enumerate.return_value = [
            {'TrustedRootCertficate': 'true',
             'X509Certificate': base64.b64encode(DER).decode()},
            {'TrustedRootCertficate': 'false', 'X509Certificate': other},
            {'TrustedRootCertficate': 'true', 'X509Certificate': '%%'},
        ]
        self.assertEqual({hashlib.sha256(DER).hexdigest()},
                         ocr.trusted_root_digests(client))
        client.enumerate.assert_called_once_with(
            resource_uris.AMT_PublicKeyCertificate)

    def test_add_trusted_root(self):
        client = _client()
        client.invoke.return_value = {
            'ReturnValue': 0,
            'CreatedCertificate': {
                'Address': 'anonymous',
                'ReferenceParameters': {
                    'ResourceURI': resource_uris.AMT_PublicKeyCertificate,
                    'SelectorSet': {
                        'InstanceID': 'Intel(r) AMT Certificate: Handle: 2'}
                }}}
        self.assertEqual('Intel(r) AMT Certificate: Handle: 2',
                         ocr.add_trusted_root(client, DER))
        client.invoke.assert_called_once_with(
            resource_uris.AMT_PublicKeyManagementService,
            'AddTrustedRootCertificate',
            arguments=[('CertificateBlob', base64.b64encode(DER).decode())])


class DeviceStateTestCase(base.BaseTestCase):

    def test_read_support(self):
        client = _client()
        client.enumerate.return_value = [
            {'InstanceID': 'Intel(r) AMT: Force PXE Boot'},
            {'InstanceID': ocr.HTTPS_BOOT_SOURCE}]
        client.get.side_effect = [
            {'ForceUEFIHTTPSBoot': 'true'},
            {'UEFIHTTPSBootEnabled': 'false'},
            {'EnabledState': '32769'}]
        self.assertEqual(ocr.HttpsBootSupport(True, True, False, 32769),
                         ocr.read_support(client))

    def test_ocr_enabled(self):
        self.assertTrue(ocr.ocr_enabled(32769))
        self.assertTrue(ocr.ocr_enabled(32771))
        self.assertFalse(ocr.ocr_enabled(32768))
        self.assertFalse(ocr.ocr_enabled(32770))
        # An old firmware's plain "enabled" is no OCR state.
        self.assertFalse(ocr.ocr_enabled(2))
        self.assertFalse(ocr.ocr_enabled(None))

    def test_enable_ocr_keeps_rpe(self):
        client = _client()
        self.assertEqual(32771, ocr.enable_ocr(client, 32770))
        client.invoke.assert_called_once_with(
            resource_uris.CIM_BootService, 'RequestStateChange',
            arguments=[('RequestedState', 32771)],
            selectors=ocr.BOOT_SERVICE_SELECTORS)
        client.invoke.reset_mock()
        self.assertEqual(32769, ocr.enable_ocr(client, 2))

    def test_read_boot_status(self):
        client = _client()
        client.get.return_value = {'OptionsCleared': 'true',
                                   'BIOSLastStatus': ['65535', '2']}
        self.assertEqual(ocr.BootStatus(True, 0xFFFF, 2),
                         ocr.read_boot_status(client))
        client.get.return_value = {'OptionsCleared': 'false'}
        self.assertEqual(ocr.BootStatus(False, None, None),
                         ocr.read_boot_status(client))
        client.get.return_value = {'BIOSLastStatus': ['x']}
        self.assertRaises(exceptions.WSManProtocolError,
                          ocr.read_boot_status, client)
