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

"""The PyPI ``amt`` 0.8.0 client (amtctrl), unchanged, against the simulator.

That client was written against real AMT hardware, so it checks the
simulator's wire format from the outside: its digest handling, its
openwsman-dialect envelopes and its namespace-qualified parsing.
"""

from unittest import mock

import amt.client
import fixtures
import testtools

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.testing import waiting

PASSWORD = 'Indep-Passw0rd!'
WAIT = 10


class IndependentClientTestCase(testtools.TestCase):

    scheme = 'http'

    def setUp(self):
        super().setUp()
        self.sim = Simulator([DeviceSpec('node-x', password=PASSWORD,
                                         power_delay=0.05)])
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.dev = self.sim.device('node-x')
        port = (self.dev.http_port if self.scheme == 'http'
                else self.dev.https_port)
        patcher = mock.patch.dict(amt.client.AMT_PROTOCOL_PORT_MAP,
                                  {self.scheme: port})
        patcher.start()
        self.addCleanup(patcher.stop)
        # requests reads the CA bundle from the environment, so the client
        # verifies the simulator's certificate without being changed.
        self.useFixture(fixtures.EnvironmentVariable(
            'REQUESTS_CA_BUNDLE', self.sim.ca_cert_path))
        self.client = amt.client.Client('127.0.0.1', PASSWORD,
                                        protocol=self.scheme)

    def settle(self):
        waiting.wait_until(lambda: not self.dev.power_change_pending, WAIT,
                           interval=0.02, what='the power change')

    def test_power_status(self):
        self.assertEqual('8', self.client.power_status())
        self.dev.set_power_state(2)
        self.assertEqual('2', self.client.power_status())

    def test_power_on_and_off(self):
        self.assertEqual(0, self.client.power_on())
        self.settle()
        self.assertEqual('2', self.client.power_status())
        self.assertEqual([(2, 'disk')], [(b['via'], b['source'])
                                         for b in self.dev.boot_history])
        self.assertEqual(0, self.client.power_off())
        self.settle()
        self.assertEqual('8', self.client.power_status())
        self.assertEqual(8, self.dev.power_state)

    def test_power_cycle(self):
        self.dev.set_power_state(2)
        self.assertEqual(0, self.client.power_cycle())
        self.settle()
        self.assertEqual(2, self.dev.power_state)
        self.assertEqual(5, self.dev.boot_history[-1]['via'])

    def test_pxe_next_boot_then_power_cycle(self):
        self.dev.set_power_state(2)
        self.client.pxe_next_boot()
        override = self.dev.boot_override
        self.assertEqual(('pxe', 1), (override['source'], override['role']))
        self.assertEqual(0, self.client.power_cycle())
        self.settle()
        last = self.dev.boot_history[-1]
        self.assertEqual(('pxe', True, 5),
                         (last['source'], last['override'], last['via']))
        methods = [(e['method'], e['return_value'])
                   for e in self.dev.request_log if e.get('method')]
        self.assertEqual([('ChangeBootOrder', 0), ('SetBootConfigRole', 0),
                          ('RequestPowerStateChange', 0)], methods)
        self.assertIsNone(self.dev.boot_override['source'])


class IndependentClientHttpsTestCase(IndependentClientTestCase):

    scheme = 'https'
