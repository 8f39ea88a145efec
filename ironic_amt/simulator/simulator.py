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

"""The Simulator: devices, listeners and the control API in one thread.

It wires the three layers together: for every device a state model
(model.device.Device), a WS-Man service (protocol.service.Service) and
its listeners (transport.endpoint.Endpoint on the HTTP and HTTPS ports,
sharing one digest authority).  All sockets are served by one asyncio
loop running in a background thread, so a thousand devices (two
thousand listeners) cost one thread.
"""

import asyncio
import json
import os
import shutil
import tempfile
import threading

from ironic_amt.simulator import config
from ironic_amt.simulator.model import device as device_mod
from ironic_amt.simulator.protocol import service
from ironic_amt.simulator.transport import control
from ironic_amt.simulator.transport import digest
from ironic_amt.simulator.transport import endpoint
from ironic_amt.simulator.transport import redirection
from ironic_amt.simulator.transport import server
from ironic_amt.simulator.transport import tls

# File in state_dir holding device state between runs.
STATE_FILE = 'devices.json'
# Seconds start() and stop() wait for the loop thread.
START_TIMEOUT = 300
STOP_TIMEOUT = 60


class _LogFile(object):
    """Appends log entries to a JSON-lines file, from any thread."""

    def __init__(self, path):
        self._file = open(path, 'a', encoding='utf-8')
        self._lock = threading.Lock()

    def write(self, entry):
        line = json.dumps(entry, sort_keys=True) + '\n'
        with self._lock:
            if not self._file.closed:
                self._file.write(line)
                self._file.flush()

    def close(self):
        with self._lock:
            self._file.close()


class Simulator(object):
    """Simulated AMT devices served from a background thread."""

    def __init__(self, devices, control_port=0, log_path=None,
                 state_dir=None):
        """Create the simulator (nothing is bound until start()).

        :param devices: a list of config.DeviceSpec (names unique).
        :param control_port: the control API port on 127.0.0.1, 0 for any.
        :param log_path: append every log entry to this JSON-lines file.
        :param state_dir: keep the CA and device state here across runs;
            None uses a temporary directory removed by stop().
        :raises: ValueError for duplicate device names.
        """
        names = [spec.name for spec in devices]
        if len(set(names)) != len(names):
            raise ValueError('Device names must be unique')
        self.control_port = control_port
        self.log_path = log_path
        self.state_dir = state_dir
        self.ca_cert_path = None
        self._log_file = None
        self._loop = None
        self._thread = None
        self._http = None
        self._workdir = None
        self.devices = [device_mod.Device(spec, sink=self._sink,
                                          scheduler=self._schedule)
                        for spec in devices]
        self._by_name = {d.name: d for d in self.devices}

    @classmethod
    def from_config(cls, path_or_dict):
        """Build a simulator from a configuration file or dict.

        :param path_or_dict: see config.load_config.
        :returns: a Simulator (not started).
        :raises: ValueError for an invalid configuration.
        """
        return cls(**config.load_config(path_or_dict))

    @property
    def control_url(self):
        """The control API base URL, e.g. 'http://127.0.0.1:8080'."""
        return 'http://127.0.0.1:%d' % self.control_port

    def device(self, name):
        """A device by name.

        :param name: the device name.
        :returns: the model.device.Device.
        :raises: KeyError for an unknown name.
        """
        return self._by_name[name]

    def _sink(self, entry):
        if self._log_file is not None:
            self._log_file.write(entry)

    def _schedule(self, delay, callback):
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.call_later, delay, callback)

    def _state_path(self):
        return os.path.join(self.state_dir, STATE_FILE)

    def _restore_state(self):
        if not self.state_dir or not os.path.exists(self._state_path()):
            return
        with open(self._state_path(), encoding='utf-8') as f:
            saved = json.load(f)
        for name, state in saved.items():
            if name in self._by_name:
                self._by_name[name].restore(state)

    def _save_state(self):
        if not self.state_dir:
            return
        data = {d.name: d.snapshot() for d in self.devices}
        tmp = self._state_path() + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(data, f)
        os.replace(tmp, self._state_path())

    async def _bind_device(self, dev, tls_context):
        """Open the listeners of one device.

        New per-device listeners (e.g. a redirection port) are opened
        here too, with self._http.listen_stream for non-HTTP protocols.

        :param dev: the model.device.Device.
        :param tls_context: the server SSLContext of its profile.
        """
        wsman = service.Service(dev)
        auth = digest.DigestAuthority(dev.realm, dev.username, dev.password,
                                      dev.profile_info.qop)
        if dev.profile_info.http_open:
            plain = endpoint.Endpoint(dev, 'http', wsman, auth)
            dev.http_port = await self._http.listen(
                dev.address, dev.spec.http_port, plain, 'http',
                error_page=plain.error_page)
        else:
            dev.http_port = None
        secure = endpoint.Endpoint(dev, 'https', wsman, auth)
        dev.https_port = await self._http.listen(
            dev.address, dev.spec.https_port, secure, 'https', tls_context,
            error_page=secure.error_page)
        # The plain redirection port exists where plain WS-Man does.
        dev.redirection_port = None
        if dev.profile_info.http_open:
            dev.redirection_port = await self._http.listen_stream(
                dev.address, dev.spec.redirection_port,
                redirection.RedirectionPort(dev, 'tcp'))
        dev.redirection_tls_port = await self._http.listen_stream(
            dev.address, dev.spec.redirection_tls_port,
            redirection.RedirectionPort(dev, 'tls'), tls_context)

    async def _bind(self, paths):
        contexts = {}
        for dev in self.devices:
            if dev.profile not in contexts:
                contexts[dev.profile] = tls.server_context(
                    paths, dev.profile_info)
            await self._bind_device(dev, contexts[dev.profile])
        self.control_port = await self._http.listen(
            '127.0.0.1', self.control_port,
            control.ControlApi(self._by_name), 'http')

    def start(self):
        """Bind every listener and serve from a background thread.

        :returns: once every socket is listening.
        :raises: OSError when a port cannot be bound (nothing is left
            running then), RuntimeError when already started.
        """
        if self._thread is not None:
            raise RuntimeError('The simulator is already running')
        if self.state_dir:
            os.makedirs(self.state_dir, exist_ok=True)
            self._workdir = self.state_dir
        else:
            self._workdir = tempfile.mkdtemp(prefix='amt-sim-')
        paths = tls.create_certificates(
            self._workdir, sorted({d.address for d in self.devices}))
        self.ca_cert_path = paths['ca_cert']
        self._restore_state()
        if self.log_path:
            self._log_file = _LogFile(self.log_path)
        self._loop = asyncio.new_event_loop()
        self._http = server.HttpServer()
        ready = threading.Event()
        failure = []

        def run():
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._bind(paths))
            except Exception as exc:
                failure.append(exc)
                self._loop.run_until_complete(self._http.close())
                ready.set()
                return
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name='amt-simulator',
                                        daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError('The simulator did not start in time')
        if failure:
            self._thread.join()
            self._cleanup()
            raise failure[0]

    def stop(self):
        """Close every socket, stop the loop thread and save state."""
        if self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._http.close(),
                                                  self._loop)
        future.result(STOP_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(STOP_TIMEOUT)
        self._save_state()
        self._cleanup()

    def _cleanup(self):
        self._loop.close()
        self._loop = None
        self._thread = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if not self.state_dir and self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()
