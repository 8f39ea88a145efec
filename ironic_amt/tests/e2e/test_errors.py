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

"""Bad driver_info through the real API: clear errors, no leaked secret."""

import json
import time


from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import harness
from ironic_amt.tests.e2e import base

TEST_TIMEOUT = 60
# Upper bound of a failed power action with the harness's [amt] options
# (2 attempts, 0.2 s apart, 2 s connect timeout), plus Ironic's overhead.
FAILURE_BOUND = 15.0
WRONG_PASSWORD = 'Wr0ng-Secret-e2e-7781'


class BadInputTest(base.StackTestCase):
    """Wrong password, unreachable AMT, missing driver_info."""

    DEVICES = (DeviceSpec('bad-auth', password='Right-Secret-9'),)
    TEST_TIMEOUT = TEST_TIMEOUT

    def _power_on_error(self, name):
        """Ask for power on; return (last_error, seconds until it is set)."""
        started = time.monotonic()
        self.ironic.cli('node', 'power', 'on', name, parse=False)
        node = self.ironic.wait_for_node(name, FAILURE_BOUND * 2,
                                         target_power_state=None)
        elapsed = time.monotonic() - started
        self.assertIsNotNone(node['last_error'])
        return node['last_error'], elapsed

    def test_wrong_password(self):
        device = self.stack.sim.device('bad-auth')
        node = self.stack.create_node('bad-auth', device, index=1,
                                      amt_password=WRONG_PASSWORD)
        error, elapsed = self._power_on_error('bad-auth')
        self.assertIn('authentication failed', error)
        self.assertIn(node['uuid'], error)
        self.assertLess(elapsed, FAILURE_BOUND)
        self.assertEqual(8, device.power_state)
        self.assertIn('bad', {e.get('auth') for e in device.request_log})

        # Verification on manage fails the same way.
        self.ironic.cli('node', 'manage', 'bad-auth', parse=False)
        node = self.ironic.wait_for_node('bad-auth', 30,
                                         provision_state='enroll',
                                         target_provision_state=None)
        self.assertIn('authentication failed', node['last_error'])

        outputs = [
            json.dumps(self.ironic.cli('node', 'show', 'bad-auth')),
            self.ironic.api('GET', '/v1/nodes/bad-auth').text,
            self.ironic.api('GET', '/v1/nodes/detail').text,
            self.ironic.logs(),
        ]
        for text in outputs:
            self.assertNotIn(WRONG_PASSWORD, text)

    def test_unreachable_address(self):
        device = self.stack.sim.device('bad-auth')
        node = self.stack.create_node('unreachable', device, index=2,
                                      amt_port=harness.free_port())
        error, elapsed = self._power_on_error('unreachable')
        self.assertIn('could not be reached', error)
        self.assertIn(node['uuid'], error)
        self.assertLess(elapsed, FAILURE_BOUND)

    def test_missing_driver_info(self):
        self.ironic.cli('node', 'create', '--driver', 'pxe_amt', '--name',
                        'no-info')
        rows = self.ironic.cli('node', 'validate', 'no-info')
        checks = {row['Interface']: row for row in rows}
        for interface in ('power', 'management'):
            self.assertFalse(checks[interface]['Result'])
            reason = checks[interface]['Reason']
            for key in ('amt_address', 'amt_password', 'amt_username'):
                self.assertIn(key, reason)
