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

Each row of FAULT_TABLE is one line of the table "What the driver does
about each fault" in doc/source/troubleshooting.rst (rendered by
:func:`render_fault_table`, compared by a test, so they cannot drift
apart): a fault, the interface method it hits, and either "retried, then
succeeds" or the Ironic exception and message the operator sees. Every
row also checks that the call ends within its configured bound.
"""

import collections
import os
import socket
import textwrap
import time

import fixtures
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager

from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import management
from ironic_amt.simulator import faults
from ironic_amt.testing import driver_case as base

# The [amt] options of the table (also printed in the docs).
TABLE_OPTIONS = {'max_retry': 3, 'action_wait': 0.05, 'connect_timeout': 1,
                 'read_timeout': 1}
# [conductor]power_state_change_timeout of the table.
POWER_STATE_CHANGE_TIMEOUT = 5

# Interface method -> WS-Man calls it makes at most (the power state wait
# aside): power on and reboot arm the boot device (5 calls), request the
# change, may read the state and request again (a reset of an off
# machine is a power on); power off requests, may read the state.
OPERATION_CALLS = {'power on': 8, 'reboot': 9, 'power off': 3,
                   'get_power_state': 1, 'arm boot device': 5}
POWER_OPERATIONS = frozenset(['power on', 'reboot', 'power off'])
# Operations that start from a running machine.
FROM_ON = frozenset(['reboot', 'power off'])

# Faults that are not injected but set up in driver_info.
DRIVER_INFO_FAULTS = {
    'wrong password': {'amt_password': 'Not-The-Passw0rd'},
    'untrusted certificate': {'amt_verify_ca': 'true'},
}

Row = collections.namedtuple('Row', [
    'fault', 'params', 'operation', 'error', 'text', 'behaviour',
    'options'])
Row.__new__.__defaults__ = ({},)
# Enough attempts that a 30 % fault rate fails a call once in ~15000.
_MANY_RETRIES = {'max_retry': 8}

_RETRIED = 'Retried (max_retry attempts, action_wait apart); succeeds.'
_ATTEMPTS = 'Every attempt fails; no more than max_retry attempts.'
FAULT_TABLE = [
    Row('latency', {'seconds': 0.3}, 'power on', None, None,
        'Slower answers within read_timeout: no retry.'),
    Row('tls_delay', {'seconds': 0.3}, 'power on', None, None,
        'Slow TLS handshake within read_timeout: no retry.'),
    Row('tls_delay', {'seconds': 3, 'count': 1}, 'get_power_state', None,
        None, 'The first attempt times out after read_timeout; the retry '
        'opens a new connection and succeeds.'),
    Row('tls_delay', {'seconds': 3}, 'get_power_state',
        errors.AMTConnectionFailure, 'Timed out',
        'Every handshake outlasts read_timeout; fails after max_retry '
        'attempts.'),
    Row('unresponsive', {'seconds': 30, 'count': 1}, 'power on', None,
        None, 'One attempt times out after read_timeout; retried.'),
    Row('unresponsive', {'seconds': 30}, 'get_power_state',
        errors.AMTConnectionFailure, 'Timed out',
        'Each attempt times out after read_timeout; fails after max_retry '
        'attempts, never hangs.'),
    Row('unresponsive', {'seconds': 30}, 'power on',
        errors.AMTConnectionFailure, 'could not be reached',
        'Fails while arming the boot device; no power change is sent.'),
    Row('drop', {'count': 1}, 'power on', None, None, _RETRIED),
    Row('drop', {'probability': 0.3}, 'power on', None, None,
        'Each attempt fails with probability p; a call fails only when '
        'all max_retry attempts do (p**max_retry).', _MANY_RETRIES),
    Row('drop', {}, 'power on', errors.AMTConnectionFailure,
        'could not be reached', _ATTEMPTS),
    Row('drop', {}, 'get_power_state', errors.AMTConnectionFailure,
        'could not be reached', _ATTEMPTS),
    Row('reset', {'count': 1}, 'power on', None, None, _RETRIED),
    Row('reset', {}, 'power on', errors.AMTConnectionFailure,
        'could not be reached', _ATTEMPTS),
    Row('reset', {}, 'reboot', errors.AMTConnectionFailure,
        'could not be reached', _ATTEMPTS),
    Row('http_500', {'count': 2}, 'power on', None, None, _RETRIED),
    Row('http_500', {'probability': 0.3}, 'reboot', None, None,
        'Each attempt fails with probability p; a call fails only when '
        'all max_retry attempts do (p**max_retry).', _MANY_RETRIES),
    Row('http_500', {}, 'power on', errors.AMTOperationError,
        'Unexpected HTTP status 500', _ATTEMPTS),
    Row('http_500', {}, 'get_power_state', errors.AMTOperationError,
        'Unexpected HTTP status 500', _ATTEMPTS),
    Row('garbage_xml', {'count': 1}, 'power on', None, None, _RETRIED),
    Row('garbage_xml', {}, 'power on', errors.AMTOperationError,
        'Invalid WS-Management response', _ATTEMPTS),
    Row('garbage_xml', {}, 'arm boot device', errors.AMTOperationError,
        'Invalid WS-Management response', _ATTEMPTS),
    Row('truncated_xml', {'count': 1}, 'power on', None, None, _RETRIED),
    Row('truncated_xml', {}, 'power on', errors.AMTOperationError,
        'Invalid WS-Management response', _ATTEMPTS),
    Row('truncated_xml', {}, 'get_power_state', errors.AMTOperationError,
        'Invalid WS-Management response', _ATTEMPTS),
    Row('busy', {'count': 1}, 'power on', None, None, _RETRIED),
    Row('busy', {}, 'power on', errors.AMTOperationError, '(Busy)',
        'The Busy code is retried; fails after max_retry attempts.'),
    Row('busy', {}, 'reboot', errors.AMTOperationError, '(Busy)',
        'RequestPowerStateChange returns 4099 (Busy) each time; fails '
        'after max_retry attempts.'),
    Row('busy', {}, 'arm boot device', errors.AMTOperationError, '(Busy)',
        'The boot methods return 3 (Busy) each time; fails after '
        'max_retry attempts.'),
    Row('busy', {}, 'get_power_state', None, None,
        'Reading the power state calls no method: unaffected.'),
    Row('nonce_reset', {}, 'power on', None, None,
        'The 401 with stale="true" is answered with the new nonce at '
        'once (no retry counted).'),
    Row('nonce_reset', {'count': 2}, 'get_power_state', None, None,
        'Two stale nonces in a row: each is answered with the new one.'),
    Row('access_denied', {}, 'power on', errors.AMTOperationError,
        'user consent',
        'Not retried: the AccessDenied fault names the missing user '
        'consent (admin control mode or opt-in None needed).'),
    Row('access_denied', {}, 'reboot', errors.AMTOperationError,
        'AccessDenied', 'Not retried.'),
    Row('access_denied', {}, 'get_power_state', None, None,
        'Reading needs no consent: unaffected.'),
    Row('redirection', {}, 'power off', errors.AMTOperationError,
        'returned 2 (Unknown or Unspecified Error)',
        'AMT rejects power off and power cycles while a SOL, IDE-R or KVM '
        'session is open (ReturnValue 2); the machine is still on, so it '
        'fails at once. Close the session and retry.'),
    Row('redirection', {}, 'power on', None, None,
        'Power on and resets are allowed during a redirection session.'),
    Row('override_ignored', {'count': 1}, 'power on', None, None,
        'The BIOS does not take the armed boot device: the power-on '
        'succeeds, and the check after it records a node history event '
        'and a warning with the decoded BIOSLastStatus.'),
    Row('wrong password', {}, 'get_power_state',
        errors.AMTAuthenticationFailure, 'authentication failed',
        'Not retried: one challenge, one refused answer. The password is '
        'never shown.'),
    Row('untrusted certificate', {}, 'get_power_state',
        errors.AMTOperationError, 'certificate verify failed',
        'Not retried: https with amt_verify_ca true and a self-signed '
        'device certificate.'),
]


def _params(row):
    return ', '.join('%s=%s' % item for item in sorted(row.params.items()))


def _cell(prefix, text):
    return textwrap.wrap(text, 79, initial_indent=prefix,
                         subsequent_indent=' ' * len(prefix),
                         break_long_words=False, break_on_hyphens=False)


def render_fault_table(rows=FAULT_TABLE):
    """Render the fault table as the reStructuredText in the docs.

    :param rows: the table rows.
    :returns: the list-table text, ending with a newline.
    """
    options = ', '.join('%s=%s' % item
                        for item in sorted(TABLE_OPTIONS.items()))
    lines = textwrap.wrap(
        'With ``[amt]`` %s and ``[conductor]`` power_state_change_timeout=%s:'
        % (options, POWER_STATE_CHANGE_TIMEOUT), 79) + [
        '', '.. list-table::', '   :header-rows: 1',
        '   :widths: 22 14 34 30', '',
        '   * - Fault (simulator)', '     - Operation',
        '     - What the driver does', '     - Result']
    for row in rows:
        fault = '``%s``' % row.fault
        if row.params:
            fault += ' (%s)' % _params(row)
        if row.options:
            fault += ', ``[amt]`` %s' % ', '.join(
                '%s=%s' % item for item in sorted(row.options.items()))
        if row.error is None:
            result = 'Succeeds.'
        else:
            result = '``%s``: ``...%s...``' % (row.error.__name__, row.text)
        lines += _cell('   * - ', fault)
        for text in (row.operation, row.behaviour, result):
            lines += _cell('     - ', text)
    return '\n'.join(lines) + '\n'


def call_bound(operation, options=None):
    """Upper bound in seconds of one interface call under any fault.

    :param operation: a key of OPERATION_CALLS.
    :param options: [amt] options overriding TABLE_OPTIONS.
    :returns: calls x the documented bound of one request, max_retry x
        (connect_timeout + read_timeout) + (max_retry - 1) x action_wait,
        plus the power state wait for power changes, plus 1 s slack.
    """
    o = dict(TABLE_OPTIONS, **(options or {}))
    per_call = (o['max_retry'] * (o['connect_timeout'] + o['read_timeout'])
                + (o['max_retry'] - 1) * o['action_wait'])
    bound = OPERATION_CALLS[operation] * per_call + 1
    if operation in POWER_OPERATIONS:
        bound += POWER_STATE_CHANGE_TIMEOUT + per_call
    return bound


class FaultTableTestCase(base.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        self.config(group='amt', **TABLE_OPTIONS)
        self.config(power_state_change_timeout=POWER_STATE_CHANGE_TIMEOUT,
                    group='conductor')

    def _node_for(self, row):
        protocol = ('https' if row.fault in ('tls_delay',
                                             'untrusted certificate')
                    else 'http')
        return self.make_node(protocol=protocol,
                              **DRIVER_INFO_FAULTS.get(row.fault, {}))

    def _call(self, node, operation):
        with task_manager.acquire(self.context, node.uuid) as task:
            if operation == 'get_power_state':
                return task.driver.power.get_power_state(task)
            device = 'disk' if operation == 'arm boot device' else 'pxe'
            task.driver.management.set_boot_device(task, device)
            if operation == 'power on':
                task.driver.power.set_power_state(task, states.POWER_ON)
            elif operation == 'power off':
                task.driver.power.set_power_state(task, states.POWER_OFF)
            elif operation == 'reboot':
                task.driver.power.reboot(task)
            else:
                task.driver.management.ensure_next_boot_device(task)
                task.driver.management.forget_one_shot_device(task)

    def _check_success(self, row, result):
        if row.operation == 'get_power_state':
            self.assertEqual(states.POWER_OFF, result)
        elif row.operation == 'power off':
            self.assertEqual(8, self.device().power_state)
        elif row.operation == 'arm boot device':
            override = self.device().boot_override
            self.assertTrue(override['armed'])
            self.assertEqual('disk', override['source'])
        elif row.fault == 'override_ignored':
            self.assertEqual(2, self.device().power_state)
            self.assertEqual('disk', self.wait_for_boots(1)[-1]['source'])
            self.assertEqual(1, self.warning.call_count)
            self.assertIn('was not taken', self.warning.call_args[0][1][
                'event'])
        else:
            self.assertEqual(2, self.device().power_state)
            self.assertEqual('pxe', self.wait_for_boots(1)[-1]['source'])

    def _run_row(self, row):
        if row.operation in FROM_ON:
            self.device().set_power_state(2)
            self.mark_boots()
        if row.options:
            self.config(group='amt', **row.options)
        node = self._node_for(row)
        if row.fault not in DRIVER_INFO_FAULTS:
            self.device().inject(row.fault, **row.params)
        self.warning = self.useFixture(fixtures.MockPatchObject(
            management.LOG, 'warning', autospec=True)).mock
        start = time.monotonic()
        if row.error is None:
            self._check_success(row, self._call(node, row.operation))
        else:
            error = self.assertRaises(row.error, self._call, node,
                                      row.operation)
            self.assertIsInstance(error, exception.IronicException)
            self.assertIn(node.uuid, str(error))
            self.assertIn(row.text, str(error))
            self.assertNotIn(base.PASSWORD, str(error))
        self.assertLess(time.monotonic() - start,
                        call_bound(row.operation, row.options))
        self.device().clear_faults()

    def test_docs_match_table(self):
        path = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                            'doc', 'source', 'troubleshooting.rst')
        with open(path) as f:
            text = f.read()
        self.assertIn('What the driver does about each fault', text)
        self.assertTrue(
            render_fault_table() in text,
            'doc/source/troubleshooting.rst is out of date: paste the '
            'output of render_fault_table() (this module) into its section '
            '"What the driver does about each fault"')

    def test_every_simulator_fault_has_a_row(self):
        self.assertEqual(set(faults.FAULT_DEFAULTS),
                         {row.fault for row in FAULT_TABLE}
                         - set(DRIVER_INFO_FAULTS))

    def test_wrong_password(self):
        node = self.make_node(amt_password='not-the-password')
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(errors.AMTAuthenticationFailure,
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
            error = self.assertRaises(errors.AMTConnectionFailure,
                                      task.driver.power.get_power_state,
                                      task)
        self.assertLess(time.monotonic() - start,
                        call_bound('get_power_state'))
        self.assertIn(node.uuid, str(error))

    def test_verification_disabled_explicitly(self):
        node = self.make_node(protocol='https', amt_verify_ca='false')
        with task_manager.acquire(self.context, node.uuid) as task:
            self.assertEqual(states.POWER_OFF,
                             task.driver.power.get_power_state(task))


def _row_test(row):
    def test(self):
        self._run_row(row)
    test.__doc__ = '%s (%s) on %s' % (row.fault, _params(row), row.operation)
    return test


for _index, _row in enumerate(FAULT_TABLE):
    setattr(FaultTableTestCase, 'test_row_%02d_%s' % (
        _index, _row.fault.replace(' ', '_')), _row_test(_row))
