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

"""Launch a multi-conductor Ironic on loopback: PostgreSQL, API, conductors.

Builds on the e2e harness: :class:`Cluster` is a
:class:`~ironic_amt.testing.harness.Ironic` whose ``cli``, ``api`` and
``wait_for_node`` talk to one ``ironic-api`` process, behind which several
``ironic-conductor`` processes share a PostgreSQL database and take RPC
over JSON-RPC. Each conductor has its own loopback address, used as its
``[DEFAULT]host`` and ``[json_rpc]host_ip``, on the default JSON-RPC port
8089: with another port Ironic registers the conductor as ``host:port``
while node reservations carry the bare ``host``, so the takeover of a dead
conductor's reservations would never match them.
"""

import configparser
import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from ironic_amt.testing import debian
from ironic_amt.testing import harness
from ironic_amt.testing import waiting

PG_BIN_GLOB = '/usr/lib/postgresql/*/bin'
PG_USER = 'postgres'
PG_DATABASE = 'ironic'
PG_TIMEOUT = 60
JSON_RPC_PORT = 8089
ADDRESS_TRIES = 50
CONDUCTOR_TIMEOUT = 60.0

# Short intervals so that a dead conductor is noticed and its nodes taken
# over in seconds instead of minutes.
FAST_CONDUCTOR_OPTIONS = {
    'heartbeat_interval': '1',
    'heartbeat_timeout': '6',
    'sync_power_state_interval': '2',
    'check_provision_state_interval': '2',
    'sync_local_state_interval': '2',
}
HASH_RING_RESET_INTERVAL = '1'

# PostgreSQL options for a throwaway test database: no durability.
PG_SERVER_OPTIONS = ('-c fsync=off -c full_page_writes=off '
                     '-c synchronous_commit=off')


def _as_postgres(cmd):
    """Prefix a command so it runs as the postgres user when we are root.

    :param cmd: the command, a list.
    :returns: the command to run.
    """
    if os.geteuid() == 0:
        return ['runuser', '-u', PG_USER, '--'] + cmd
    return cmd


def postgresql_bin_dir(install=True):
    """Return the directory of the PostgreSQL server programs.

    :param install: install Debian's ``postgresql`` package if missing
        (needs root).
    :returns: e.g. '/usr/lib/postgresql/15/bin'.
    :raises: HarnessError if PostgreSQL is missing and cannot be installed.
    """
    pattern = os.path.join(PG_BIN_GLOB, 'pg_ctl')
    if install:
        found = debian.ensure_installed('postgresql', pattern)
    else:
        found = sorted(glob.glob(pattern))
    if not found:
        raise harness.HarnessError(
            'PostgreSQL server programs not found in %s; install the '
            'Debian package "postgresql"' % PG_BIN_GLOB)
    return os.path.dirname(found[-1])


