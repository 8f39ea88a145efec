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

"""Conductor scale: power-state sync passes over N nodes.

A real all-in-one Ironic (``ironic_amt.testing.harness.Ironic``, sqlite)
manages N nodes of one kind: ``pxe_amt`` over https or http, one node per
simulated device, or Ironic's own ``fake-hardware`` (whose power read
costs nothing: the floor of Ironic's own per-node work).  The nodes are
created once per kind through the REST API, with API version 1.10 so that
they start ``available`` (the sync skips ``enroll`` nodes), while the
periodic sync is off; then Ironic is restarted on that database with a
short ``sync_power_state_interval``.  Its first pass is the first contact
with every device (401 challenge, TLS handshakes, new clients); the next
one is the steady state that repeats every interval.

The end of a pass and its run time come from Ironic's own "Completed
power state sync operation ... in S seconds" line (the only DEBUG logger
turned on; the rest logs at INFO, as in production).  CPU time and RSS of
Ironic's processes are sampled from /proc; the HTTP exchanges, TLS
handshakes and resumed handshakes come from the simulator's request log.
"""

import collections
from concurrent import futures
import datetime
import json
import os
import re
import statistics
import sys
import threading
import time

from bench_lib import logstats
from ironic_amt.testing import harness
from ironic_amt.testing import nodes
from ironic_amt.testing import waiting

# Ironic's default_log_levels (ironic/conf/opts.py) plus the sync summary.
LOG_LEVELS = ','.join([
    'amqp=WARNING', 'amqplib=WARNING', 'qpid.messaging=INFO',
    'oslo.messaging=INFO', 'oslo_messaging=INFO', 'stevedore=INFO',
    'iso8601=WARNING', 'requests=WARNING', 'urllib3.connectionpool=WARNING',
    'keystonemiddleware.auth_token=INFO', 'keystoneauth.session=INFO',
    'openstack=WARNING', 'oslo_policy=WARNING',
    'oslo_concurrency.lockutils=WARNING',
    'ironic.conductor.manager=DEBUG'])
# Nodes created with this API version start in the available state.
CREATE_API_VERSION = '1.10'
ENROLL_THREADS = 8
# A sync interval long enough that no pass runs while nodes are created.
IDLE_INTERVAL = 3600
SAMPLE_INTERVAL = 0.1
PASS_TIMEOUT = 900.0
DONE_RE = re.compile(
    r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) .*Completed power state sync '
    r'operation, evaluated \d+ nodes with (\d+) workers in ([\d.]+) seconds')

AMT_HTTPS = 'pxe_amt https'
AMT_HTTP = 'pxe_amt http'
FAKE = 'fake-hardware'
# Node kind -> (hardware type, amt_protocol).
KINDS = {AMT_HTTPS: ('pxe_amt', 'https'), AMT_HTTP: ('pxe_amt', 'http'),
         FAKE: ('fake-hardware', None)}
# What fake-hardware nodes get: Ironic's fake interfaces.
FAKE_INTERFACES = {
    'enabled_boot_interfaces': 'fake',
    'enabled_deploy_interfaces': 'fake',
    'enabled_management_interfaces': 'fake',
    'enabled_power_interfaces': 'fake',
}

# Runs Ironic with a latency in its fake power reads.
FAKE_LATENCY_LAUNCHER = os.path.join(os.path.dirname(__file__),
                                     'fake_latency.py')
# It reads the latency again once its reading is 0.1 s old.
FAKE_LATENCY_SETTLE = 0.3

PASS_KINDS = ('first contact', 'second', 'steady')
# The first pass of the first conductor after nodes were enrolled: Ironic
# also records the power state of every node it has not seen yet (a lock
# upgrade and a database write per node), which fake-hardware, reporting
# no power state, never does. Later conductor starts are 'first contact'.
FIRST_NEW_NODES = 'first, new nodes'
PASS_ORDER = (FIRST_NEW_NODES,) + PASS_KINDS

# What _wire_counts returns, in its order.
WIRE_FIELDS = ('calls', 'exchanges', 'challenges', 'connects', 'handshakes',
               'resumed')
SyncPass = collections.namedtuple('SyncPass', [
    'nodes', 'workers', 'pass_kind', 'seconds', 'cpu_seconds',
    'sim_cpu_seconds', 'rss_mib', 'rss_growth_kib_per_node',
    *WIRE_FIELDS, 'repeat_handshakes', 'repeat_resumed', 'samples',
    'seconds_min', 'seconds_max', 'cpu_seconds_each'])


