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

"""``baremetal node inspect`` of pxe_amt nodes through a real Ironic 39."""

import json
import os


from ironic_amt.simulator import DeviceSpec
from ironic_amt.tests.e2e import base

TEST_TIMEOUT = 90
# The amt inspect interface is not in Ironic's default enabled list.
INSPECT_OPTIONS = {'DEFAULT': {'enabled_inspect_interfaces':
                               'amt,agent,no-inspect'}}


class InspectTest(base.StackTestCase):
    """Enroll without properties or ports, inspect, schedule-ready."""

    DEVICES = (DeviceSpec('insp-ok', password='Insp-Ok-1', kvm_enabled=True,
                          features={'sol': True, 'ider': True,
                                    'listener': True}),
               DeviceSpec('insp-nomem', password='Insp-NoMem-2',
                          inventory={'CIM_PhysicalMemory': []}))
    IRONIC_OPTIONS = INSPECT_OPTIONS
    TEST_TIMEOUT = TEST_TIMEOUT

    def _manageable_node(self, name, device):
        node = self.ironic.cli('node', 'create', '--driver', 'pxe_amt',
                               '--name', name, '--boot-interface', 'pxe',
                               '--deploy-interface', 'ramdisk',
                               *self.stack.driver_info(device))
        # amt comes first among pxe_amt's inspect interfaces.
        self.assertEqual('amt', node['inspect_interface'])
        self.ironic.cli('node', 'manage', name, parse=False)
        self.ironic.wait_for_node(name, 30, provision_state='manageable')
        return node

    def test_inspect_fills_properties_and_creates_port(self):
        device = self.stack.sim.device('insp-ok')
        node = self._manageable_node('insp-ok', device)
        self.ironic.cli('node', 'inspect', 'insp-ok', parse=False)
        shown = self.ironic.wait_for_node('insp-ok', 30,
                                          provision_state='manageable',
                                          target_provision_state=None)
        self.assertIsNone(shown['last_error'])
        self.assertIsNotNone(shown['inspection_finished_at'])
        properties = dict(shown['properties'])
        capabilities = dict(item.split(':', 1) for item in
                            properties.pop('capabilities').split(','))
        self.assertEqual({'cpu_arch': 'x86_64', 'cpus': 1,
                          'memory_mb': 32768, 'local_gb': 893},
                         properties)
        self.assertEqual({
            'amt_version': '16.1', 'amt_provisioning_mode': 'acm',
            'amt_user_consent': 'none', 'amt_sol': 'enabled',
            'amt_ider': 'enabled', 'amt_kvm': 'enabled',
            'amt_https_boot': 'enabled', 'amt_rpe': 'enabled'},
            capabilities)
        # Traits a Nova flavor can require, as the CLI lists them.
        traits = self.ironic.cli('node', 'trait', 'list', 'insp-ok')
        self.assertEqual(['CUSTOM_AMT_ACM', 'CUSTOM_AMT_HTTPS_BOOT',
                          'CUSTOM_AMT_KVM', 'CUSTOM_AMT_RPE',
                          'CUSTOM_AMT_SOL'],
                         sorted(t['traits'] for t in traits))

        wired, wireless = (mac.replace('-', ':')
                           for mac in device.mac_addresses)
        ports = self.ironic.api(
            'GET', '/v1/ports?node=%s&fields=address,pxe_enabled'
            % node['uuid']).json()['ports']
        self.assertEqual([{'address': wired, 'pxe_enabled': True}],
                         [{key: port[key] for key in ('address',
                                                      'pxe_enabled')}
                          for port in ports])

        saved = self.ironic.cli('node', 'inventory', 'save', 'insp-ok',
                                parse=False)
        data = json.loads(saved.stdout)
        self.assertEqual(device.system_uuid,
                         data['inventory']['system_vendor']['system_uuid'])
        self.assertEqual({'pxe_interface': wired},
                         data['inventory']['boot'])
        self.assertEqual([wireless],
                         data['plugin_data']['amt']['wireless_macs'])
        # Out of band: the host stayed off and never booted.
        self.assertEqual(8, device.power_state)
        self.assertEqual([], device.boot_history)

        # The port inspection created is the one a deploy PXE-boots from:
        # Ironic writes the node's PXE config under that MAC address.
        self.ironic.cli('node', 'provide', 'insp-ok', parse=False)
        self.ironic.wait_for_node('insp-ok', 30, provision_state='available')
        self.stack.set_ramdisk_image('insp-ok')
        self.ironic.cli('node', 'deploy', 'insp-ok', parse=False)
        self.ironic.wait_for_node('insp-ok', 60, provision_state='active')
        pxe_config = os.path.join(self.ironic.workdir, 'tftpboot',
                                  'pxelinux.cfg',
                                  '01-' + wired.replace(':', '-'))
        self.assertTrue(os.path.exists(pxe_config), pxe_config)
        self.assertEqual('pxe', device.boot_history[-1]['source'])

    def test_inspect_without_memory_records_fails_clearly(self):
        device = self.stack.sim.device('insp-nomem')
        node = self._manageable_node('insp-nomem', device)
        self.ironic.cli('node', 'inspect', 'insp-nomem', parse=False)
        shown = self.ironic.wait_for_node('insp-nomem', 30,
                                          provision_state='inspect failed')
        self.assertIn('memory_mb', shown['last_error'])
        self.assertIn(node['uuid'], shown['last_error'])
        self.assertNotIn(device.password, self.ironic.logs())
        self.assertEqual([], self.ironic.cli('port', 'list', '--node',
                                             node['uuid']))