class PostgreSQL(object):
    """A private PostgreSQL cluster on 127.0.0.1, in a temporary folder."""

    def __init__(self):
        """Prepare (but do not start) the database server."""
        self.workdir = None
        self.port = None
        self.pid = None
        self._bin = None

    @property
    def data_dir(self):
        """The cluster's data directory."""
        return os.path.join(self.workdir, 'data')

    @property
    def log_path(self):
        """The server's log file."""
        return os.path.join(self.workdir, 'postgresql.log')

    @property
    def url(self):
        """The SQLAlchemy URL of the Ironic database."""
        return self.database_url(PG_DATABASE)

    def database_url(self, database):
        """Return the SQLAlchemy URL of a database of this server.

        :param database: the database name.
        :returns: the URL.
        """
        return 'postgresql+psycopg2://%s@127.0.0.1:%d/%s' % (
            PG_USER, self.port, database)

    def create_database(self, database):
        """Create another database on the running server.

        :param database: the database name.
        :returns: its SQLAlchemy URL.
        :raises: HarnessError if createdb fails.
        """
        self._run('createdb', '-h', '127.0.0.1', '-p', str(self.port),
                  '-U', PG_USER, database)
        return self.database_url(database)

    def _run(self, program, *args):
        cmd = _as_postgres([os.path.join(self._bin, program)] + list(args))
        result = subprocess.run(cmd, capture_output=True, text=True,
                                timeout=PG_TIMEOUT, stdin=subprocess.DEVNULL,
                                cwd=self.workdir)
        if result.returncode:
            raise harness.HarnessError(
                '%s failed (%d): %s\n%s' % (program, result.returncode,
                                            result.stderr.strip(),
                                            harness.tail(self.log_path)))

    def start(self):
        """Install if needed, initdb, start on a free port, create the DB.

        :raises: HarnessError if a step fails.
        """
        self._bin = postgresql_bin_dir()
        self.workdir = tempfile.mkdtemp(prefix='ironic-amt-pg-')
        if os.geteuid() == 0:
            shutil.chown(self.workdir, PG_USER, PG_USER)
        self._run('initdb', '-D', self.data_dir, '-U', PG_USER,
                  '--auth=trust', '-E', 'UTF8', '--no-sync')
        self.port = harness.free_port()
        self._run('pg_ctl', '-D', self.data_dir, '-l', self.log_path,
                  '-w', '-t', str(PG_TIMEOUT), '-o',
                  '-c listen_addresses=127.0.0.1 -p %d -k %s %s'
                  % (self.port, self.workdir, PG_SERVER_OPTIONS), 'start')
        with open(os.path.join(self.data_dir, 'postmaster.pid')) as f:
            self.pid = int(f.readline())
        self.create_database(PG_DATABASE)

    def stop(self):
        """Stop the server and remove its folder.

        ``pg_ctl stop`` first, then SIGKILL by pid in case it did not stop.
        """
        if self.pid is not None:
            try:
                self._run('pg_ctl', '-D', self.data_dir, '-m', 'fast', '-w',
                          '-t', str(PG_TIMEOUT), 'stop')
            except (harness.HarnessError, subprocess.TimeoutExpired):
                pass
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def _address_free(address):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address, JSON_RPC_PORT))
        except OSError:
            return False
    return True


def loopback_addresses(count):
    """Pick loopback addresses whose JSON-RPC port is free.

    Random 127.x.y.0/24 networks keep parallel clusters apart.

    :param count: how many addresses.
    :returns: a list of addresses, e.g. ['127.91.17.1', '127.91.17.2'].
    :raises: HarnessError if no free block is found.
    """
    for _attempt in range(ADDRESS_TRIES):
        prefix = '127.%d.%d.' % (random.randint(64, 254),
                                 random.randint(1, 254))
        addresses = [prefix + str(i + 1) for i in range(count)]
        if all(_address_free(a) for a in addresses):
            return addresses
    raise harness.HarnessError('no free loopback block for JSON-RPC')


class Process(object):
    """One Ironic service process (ironic-api or ironic-conductor)."""

    def __init__(self, name, program, conf_path, workdir, argv=None,
                 env=None):
        """Prepare (but do not start) the process.

        :param name: a short name, e.g. 'conductor-1'; names the files.
        :param program: the console script, e.g. 'ironic-conductor'.
        :param conf_path: its configuration file.
        :param workdir: the folder for its output file.
        :param argv: the arguments after the program; default
            ``--config-file conf_path``.
        :param env: variables added to the environment of the process.
        """
        self.name = name
        self.program = program
        self.conf_path = conf_path
        self.argv = (list(argv) if argv is not None
                     else ['--config-file', conf_path])
        self.env = dict(os.environ, **(env or {}))
        self.output_path = os.path.join(workdir, '%s.out' % name)
        self.log_path = os.path.join(workdir, '%s.log' % name)
        self.proc = None
        self._output = None

    @property
    def pid(self):
        """The pid of the running process, or None."""
        return self.proc.pid if self.proc is not None else None

    def start(self):
        """Start the process in its own session (process group)."""
        self._output = open(self.output_path, 'ab')
        self.proc = subprocess.Popen(
            [os.path.join(harness.BIN_DIR, self.program)] + self.argv,
            stdin=subprocess.DEVNULL, stdout=self._output,
            stderr=subprocess.STDOUT, cwd=os.path.dirname(self.conf_path),
            env=self.env, start_new_session=True)

    def running(self):
        """Whether the process is started and has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL the process and the workers it forked, by its pid.

        :returns: the time.time() of the kill.
        """
        killed_at = time.time()
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(harness.STOP_TIMEOUT)
        self._close()
        return killed_at

    def stop(self):
        """Stop gracefully (SIGTERM, bounded wait, then SIGKILL)."""
        if self.proc is not None:
            harness.stop_process(self.proc)
        self._close()

    def _close(self):
        self.proc = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def text(self):
        """Return the process's log file and output, concatenated."""
        return harness.read_texts(self.log_path, self.output_path)


