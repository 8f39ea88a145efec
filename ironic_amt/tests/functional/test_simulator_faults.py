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

"""Injected faults, seen from a client on the wire."""

import time
from xml.etree import ElementTree

import requests

from ironic_amt.tests.functional import test_simulator as base

APMS = 'CIM_AssociatedPowerManagementService'


class FaultInjectionTestCase(base.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        self.get(APMS)      # authenticated: later requests are pre-emptive

    def get_raw(self, **kwargs):
        return self.post(base.envelope(base.TRANSFER + 'Get',
                                       base.class_uri(APMS)), **kwargs)

    def test_latency(self):
        self.dev.inject('latency', count=1, seconds=0.3)
        began = time.monotonic()
        self.assertEqual(200, self.get_raw().status_code)
        self.assertGreaterEqual(time.monotonic() - began, 0.3)
        self.assertEqual(['latency'], self.last_request()['injected'])
        self.assertEqual([], self.dev.faults.describe())

    def test_tls_delay_applies_to_new_tls_connections_only(self):
        self.dev.inject('tls_delay', seconds=0.3)
        began = time.monotonic()
        self.assertEqual(200, self.get_raw().status_code)   # http
        self.assertLess(time.monotonic() - began, 0.3)
        session = requests.Session()
        self.addCleanup(session.close)
        session.auth = requests.auth.HTTPDigestAuth('admin', base.PASSWORD)
        began = time.monotonic()
        self.get_raw(scheme='https', session=session)   # 401 + retry
        self.assertGreaterEqual(time.monotonic() - began, 0.6)
        began = time.monotonic()
        self.get_raw(scheme='https', session=session)   # kept alive
        self.assertLess(time.monotonic() - began, 0.3)
        self.assertEqual(['tls_delay'], [
            i for e in self.dev.request_log if e['event'] == 'request'
            for i in e['injected']][-1:])

    def test_drop(self):
        self.dev.inject('drop', count=1)
        self.assertRaises(requests.ConnectionError, self.get_raw)
        entry = self.last_request()
        self.assertEqual((None, ['drop']), (entry['status'],
                                            entry['injected']))
        self.assertEqual(200, self.get_raw().status_code)

    def test_reset_mid_body(self):
        self.dev.inject('reset', count=1, fraction=0.5)
        self.assertRaises((requests.ConnectionError,
                           requests.exceptions.ChunkedEncodingError),
                          self.get_raw)
        self.assertEqual(['reset'], self.last_request()['injected'])
        self.assertEqual(200, self.get_raw().status_code)

    def test_http_500_counts_down(self):
        self.dev.inject('http_500', count=2)
        self.assertEqual([500, 500, 200],
                         [self.get_raw().status_code for _ in range(3)])

    def test_garbage_and_truncated_xml(self):
        self.dev.inject('garbage_xml', count=1)
        response = self.get_raw()
        self.assertEqual(200, response.status_code)
        self.assertRaises(ElementTree.ParseError, ElementTree.fromstring,
                          response.content)
        self.dev.inject('truncated_xml', count=1)
        response = self.get_raw()
        self.assertTrue(response.content.startswith(b'<?xml'))
        self.assertRaises(ElementTree.ParseError, ElementTree.fromstring,
                          response.content)
        self.assertEqual(['truncated_xml'], self.last_request()['injected'])

    def test_busy(self):
        self.dev.inject('busy', count=3)
        self.assertEqual(4099, self.power(2))
        self.assertEqual(3, self.invoke(
            'CIM_BootConfigSetting', 'ChangeBootOrder',
            base.boot_order_body(base.PXE)))
        self.assertEqual(3, self.invoke('CIM_BootService',
                                        'SetBootConfigRole',
                                        base.role_body(1)))
        self.assertIsNone(self.dev.boot_override['source'])
        self.assertEqual(0, self.power(2))

    def test_redirection_session_blocks_off_and_cycles(self):
        self.dev.set_power_state(2)
        self.dev.inject('redirection')
        self.assertEqual(2, self.power(8))
        self.assertEqual(2, self.power(5))
        self.assertEqual(2, self.power(12))
        self.assertEqual(2, self.dev.power_state)
        # A reset is not a power cycle: allowed.
        self.assertEqual(0, self.power(10))
        self.dev.clear_faults()
        self.wait_until(lambda: not self.dev.power_change_pending,
                        'the power change')
        self.assertEqual(0, self.power(8))

    def test_access_denied(self):
        self.dev.inject('access_denied')
        self.assertEqual(200, self.get_raw().status_code)
        response = self.post(base.envelope(
            base.class_uri('CIM_PowerManagementService')
            + '/RequestPowerStateChange',
            base.class_uri('CIM_PowerManagementService'),
            base.power_body(2)))
        self.assertEqual(400, response.status_code)
        self.assertEqual('AccessDenied',
                         base.fault_subcode(response.content))
        entry = self.last_request()
        self.assertEqual(('access_denied', 'AccessDenied'),
                         (entry['auth'], entry['fault']))
        self.assertEqual(8, self.dev.power_state)
        self.dev.clear_faults()
        self.assertEqual(0, self.power(2))

    def test_unresponsive_until_cleared(self):
        self.dev.inject('unresponsive', seconds=30)
        self.assertRaises(requests.Timeout, self.get_raw, timeout=0.3)
        self.dev.clear_faults()
        self.assertEqual(200, self.get_raw().status_code)

    def test_unresponsive_for_some_seconds(self):
        self.dev.inject('unresponsive', count=1, seconds=0.3)
        began = time.monotonic()
        self.assertRaises(requests.ConnectionError, self.get_raw)
        self.assertGreaterEqual(time.monotonic() - began, 0.3)
        self.assertEqual(200, self.get_raw().status_code)

    def test_probability(self):
        self.dev.inject('http_500', probability=0)
        self.assertEqual(200, self.get_raw().status_code)
        self.dev.inject('http_500', probability=1)
        self.assertEqual(500, self.get_raw().status_code)

    def test_bad_injections(self):
        self.assertRaises(ValueError, self.dev.inject, 'meteor')
        self.assertRaises(ValueError, self.dev.inject, 'latency', color=1)
        self.assertRaises(ValueError, self.dev.inject, 'drop', count=0)
        self.assertRaises(ValueError, self.dev.inject, 'drop',
                          probability=2)
