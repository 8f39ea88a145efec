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

"""Every fault the simulator injects, and what the driver does about it.

Each row of FAULT_TABLE is one line of the table in the troubleshooting
docs: a fault, and either "retried, then succeeds" or the Ironic exception
(and message) the operator sees. With [amt]max_retry=3 and
read_timeout=2 s, no call may take longer than
max_retry * (read_timeout + action_wait) plus the power-state wait.
"""

import socket
import time

import fixtures
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager

from ironic_amt.drivers.modules.amt import common
from ironic_amt.tests.functional import base

# fault, inject() kwargs, expected exception or None for success, text.
FAULT_TABLE = [
    ('latency', {'seconds': 0.3}, None, None),
    ('tls_delay', {'seconds': 0.3}, None, None),
    ('drop', {'count': 1}, None, None),
    ('reset', {'count': 1}, None, None),
    ('http_500', {'count': 2}, None, None),
    ('garbage_xml', {'count': 1}, None, None),
    ('truncated_xml', {'count': 1}, None, None),
    ('busy', {'count': 1}, None, None),
    ('nonce_reset', {}, None, None),
    ('http_500', {}, common.AMTOperationError, '500'),
    ('garbage_xml', {}, common.AMTOperationError, 'node'),
    ('busy', {}, common.AMTOperationError, 'Busy'),
    ('access_denied', {}, common.AMTOperationError, 'AccessDenied'),
    ('drop', {}, common.AMTConnectionFailure, 'could not be reached'),
    ('unresponsive', {'seconds': 30}, common.AMTConnectionFailure,
     'could not be reached'),
]

# 3 attempts x (2 s read timeout + 0.05 s wait) + power wait + slack.
CALL_BOUND = 3 * (2 + 0.05) + 5 + 2


class FaultTableTestCase(base.SimulatorTestCase):

    def _power_on(self, node):
        with task_manager.acquire(self.context, node.uuid) as task:
            task.driver.management.set_boot_device(task, 'pxe')
            task.driver.power.set_power_state(task, states.POWER_ON)

    def test_fault_table(self):
        for fault, kwargs, expected, text in FAULT_TABLE:
            with self.subTest(fault=fault, kwargs=kwargs):
                self.device().clear_faults()
                self.device().set_power_state(8)
                self.mark_boots()
                protocol = 'https' if fault == 'tls_delay' else 'http'
                node = self.make_node(protocol=protocol)
                self.device().inject(fault, **kwargs)
                start = time.monotonic()
                if expected is None:
                    self._power_on(node)
                    self.assertEqual(2, self.device().power_state)
                    self.assertEqual('pxe',
                                     self.wait_for_boots(1)[-1]['source'])
                else:
                    error = self.assertRaises(expected, self._power_on, node)
                    self.assertIsInstance(error, exception.IronicException)
                    self.assertIn(node.uuid, str(error))
                    self.assertIn(text, str(error))
                    self.assertNotIn(base.PASSWORD, str(error))
                self.assertLess(time.monotonic() - start, CALL_BOUND)
                self.device().clear_faults()
                # Drop the pooled connections a fault may have poisoned.
                self.useFixture(fixtures.MockPatchObject(
                    common, '_CLIENTS', common._ClientCache()))

    def test_wrong_password(self):
        node = self.make_node(amt_password='not-the-password')
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(common.AMTAuthenticationFailure,
                                      task.driver.power.get_power_state,
                                      task)
        self.assertIn('authentication failed', str(error))
        self.assertIn(node.uuid, str(error))
        self.assertNotIn('not-the-password', str(error))
        # Never retried: one challenge and one refused answer.
        self.assertEqual(['challenge', 'bad'],
                         [e['auth'] for e in self.requests()])

    def test_unreachable_port_fails_fast(self):
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            closed_port = sock.getsockname()[1]
        node = self.make_node(amt_port=closed_port)
        start = time.monotonic()
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(common.AMTConnectionFailure,
                                      task.driver.power.get_power_state,
                                      task)
        self.assertLess(time.monotonic() - start, CALL_BOUND)
        self.assertIn(node.uuid, str(error))

    def test_self_signed_certificate_refused_by_default(self):
        node = self.make_node(protocol='https', amt_verify_ca='true')
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(common.AMTOperationError,
                                      task.driver.power.get_power_state,
                                      task)
        self.assertIn('certificate', str(error).lower())

    def test_verification_disabled_explicitly(self):
        node = self.make_node(protocol='https', amt_verify_ca='false')
        with task_manager.acquire(self.context, node.uuid) as task:
            self.assertEqual(states.POWER_OFF,
                             task.driver.power.get_power_state(task))
