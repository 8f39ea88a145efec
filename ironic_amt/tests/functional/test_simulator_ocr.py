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

"""The simulator's One-Click Recovery HTTPS boot, as firmware does it.

Boot parameters are written by hand here (struct), not with the driver's
encoder; the image server is a real HTTPS server on loopback with its own
CA, and the ISO a real one built with mkisofs.
"""

import base64
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile

import testtools

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.simulator.transport import tls
from ironic_amt.testing import harness
from ironic_amt.testing import waiting
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import ocr
from ironic_amt.wsman import power_service
from ironic_amt.wsman import resource_uris

PASSWORD = 'Ocr-Passw0rd!'
HTTPS = 'Intel(r) AMT: Force OCR UEFI HTTPS Boot'
SETTING = {'InstanceID': 'Intel(r) AMT:BootSettingData 0'}
CONFIG = {'InstanceID': 'Intel(r) AMT: Boot Configuration 0'}
SERVICE = {'Name': 'Intel(r) AMT Boot Service'}
GRUB = ('menuentry "deploy" {\nlinux /vmlinuz ipa-api-url=http://127.0.0.1:9 '
        'ipa-agent-token=t0k3n boot_method=vmedia --\ninitrd /initrd\n}\n')


def tlv(kind, value, vendor=0x8086):
    return struct.pack('<HHI', vendor, kind, len(value)) + value


def params(*entries, count=None):
    blob = b''.join(entries)
    return (base64.b64encode(blob).decode(),
            len(entries) if count is None else count)


def _iso(directory):
    tree = os.path.join(directory, 'tree')
    os.makedirs(os.path.join(tree, 'EFI', 'BOOT'))
    os.makedirs(os.path.join(tree, 'boot', 'grub'))
    with open(os.path.join(tree, 'EFI', 'BOOT', 'grub.cfg'), 'w') as f:
        f.write(GRUB)
    with open(os.path.join(tree, 'boot', 'grub', 'efiboot.img'), 'wb') as f:
        f.write(os.urandom(2048))
    root = os.path.join(directory, 'root')
    os.makedirs(root)
    subprocess.run(['mkisofs', '-quiet', '-r', '-l', '-V', 'TEST', '-e',
                    'boot/grub/efiboot.img', '-no-emul-boot', '-o',
                    os.path.join(root, 'deploy.iso'), tree],
                   check=True, timeout=60, stdin=subprocess.DEVNULL)
    return root