class BenchIronic(harness.Ironic):
    """harness.Ironic that keeps an existing database in its workdir.

    The harness runs ``ironic-dbsync create_schema``, which fails on a
    database that has a schema, so a restart on the same nodes skips it.
    With ``fake_latency``, Ironic runs under FAKE_LATENCY_LAUNCHER and
    its fake power reads take the latency :func:`set_fake_latency` gives
    them (none at first).
    """

    def __init__(self, *args, fake_latency=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fake_latency = fake_latency

    def _run_dbsync(self):
        if not os.path.exists(os.path.join(self.workdir, 'ironic.db')):
            super()._run_dbsync()

    def start(self, *args, **kwargs):
        if self.fake_latency:
            set_fake_latency(self.workdir, 0.0, settle=False)
        super().start(*args, **kwargs)

    def _command(self):
        command = super()._command()
        if not self.fake_latency:
            return command
        # -P: the launcher's directory (bench_lib) is not put on sys.path.
        return [sys.executable, '-P', FAKE_LATENCY_LAUNCHER,
                _latency_file(self.workdir)] + command[1:]


def _latency_file(workdir):
    return os.path.join(workdir, 'fake-power-latency')


def set_fake_latency(workdir, seconds, settle=True):
    """Give the fake power reads of the Ironic in workdir a latency.

    :param workdir: the workdir of a BenchIronic with fake_latency.
    :param seconds: the latency of each power read.
    :param settle: wait until Ironic has read it, so that a pass starting
        after the return waits the latency on every node.
    """
    with open(_latency_file(workdir), 'w') as f:
        f.write('%r\n' % float(seconds))
    if settle:
        time.sleep(FAKE_LATENCY_SETTLE)


def _group_processes(pgid):
    """(pid, /proc stat fields after the name) of a process group."""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue  # the process has ended
        if int(fields[2]) == pgid:
            yield entry, fields


def _group_usage(pgid):
    """CPU seconds and RSS MiB summed over the processes of a group."""
    ticks = os.sysconf('SC_CLK_TCK')
    cpu = rss = 0.0
    for _pid, fields in _group_processes(pgid):
        cpu += (int(fields[11]) + int(fields[12])) / ticks
        rss += int(fields[21]) * os.sysconf('SC_PAGE_SIZE') / 2 ** 20
    return cpu, rss


def pin(pgid, cpus):
    """Bind every thread of a process group to some CPUs.

    Threads started later inherit the binding of the thread that starts
    them.

    :param pgid: the process group (a harness-started process's pid).
    :param cpus: CPU numbers.
    """
    for pid, _fields in _group_processes(pgid):
        try:
            for task in os.listdir('/proc/%s/task' % pid):
                os.sched_setaffinity(int(task), cpus)
        except OSError:
            continue  # the process or thread has ended


class Sampler(object):
    """Samples (wall time, CPU seconds, RSS MiB) of a process group."""

    def __init__(self, pgid):
        self.pgid = pgid
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='bench-sampler')

    def _run(self):
        while not self._stop.is_set():
            cpu, rss = _group_usage(self.pgid)
            self.samples.append((time.time(), cpu, rss))
            self._stop.wait(SAMPLE_INTERVAL)

    def start(self):
        """Start sampling in a thread."""
        self._thread.start()

    def stop(self):
        """Stop sampling and join the thread."""
        self._stop.set()
        self._thread.join(5)

    def rss_at(self, when):
        """RSS MiB of the last sample taken at or before a wall time."""
        before = [s for s in self.samples if s[0] <= when]
        return (before[-1] if before else self.samples[0])[2]

    def window(self, start, end):
        """CPU seconds used and peak RSS between two wall times."""
        def cpu_at(when):
            before = [s for s in self.samples if s[0] <= when]
            return (before[-1] if before else self.samples[0])[1]
        inside = [s[2] for s in self.samples if start <= s[0] <= end]
        return (cpu_at(end) - cpu_at(start),
                max(inside or [self.rss_at(end)]))


def _node_body(kind, index, device, password, ca_bundle):
    hardware_type, scheme = KINDS[kind]
    if scheme is None:
        return {'name': 'fake-%04d' % index, 'driver': hardware_type}
    info = nodes.driver_info(device, scheme, password=password,
                             ca_path=ca_bundle)
    return {'name': device['name'], 'driver': hardware_type,
            'driver_info': info}


