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

"""Conductor scale: one power-state sync pass over N pxe_amt nodes.

A real all-in-one Ironic (``ironic_amt.testing.harness.Ironic``, sqlite)
manages N nodes, one per simulated device.  The nodes are created once
through the REST API, with API version 1.10 so that they start
``available`` (the sync skips ``enroll`` nodes), while the periodic sync
is off; then for each ``[conductor]sync_power_state_workers`` value Ironic
is restarted on the same database with a short
``sync_power_state_interval``.  Its first pass is the first contact with
every device (401 challenge, TLS handshake, new clients); the next one is
the steady state that repeats every interval.

The end of a pass and its run time come from Ironic's own "Completed
power state sync operation ... in S seconds" line (the only DEBUG logger
turned on; the rest logs at INFO, as in production).  CPU time and RSS of
Ironic's processes (master and worker) are sampled from /proc; the HTTP
exchanges of the pass come from the simulator's request log file.
"""

import collections
from concurrent import futures
import datetime
import json
import os
import re
import threading
import time

from ironic_amt.testing import harness
from ironic_amt.testing import nodes

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
PASS_TIMEOUT = 300.0
DONE_RE = re.compile(
    r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) .*Completed power state sync '
    r'operation, evaluated \d+ nodes with (\d+) workers in ([\d.]+) seconds')

SyncPass = collections.namedtuple('SyncPass', [
    'nodes', 'workers', 'kind', 'seconds', 'cpu_seconds', 'rss_mib',
    'calls', 'exchanges', 'challenges', 'connects', 'handshakes'])


class BenchIronic(harness.Ironic):
    """harness.Ironic that keeps an existing database in its workdir.

    The harness runs ``ironic-dbsync create_schema``, which fails on a
    database that has a schema, so a restart on the same nodes skips it.
    """

    def _run_dbsync(self):
        if not os.path.exists(os.path.join(self.workdir, 'ironic.db')):
            super()._run_dbsync()


def _group_usage(pgid):
    """CPU seconds and RSS MiB summed over the processes of a group."""
    ticks = os.sysconf('SC_CLK_TCK')
    cpu = rss = 0.0
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) != pgid:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / ticks
        rss += int(fields[21]) * os.sysconf('SC_PAGE_SIZE') / 2 ** 20
    return cpu, rss


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

    def window(self, start, end):
        """CPU seconds used and peak RSS between two wall times."""
        def cpu_at(when):
            before = [s for s in self.samples if s[0] <= when]
            return (before[-1] if before else self.samples[0])[1]
        inside = [s[2] for s in self.samples if start <= s[0] <= end]
        return cpu_at(end) - cpu_at(start), max(inside or [0.0])


def _node_body(device, password, scheme, ca_cert):
    info = nodes.driver_info(device, scheme, password=password,
                             ca_path=ca_cert)
    return {'name': device['name'], 'driver': 'pxe_amt',
            'driver_info': info}


def _ironic(workdir, interval, workers):
    conductor = {'sync_power_state_interval': str(interval)}
    if workers:
        conductor.update(sync_power_state_workers=str(workers),
                         periodic_max_workers=str(workers))
    return BenchIronic(amt_options={}, workdir=workdir, extra_options={
        'DEFAULT': {'debug': 'false', 'default_log_levels': LOG_LEVELS},
        'conductor': conductor})


def enroll(workdir, devices, password, scheme, ca_cert):
    """Create a node per device through the REST API, sync off.

    :returns: seconds the creation took.
    """
    ironic = _ironic(workdir, IDLE_INTERVAL, None)
    ironic.start()
    try:
        started = time.monotonic()

        def create(device):
            response = ironic.api(
                'POST', '/v1/nodes', timeout=60,
                json=_node_body(device, password, scheme, ca_cert),
                headers={'X-OpenStack-Ironic-API-Version':
                         CREATE_API_VERSION})
            if response.status_code != 201:
                raise RuntimeError('creating node %s: %s %s'
                                   % (device['name'], response.status_code,
                                      response.text))

        with futures.ThreadPoolExecutor(ENROLL_THREADS) as pool:
            list(pool.map(create, devices))
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


def _wire_counts(sim_log, start, end):
    calls = exchanges = challenges = connects = handshakes = 0
    with open(sim_log, encoding='utf-8') as f:
        for line in f:
            entry = json.loads(line)
            if (entry.get('event') != 'request'
                    or not start <= entry['time'] <= end):
                continue
            exchanges += 1
            challenges += entry.get('status') == 401
            calls += entry.get('auth') == 'ok'
            connects += bool(entry.get('new_connection'))
            handshakes += bool(entry.get('tls_handshake'))
    return calls, exchanges, challenges, connects, handshakes


def measure(workdir, sim_log, nodes, workers, interval, passes=2):
    """Start Ironic on the enrolled nodes and measure its sync passes.

    :param workdir: the workdir holding the database from enroll().
    :param sim_log: the simulator's request log file.
    :param nodes: the number of nodes in the database.
    :param workers: [conductor]sync_power_state_workers, None: default.
    :param interval: [conductor]sync_power_state_interval.
    :param passes: how many passes to measure (the first is first contact).
    :returns: a list of SyncPass.
    :raises: RuntimeError when the passes do not complete in time.
    """
    ironic = _ironic(workdir, interval, workers)
    # Only the lines of this run count.
    if os.path.exists(ironic.log_path):
        os.remove(ironic.log_path)
    ironic.start()
    sampler = Sampler(ironic.pid)
    sampler.start()
    try:
        deadline = time.monotonic() + PASS_TIMEOUT + interval
        while len(_completed_passes(ironic.log_path)) < passes:
            if time.monotonic() > deadline:
                raise RuntimeError('%d sync passes not done in time:\n%s'
                                   % (passes, harness.tail(
                                       ironic.output_path)))
            time.sleep(0.2)
        time.sleep(2 * SAMPLE_INTERVAL)
    finally:
        sampler.stop()
        ironic.stop(remove=False)
    results = []
    previous_end = 0.0
    for index, (start, end, used) in enumerate(
            _completed_passes(ironic.log_path)[:passes]):
        cpu, rss = sampler.window(start, end)
        # The run time is logged to 10 ms: a pass that follows another at
        # once must not count the end of the previous one.
        wire = _wire_counts(sim_log, max(start, previous_end), end)
        previous_end = end
        results.append(SyncPass(
            nodes, used, 'first contact' if index == 0 else 'steady',
            end - start, cpu, rss, *wire))
    return results