class SimulatorOcrTestCase(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        harness.ensure_iso_tools()
        cls.tmp = tempfile.mkdtemp(prefix='sim-ocr-')
        root = _iso(cls.tmp)
        good = os.path.join(cls.tmp, 'good')
        other = os.path.join(cls.tmp, 'other')
        os.makedirs(good)
        os.makedirs(other)
        cls.tls = tls.create_certificates(good, ['127.0.0.1'])
        cls.other = tls.create_certificates(other, ['127.0.0.1'])
        with open(cls.tls['ca_cert']) as f:
            cls.ca_der = ocr.der_from_pem(f.read())
        cls.files = harness.FileServer(root, cls.tls)
        cls.files.start()
        cls.simulator = Simulator(devices=[
            DeviceSpec('ocr', password=PASSWORD, power_delay=0.02),
            DeviceSpec('nobios', password=PASSWORD,
                       features={'https_boot_bios': False,
                                 'ocr_service': False}),
            DeviceSpec('old', password=PASSWORD, profile='12')])
        cls.simulator.start()

    @classmethod
    def tearDownClass(cls):
        cls.simulator.stop()
        cls.files.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.device = self.simulator.device('ocr')
        self.device.set_power_state(8)
        self.device.features.set_boot_service(32771)
        self.client = self.client_for(self.device)

    def client_for(self, device):
        client = wsman.Client('127.0.0.1', 'admin', PASSWORD,
                              protocol='http', port=device.http_port,
                              attempts=1, read_timeout=10)
        self.addCleanup(client.close)
        return client

    def put(self, array, count):
        return self.client.put(
            resource_uris.AMT_BootSettingData,
            {'InstanceID': SETTING['InstanceID'],
             'UefiBootParametersArray': array,
             'UefiBootNumberOfParams': count}, selectors=SETTING)

    def choose_https(self):
        source = wsman.EndpointReference(resource_uris.CIM_BootSourceSetting,
                                         {'InstanceID': HTTPS})
        return self.client.invoke(
            resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder',
            arguments=[('Source', source)], selectors=CONFIG)

    def https_boot(self, *entries):
        """Arm an HTTPS boot with these TLVs, power on, wait for the load."""
        self.device.set_power_state(8)
        self.client.invoke(resource_uris.CIM_BootConfigSetting,
                           'ChangeBootOrder', selectors=CONFIG)
        self.put(*params(*entries))
        config = wsman.EndpointReference(resource_uris.CIM_BootConfigSetting,
                                         CONFIG)
        self.client.invoke(resource_uris.CIM_BootService,
                           'SetBootConfigRole',
                           arguments=[('BootConfigSetting', config),
                                      ('Role', 1)], selectors=SERVICE)
        self.choose_https()
        boots = len(self.device.boot_history)
        power_service.request_state(self.client, power_service.ON)
        boot = waiting.wait_for_boots(self.device, 1, boots)[-1]
        self.assertEqual('https', boot['source'])
        return waiting.wait_until(
            lambda: self.device.ocr.result_for(boot['seq']), 30,
            what='the HTTPS boot result')

    def url(self, path='/deploy.iso'):
        return (self.files.url + path).encode()

    def trust(self):
        try:
            ocr.add_trusted_root(self.client, self.ca_der)
        except exceptions.WSManReturnValueError:
            pass    # stored by an earlier test

    # Support and switches --------------------------------------------------

    def test_support_per_profile(self):
        self.assertEqual(ocr.HttpsBootSupport(True, True, True, 32771),
                         ocr.read_support(self.client))
        old = ocr.read_support(self.client_for(self.simulator.device('old')))
        self.assertFalse(old.source)
        self.assertFalse(old.capability)
        self.assertFalse(old.bios_enabled)
        self.assertFalse(ocr.ocr_enabled(old.ocr_state))

    def test_ocr_switch_and_bios_setting(self):
        nobios = self.client_for(self.simulator.device('nobios'))
        support = ocr.read_support(nobios)
        self.assertEqual((True, True, False, 32770), tuple(support))
        error = self.assertRaises(exceptions.WSManReturnValueError,
                                  ocr.enable_ocr, nobios, 32768)
        self.assertEqual(1, error.code)
        # OCR off in the boot service: the HTTPS source is refused until
        # the driver switches it on (keeping RPE as it was).
        self.client.invoke(resource_uris.CIM_BootService,
                           'RequestStateChange',
                           arguments=[('RequestedState', 32770)],
                           selectors=SERVICE)
        self.put(*params(tlv(1, self.url())))
        self.assertEqual(5, self.assertRaises(
            exceptions.WSManReturnValueError, self.choose_https).code)
        self.assertEqual(32771, ocr.enable_ocr(self.client, 32770))
        self.choose_https()

    # Parameters ------------------------------------------------------------

    def test_put_refuses_malformed_parameters(self):
        url = tlv(1, self.url())
        for array, count in [
                ('not base64!', 1),
                params(url, count=2),
                params(tlv(1, self.url(), vendor=0x1234)),
                params(tlv(1, b'https://h/' + b'a' * 300)),
                params(tlv(99, b'x')),
                params(url, tlv(20, b'\x01\x00')),
                params(url, tlv(20, b'\x02')),
                params(url, tlv(22, b'\x09\x00')),
                params(url, url),
                (base64.b64encode(url[:-3]).decode(), 1)]:
            error = self.assertRaises(exceptions.WSManFault, self.put,
                                      array, count)
            self.assertEqual('InvalidRepresentation', error.subcode)

    def test_https_source_needs_a_url(self):
        self.put(*params(tlv(20, b'\x01')))
        self.assertEqual(5, self.assertRaises(
            exceptions.WSManReturnValueError, self.choose_https).code)

    def test_trusted_roots(self):
        self.trust()
        digest = hashlib.sha256(self.ca_der).hexdigest()
        self.assertIn(digest, ocr.trusted_root_digests(self.client))
        error = self.assertRaises(exceptions.WSManReturnValueError,
                                  ocr.add_trusted_root, self.client,
                                  self.ca_der)
        self.assertNotEqual(0, error.code)

    # Boots -----------------------------------------------------------------

    def test_boot_verified_with_amt_roots(self):
        self.trust()
        result = self.https_boot(tlv(1, self.url()), tlv(20, b'\x01'))
        self.assertEqual('booted', result['result'], result)
        self.assertEqual({'ipa-api-url': 'http://127.0.0.1:9',
                          'ipa-agent-token': 't0k3n',
                          'boot_method': 'vmedia'}, result['kernel_params'])
        status = ocr.read_boot_status(self.client)
        self.assertEqual((True, 0, 0), tuple(status))
        logged = [e for e in self.device.request_log
                  if e.get('event') == 'https-boot'][-1]
        self.assertEqual('***', logged['kernel_params']['ipa-agent-token'])

    def test_boot_pinned_certificate(self):
        with open(self.tls['cert']) as f:
            leaf = ocr.der_from_pem(f.read())
        result = self.https_boot(tlv(1, self.url()),
                                 tlv(23, hashlib.sha256(leaf).digest()))
        self.assertEqual('booted', result['result'], result)
        result = self.https_boot(tlv(1, self.url()),
                                 tlv(23, hashlib.sha256(b'x').digest()))
        self.assertIn('does not match the pin', result['reason'])

    def test_boot_failures(self):
        self.trust()
        untrusted = harness.FileServer(os.path.join(self.tmp, 'root'),
                                       self.other)
        untrusted.start()
        self.addCleanup(untrusted.stop)
        for entries, reason, detail in [
                ((tlv(1, self.url('/missing.iso')), tlv(20, b'\x01')),
                 'not-found: HTTP 404', 1),
                ((tlv(1, (untrusted.url + '/deploy.iso').encode()),
                  tlv(20, b'\x01')), 'untrusted-certificate', 2),
                # No trust anchor at all: nothing verifies the server.
                ((tlv(1, self.url()),), 'untrusted-certificate', 2),
                ((tlv(1, self.url()), tlv(20, b'\x01'),
                  tlv(21, b'images.example.com'), tlv(22, b'\x01\x00')),
                 'untrusted-certificate', 2),
                ((tlv(1, b'https://192.0.2.1/deploy.iso'),),
                 'bad-url', 1)]:
            result = self.https_boot(*entries)
            self.assertEqual('failed', result['result'], result)
            self.assertTrue(result['reason'].startswith(reason), result)
            self.assertEqual((True, 0xFFFF, detail),
                             tuple(ocr.read_boot_status(self.client)))
