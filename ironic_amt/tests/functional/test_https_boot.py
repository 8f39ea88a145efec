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

"""The amt-https boot interface's device side against the simulator.

Ironic's test database, the real driver, the simulator over loopback and
an HTTPS image server with its own CA: what validate finds out from the
device, and what arming does on a device with One-Click Recovery
switched off in its boot service.
"""

import os
import shutil
import tempfile

from ironic.common import boot_devices
from ironic.common import states
from ironic.conductor import task_manager

from ironic_amt.drivers.modules.amt import https_boot
from ironic_amt.simulator.transport import tls
from ironic_amt.testing import driver_case
from ironic_amt.testing import harness
from ironic_amt.testing import waiting


class HttpsBootTestCase(driver_case.SimulatorTestCase):

    DEVICES = ('dev', 'ocr-off', 'bios-off')
    DEVICE_OPTIONS = {
        'ocr-off': {'features': {'ocr_service': False}},
        'bios-off': {'features': {'https_boot_bios': False,
                                  'ocr_service': False}},
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix='https-boot-')
        root = os.path.join(cls.tmp, 'root', 'amt')
        os.makedirs(root)
        with open(os.path.join(root, 'boot.iso'), 'wb') as f:
            f.write(os.urandom(4096))
        cls.tls = tls.create_certificates(cls.tmp, ['127.0.0.1'])
        cls.files = harness.FileServer(os.path.dirname(root), cls.tls)
        cls.files.start()

    @classmethod
    def tearDownClass(cls):
        cls.files.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.config(enabled_boot_interfaces=['pxe', 'amt-https'])
        self.config(http_url=self.files.url, group='deploy')

    def make_https_node(self, name):
        node = self.make_node(name, amt_https_boot_ca=self.tls['ca_cert'],
                              deploy_kernel='http://127.0.0.1/k',
                              deploy_ramdisk='http://127.0.0.1/r')
        node.boot_interface = 'amt-https'
        node.save()
        return node

    def test_validate_asks_the_device(self):
        node = self.make_https_node('bios-off')
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(https_boot.HttpsBootUnsupported,
                                      task.driver.boot.validate, task)
        self.assertIn('disabled in the BIOS', str(error))
        node = self.make_https_node('dev')
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.boot.validate(task)

    def test_arming_switches_ocr_on_and_trusts_the_ca(self):
        device = self.device('ocr-off')
        node = self.make_https_node('ocr-off')
        node.set_driver_internal_info(https_boot.URL_KEY,
                                      self.files.url + '/amt/boot.iso')
        node.set_driver_internal_info(https_boot.WATCH_KEY, True)
        node.provision_state = states.DEPLOYWAIT
        node.save()
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.set_boot_device(task,
                                                   boot_devices.UEFIHTTP)
            task.driver.power.set_power_state(task, states.POWER_ON)
        boot = self.wait_for_boots(1, 'ocr-off')[0]
        self.assertEqual('https', boot['source'])
        result = waiting.wait_until(
            lambda: device.ocr.result_for(boot['seq']), 10,
            what='the HTTPS boot result')
        self.assertEqual('booted', result['result'], result)
        methods = [e['method'] for e in self.requests('ocr-off')
                   if e.get('method')]
        self.assertEqual(['RequestStateChange', 'AddTrustedRootCertificate',
                          'ChangeBootOrder', 'SetBootConfigRole',
                          'ChangeBootOrder', 'RequestPowerStateChange'],
                         methods)
        # OCR is on now, and RPE still on as it was (32770 before).
        self.assertEqual(32771, device.features.boot_service_state)
        with task_manager.acquire(self.context, node.uuid,
                                  shared=True) as task:
            task.driver.boot.check_boot_status(task)
        node.refresh()
        self.assertNotIn(https_boot.WATCH_KEY, node.driver_internal_info)
