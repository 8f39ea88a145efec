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

"""Ramdisk and direct deploys of pxe_amt nodes through a real Ironic 39.

For every boot Ironic causes, the simulator's request log must show the
boot device armed in the console order right before the power change, and
the device must then have booted from it.
"""

from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import fake_agent
from ironic_amt.testing import harness
from ironic_amt.testing import request_log
from ironic_amt.tests.e2e import base

TEST_TIMEOUT = 120
DEPLOY_TIMEOUT = 60


class DeployTest(base.StackTestCase):
    """Deploy and undeploy through the real CLI and API."""

    DEVICES = (DeviceSpec('dep-ramdisk'), DeviceSpec('dep-direct'))
    TEST_TIMEOUT = TEST_TIMEOUT

    def assertBootsArmed(self, device, expected):
        """Check every boot of a device was armed, then used, as expected.

        :param device: the simulator Device.
        :param expected: the boot devices of the successive boots.
        """
        boots = request_log.power_boots(device.request_log)
        self.assertEqual(len(expected), len(boots), boots)
        for wanted, boot in zip(expected, boots):
            self.assertEqual(wanted, request_log.armed_device(boot['armed']),
                             boot)
            self.assertIsNotNone(boot['boot'], boot)
            self.assertEqual(wanted, boot['boot']['source'], boot)
            self.assertTrue(boot['boot']['override'], boot)

    def _deploy(self, name):
        self.ironic.cli('node', 'deploy', name, parse=False)
        return self.ironic.wait_for_node(name, DEPLOY_TIMEOUT,
                                         provision_state='active')

    def _undeploy(self, name, device):
        self.ironic.cli('node', 'undeploy', name, parse=False)
        node = self.ironic.wait_for_node(name, DEPLOY_TIMEOUT,
                                         provision_state='available')
        self.assertEqual('power off', node['power_state'])
        self.assertEqual(8, device.power_state)

    def test_ramdisk_deploy(self):
        device = self.stack.sim.device('dep-ramdisk')
        self.stack.create_node('dep-ramdisk', device, index=1)
        self.stack.make_available('dep-ramdisk')
        self.stack.set_ramdisk_image('dep-ramdisk')
        node = self._deploy('dep-ramdisk')
        self.assertEqual('power on', node['power_state'])
        self.assertEqual(2, device.power_state)
        self.assertBootsArmed(device, ['pxe'])

        self._undeploy('dep-ramdisk', device)
        self.assertBootsArmed(device, ['pxe'])

    def test_direct_deploy(self):
        device = self.stack.sim.device('dep-direct')
        images = self.ironic.images
        self.stack.create_node(
            'dep-direct', device, index=2, deploy_interface='direct',
            deploy_kernel=images['vmlinuz']['url'],
            deploy_ramdisk=images['initrd.img']['url'],
            deploy_forces_oob_reboot='true')
        self.stack.make_available('dep-direct')
        self.stack.set_disk_image('dep-direct')
        launcher = fake_agent.AgentLauncher(device, self.ironic.url,
                                            macs=[harness.mac_for(2)],
                                            lifetime=DEPLOY_TIMEOUT)
        launcher.start()
        self.addCleanup(launcher.stop)
        node = self._deploy('dep-direct')
        self.assertEqual('power on', node['power_state'])
        self.assertEqual(2, device.power_state)
        # The agent came up once, from the network, and wrote the image.
        self.assertEqual(1, len(launcher.agents))
        commands = launcher.agents[0].command_names()
        self.assertIn('deploy.execute_deploy_step', commands)
        write = [c for c in launcher.agents[0].commands
                 if c['full_name'] == 'deploy.execute_deploy_step']
        self.assertEqual('write_image', write[0]['command_params']['step']
                         ['step'])
        self.assertBootsArmed(device, ['pxe', 'disk'])

        self._undeploy('dep-direct', device)
        self.assertBootsArmed(device, ['pxe', 'disk'])
