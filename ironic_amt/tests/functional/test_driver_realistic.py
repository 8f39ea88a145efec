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

"""The driver's polling and timeouts against realistic machine timing.

The ``realistic`` timing profile takes seconds per power change, passes
through intermediate states and takes the boot override during POST
(see ironic_amt.simulator.profiles.TIMINGS); the power interface must
wait for the target state with Ironic's helper, within
``[conductor]power_state_change_timeout``, and fail clearly past it.
"""

import time

from ironic.common import boot_devices
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils

from ironic_amt.simulator import profiles
from ironic_amt.testing import driver_case as base

REALISTIC = profiles.TIMINGS['realistic']
# Seconds a power-on takes in the realistic profile.
POWER_ON_SECONDS = sum(step[0] for step in REALISTIC.transitions[2])


class RealisticTimingTestCase(base.SimulatorTestCase):

    DEVICES = ('dev',)
    DEVICE_OPTIONS = {'dev': {'timing': 'realistic'}}

    def setUp(self):
        super().setUp()
        self.config(power_state_change_timeout=15, group='conductor')

    def power(self, node, action, **kwargs):
        with task_manager.acquire(self.context, node.uuid) as task:
            cond_utils.node_power_action(task, action, **kwargs)
            return task.driver.power.get_power_state(task)

    def power_reads(self, begin):
        """PowerState values the driver read, from request ``begin`` on."""
        reads = []
        for entry in self.requests()[begin:]:
            if (entry['action'] in ('Get', 'Pull')
                    and entry['resource'] in (
                        'CIM_AssociatedPowerManagementService',
                        'CIM_ServiceAvailableToElement')):
                reads.append(entry)
        return reads

    def test_power_on_waits_for_the_state(self):
        node = self.make_node()
        began = time.monotonic()
        self.assertEqual(states.POWER_ON, self.power(node, states.POWER_ON))
        elapsed = time.monotonic() - began
        self.assertGreaterEqual(elapsed, POWER_ON_SECONDS)
        self.assertEqual(2, self.device().power_state)
        # The driver polled (more than one read) while the machine was
        # still off, and sent the change once.
        self.assertGreater(len(self.power_reads(0)), 1)
        changes = self.requests(method='RequestPowerStateChange')
        self.assertEqual([({'PowerState': 2}, 0)],
                         [(c['args'], c['return_value']) for c in changes])
        # BIOS takes the boot override during POST, after the state.
        self.wait_for_boots(1, timeout=POWER_ON_SECONDS + REALISTIC.post
                            + 5)

    def test_timeout_shorter_than_the_machine_fails_clearly(self):
        node = self.make_node()
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(
                exception.PowerStateFailure,
                cond_utils.node_power_action, task, states.POWER_ON,
                timeout=1)
        self.assertIn('power on', str(error))
        node.refresh()
        self.assertIsNotNone(node.last_error)
        self.assertIsNone(node.target_power_state)
        # The machine still gets there: the request was accepted once.
        base.waiting.wait_until(lambda: self.device().power_state == 2,
                                POWER_ON_SECONDS + 5, interval=0.1,
                                what='the realistic power on')
        self.assertEqual(1, len(self.requests(
            method='RequestPowerStateChange')))

    def test_reboot_with_pxe_override_through_post(self):
        node = self.make_node()
        self.device().set_power_state(2)
        self.mark_boots()
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.set_boot_device(task, boot_devices.PXE,
                                                   persistent=False)
        self.assertEqual(states.POWER_ON, self.power(node, states.REBOOT))
        # The reset returned before POST took the override: the device
        # is still armed, then boots from the network.
        boots = self.wait_for_boots(
            1, timeout=REALISTIC.post + REALISTIC.transitions[10][0][0] + 5)
        self.assertEqual(('pxe', True, 10),
                         (boots[0]['source'], boots[0]['override'],
                          boots[0]['via']))

    def test_power_off(self):
        node = self.make_node()
        self.device().set_power_state(2)
        self.assertEqual(states.POWER_OFF,
                         self.power(node, states.POWER_OFF))
        self.assertEqual(8, self.device().power_state)

    def test_power_cycle_passes_through_off(self):
        device = self.device()
        device.set_power_state(2)
        self.mark_boots()
        self.assertEqual(0, device.power.request_change(5))
        seen = set()

        def off_then_on():
            seen.add(device.power_state)
            return 8 in seen and device.power_state == 2

        base.waiting.wait_until(off_then_on, 10, interval=0.05,
                                what='the power cycle')
        self.assertTrue(device.power.booting)
        self.wait_for_boots(1, timeout=REALISTIC.post + 5)
