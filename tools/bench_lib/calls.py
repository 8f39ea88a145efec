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

"""Per-call latency and CPU of every contender, in three modes.

* ``steady, one thread``: one contender per device, already past its first
  call, called again and again from the same thread;
* ``steady, fresh threads``: the same, but each call from a new thread,
  as the calls of Ironic's power sync come from its worker pool;
* ``first contact``: each call to a device this process never talked to
  (a new contender): digest challenge, TCP and TLS handshakes included.

The contenders take turns in chunks of calls, so a change of machine load
during a row affects them alike.  CPU is the bench process's own user +
system time (all threads; the simulator is another process) divided by
the calls; the wire counts come from the simulator's request log.
"""

import collections
import math
import resource
import threading
import time

from bench_lib import contenders
from bench_lib import logstats

STEADY = 'steady, one thread'
FRESH = 'steady, fresh threads'
FIRST = 'first contact'
MODES = (STEADY, FRESH, FIRST)
CHUNK = 10

# Calls per row: {simulated latency > 0: {mode: (full, quick)}}.
# With the latency, a call waits on the simulator's timers and on two idle
# processes waking up, which adds up to a millisecond at random to each
# exchange, while the clients' medians differ by a few tenths of a
# millisecond. Those rows take about a hundred calls: with 24, the gap
# between ironic-amt's and the careful baseline's first-contact medians
# moved by up to 0.9 ms between runs of the same code.
REPS = {
    False: {STEADY: (300, 60), FRESH: (200, 40), FIRST: (100, 6)},
    True: {STEADY: (100, 15), FRESH: (100, 15), FIRST: (100, 4)},
}


def first_contact_devices(quick):
    """How many devices the first-contact rows use, per scheme and kind."""
    column = 1 if quick else 0
    return sum(REPS[latency][FIRST][column] for latency in REPS)


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _in_fresh_thread(call):
    errors = []

    def run():
        try:
            call()
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, name='bench-call')
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


class Row(object):
    """The samples of one contender in one row."""

    def __init__(self):
        self.seconds = []
        self.cpu = 0.0
        self.failures = 0
        self.counts = []
        self.last_error = None


class CallBench(object):
    """Runs the per-call rows against one simulator.

    :param sim: a started simproc.SimulatorProcess.
    :param devices: the device summaries reserved for this bench.
    :param ca_bundle: the CA bundle path for https.
    :param quick: fewer calls per row.
    :param progress: a print-like callable.
    """

    def __init__(self, sim, devices, ca_bundle, quick, progress):
        self.sim = sim
        self.ca_bundle = ca_bundle
        self.column = 1 if quick else 0
        self.progress = progress
        self._free = list(devices)
        self._seq = collections.defaultdict(int)
        self.devices = list(devices)

    def _take(self):
        return self._free.pop(0)

    def _wire(self, names):
        entries = []
        for name in names:
            got = self.sim.log(name, self._seq[name])
            if got:
                self._seq[name] = got[-1]['seq']
            entries += got
        return logstats.count(entries)

    def _run_row(self, scheme, mode, reps, steady):
        """Run one row: reps calls of every contender.

        :param steady: kind -> (contender, device name) for steady modes.
        :returns: kind -> Row.
        """
        rows = {kind: Row() for kind in contenders.ORDER}
        done = 0
        while done < reps:
            chunk = min(CHUNK, reps - done)
            for kind in contenders.ORDER:
                row = rows[kind]
                if mode == FIRST:
                    devs = [self._take() for _ in range(chunk)]
                    made = [contenders.make(kind, d, self.sim.password,
                                            scheme, self.ca_bundle)
                            for d in devs]
                    names = [d['name'] for d in devs]
                    calls = [c.get_power_state for c in made]
                else:
                    contender, name = steady[kind]
                    names = [name]
                    made = []
                    if mode == FRESH:
                        calls = [lambda c=contender: _in_fresh_thread(
                            c.get_power_state)] * chunk
                    else:
                        calls = [contender.get_power_state] * chunk
                self._wire(names)  # skip what came before this chunk
                cpu = _cpu()
                for call in calls:
                    start = time.perf_counter()
                    try:
                        call()
                    except Exception as exc:
                        row.failures += 1
                        row.last_error = '%s: %s' % (type(exc).__name__,
                                                     exc)
                    row.seconds.append(time.perf_counter() - start)
                row.cpu += _cpu() - cpu
                row.counts.append((chunk, self._wire(names)))
                for contender in made:
                    contender.close()
            done += chunk
        return rows

    def run(self, latencies, schemes):
        """Run every row.

        :param latencies: simulated seconds per HTTP exchange, e.g. (0, .03).
        :param schemes: e.g. ('http', 'https').
        :returns: list of row dicts (see summarise()).
        """
        results = []
        steady_devices = {(scheme, kind): self._take()
                          for scheme in schemes
                          for kind in contenders.ORDER}
        for latency in latencies:
            self.sim.model(latency, 0, [d['name'] for d in self.devices])
            for scheme in schemes:
                steady = {}
                for kind in contenders.ORDER:
                    device = steady_devices[(scheme, kind)]
                    contender = contenders.make(
                        kind, device, self.sim.password, scheme,
                        self.ca_bundle)
                    contender.get_power_state()
                    steady[kind] = (contender, device['name'])
                for mode in MODES:
                    reps = REPS[latency > 0][mode][self.column]
                    rows = self._run_row(scheme, mode, reps, steady)
                    for kind in contenders.ORDER:
                        summary = summarise(rows[kind], kind, scheme, mode,
                                            latency)
                        results.append(summary)
                        self.progress(format_progress(summary))
                for contender, _name in steady.values():
                    contender.close()
        return results


def _percentile(values, fraction):
    """The nearest-rank percentile: the ceil(fraction x n)-th smallest."""
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered) - 1e-9)
    return ordered[min(len(ordered), max(1, rank)) - 1]


def summarise(row, kind, scheme, mode, latency):
    """Reduce a Row to a dict.

    :returns: a dict with client, scheme, mode, latency_ms, calls, p50_ms,
        p95_ms, cpu_ms (per call), per-call wire counts and failures.
    """
    calls = len(row.seconds)
    totals = collections.Counter()
    for _chunk, counts in row.counts:
        for field in ('exchanges', 'challenges', 'connects', 'handshakes',
                      'resumed'):
            totals[field] += getattr(counts, field)
    summary = {
        'client': kind, 'scheme': scheme, 'mode': mode,
        'latency_ms': round(1000 * latency), 'calls': calls,
        'p50_ms': 1000 * _percentile(row.seconds, 0.5),
        'p95_ms': 1000 * _percentile(row.seconds, 0.95),
        'cpu_ms': 1000 * row.cpu / calls,
        'failures': row.failures, 'last_error': row.last_error,
    }
    for field, total in totals.items():
        summary[field] = total / calls
    return summary


def format_progress(summary):
    """One progress line for a finished row."""
    return ('  %-5s %-22s %3d ms latency  %-17s p50 %7.2f ms  CPU %6.3f '
            'ms/call  %4.2f exch/call%s' % (
                summary['scheme'], summary['mode'], summary['latency_ms'],
                summary['client'], summary['p50_ms'], summary['cpu_ms'],
                summary.get('exchanges', 0),
                '  %d FAILED (%s)' % (summary['failures'],
                                      summary['last_error'])
                if summary['failures'] else ''))
