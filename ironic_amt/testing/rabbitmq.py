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

"""A private RabbitMQ broker on 127.0.0.1, from Debian's rabbitmq-server.

The broker runs as a child of the tests with its own node name, data,
log and config folders and free ports; so does the Erlang port mapper
(``epmd``) it registers with, so neither the machine's broker nor another
test run's is touched. Both are stopped by pid.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

from ironic_amt.testing import debian
from ironic_amt.testing import harness
from ironic_amt.testing import waiting

SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'
EPMD_GLOB = '/usr/lib/erlang/erts-*/bin/epmd'
START_TIMEOUT = 60.0
USER = 'guest'
# RabbitMQ lets the default "guest" user in from loopback only, which is
# all the tests use; it is a well-known test credential, not a secret.
PASSWORD = 'guest'  # nosec B105


def _port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(('127.0.0.1', port)) == 0


class RabbitMQ(object):
    """One RabbitMQ node and its epmd, in a temporary folder."""

    def __init__(self):
        """Prepare (but do not start) the broker."""
        self.workdir = None
        self.port = None
        self.start_seconds = None
        self._server = None
        self._epmd = None

    @property
    def url(self):
        """The oslo.messaging transport URL of the broker."""
        return 'rabbit://%s:%s@127.0.0.1:%d/' % (USER, PASSWORD, self.port)

    @property
    def log_path(self):
        """The server's captured output."""
        return os.path.join(self.workdir, 'rabbitmq.out')

    @property
    def processes(self):
        """The started subprocess.Popen objects (epmd, server)."""
        return [p for p in (self._epmd, self._server) if p is not None]

    def _environment(self, epmd_port, dist_port):
        work = self.workdir
        node = 'rabbit-%s@localhost' % uuid.uuid4().hex[:8]
        return dict(
            os.environ, HOME=work, ERL_EPMD_PORT=str(epmd_port),
            RABBITMQ_NODENAME=node, RABBITMQ_NODE_IP_ADDRESS='127.0.0.1',
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(dist_port),
            RABBITMQ_MNESIA_BASE=os.path.join(work, 'mnesia'),
            RABBITMQ_LOG_BASE=os.path.join(work, 'log'),
            RABBITMQ_CONFIG_FILE=os.path.join(work, 'rabbitmq.conf'),
            RABBITMQ_ADVANCED_CONFIG_FILE=os.path.join(work,
                                                       'advanced.config'),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(work, 'plugins'),
            RABBITMQ_PID_FILE=os.path.join(work, 'rabbitmq.pid'))

    def start(self, timeout=START_TIMEOUT):
        """Install if needed, start epmd and the broker, wait for AMQP.

        :param timeout: seconds to wait for the AMQP port.
        :raises: HarnessError if the broker exits or does not listen.
        """
        debian.ensure_installed('rabbitmq-server', SERVER)
        epmd = debian.ensure_installed('rabbitmq-server', EPMD_GLOB)[-1]
        started = time.monotonic()
        self.workdir = tempfile.mkdtemp(prefix='ironic-amt-rabbitmq-')
        self.port = harness.free_port()
        with open(os.path.join(self.workdir, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.default = 127.0.0.1:%d\n' % self.port)
        with open(os.path.join(self.workdir, 'plugins'), 'w') as f:
            f.write('[].\n')
        epmd_port = harness.free_port(exclude=[self.port])
        env = self._environment(epmd_port, harness.free_port(
            exclude=[self.port, epmd_port]))
        output = open(self.log_path, 'ab')
        try:
            self._epmd = subprocess.Popen(
                [epmd, '-port', str(epmd_port), '-address', '127.0.0.1'],
                stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, env=env, start_new_session=True)
            self._wait_for_port(epmd_port, self._epmd, 'epmd', timeout)
            self._server = subprocess.Popen(
                [SERVER], stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, env=env, cwd=self.workdir,
                start_new_session=True)
        finally:
            output.close()
        self._wait_for_port(self.port, self._server, 'rabbitmq-server',
                            timeout)
        self.start_seconds = time.monotonic() - started

    def _wait_for_port(self, port, process, name, timeout):
        def listening():
            if process.poll() is not None:
                raise harness.HarnessError(
                    '%s exited with %s:\n%s'
                    % (name, process.returncode, harness.tail(self.log_path)))
            return _port_open(port)

        try:
            waiting.wait_until(listening, timeout, 0.1, name)
        except waiting.WaitTimeout:
            raise harness.HarnessError(
                '%s did not listen within %.0f s:\n%s'
                % (name, timeout, harness.tail(self.log_path)))

    def stop(self):
        """Stop the broker, then epmd, by pid; remove the folder."""
        if self._server is not None:
            harness.stop_process(self._server)
            self._server = None
        if self._epmd is not None:
            harness.stop_process(self._epmd)
            self._epmd = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
