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

"""Deploys without PXE: the amt-https boot interface in a real Ironic 39.

Ironic has no PXE configuration at all (only amt-https is enabled); its
[deploy]http_url is an HTTPS server on loopback with its own CA. Ironic
builds the ISO with mkisofs, the driver arms a One-Click Recovery HTTPS
boot with the URL, and the simulated firmware downloads the ISO over
HTTPS, verifying the server with the CA the driver stored on it, and boots
what the ISO's GRUB menu says (the fake agent, for direct deploys).
"""

import os
import tempfile
import time

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator.transport import tls
from ironic_amt.testing import fake_agent
from ironic_amt.testing import harness
from ironic_amt.testing import request_log
from ironic_amt.tests.e2e import base

DEPLOY_TIMEOUT = 60
# Far below Ironic's deploy callback timeout (1800 s by default): the
# failed boot is reported by the BIOS status check, not by a timeout.
FAIL_TIMEOUT = 30


class HttpsBootTest(base.StackTestCase):
    """ramdisk and direct deploys over HTTPS boot; a wrong CA; old AMT."""

    DEVICES = (DeviceSpec('hb-ramdisk'), DeviceSpec('hb-direct'),
               DeviceSpec('hb-wrong-ca'), DeviceSpec('hb-amt12',
                                                     profile='12'))
    TEST_TIMEOUT = 150

    @classmethod
    def make_stack(cls):
        return harness.Stack(list(cls.DEVICES),
                             boot_interfaces=('amt-https',))

    def _create(self, name, index, ca_path=None, **extra):
        device = self.stack.sim.device(name)
        self.stack.create_node(
            name, device, index=index, boot_interface='amt-https',
            amt_https_boot_ca=ca_path or self.ironic.image_ca_path, **extra)
        return device

    def _direct(self, name, index, ca_path=None):
        images = self.ironic.images
        device = self._create(
            name, index, ca_path, deploy_interface='direct',
            deploy_kernel=images['vmlinuz']['url'],
            deploy_ramdisk=images['initrd.img']['url'],
            deploy_forces_oob_reboot='true')
        self.stack.make_available(name)
        self.stack.set_disk_image(name)
        launcher = fake_agent.AgentLauncher(device, self.ironic.url,
                                            macs=[harness.mac_for(index)],
                                            lifetime=DEPLOY_TIMEOUT)
        launcher.start()
        self.addCleanup(launcher.stop)
        return device, launcher

    def assertBoots(self, device, expected):
        boots = request_log.power_boots(device.request_log)
        self.assertEqual(expected, [request_log.armed_device(b['armed'])
                                    for b in boots], boots)
        self.assertEqual(expected, [b['boot']['source'] for b in boots],
                         boots)

    def assertNoPxe(self):
        # Nothing PXE exists: no TFTP tree, no PXE configuration.
        self.assertFalse(os.path.exists(os.path.join(self.ironic.workdir,
                                                     'tftpboot')))
        with open(self.ironic.conf_path) as f:
            self.assertNotIn('[pxe]', f.read())

    def test_ramdisk_deploy(self):
        device = self._create('hb-ramdisk', 1)
        self.stack.make_available('hb-ramdisk')
        self.stack.set_ramdisk_image('hb-ramdisk')
        self.ironic.cli('node', 'deploy', 'hb-ramdisk', parse=False)
        node = self.ironic.wait_for_node('hb-ramdisk', DEPLOY_TIMEOUT,
                                         provision_state='active')
        self.assertEqual('power on', node['power_state'])
        self.assertBoots(device, ['https'])
        device.ocr.join()
        result = device.ocr.result_for(device.boot_history[-1]['seq'])
        self.assertEqual('booted', result['result'], result)
        iso = os.path.join(self.ironic.http_root, 'amt',
                           'boot-%s.iso' % node['uuid'])
        self.assertTrue(result['url'].startswith('https://127.0.0.1:'))
        self.assertTrue(result['url'].endswith('/amt/boot-%s.iso'
                                               % node['uuid']))
        # The instance ISO boots the instance ramdisk (no agent).
        self.assertEqual('/dev/ram0', result['kernel_params']['root'])
        self.assertTrue(os.path.exists(iso))
        self.assertEqual(1, len(device.ocr.describe()['trusted_roots']))
        self.assertNoPxe()

        self.ironic.cli('node', 'undeploy', 'hb-ramdisk', parse=False)
        self.ironic.wait_for_node('hb-ramdisk', DEPLOY_TIMEOUT,
                                  provision_state='available')
        self.assertFalse(os.path.exists(iso))

    def test_direct_deploy(self):
        device, launcher = self._direct('hb-direct', 2)
        started = time.monotonic()
        self.ironic.cli('node', 'deploy', 'hb-direct', parse=False)
        node = self.ironic.wait_for_node('hb-direct', DEPLOY_TIMEOUT,
                                         provision_state='active')
        print('amt-https direct deploy to active: %.2f s'
              % (time.monotonic() - started))
        self.assertEqual('power on', node['power_state'])
        # The agent came up once, from the ISO loaded over HTTPS, with the
        # token Ironic wrote on its kernel command line, and wrote the
        # image; then the instance booted from disk.
        self.assertEqual(1, len(launcher.agents))
        agent = launcher.agents[0]
        self.assertIn('deploy.execute_deploy_step', agent.command_names())
        self.assertGreater(agent.heartbeats, 0)
        self.assertBoots(device, ['https', 'disk'])
        self.assertNoPxe()

    def test_wrong_ca_fails_fast(self):
        wrong = tempfile.mkdtemp(prefix='wrong-ca-',
                                 dir=self.ironic.workdir)
        ca_path = tls.create_certificates(wrong, ['127.0.0.1'])['ca_cert']
        device, launcher = self._direct('hb-wrong-ca', 3, ca_path=ca_path)
        started = time.monotonic()
        self.ironic.cli('node', 'deploy', 'hb-wrong-ca', parse=False)
        node = self.ironic.wait_for_node('hb-wrong-ca', FAIL_TIMEOUT,
                                         provision_state='deploy failed')
        print('amt-https wrong CA: deploy failed after %.2f s'
              % (time.monotonic() - started))
        self.assertIn('could not verify the image server',
                      node['last_error'])
        history = self.ironic.cli('node', 'history', 'list', 'hb-wrong-ca',
                                  '--long')
        self.assertTrue(any('could not verify the image server'
                            in (h.get('event') or '') for h in history),
                        history)
        self.assertEqual([], launcher.agents)
        result = device.ocr.result_for(device.boot_history[-1]['seq'])
        self.assertIn('untrusted-certificate', result['reason'])

    def test_validate_refuses_firmware_without_https_boot(self):
        self._create('hb-amt12', 4)
        rows = self.ironic.cli('node', 'validate', 'hb-amt12')
        boot = [r for r in rows if r['Interface'] == 'boot'][0]
        self.assertFalse(boot['Result'])
        self.assertIn('One-Click Recovery HTTPS boot source', boot['Reason'])
