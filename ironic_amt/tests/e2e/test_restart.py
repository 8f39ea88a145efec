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

"""A boot device set through the API survives a restart of Ironic.

Also greps Ironic's logs and API answers, after flows with a good and a
wrong password, for the passwords and for Digest headers.
"""

import json

from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import request_log
from ironic_amt.tests.e2e import base

TEST_TIMEOUT = 180
PASSWORD = 'Restart-Secret-e2e-5521'
WRONG_PASSWORD = 'Wr0ng-Restart-e2e-3390'
# Text that only an Authorization header (or its parts) contains.
HEADER_MARKERS = ('Digest username=', 'cnonce=', 'response="')


class RestartTest(base.StackTestCase):

    DEVICES = (DeviceSpec('restart', password=PASSWORD),)
    TEST_TIMEOUT = TEST_TIMEOUT

    def _boot_device(self, name):
        return self.ironic.cli('node', 'boot', 'device', 'show', name)

    def _power_on(self, name):
        self.ironic.cli('node', 'power', 'on', name, parse=False)
        return self.ironic.wait_for_node(name, 60, target_power_state=None)

    def _assert_no_secret(self, texts):
        for text in texts:
            self.assertNotIn(PASSWORD, text)
            self.assertNotIn(WRONG_PASSWORD, text)
        for marker in HEADER_MARKERS:
            self.assertNotIn(marker, self.ironic.logs())

    def _api_texts(self):
        return [self.ironic.api('GET', '/v1/nodes/detail').text,
                self.ironic.api('GET', '/v1/nodes/restart').text,
                self.ironic.api('GET', '/v1/nodes/restart-bad').text,
                json.dumps(self.ironic.cli('node', 'show', 'restart-bad'))]

    def test_boot_device_survives_restart(self):
        device = self.stack.sim.device('restart')
        self.stack.create_node('restart', device, index=1)
        self.stack.create_node('restart-bad', device, index=2,
                               amt_password=WRONG_PASSWORD)
        bad = self._power_on('restart-bad')
        self.assertIn('authentication failed', bad['last_error'])

        self.ironic.cli('node', 'boot', 'device', 'set', 'restart', 'pxe',
                        parse=False)
        self.assertEqual({'boot_device': 'pxe', 'persistent': False},
                         self._boot_device('restart'))
        # Stored only: nothing is armed on the device before a power-on.
        self.assertEqual([], [e for e in device.request_log
                              if e.get('method') == 'ChangeBootOrder'])
        self._assert_no_secret([self.ironic.logs()] + self._api_texts())

        old_pid = self.ironic.pid
        self.assertNotEqual(old_pid, self.ironic.restart())

        self.assertEqual({'boot_device': 'pxe', 'persistent': False},
                         self._boot_device('restart'))
        node = self._power_on('restart')
        self.assertIsNone(node['last_error'])
        self.assertEqual('power on', node['power_state'])
        boots = request_log.power_boots(device.request_log)
        self.assertEqual(1, len(boots), boots)
        self.assertEqual('pxe', request_log.armed_device(boots[0]['armed']))
        self.assertIsNotNone(boots[0]['boot'])
        self.assertEqual('pxe', boots[0]['boot']['source'])
        # One-shot: forgotten once armed.
        self.assertIsNone(self._boot_device('restart')['boot_device'])

        bad = self._power_on('restart-bad')
        self.assertIn('authentication failed', bad['last_error'])
        self._assert_no_secret([self.ironic.logs()] + self._api_texts())
