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

"""AMTPower and AMTManagement over real sockets against the simulator."""

from ironic.common import boot_devices
from ironic.common import states
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils

from ironic_amt.drivers.modules.amt import errors
from ironic_amt.testing import driver_case as base

ARM_SEQUENCE = [
    ('ChangeBootOrder', {'Source': None}),
    ('Put', None),
    ('SetBootConfigRole', {'Role': 1}),
]
SOURCES = {'pxe': 'Intel(r) AMT: Force PXE Boot',
           'disk': 'Intel(r) AMT: Force Hard-drive Boot',
           'cdrom': 'Intel(r) AMT: Force CD/DVD Boot'}


class PowerTestCase(base.SimulatorTestCase):

    def _power(self, node, action, **kwargs):
        with task_manager.acquire(self.context, node.uuid) as task:
            cond_utils.node_power_action(task, action, **kwargs)
            return task.driver.power.get_power_state(task)

    def test_power_on_off_http_and_https(self):
        for protocol in ('http', 'https'):
            node = self.make_node(protocol=protocol)
            self.assertEqual(states.POWER_ON,
                             self._power(node, states.POWER_ON))
            self.assertEqual(2, self.device().power_state)
            self.assertEqual(states.POWER_OFF,
                             self._power(node, states.POWER_OFF))
            self.assertEqual(8, self.device().power_state)
        schemes = {e['scheme'] for e in self.requests()}
        self.assertEqual({'http', 'https'}, schemes)

    def test_power_change_sent_once(self):
        node = self.make_node()
        self._power(node, states.POWER_ON)
        changes = self.requests(method='RequestPowerStateChange')
        self.assertEqual([{'PowerState': 2}], [c['args'] for c in changes])

    def test_reboot_when_on_resets_and_boots(self):
        node = self.make_node()
        self.device().set_power_state(2)
        self.mark_boots()
        self._power(node, states.REBOOT)
        changes = self.requests(method='RequestPowerStateChange')
        self.assertEqual([{'PowerState': 10}], [c['args'] for c in changes])
        self.wait_for_boots(1)

    def test_reboot_when_off_powers_on(self):
        # The reset is sent first (one call less for the usual running
        # node); the device refuses it while off, then powers on.
        node = self.make_node()
        self._power(node, states.REBOOT)
        changes = self.requests(method='RequestPowerStateChange')
        self.assertEqual([({'PowerState': 10}, 2), ({'PowerState': 2}, 0)],
                         [(c['args'], c['return_value']) for c in changes])
        self.assertEqual(2, self.device().power_state)

    def test_soft_power_off_with_lms(self):
        node = self.make_node()
        self.device().set_power_state(2)
        self._power(node, states.SOFT_POWER_OFF, timeout=5)
        changes = self.requests(method='RequestPowerStateChange')
        self.assertEqual([{'PowerState': 12}], [c['args'] for c in changes])
        self.assertEqual(8, self.device().power_state)

    def test_soft_power_off_without_lms_is_refused_clearly(self):
        node = self.make_node('nolms')
        self.device('nolms').set_power_state(2)
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(
                errors.AMTOperationError, task.driver.power.set_power_state,
                task, states.SOFT_POWER_OFF)
        self.assertIn(node.uuid, str(error))
        self.assertIn('LMS', str(error))
        self.assertEqual(2, self.device('nolms').power_state)

    def test_steady_state_get_is_one_exchange(self):
        node = self.make_node()
        with task_manager.acquire(self.context, node.uuid,
                                  shared=True) as task:
            task.driver.power.get_power_state(task)
            self.device().clear_log()
            for _ in range(3):
                task.driver.power.get_power_state(task)
        log = self.requests()
        self.assertEqual(3, len(log))
        self.assertEqual(['ok'] * 3, [e['auth'] for e in log])
        self.assertFalse(any(e['new_connection'] for e in log))