def _ironic(workdir, kind, interval, workers):
    hardware_type, _scheme = KINDS[kind]
    # log_file: the launcher of fake-hardware would otherwise log to a
    # file named after itself.
    default = {'debug': 'false', 'default_log_levels': LOG_LEVELS,
               'log_file': 'ironic.log'}
    if kind == FAKE:
        default.update(FAKE_INTERFACES)
    conductor = {'sync_power_state_interval': str(interval)}
    if workers:
        conductor.update(sync_power_state_workers=str(workers),
                         periodic_max_workers=str(max(workers, 8)))
    return BenchIronic(hardware_types=(hardware_type,), amt_options={},
                       workdir=workdir, fake_latency=kind == FAKE,
                       extra_options={'DEFAULT': default,
                                      'conductor': conductor})


def enroll(workdir, kind, devices, password, ca_bundle, first=0):
    """Create a node of a kind per device through the REST API, sync off.

    :param workdir: Ironic's workdir (its database stays there).
    :param kind: one of KINDS.
    :param devices: device summaries (fake-hardware: only counted).
    :param first: the number of the first node (nodes already there).
    :param password: the devices' password.
    :param ca_bundle: the CA bundle pxe_amt https nodes verify with.
    :returns: seconds the creation took.
    """
    ironic = _ironic(workdir, kind, IDLE_INTERVAL, None)
    ironic.start()
    try:
        started = time.monotonic()

        def create(numbered):
            index, device = numbered
            response = ironic.api(
                'POST', '/v1/nodes', timeout=60,
                json=_node_body(kind, index, device, password, ca_bundle),
                headers={'X-OpenStack-Ironic-API-Version':
                         CREATE_API_VERSION})
            if response.status_code != 201:
                raise RuntimeError('creating node %s: %s %s'
                                   % (index, response.status_code,
                                      response.text))

        with futures.ThreadPoolExecutor(ENROLL_THREADS) as pool:
            list(pool.map(create, enumerate(devices, first)))
        return time.monotonic() - started
    finally:
        ironic.stop(remove=False)


def _log_time(text):
    stamp = datetime.datetime.strptime(text, '%Y-%m-%d %H:%M:%S.%f')
    return stamp.timestamp()


def _completed_passes(log_path):
    passes = []
    try:
        with open(log_path, errors='replace') as f:
            for line in f:
                match = DONE_RE.match(line)
                if match:
                    end = _log_time(match.group(1))
                    passes.append((end - float(match.group(3)), end,
                                   int(match.group(2))))
    except OSError:
        pass
    return passes


def _requests(sim_log, start, end):
    """The simulator's request log entries between two wall times."""
    if not sim_log or not os.path.exists(sim_log):
        return []
    with open(sim_log, encoding='utf-8') as f:
        entries = (json.loads(line) for line in f)
        return _between((entry for entry in entries
                         if entry.get('event') == 'request'), start, end)


def _between(requests, start, end):
    return [entry for entry in requests if start <= entry['time'] <= end]


def _wait_passes(ironic, count, after, timeout):
    def done():
        passes = [p for p in _completed_passes(ironic.log_path)
                  if p[0] >= after]
        return passes[:count] if len(passes) >= count else None

    try:
        return waiting.wait_until(done, timeout, 0.2, 'the sync passes')
    except waiting.WaitTimeout:
        raise RuntimeError('%d sync passes not done in time:\n%s'
                           % (count, harness.tail(ironic.output_path)))


def _pass_record(sampler, sim_sampler, requests, nodes, window,
                 previous_end, pass_kind, first=False):
    """The measured values of one pass between two wall times."""
    start, end, used = window
    cpu, rss = sampler.window(start, end)
    sim_cpu = sim_sampler.window(start, end)[0] if sim_sampler else 0.0
    growth = 0.0
    if first:
        growth = 1024 * (sampler.rss_at(end) - sampler.rss_at(start))
        growth /= max(nodes, 1)
    # The run time is logged to 10 ms: a pass that follows another at
    # once must not count the end of the previous one.
    wire = logstats.count(_between(requests, max(start, previous_end), end))
    return dict(nodes=nodes, workers=used, pass_kind=pass_kind,
                seconds=end - start, cpu_seconds=cpu,
                sim_cpu_seconds=sim_cpu, rss_mib=rss,
                rss_growth_kib_per_node=growth,
                **{field: getattr(wire, field) for field in WIRE_FIELDS})