class Cluster(harness.Ironic):
    """PostgreSQL, one ironic-api and several ironic-conductor processes.

    The conductors are named by their loopback address, which is also
    their hostname in Ironic (the node ``conductor`` field).
    """

    def __init__(self, conductors=3, **kwargs):
        """Prepare (but do not start) the cluster.

        :param conductors: how many conductor processes.
        :param kwargs: passed to the e2e Ironic (hardware_types,
            amt_options, extra_options, workdir).
        """
        super().__init__(**kwargs)
        self.database = PostgreSQL()
        self.conductor_count = conductors
        self.conductors = {}
        self.api_process = None
        self.processes_started = 0

    def _config(self):
        parser = super()._config()
        parser.set('DEFAULT', 'rpc_transport', 'json-rpc')
        parser.set('DEFAULT', 'host', 'api')
        parser.set('DEFAULT', 'enabled_boot_interfaces', 'pxe')
        parser.set('DEFAULT', 'hash_ring_reset_interval',
                   HASH_RING_RESET_INTERVAL)
        parser.set('database', 'connection', self.database.url)
        for option, value in FAST_CONDUCTOR_OPTIONS.items():
            parser.set('conductor', option, value)
        parser.set('api', 'api_workers', '1')
        if not parser.has_section('json_rpc'):
            parser.add_section('json_rpc')
        parser.set('json_rpc', 'auth_strategy', 'noauth')
        parser.set('json_rpc', 'port', str(JSON_RPC_PORT))
        parser.set('DEFAULT', 'log_file', 'api.log')
        return parser

    def _conductor_config(self, base, host):
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str
        parser.read_dict(base)
        own = os.path.join(self.workdir, host)
        parser.set('DEFAULT', 'host', host)
        parser.set('DEFAULT', 'log_file', '%s.log' % host)
        parser.set('DEFAULT', 'tempdir', os.path.join(own, 'tmp'))
        parser.set('json_rpc', 'host_ip', host)
        parser.set('pxe', 'tftp_root', os.path.join(own, 'tftpboot'))
        parser.set('pxe', 'tftp_master_path',
                   os.path.join(own, 'tftpboot', 'master_images'))
        parser.set('pxe', 'images_path', os.path.join(own, 'images'))
        parser.set('pxe', 'instance_master_path',
                   os.path.join(own, 'master_images'))
        parser.set('deploy', 'http_root', os.path.join(own, 'httpboot'))
        parser.set('oslo_concurrency', 'lock_path',
                   os.path.join(own, 'locks'))
        for sub in ('tmp', 'httpboot', 'locks'):
            os.makedirs(os.path.join(own, sub), exist_ok=True)
        return parser

    def _write(self, parser, path):
        with open(path, 'w') as f:
            parser.write(f)

    def start(self, timeout=harness.START_TIMEOUT):
        """Start PostgreSQL, create the schema, the conductors, the API.

        :param timeout: seconds to wait for the API and for every
            conductor to be registered and alive.
        :raises: HarnessError when a process dies or does not answer.
        """
        started = time.monotonic()
        self.database.start()
        for sub in ('tmp', 'locks'):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)
        os.makedirs(self.http_root, exist_ok=True)
        self._make_images()
        self._files = harness.FileServer(self.http_root)
        self._files.start()
        self.port = harness.free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        base = self._config()
        self._write(base, self.conf_path)
        self._run_dbsync()
        for index, host in enumerate(
                loopback_addresses(self.conductor_count)):
            conf_path = os.path.join(self.workdir, '%s.conf' % host)
            self._write(self._conductor_config(base, host), conf_path)
            self.conductors[host] = Process(host, 'ironic-conductor',
                                            conf_path, self.workdir)
        for process in self.conductors.values():
            self._start_process(process)
        self.api_process = Process('api', 'ironic-api', self.conf_path,
                                   self.workdir)
        self._start_process(self.api_process)
        self._proc = self.api_process.proc
        self._wait_for_api(timeout)
        self.wait_for_conductors(sorted(self.conductors), timeout)
        self.start_seconds = time.monotonic() - started

    def _start_process(self, process):
        process.start()
        self.processes_started += 1

    def alive_conductors(self):
        """Return the hostnames of the conductors the API reports alive.

        :returns: a sorted list of hostnames.
        """
        resp = self.api('GET', '/v1/conductors')
        if not resp.ok:
            raise harness.HarnessError('GET /v1/conductors: %s %s'
                                       % (resp.status_code, resp.text))
        return sorted(c['hostname'] for c in resp.json()['conductors']
                      if c['alive'])

    def wait_for_conductors(self, hosts, timeout=CONDUCTOR_TIMEOUT):
        """Wait until exactly these conductors are alive.

        :param hosts: the expected hostnames.
        :param timeout: seconds to wait at most.
        :returns: seconds waited.
        :raises: HarnessError on timeout or when a conductor process that
            should be alive has exited.
        """
        started = time.monotonic()
        last = {}

        def all_alive():
            for host in hosts:
                process = self.conductors[host]
                if not process.running():
                    raise harness.HarnessError(
                        'conductor %s is not running:\n%s'
                        % (host, harness.tail(process.output_path)))
            last['alive'] = self.alive_conductors()
            return last['alive'] == sorted(hosts)

        try:
            waiting.wait_until(all_alive, timeout, harness.POLL_INTERVAL,
                               'conductors %s' % sorted(hosts))
        except waiting.WaitTimeout:
            raise harness.HarnessError(
                'alive conductors %s, expected %s after %.0f s'
                % (last.get('alive'), sorted(hosts), timeout))
        return time.monotonic() - started

    def owners(self, names):
        """Return the conductor the API maps each node to.

        :param names: node names.
        :returns: {node name: conductor hostname}.
        """
        # ?fields=conductor is refused (500) by Ironic 39: the field is
        # computed from the hash ring, not a column; the detail has it.
        resp = self.api('GET', '/v1/nodes/detail')
        if not resp.ok:
            raise harness.HarnessError('GET /v1/nodes/detail: %s %s'
                                       % (resp.status_code, resp.text))
        owners = {n['name']: n['conductor'] for n in resp.json()['nodes']}
        return {name: owners[name] for name in names}

    def kill_conductor(self, host):
        """SIGKILL a conductor (master and worker) by its pid.

        :param host: the conductor hostname.
        :returns: the time.time() of the kill.
        """
        return self.conductors[host].kill()

    def stop_conductor(self, host):
        """Stop a conductor gracefully (SIGTERM).

        :param host: the conductor hostname.
        """
        self.conductors[host].stop()

    def start_conductor(self, host):
        """Start a stopped or killed conductor again.

        :param host: the conductor hostname.
        """
        self._start_process(self.conductors[host])

    def stop(self, remove=True):
        """Stop every process by pid, then PostgreSQL; remove the folders.

        :param remove: remove the scratch directory if the cluster made it.
        """
        try:
            for process in self.conductors.values():
                process.stop()
            if self.api_process is not None:
                self.api_process.stop()
                self._proc = None
            super().stop(remove=remove)
        finally:
            self.database.stop()

    def logs(self):
        """Return every process's log and output, concatenated.

        :returns: the text.
        """
        processes = list(self.conductors.values())
        if self.api_process is not None:
            processes.append(self.api_process)
        return '\n'.join(p.text() for p in processes)


class MultiStack(harness.Stack):
    """An AMT simulator in front of a :class:`Cluster`."""

    def __init__(self, devices, conductors=3, **cluster_kwargs):
        """Prepare the simulator and the cluster.

        :param devices: a list of simulator DeviceSpec.
        :param conductors: how many conductor processes.
        :param cluster_kwargs: passed to :class:`Cluster`.
        """
        super().__init__(devices, ironic=Cluster(conductors=conductors,
                                                 **cluster_kwargs))
