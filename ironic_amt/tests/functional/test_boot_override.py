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

"""Persistent boot devices, override verification and user consent.

The driver on Ironic's test database against the simulator over real
sockets: the re-arm check of the management interface's periodic task,
the verification after each power-on, and the consent explanation.
"""

from unittest import mock

from ironic.common import boot_devices
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils
from ironic import objects

from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import management
from ironic_amt.testing import driver_case as base


class BootOverrideTestCase(base.SimulatorTestCase):

    DEVICES = ('dev', 'ccm')
    # 'ccm' is in client control mode.
    DEVICE_OPTIONS = {'ccm': {'control_mode': 4}}

    def setUp(self):
        super().setUp()
        self.config(node_history=True, group='conductor')
        for device in self.simulator.devices:
            device.consent.cancel()
            device.boot.clear_override()

    def _power_on(self, node, action=states.POWER_ON):
        with task_manager.acquire(self.context, node.uuid) as task:
            cond_utils.node_power_action(task, action)

    def _set_boot_device(self, node, device, persistent):
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.set_boot_device(task, device,
                                                   persistent=persistent)

    def _check(self, node, shared=True):
        with task_manager.acquire(self.context, node.uuid,
                                  shared=shared) as task:
            task.driver.management.check_boot_override(task)

    def _history(self, node):
        return [entry.event for entry in
                objects.NodeHistory.list_by_node_id(self.context, node.id)]

    # Persistent boot devices ---------------------------------------------

    def test_persistent_device_survives_reboots_started_by_the_os(self):
        node = self.make_node()
        device = self.device()
        self._set_boot_device(node, boot_devices.PXE, True)
        self._power_on(node)
        self.assertEqual(['pxe'], [b['source']
                                   for b in self.wait_for_boots(1)])
        for count in (2, 3, 4):
            # The OS reboots by itself; the check re-arms in between.
            self._check(node)
            device.os_boot()
            boots = self.wait_for_boots(count)
            self.assertEqual(('pxe', True, 'os'),
                             tuple(boots[-1][k] for k in
                                   ('source', 'override', 'via')))
        node.refresh()
        self.assertEqual('pxe', node.driver_internal_info[
            management.BOOT_DEVICE_KEY])
        self.assertEqual([], self._history(node))

    def test_one_request_per_check_while_nothing_changed(self):
        node = self.make_node()
        self._set_boot_device(node, boot_devices.PXE, True)
        self._power_on(node)
        self._check(node)        # re-arms after the power-on boot
        self.device().clear_log()
        for _ in range(5):
            self._check(node)
        requests = self.requests()
        self.assertEqual([('Get', 'AMT_BootSettingData')] * 5,
                         [(r['action'], r['resource']) for r in requests])
        self.assertTrue(self.device().boot_override['armed'])

    def test_one_shot_device_is_not_armed_again(self):
        node = self.make_node()
        self._set_boot_device(node, boot_devices.PXE, False)
        self._power_on(node)
        self.wait_for_boots(1)
        node.refresh()
        self.assertNotIn(management.BOOT_DEVICE_KEY,
                         node.driver_internal_info)
        self._check(node)
        self.device().os_boot()
        self.assertEqual(('disk', False), tuple(
            self.wait_for_boots(2)[-1][k] for k in ('source', 'override')))

    def test_periodic_task_checks_persistent_nodes_only(self):
        persistent = self.make_node()
        one_shot = self.make_node()
        self._set_boot_device(persistent, boot_devices.PXE, True)
        self._set_boot_device(one_shot, boot_devices.DISK, False)
        persistent.refresh()
        one_shot.refresh()
        manager = mock.Mock(spec=['iter_nodes'])
        manager.iter_nodes.return_value = [
            (node.uuid, node.driver, node.conductor_group,
             node.driver_internal_info) for node in (persistent, one_shot)]
        with task_manager.acquire(self.context, persistent.uuid,
                                  shared=True) as task:
            mgmt = task.driver.management
        mgmt._check_boot_overrides(manager, self.context)
        manager.iter_nodes.assert_called_once_with(
            filters={'reserved': False, 'maintenance': False},
            fields=['driver_internal_info'])
        # The persistent device was armed; the one-shot one was not read.
        self.assertEqual('pxe', self.device().boot_override['source'])
        self.assertEqual(1, len(self.requests(action='Get',
                                              resource='AMT_BootSettingData')))

    # Verification after a power-on -----------------------------------------

    def test_override_the_bios_ignored_is_recorded(self):
        node = self.make_node()
        self._set_boot_device(node, boot_devices.PXE, False)
        self.device().inject('override_ignored', count=1)
        with mock.patch.object(management.LOG, 'warning',
                               autospec=True) as warning:
            self._power_on(node)
        boots = self.wait_for_boots(1)
        self.assertEqual(('disk', False), (boots[0]['source'],
                                           boots[0]['override']))
        history = self._history(node)
        self.assertEqual(1, len(history), history)
        self.assertIn('AMT boot device pxe was not taken', history[0])
        self.assertIn('65535 (failed), 3 (feature not supported)', history[0])
        self.assertIn('remote control (Power Up)', history[0])
        self.assertEqual(1, warning.call_count)
        node.refresh()
        self.assertNotIn(management.VERIFY_KEY, node.driver_internal_info)

    def test_override_taken_records_nothing(self):
        node = self.make_node()
        self._set_boot_device(node, boot_devices.PXE, False)
        self._power_on(node)
        self.assertEqual('pxe', self.wait_for_boots(1)[0]['source'])
        self.assertEqual([], self._history(node))

    def test_pending_override_is_verified_later_or_reported(self):
        # A reboot of a running node: the power state stays on, so the
        # driver returns before the reset boots; the check verifies.
        node = self.make_node()
        self.device().set_power_state(2)
        self.mark_boots()
        self._set_boot_device(node, boot_devices.PXE, False)
        self.device().power.delay = 30    # the BIOS has not started
        self.addCleanup(setattr, self.device().power, 'delay', 0.05)
        self._power_on(node, states.REBOOT)
        node.refresh()
        self.assertEqual('pxe', node.driver_internal_info[
            management.VERIFY_KEY]['device'])
        self._check(node)
        self.assertEqual([], self._history(node))
        self.config(boot_verify_timeout=1, group='amt')
        later = node.driver_internal_info[management.VERIFY_KEY]['since'] + 2
        with mock.patch.object(management.time, 'time', autospec=True,
                               return_value=later):
            self._check(node)
        history = self._history(node)
        self.assertEqual(1, len(history), history)
        self.assertIn('still holds it', history[0])

    # User consent ------------------------------------------------------------

    def test_consent_needed_is_explained(self):
        node = self.make_node('ccm')
        self._set_boot_device(node, boot_devices.PXE, False)
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(
                errors.AMTConsentRequired,
                task.driver.power.set_power_state, task, states.POWER_ON)
        message = str(error)
        self.assertIn(node.uuid, message)
        self.assertIn('user consent is required', message)
        self.assertIn('client control mode', message)
        self.assertIn('admin control mode', message)
        # Nothing was powered on without the override.
        self.assertEqual(8, self.device('ccm').power_state)

    def test_consent_given_lets_the_override_through(self):
        node = self.make_node('ccm')
        device = self.device('ccm')
        device.set_power_state(2)
        self.mark_boots()
        device.consent.start()
        device.consent.send_code(device.consent.displayed_code)
        self._set_boot_device(node, boot_devices.PXE, False)
        self._power_on(node, states.REBOOT)
        self.assertEqual('pxe', self.wait_for_boots(1, 'ccm')[0]['source'])

    def test_validate_explains_consent_from_inspection(self):
        node = self.make_node('ccm')
        node.properties = {'capabilities': 'amt_provisioning_mode:ccm,'
                                           'amt_user_consent:all'}
        node.save()
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      task.driver.management.validate, task)
            task.driver.power.validate(task)
        self.assertIn('user consent is required', str(error))
        self.assertEqual([], self.requests('ccm'))
