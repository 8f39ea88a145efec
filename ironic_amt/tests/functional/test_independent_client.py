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
import requests
import testtools

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.testing import waiting

PASSWORD = 'Indep-Passw0rd!'
# enable_vnc() makes the AMT password the RFB password, which firmware
# takes only with 8 characters of four classes.
VNC_PASSWORD = 'Vnc-P4ss'
WAIT = 10


class ClientFixtureTestCase(testtools.TestCase):
    """One simulated device and a PyPI amt client for it (no tests)."""

    scheme = 'http'
    password = PASSWORD

    def setUp(self):
        super().setUp()
        self.sim = Simulator([DeviceSpec('node-x', password=self.password,
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
        self.client = amt.client.Client('127.0.0.1', self.password,
                                        protocol=self.scheme)

    def settle(self):
        waiting.wait_until(lambda: not self.dev.power_change_pending, WAIT,
                           interval=0.02, what='the power change')


class IndependentClientTestCase(ClientFixtureTestCase):

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

    def test_vnc_status(self):
        status = self.client.vnc_status()
        self.assertIn('IPS_KVMRedirectionSettingData', status)
        self.assertIn('Is5900PortEnabled>false<', status)

    def test_enable_vnc_refuses_a_long_rfb_password(self):
        # The client sends its 15-character AMT password as RFBPassword.
        self.assertRaises(requests.HTTPError, self.client.enable_vnc)
        self.assertEqual('InvalidRepresentation',
                         self.dev.request_log[-1]['fault'])
        self.assertFalse(
            self.dev.kvm.settings.values['Is5900PortEnabled'])


class IndependentClientVncTestCase(ClientFixtureTestCase):

    password = VNC_PASSWORD

    def test_enable_vnc_then_status(self):
        self.client.enable_vnc()
        calls = [(e['action'], e['resource'], e['status'])
                 for e in self.dev.request_log if e.get('auth') == 'ok']
        self.assertEqual(
            [('Put', 'IPS_KVMRedirectionSettingData', 200),
             ('Invoke', 'CIM_KVMRedirectionSAP', 200)], calls)
        settings = self.dev.kvm.settings.values
        self.assertEqual((True, False, VNC_PASSWORD),
                         (settings['Is5900PortEnabled'],
                          settings['OptInPolicy'], settings['RFBPassword']))
        self.assertEqual(6, self.dev.kvm.sap_fields()['EnabledState'])
        status = self.client.vnc_status()
        self.assertIn('Is5900PortEnabled>true<', status)
        self.assertNotIn(VNC_PASSWORD, status)


class IndependentClientHttpsTestCase(IndependentClientTestCase):

    scheme = 'https'


class IndependentClientVncHttpsTestCase(IndependentClientVncTestCase):

    scheme = 'https'