class BootDeviceTestCase(base.SimulatorTestCase):

    def _set_and_power_on(self, node, device, persistent=False):
        with task_manager.acquire(self.context, node.uuid) as task:
            cond_utils.node_set_boot_device(task, device,
                                            persistent=persistent)
            cond_utils.node_power_action(task, states.POWER_ON)
            return task.driver.management.get_boot_device(task)

    def _armed_before_power_on(self, source):
        """The arming sequence, then the power change, in the log."""
        calls = [(e['method'] or e['action'],
                  e['args'] if e['method'] else None)
                 for e in self.requests(status=200)
                 if e['action'] in ('Invoke', 'Put')]
        expected = ARM_SEQUENCE + [('ChangeBootOrder', {'Source': source})]
        self.assertEqual(expected, calls[:4])
        self.assertEqual('RequestPowerStateChange', calls[4][0])

    def test_one_shot_pxe(self):
        node = self.make_node()
        stored = self._set_and_power_on(node, boot_devices.PXE)
        self.assertEqual({'boot_device': None, 'persistent': None}, stored)
        self._armed_before_power_on(SOURCES['pxe'])
        boot = self.wait_for_boots(1)[-1]
        self.assertEqual(('pxe', True), (boot['source'], boot['override']))
        # The next power cycle boots the default order: nothing was armed.
        with task_manager.acquire(self.context, node.uuid) as task:
            cond_utils.node_power_action(task, states.REBOOT)
        boot = self.wait_for_boots(2)[-1]
        self.assertEqual(('disk', False), (boot['source'], boot['override']))

    def test_persistent_device_rearmed_every_boot(self):
        node = self.make_node(protocol='https')
        stored = self._set_and_power_on(node, boot_devices.CDROM,
                                        persistent=True)
        self.assertEqual({'boot_device': 'cdrom', 'persistent': True},
                         stored)
        with task_manager.acquire(self.context, node.uuid) as task:
            cond_utils.node_power_action(task, states.REBOOT)
            cond_utils.node_power_action(task, states.POWER_OFF)
            cond_utils.node_power_action(task, states.POWER_ON)
        sources = [(b['source'], b['override'])
                   for b in self.wait_for_boots(3)]
        self.assertEqual([('cdrom', True)] * 3, sources)

    def test_bios_setup(self):
        node = self.make_node()
        self._set_and_power_on(node, boot_devices.BIOS)
        self.assertEqual('bios', self.wait_for_boots(1)[-1]['source'])

    def test_switching_device_is_not_blocked_by_pending_one(self):
        # The simulator keeps a pending source until the order is cleared;
        # the driver clears first, so the second device wins.
        node = self.make_node()
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.set_boot_device(task, 'pxe')
            task.driver.management.ensure_next_boot_device(task)
            task.driver.management.set_boot_device(task, 'disk')
            cond_utils.node_power_action(task, states.POWER_ON)
        boot = self.wait_for_boots(1)[-1]
        self.assertEqual(('disk', True), (boot['source'], boot['override']))

    def test_busy_while_reset_pending_arms_again(self):
        # A reboot returns once AMT accepts the reset; the machine restarts
        # power_delay later. A power request in between is answered Busy,
        # and that pending restart uses up whatever was armed: the driver
        # must arm again before resending, or the next boot is unarmed.
        device = self.device()
        self.addCleanup(setattr, device, 'power_delay', device.power_delay)
        # Longer than Ironic's first power state poll (1 s) so that the
        # second reboot finds the first reset pending; the resend comes
        # action_wait after the Busy answer, once the reset is done.
        device.power_delay = 2.0
        self.config(action_wait=1.5, group='amt')
        device.set_power_state(2)
        self.mark_boots()
        node = self.make_node()
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.set_boot_device(task, 'cdrom')
            task.driver.power.reboot(task)
            task.driver.management.set_boot_device(task, 'pxe')
            task.driver.power.reboot(task)
        busy = [e for e in self.requests(method='RequestPowerStateChange')
                if e['return_value'] == 4099]
        self.assertNotEqual([], busy)
        boot = self.wait_for_boots(2)[-1]
        self.assertEqual(('pxe', True), (boot['source'], boot['override']))

    def test_inject_nmi(self):
        node = self.make_node()
        self.device().set_power_state(2)
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.inject_nmi(task)
        changes = self.requests(method='RequestPowerStateChange')
        self.assertEqual([{'PowerState': 11}], [c['args'] for c in changes])
