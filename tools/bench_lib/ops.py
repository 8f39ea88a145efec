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

"""Per-operation benchmark: every client, same simulator, same run.

Repetitions of the clients are interleaved (rep 1 of each client, then
rep 2 ...) so that a change of machine load during the run affects them
alike.  Before each repetition the device is put in the operation's
starting state through the simulator control API (not timed, not in the
device's request log); afterwards the request log entries of the
repetition are counted.
"""

import collections
import time

from bench_lib import contenders
from bench_lib import logstats

Operation = collections.namedtuple('Operation', [
    'key', 'title', 'start_state', 'boots_pxe', 'floor', 'floor_calls'])
"""An operation: its method name on every client, a title, the power
state the device starts in (None: any), whether it must boot the device
from PXE, and its floor (the fewest WS-Man calls that do it) with the
calls that make the floor."""

ON = 2
OFF = 8
# The power state Get, as logstats.call_name names it.
POLL = 'Get(CIM_AssociatedPowerManagementService)'

OPERATIONS = (
    Operation('get_power_state', 'get power state', None, False, 1,
              'Get power service'),
    Operation('get_power_state_cold', 'get power state, first contact',
              None, False, 1,
              'Get power service (+1 401 answer: AMT challenges a new '
              'client and closes the connection)'),
    Operation('power_on_pxe', 'power on, pxe pending', OFF, True, 6,
              'ChangeBootOrder(clear), Put BootSettingData, '
              'SetBootConfigRole(1), ChangeBootOrder(pxe), RPSC(2), '
              '1 confirming poll'),
    Operation('reboot', 'reboot (on, nothing pending)', ON, False, 2,
              'RPSC(10), 1 confirming poll'),
    Operation('set_boot_power_on', 'set boot device + power on', OFF, True,
              7, "conductor's power pre-check Get + the 6 of power on"),
    Operation('inventory', 'inventory read (AMTInspect)', None, False, 12,
              '2 Get + 5 x (Enumerate + Pull)'),
)

Sample = collections.namedtuple('Sample', ['seconds', 'counts', 'ok'])


def polls(counts):
    """Power state Gets after the power change request of an operation.

    :param counts: a logstats.Counts.
    :returns: the number of polls (0 when no change was requested).
    """
    sequence = list(counts.sequence)
    changes = [i for i, name in enumerate(sequence)
               if name.startswith('RPSC')]
    if not changes:
        return 0
    return sum(1 for name in sequence[changes[-1] + 1:] if name == POLL)


class Runner(object):
    """Runs the operations of every client against one simulator.

    :param sim: a started simproc.SimulatorProcess with a device per
        client and scheme.
    :param clients: list of (device name, client) pairs.
    """

    def __init__(self, sim, clients):
        self.sim = sim
        self.clients = clients
        self._seq = {name: 0 for name, _client in clients}

    def _drain(self, name):
        entries = self.sim.log(name, self._seq[name])
        if entries:
            self._seq[name] = entries[-1]['seq']
        return entries

    def _prepare(self, name, client, op):
        self.sim.wait_settled(name)
        if op.start_state is not None:
            self.sim.set_power(name, op.start_state)
        if op.boots_pxe:
            client.prepare_power_on()
        self._drain(name)

    def _once(self, name, client, op):
        boots = len(self.sim.details(name)['boot_history'])
        self._prepare(name, client, op)
        start = time.perf_counter()
        getattr(client, op.key)()
        seconds = time.perf_counter() - start
        counts = logstats.count(self._drain(name))
        ok = True
        if op.boots_pxe:
            history = self.sim.details(name)['boot_history']
            ok = len(history) > boots and history[-1]['source'] == 'pxe'
        return Sample(seconds, counts, ok)

    def run(self, reps):
        """Run every operation reps[op.key] times for every client.

        :param reps: dict of operation key to repetitions.
        :returns: dict (op key, client name) -> list of Sample.
        """
        results = collections.defaultdict(list)
        for name, client in self.clients:
            # First contact of this client, so later runs are steady state.
            client.get_power_state()
            self._drain(name)
        for op in OPERATIONS:
            runnable = [(n, c) for n, c in self.clients
                        if getattr(c, op.key) is not None]
            for _rep in range(reps.get(op.key, 0)):
                for name, client in runnable:
                    results[(op.key, client.name)].append(
                        self._once(name, client, op))
        return results


def make_clients(sim, password, scheme, poll_interval, timeout):
    """One client of each kind, each on its own device.

    :returns: list of (device name, client) pairs.
    """
    devices = sim.devices
    return [
        (devices[0]['name'], contenders.DriverContender(
            devices[0], password, scheme, sim.ca_cert)),
        (devices[1]['name'], contenders.DriverContender(
            devices[1], password, scheme, sim.ca_cert, naive=True)),
        (devices[2]['name'], contenders.PyPIAmtContender(
            devices[2], password, scheme, poll_interval, timeout)),
    ]
