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

"""The erase_devices_rpe clean step against the simulator."""

from ironic.common import boot_devices
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils

from ironic_amt.drivers.modules.amt import errors
from ironic_amt.testing import driver_case as base

# Device name -> (profile, features).
DEVICE_SPECS = {
    'dev': ('16.1', None),
    'amt19': ('19', None),
    'old': ('12', None),
    'nobios': ('16.1', {'rpe_bios': False, 'rpe_service': False}),
    'off': ('16.1', {'rpe_service': False}),
}


class EraseTestCase(base.SimulatorTestCase):

    DEVICES = tuple(DEVICE_SPECS)
    DEVICE_OPTIONS = {name: {'profile': profile, 'features': features}
                      for name, (profile, features) in DEVICE_SPECS.items()}

    def setUp(self):
        super().setUp()
        self.config(power_state_poll_interval=0.05, erase_timeout=5,
                    group='amt')
        for device in self.simulator.devices:
            device.boot.clear_override()
            del device.features.erase_history[:]

    def _erase(self, name='dev', protocol='https', **kwargs):
        node = self.make_node(name, protocol)
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.erase_devices_rpe(task, **kwargs)
        return node

    def _erased(self, name='dev'):
        return [(event['devices'], event['performed'], event['via'])
                for event in self.device(name).features.erase_history]

    def _puts(self, name='dev'):
        return [entry['args'] for entry in self.requests(name, action='Put')]

    def test_default_devices_from_off_power_on(self):
        self._erase()
        self.assertEqual([(['bios_nvm_clear', 'ssd_erase', 'tpm_clear',
                            'verify_storage_erase'], True, 2)],
                         self._erased())
        self.assertEqual(2, self.device().power_state)
        # Never a configuration data reset, and over TLS only.
        self.assertFalse(any(put.get('ConfigurationDataReset')
                             for put in self._puts()))
        self.assertEqual({'https'}, {e['scheme'] for e in self.requests()})

    def test_named_device_power_cycles_a_running_host(self):
        self.device('amt19').set_power_state(2)
        self._erase('amt19', devices=['pyrite'])
        self.assertEqual([(['pyrite_revert', 'verify_storage_erase'], True,
                           5)], self._erased('amt19'))
        changes = self.requests('amt19', method='RequestPowerStateChange')
        self.assertEqual([{'PowerState': 5}], [c['args'] for c in changes])

    def test_next_boot_device_carries_no_erase(self):
        node = self._erase(devices=['tpm'])
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.set_boot_device(task, boot_devices.PXE)
            cond_utils.node_power_action(task, states.REBOOT)
        self.assertEqual(1, len(self._erased()))
        self.assertFalse(self._puts()[-1].get('PlatformErase'))
        self.assertEqual('pxe', self.device().last_boot_source)

    def test_boot_service_rpe_is_turned_on(self):
        self._erase('off', devices=['ssd'])
        turned = self.requests('off', method='RequestStateChange')
        self.assertEqual([{'RequestedState': 32771}],
                         [t['args'] for t in turned])
        self.assertEqual([(['ssd_erase', 'verify_storage_erase'], True, 2)],
                         self._erased('off'))

    def test_refusals_change_nothing(self):
        cases = [
            ('old', 'https', {}, 'does not support'),
            ('nobios', 'https', {}, 'disabled in the BIOS'),
            ('dev', 'http', {}, 'needs TLS'),
            ('dev', 'https', {'devices': ['pyrite']}, 'offers'),
            ('dev', 'https', {'devices': ['disk0']}, 'disk0'),
            ('dev', 'https', {'devices': 'ssd'}, 'must be a list'),
        ]
        for name, protocol, kwargs, expected in cases:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      self._erase, name, protocol, **kwargs)
            self.assertIn(expected, str(error))
            self.assertEqual([], self.requests(name, action='Put'))
            self.assertEqual([], self._erased(name))

    def test_bios_failure_fails_the_step(self):
        self.device().inject('override_ignored', count=1, detail=1)
        error = self.assertRaises(errors.AMTOperationError, self._erase,
                                  devices=['ssd'])
        self.assertIn('65535 (failed), 1 (general boot failure)', str(error))
