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

"""Soak engine: random operations on many nodes under random faults.

A worker thread runs random operations on random nodes through the real
AMTPower and AMTManagement interfaces (task_manager on Ironic's test
database, ``node_power_action`` as the conductor calls it) while an
injector thread switches random simulator faults on and off. Operations
run one at a time: Ironic's test database (in-memory sqlite) takes one
writer only; the concurrency of the client is tested on its own
(test_concurrency). At the end
the faults stop and three invariants are checked:

- every operation ended in success or a typed Ironic error within its
  bound;
- after a power sync (Ironic's own ``do_sync_power_state``), the power
  state Ironic stores for each node equals the simulator's;
- every boot device stored when a power-on or reboot succeeded was armed
  before the power change that booted the machine, and the machine booted
  from it (request log of the simulator).
"""

import collections
import json
import logging
import random
import threading
import time

from ironic.common import exception
from ironic.common import states
from ironic.conductor import manager
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils
from testtools import content

from ironic_amt.drivers.modules.amt import management
from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.testing import driver_case
from ironic_amt.testing import request_log
from ironic_amt.wsman import client as wsman

# The [amt] options of a soak run.
SOAK_OPTIONS = {'max_retry': 3, 'action_wait': 0.02,
                'connect_timeout': 0.5, 'read_timeout': 0.5}
# [conductor]power_state_change_timeout of a soak run.
POWER_STATE_CHANGE_TIMEOUT = 3

# Operation -> weight of its random choice.
OPERATIONS = {'get power state': 4, 'power on': 2, 'power off': 2,
              'reboot': 2, 'set boot device': 3}
POWER_ACTIONS = {'power on': states.POWER_ON, 'power off': states.POWER_OFF,
                 'reboot': states.REBOOT}
BOOTING = frozenset(['power on', 'reboot'])
# WS-Man calls an operation makes at most: node_power_action reads the
# state, arming takes 5 calls, then the change, a read when refused, and
# polls (bounded by POWER_STATE_CHANGE_TIMEOUT).
OPERATION_CALLS = {'get power state': 1, 'power on': 9, 'power off': 4,
                   'reboot': 9, 'set boot device': 0}
BOOT_DEVICES = ('pxe', 'disk', 'cdrom', 'bios')

# Fault name -> function(rng) giving inject() parameters. Timeouts use
# 1.5 s, three times the soak's read_timeout.
FAULTS = {
    'latency': lambda rng: {'seconds': rng.uniform(0.05, 0.3)},
    'tls_delay': lambda rng: {'seconds': rng.choice([0.1, 1.5])},
    'drop': lambda rng: {},
    'reset': lambda rng: {'fraction': rng.uniform(0.1, 0.9)},
    'http_500': lambda rng: {},
    'busy': lambda rng: {},
    'garbage_xml': lambda rng: {},
    'truncated_xml': lambda rng: {},
    'nonce_reset': lambda rng: {},
    'unresponsive': lambda rng: {'seconds': 1.5},
    'access_denied': lambda rng: {'count': 1},
}


def call_bound(operation, options=SOAK_OPTIONS):
    """Upper bound in seconds of one operation under any fault.

    :param operation: a key of OPERATIONS.
    :param options: the [amt] options.
    :returns: the bound: per WS-Man call max_retry attempts of two HTTP
        exchanges (a challenge and its answer) each within connect and
        read timeout, plus the power state wait and 2 s of slack.
    """
    per_call = options['max_retry'] * (
        2 * (options['connect_timeout'] + options['read_timeout'])
        + options['action_wait'])
    bound = OPERATION_CALLS[operation] * per_call + 2
    if operation in POWER_ACTIONS:
        bound += POWER_STATE_CHANGE_TIMEOUT + per_call
    return bound


Operation = collections.namedtuple('Operation', [
    'node', 'name', 'start', 'end', 'outcome', 'expected_device',
    'typed'])