def _median_pass(records):
    """The pass of median wall time, with the spread of all of them.

    Its CPU seconds are the median over all the passes: the CPU of the
    pass of median wall time is not the median CPU, and the first-contact
    target is one of CPU. The CPU of every pass is kept too, in the order
    given (for a first-contact row, one pass per conductor start).
    """
    ordered = sorted(records, key=lambda r: r['seconds'])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle.update(samples=len(ordered), seconds_min=ordered[0]['seconds'],
                  seconds_max=ordered[-1]['seconds'],
                  cpu_seconds=statistics.median(
                      r['cpu_seconds'] for r in records),
                  cpu_seconds_each=[r['cpu_seconds'] for r in records])
    return middle


def measure(workdir, kind, sim_log, nodes, workers, interval, change=None,
            sim_pid=None, steady_passes=5, cpus=None):
    """Start Ironic on the enrolled nodes and measure its sync passes.

    The first pass is the first contact. The second may still reconnect
    to devices whose idle connection was closed during a long first pass
    (the simulator, like AMT, closes idle connections), so the steady
    state is measured from the third on: ``steady_passes`` passes (a
    shared machine makes single passes vary by tens of per cent). With
    ``change``, it is then called (for example to give the devices a
    latency) and as many passes that start after it are measured the same
    way.

    :param workdir: the workdir holding the database from enroll().
    :param kind: the node kind (one of KINDS).
    :param sim_log: the simulator's request log file (None: no devices).
    :param nodes: the number of nodes in the database.
    :param workers: [conductor]sync_power_state_workers, None: default.
    :param interval: [conductor]sync_power_state_interval.
    :param change: a callable, or None.
    :param sim_pid: the simulator's pid (its process group), to sample
        the CPU the simulated devices used; None: not sampled.
    :param steady_passes: the number of steady passes (each phase).
    :param cpus: CPU numbers to bind the conductor to, or None.
    :returns: a list of phases (changed, records): changed is True for
        the passes after ``change``; records are dicts of the SyncPass
        fields, one per pass, all of one pass_kind ('first contact',
        'second' or 'steady'); :func:`combine` makes a row of them.
    :raises: RuntimeError when the passes do not complete in time.
    """
    ironic = _ironic(workdir, kind, interval, workers)
    # Only the lines of this run count.
    if os.path.exists(ironic.log_path):
        os.remove(ironic.log_path)
    ironic.start()
    if cpus:
        pin(ironic.pid, cpus)
    sampler = Sampler(ironic.pid)
    sampler.start()
    sim_sampler = Sampler(sim_pid) if sim_pid else None
    if sim_sampler:
        sim_sampler.start()
    changed_passes = []
    try:
        done = _wait_passes(ironic, 2 + steady_passes, 0.0, PASS_TIMEOUT)
        if change is not None:
            change()
            changed_passes = _wait_passes(ironic, steady_passes,
                                          time.time(), PASS_TIMEOUT)
        time.sleep(2 * SAMPLE_INTERVAL)
    finally:
        sampler.stop()
        if sim_sampler:
            sim_sampler.stop()
        ironic.stop(remove=False)
    windows = done + changed_passes
    # The simulator's log, read once for all the passes of this run.
    requests = _requests(sim_log, windows[0][0], windows[-1][1])
    # Every TLS handshake of this conductor process after its first one
    # to a device is a repeat connection, which could resume a session.
    run = _between(requests, done[0][0], done[2][1])
    run_wire = logstats.count(run)
    repeat = run_wire.handshakes - len(
        {entry.get('device') for entry in run if entry.get('tls_handshake')})
    records = []
    previous_end = 0.0
    for index, window in enumerate(windows):
        records.append(_pass_record(
            sampler, sim_sampler, requests, nodes, window, previous_end,
            PASS_KINDS[min(index, 2)], first=index == 0))
        previous_end = window[1]
    first = records[0]
    first.update(repeat_handshakes=repeat, repeat_resumed=run_wire.resumed)
    phases = [(False, [first]), (False, [records[1]]),
              (False, records[2:2 + steady_passes])]
    if changed_passes:
        phases.append((True, records[2 + steady_passes:]))
    return phases


def combine(records):
    """One SyncPass for passes pooled over rounds: the median one.

    :param records: pass records (dicts) of one phase, from measure().
    :returns: the SyncPass of median wall time; its samples,
        seconds_min, seconds_max, cpu_seconds (the median) and
        cpu_seconds_each (every pass's, in the order given) describe all
        of them.
    """
    record = _median_pass(records)
    return SyncPass(**{field: record.get(field, 0)
                       for field in SyncPass._fields})
