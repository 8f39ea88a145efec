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

"""The operator's flow through the real ``baremetal`` CLI and Ironic 39."""


from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import request_log
from ironic_amt.testing import waiting
from ironic_amt.tests.e2e import base

TEST_TIMEOUT = 120
AMT_KEYS = ('amt_address', 'amt_username', 'amt_password', 'amt_protocol',
            'amt_port', 'amt_verify_ca')
# Ironic power state -> the CIM PowerState the simulated device must have.
DEVICE_POWER = {'power on': 2, 'power off': 8}


class OperatorFlowTest(base.StackTestCase):
    """Enroll, validate, power and boot-device commands on pxe_amt nodes."""

    DEVICES = (DeviceSpec('op-power', password='Op-Power-1'),
               DeviceSpec('op-boot', password='Op-Boot-2'),
               DeviceSpec('op-tls', password='Op-Tls-3'),
               DeviceSpec('op-life', password='Op-Life-4'))
    TEST_TIMEOUT = TEST_TIMEOUT

    def _validate(self, name):
        rows = self.ironic.cli('node', 'validate', name)
        return {row['Interface']: row for row in rows}

    def _power(self, name, device, *args):
        if args[0] == 'reboot':
            self.ironic.cli('node', *args, name, parse=False)
        else:
            self.ironic.cli('node', 'power', *args, name, parse=False)
        wanted = 'power off' if args[0] == 'off' else 'power on'
        node = self.ironic.wait_for_node(name, 30, power_state=wanted,
                                         target_power_state=None)
        self.assertIsNone(node['last_error'])
        self.assertEqual(DEVICE_POWER[wanted], device.power_state)

    def _wait_for_boots(self, device, count, timeout=10.0):
        # A reset keeps the device on, so Ironic may report success before
        # the simulated reset (power_delay later) is recorded as a boot.
        boots = waiting.wait_for_boots(device, count, timeout=timeout)
        self.assertEqual(count, len(boots))

    def _power_requests(self, device):
        return [(e['args']['PowerState'], e['return_value'])
                for e in device.request_log
                if e.get('method') == 'RequestPowerStateChange'
                and e.get('status') == 200]

    def test_driver_list_and_properties(self):
        drivers = self.ironic.cli('driver', 'list')
        self.assertIn('pxe_amt', [d['name'] for d in drivers])
        props = self.ironic.cli('driver', 'property', 'list', 'pxe_amt')
        names = {p['property'] for p in props}
        for key in AMT_KEYS:
            self.assertIn(key, names)

    def test_power_actions(self):
        device = self.stack.sim.device('op-power')
        node = self.stack.create_node('op-power', device, index=1)
        self.assertEqual('******', node['driver_info']['amt_password'])
        checks = self._validate('op-power')
        self.assertTrue(checks['power']['Result'], checks['power'])
        self.assertTrue(checks['management']['Result'], checks['management'])

        self._power('op-power', device, 'on')
        self._power('op-power', device, 'off')
        self._power('op-power', device, 'reboot')
        boots = len(device.boot_history)
        self._power('op-power', device, 'reboot')
        self._wait_for_boots(device, boots + 1)
        self._power('op-power', device, 'off', '--soft')
        # on, off, reboot from off (reset refused: off, so on), reset,
        # graceful off
        self.assertEqual([(2, 0), (8, 0), (10, 2), (2, 0), (10, 0), (12, 0)],
                         self._power_requests(device))
        self.assertNotIn(device.password, self.ironic.logs())

    def test_boot_device(self):
        device = self.stack.sim.device('op-boot')
        self.stack.create_node('op-boot', device, index=2)
        show = self.ironic.cli('node', 'boot', 'device', 'show', 'op-boot')
        self.assertIsNone(show['boot_device'])

        self.ironic.cli('node', 'boot', 'device', 'set', 'op-boot', 'pxe',
                        parse=False)
        show = self.ironic.cli('node', 'boot', 'device', 'show', 'op-boot')
        self.assertEqual({'boot_device': 'pxe', 'persistent': False}, show)
        self.assertEqual([], [e for e in device.request_log
                              if e.get('method') == 'ChangeBootOrder'])
        self._power('op-boot', device, 'on')
        self.assertEqual('pxe', device.last_boot_source)
        show = self.ironic.cli('node', 'boot', 'device', 'show', 'op-boot')
        self.assertIsNone(show['boot_device'])

        self.ironic.cli('node', 'boot', 'device', 'set', 'op-boot', 'pxe',
                        '--persistent', parse=False)
        show = self.ironic.cli('node', 'boot', 'device', 'show', 'op-boot')
        self.assertEqual({'boot_device': 'pxe', 'persistent': True}, show)
        self._power('op-boot', device, 'reboot')
        self._wait_for_boots(device, 2)
        self._power('op-boot', device, 'off')
        self._power('op-boot', device, 'on')
        boots = request_log.power_boots(device.request_log)
        self.assertEqual([2, 10, 2], [b['power_state'] for b in boots])
        for boot in boots:
            self.assertEqual('pxe', request_log.armed_device(boot['armed']),
                             boot['armed'])
            self.assertEqual('pxe', boot['boot']['source'])
            self.assertTrue(boot['boot']['override'])
        show = self.ironic.cli('node', 'boot', 'device', 'show', 'op-boot')
        self.assertEqual({'boot_device': 'pxe', 'persistent': True}, show)

    def test_https_with_ca(self):
        device = self.stack.sim.device('op-tls')
        self.stack.create_node('op-tls', device, index=3, protocol='https')
        checks = self._validate('op-tls')
        self.assertTrue(checks['power']['Result'], checks['power'])
        self._power('op-tls', device, 'on')
        self._power('op-tls', device, 'off')
        schemes = {e['scheme'] for e in device.request_log
                   if e.get('event') == 'request'}
        self.assertEqual({'https'}, schemes)
        self.assertNotIn(device.password, self.ironic.logs())

    def test_manage_provide(self):
        device = self.stack.sim.device('op-life')
        self.stack.create_node('op-life', device, index=4)
        node = self.stack.make_available('op-life')
        self.assertIsNone(node['last_error'])
        self.assertEqual('power off', node['power_state'])
        self.assertEqual(8, device.power_state)
        self.assertTrue(any(e.get('resource') == 'CIM_AssociatedPowerManage'
                            'mentService' for e in device.request_log))