class _RetryCounter(logging.Handler):
    """Counts the client's "retrying" warnings."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0
        self._lock_count = threading.Lock()

    def emit(self, record):
        if 'retrying in' in record.getMessage():
            with self._lock_count:
                self.count += 1


class Soak(object):
    """One soak run.

    :param context: an Ironic request context.
    :param nodes: dict of node UUID -> simulator Device.
    :param duration: seconds of random operations.
    :param seed: seed of the random choices.
    :param fault_interval: seconds between two fault switches.
    """

    def __init__(self, context, nodes, duration, seed=0,
                 fault_interval=0.3):
        self.context = context
        self.nodes = nodes
        self.duration = duration
        self.seed = seed
        self.fault_interval = fault_interval
        self.operations = []
        self.switches = collections.Counter()
        self.violations = []
        self._stop = threading.Event()

    # Running ---------------------------------------------------------

    def _operate(self, uuid, name, rng):
        with task_manager.acquire(self.context, uuid,
                                  purpose='soak') as task:
            expected = task.node.driver_internal_info.get(
                management.BOOT_DEVICE_KEY)
            if name == 'get power state':
                task.driver.power.get_power_state(task)
            elif name == 'set boot device':
                task.driver.management.set_boot_device(
                    task, rng.choice(BOOT_DEVICES),
                    persistent=rng.random() < 0.25)
            else:
                cond_utils.node_power_action(task, POWER_ACTIONS[name])
        return expected

    def _worker(self, rng, deadline):
        uuids = list(self.nodes)
        names = list(OPERATIONS)
        weights = [OPERATIONS[n] for n in names]
        while time.monotonic() < deadline and not self._stop.is_set():
            uuid = rng.choice(uuids)
            name = rng.choices(names, weights)[0]
            start = time.time()
            expected = None
            outcome, typed = 'ok', True
            try:
                expected = self._operate(uuid, name, rng)
            except exception.IronicException as e:
                outcome = type(e).__name__
            except Exception as e:
                outcome, typed = type(e).__name__, False
            self.operations.append(Operation(
                uuid, name, start, time.time(), outcome, expected, typed))

    def _injector(self, rng, deadline):
        devices = list(self.nodes.values())
        names = sorted(FAULTS)
        while time.monotonic() < deadline and not self._stop.is_set():
            device = rng.choice(devices)
            if rng.random() < 0.4:
                device.clear_faults()
                self.switches['clear'] += 1
            else:
                fault = rng.choice(names)
                params = FAULTS[fault](rng)
                if 'count' not in params:
                    if rng.random() < 0.5:
                        params['count'] = rng.randint(1, 3)
                    else:
                        params['probability'] = rng.uniform(0.05, 0.4)
                device.inject(fault, **params)
                self.switches[fault] += 1
            self._stop.wait(self.fault_interval)

    def run(self):
        """Run the operations and the injector, then check the invariants.

        :returns: the report (a dict, see :meth:`report`).
        """
        retries = _RetryCounter()
        wsman.LOG.addHandler(retries)
        disabled = wsman.LOG.disabled
        wsman.LOG.disabled = False
        started = time.monotonic()
        deadline = started + self.duration
        threads = [
            threading.Thread(target=self._worker, name='soak-operations',
                             args=(random.Random(self.seed), deadline)),
            threading.Thread(target=self._injector, name='soak-faults',
                             args=(random.Random(-self.seed), deadline)),
        ]
        try:
            for thread in threads:
                thread.start()
            join_by = deadline + max(call_bound(n) for n in OPERATIONS) + 5
            for thread in threads:
                thread.join(max(0.1, join_by - time.monotonic()))
            stuck = [t.name for t in threads if t.is_alive()]
            if stuck:
                self.violations.append('threads did not finish: %s'
                                       % stuck)
        finally:
            self._stop.set()
            wsman.LOG.removeHandler(retries)
            wsman.LOG.disabled = disabled
        for device in self.nodes.values():
            device.clear_faults()
        elapsed = time.monotonic() - started
        self._check_operations()
        self._check_power_states()
        self._check_boot_devices()
        return self.report(retries.count, elapsed)

    # Invariants --------------------------------------------------------

    def _check_operations(self):
        for op in self.operations:
            if not op.typed:
                self.violations.append('%s on %s raised %s'
                                       % (op.name, op.node, op.outcome))
            if op.end - op.start > call_bound(op.name):
                self.violations.append(
                    '%s on %s took %.1f s, bound %.1f s'
                    % (op.name, op.node, op.end - op.start,
                       call_bound(op.name)))

    def _check_power_states(self):
        time.sleep(2 * max(d.power_delay for d in self.nodes.values()))
        for uuid, device in self.nodes.items():
            try:
                with task_manager.acquire(self.context, uuid,
                                          purpose='soak sync') as task:
                    manager.do_sync_power_state(task, 0)
                    stored = task.node.power_state
            except exception.IronicException as e:
                self.violations.append('node %s: power sync failed: %s'
                                       % (uuid, e))
                continue
            actual = {2: states.POWER_ON}.get(device.power_state,
                                              states.POWER_OFF)
            if stored != actual:
                self.violations.append(
                    'node %s: Ironic says %s, the device is %s'
                    % (uuid, stored, device.power_state))

    def _check_boot_devices(self):
        for uuid, device in self.nodes.items():
            boots = request_log.power_boots(device.request_log)
            for op in self.operations:
                if (op.node != uuid or op.name not in BOOTING
                        or op.outcome != 'ok' or not op.expected_device):
                    continue
                inside = [b for b in boots
                          if op.start <= b['time'] <= op.end]
                if not inside:
                    continue    # already on: nothing was sent
                problem = _boot_problem(inside[-1], op.expected_device)
                if problem:
                    self.violations.append('node %s, %s at %.3f: %s; log: %s'
                                           % (uuid, op.name, op.start,
                                              problem,
                                              _trace(device, op)))

    # Report ------------------------------------------------------------

    def report(self, retries, elapsed):
        """Count what happened.

        :param retries: the client's retry count.
        :param elapsed: seconds of the run.
        :returns: a dict of counts and the violations.
        """
        injected = collections.Counter()
        unauthorized = 0
        for device in self.nodes.values():
            for entry in device.request_log:
                if entry.get('event') != 'request':
                    continue
                injected.update(entry.get('injected') or ())
                if entry.get('fault') == 'AccessDenied':
                    injected['access_denied'] += 1
                if entry.get('return_value') in (3, 4099) and (
                        entry.get('method')):
                    injected['busy'] += 1
                unauthorized += entry.get('status') == 401
        outcomes = collections.Counter(op.outcome for op in self.operations)
        return {
            'nodes': len(self.nodes),
            'seconds': round(elapsed, 1),
            'operations': len(self.operations),
            'by_operation': dict(collections.Counter(
                op.name for op in self.operations)),
            'succeeded': outcomes.pop('ok', 0),
            'failures': dict(outcomes),
            'fault_switches': dict(self.switches),
            'faults_injected': dict(injected),
            'retries': retries,
            'http_401': unauthorized,
            'slowest': {name: round(max(
                [op.end - op.start for op in self.operations
                 if op.name == name] or [0]), 2) for name in OPERATIONS},
            'bounds': {name: round(call_bound(name), 1)
                       for name in OPERATIONS},
            'violations': list(self.violations),
        }


def _trace(device, op, before=2.0):
    """A compact request log of a device around an operation.

    :param device: the simulator Device.
    :param op: an :class:`Operation`.
    :param before: seconds of log before the operation to include.
    :returns: a list of short strings, one per log entry.
    """
    trace = []
    for e in device.request_log:
        if not op.start - before <= e['time'] <= op.end:
            continue
        if e.get('event') == 'boot':
            trace.append('%.3f boot %s override=%s via %s' % (
                e['time'], e.get('source'), e.get('override'), e.get('via')))
        else:
            trace.append('%.3f %s %s %s %s rv=%s %s' % (
                e['time'], e.get('status'), e.get('method') or e.get('action'),
                e.get('resource'), e.get('args'), e.get('return_value'),
                ','.join(e.get('injected') or ())))
    return trace


def _boot_problem(power_boot, device):
    """Why a booting power change did not honour a stored boot device.

    :param power_boot: an entry of :func:`request_log.power_boots`.
    :param device: the Ironic boot device that was stored.
    :returns: a description, or None when it was armed and used.
    """
    source = management.BOOT_SOURCE_MAP[device]
    calls = power_boot['armed']
    if ('SetBootConfigRole', management.ROLE_IS_NEXT_SINGLE_USE) not in calls:
        return 'no SetBootConfigRole(1) before the power change'
    if source is not None and ('ChangeBootOrder', source) not in calls:
        return '%s was not armed before the power change' % device
    boot = power_boot['boot']
    if boot is None:
        return 'the power change did not boot the machine'
    if boot.get('source') != device:
        return ('booted from %s (override: %s, via %s) instead of %s; '
                'armed: %s' % (boot.get('source'), boot.get('override'),
                               boot.get('via'), device, calls))
    return None


# Request log entries kept per device; a long soak makes many.
LOG_LIMIT = 500000


class SoakTestCase(driver_case.SimulatorTestCase):
    """Random operations on NODE_COUNT nodes for DURATION seconds.

    Every third node uses https. ``tools/soak`` subclasses this with
    its own DURATION, NODE_COUNT and SEED and prints ``report``.
    """

    DURATION = 15
    NODE_COUNT = 6
    SEED = 1
    report = None

    @classmethod
    def setUpClass(cls):
        cls.DEVICES = tuple('soak-%03d' % i for i in range(cls.NODE_COUNT))
        super().setUpClass()
        # The same devices with a request log long enough for the run.
        cls.simulator.stop()
        cls.simulator = Simulator(devices=[
            DeviceSpec(name, password=driver_case.PASSWORD, power_delay=0.05,
                       log_limit=LOG_LIMIT) for name in cls.DEVICES])
        cls.simulator.start()

    def setUp(self):
        super().setUp()
        self.config(group='amt', **SOAK_OPTIONS)
        self.config(power_state_change_timeout=POWER_STATE_CHANGE_TIMEOUT,
                    group='conductor')

    def test_soak(self):
        nodes = {}
        for index, name in enumerate(self.DEVICES):
            protocol = 'https' if index % 3 == 0 else 'http'
            nodes[self.make_node(name, protocol).uuid] = self.device(name)
        run = Soak(self.context, nodes, self.DURATION, seed=self.SEED)
        report = run.run()
        type(self).report = report
        self.addDetail('soak-report', content.text_content(
            json.dumps(report, indent=2, sort_keys=True)))
        self.assertEqual([], report['violations'])
        # Every power action waits at least 1 s (the first poll of
        # Ironic's node_wait_for_power_state): a few operations per node.
        self.assertGreater(report['operations'], 4 * self.NODE_COUNT)
        self.assertGreater(report['retries'], 0)
        self.assertGreater(sum(report['faults_injected'].values()), 0)
