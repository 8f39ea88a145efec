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

"""The AMT simulator as a separate process, and its control API.

The simulator runs in its own process (``ironic-amt-simulator``) so that
its CPU time never competes with the measured client for the GIL.  The
device model (service time per request, TLS handshake time) is applied
with the ``latency`` and ``tls_delay`` faults on every device.
"""

from concurrent import futures
import json
import os
import shutil
import subprocess
import sys
import tempfile

import requests

from ironic_amt.testing import harness
from ironic_amt.testing import waiting

PASSWORD = 'Bench-Passw0rd!'
START_TIMEOUT = 300.0
CONTROL_TIMEOUT = 30.0
# Parallel control requests when configuring many devices.
CONTROL_THREADS = 8


class SimulatorProcess(object):
    """An ``ironic-amt-simulator`` child process with N devices.

    :param devices: number of devices.
    :param power_state: initial CIM PowerState of every device.
    :param power_delay: seconds before a power change applies.
    :param log_file: JSON-lines request log path, or None.
    :param workdir: directory for the ready file.
    """

    def __init__(self, devices, power_state=8, power_delay=0.2,
                 log_file=None, workdir=None):
        self.count = devices
        self.power_state = power_state
        self.power_delay = power_delay
        self.log_file = log_file
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix='amt-bench-sim-')
        self.password = PASSWORD
        self.info = None
        self.proc = None
        self.session = requests.Session()
        self.session.trust_env = False

    @property
    def devices(self):
        """Device summaries (name, address, ports, username, realm)."""
        return self.info['devices']

    @property
    def ca_cert(self):
        """Path of the CA certificate of the devices' TLS certificate."""
        return self.info['ca_cert']

    def start(self):
        """Start the process and wait until every socket listens.

        :raises: RuntimeError if it exits or does not get ready in time.
        """
        ready = os.path.join(self.workdir, 'sim-ready-%d.json' % id(self))
        if os.path.exists(ready):
            os.remove(ready)
        command = [os.path.join(os.path.dirname(sys.executable),
                                'ironic-amt-simulator'),
                   '--devices', str(self.count), '--password', PASSWORD,
                   '--power-state', str(self.power_state),
                   '--power-delay', str(self.power_delay),
                   '--ready-file', ready]
        if self.log_file:
            command += ['--log-file', self.log_file]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True)

        def started():
            if self.proc.poll() is not None:
                raise RuntimeError('the simulator exited with %s'
                                   % self.proc.returncode)
            return os.path.exists(ready)

        try:
            waiting.wait_until(started, START_TIMEOUT, 0.05,
                               'the simulator')
        except waiting.WaitTimeout:
            self.stop()
            raise RuntimeError('the simulator did not start in time')
        with open(ready, encoding='utf-8') as f:
            self.info = json.load(f)

    def stop(self):
        """Stop the process (by pid: SIGTERM, then SIGKILL)."""
        if self.proc is not None:
            harness.stop_process(self.proc)
            self.proc = None
        self.session.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def pid(self):
        """The simulator's pid, or None when not running."""
        return self.proc.pid if self.proc else None

    def _url(self, name, suffix=''):
        return '%s/devices/%s%s' % (self.info['control_url'], name, suffix)

    def _call(self, method, name, suffix='', **kwargs):
        response = self.session.request(method, self._url(name, suffix),
                                        timeout=CONTROL_TIMEOUT, **kwargs)
        response.raise_for_status()
        return response.json()

    def model(self, service_time, tls_time, names=None):
        """Give devices a service time per request and a TLS handshake time.

        :param service_time: seconds added to every HTTP exchange.
        :param tls_time: seconds added to every TLS handshake.
        :param names: device names; all devices if None.
        """
        names = names or [d['name'] for d in self.devices]

        def configure(name):
            self._call('DELETE', name, '/faults')
            if service_time > 0:
                self._call('POST', name, '/faults',
                           json={'fault': 'latency',
                                 'seconds': service_time})
            if tls_time > 0:
                self._call('POST', name, '/faults',
                           json={'fault': 'tls_delay', 'seconds': tls_time})

        with futures.ThreadPoolExecutor(CONTROL_THREADS) as pool:
            list(pool.map(configure, names))

    def details(self, name):
        """The state of a device (power, boot override, boot history)."""
        return self._call('GET', name)

    def set_power(self, name, state):
        """Force the power state of a device, as a person would."""
        self._call('POST', name, '/power', json={'state': state})

    def log(self, name, since=0):
        """Request log entries of a device with seq > since."""
        return self._call('GET', name, '/log', params={'since': since})

    def wait_settled(self, name, timeout=10.0):
        """Wait until no power change of a device is pending.

        :raises: RuntimeError on timeout.
        """
        try:
            waiting.wait_until(
                lambda: not self.details(name)['power_change_pending'],
                timeout, 0.02, 'the power change of %s' % name)
        except waiting.WaitTimeout:
            raise RuntimeError('%s: power change still pending' % name)
