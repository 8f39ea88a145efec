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

"""Launch a real all-in-one Ironic service on loopback for e2e runs.

Used by the end-to-end tests and by ``tools/demo.py``:

* :class:`Ironic` writes ironic.conf, creates the sqlite schema, starts the
  ``ironic`` command (API + conductor), runs the ``baremetal`` CLI and polls
  the REST API. Everything lives in one scratch directory (config,
  database, PXE/HTTP trees, images, Ironic's log and output); only
  127.0.0.1 is used.
* :class:`Stack` adds the AMT simulator and enrolls pxe_amt nodes.

:mod:`ironic_amt.testing.request_log` reads what was armed before each boot.
"""

import configparser
import functools
import hashlib
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import requests

from ironic_amt import simulator
from ironic_amt.simulator.transport import tls
from ironic_amt.testing import debian
from ironic_amt.testing import nodes
from ironic_amt.testing import waiting

API_VERSION = 'latest'
BIN_DIR = os.path.dirname(os.path.abspath(sys.executable))
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
CLI_TIMEOUT = 60.0
POLL_INTERVAL = 0.1
DBSYNC_TIMEOUT = 60.0
TAIL_LINES = 40

# Provision states where a wait for another state can stop at once.
FAILED_PROVISION_STATES = frozenset(['deploy failed', 'error',
                                     'clean failed', 'inspect failed'])

# The [amt] options of a fast test run: small waits, short timeouts.
FAST_AMT_OPTIONS = {
    'max_retry': '2',
    'action_wait': '0.2',
    'connect_timeout': '2',
    'read_timeout': '5',
    'https_boot_status_interval': '1',
}
# Seconds a power action waits for its state ([conductor]
# power_state_change_timeout): short, so a failing test fails fast.
POWER_STATE_CHANGE_TIMEOUT = '10'

# oslo.service's line when a forked worker exits; the traceback explaining
# why is only on the output, not in the log.
WORKER_DIED_RE = re.compile(rb'Child \d+ exited with status [1-9]')

# Listening ports of the services: below the ephemeral port range.
FREE_PORT_RANGE = (20000, 32767)
FREE_PORT_TRIES = 200

IMAGE_SIZES = {'vmlinuz': 4096, 'initrd.img': 8192, 'disk.img': 65536,
               'esp.img': 4096}


def ensure_iso_tools():
    """Make sure Ironic can build ISO images (mkisofs), installing it.

    :raises: HarnessError when mkisofs is missing and cannot be installed.
    """
    debian.ensure_installed('genisoimage', '/usr/bin/mkisofs')


def read_texts(*paths):
    """Return the text of the files that exist, concatenated.

    :param paths: file paths; missing ones are skipped.
    :returns: a str.
    """
    texts = []
    for path in paths:
        try:
            with open(path, errors='replace') as f:
                texts.append(f.read())
        except OSError:
            pass
    return '\n'.join(texts)


class HarnessError(Exception):
    """A process of the harness failed or did not answer in time."""


def free_port(exclude=()):
    """Return a TCP port of 127.0.0.1 that is free right now.

    The port is drawn at random below Linux's ephemeral range
    (``ip_local_port_range``, 32768-60999 by default), where the kernel
    does not pick the source ports of outgoing connections: a port chosen
    seconds before a service binds it (services whose URLs are in each
    other's configuration) is not taken meanwhile by one of the many
    connections to the database or the broker.

    :param exclude: ports not to return (picked, not yet bound).
    :returns: the port number.
    :raises: HarnessError if no port of the range could be bound.
    """
    for _attempt in range(FREE_PORT_TRIES):
        port = random.randint(*FREE_PORT_RANGE)
        if port in exclude:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(('127.0.0.1', port))
            except OSError:
                continue
            return port
    raise HarnessError('no free port in %d-%d after %d tries'
                       % (FREE_PORT_RANGE + (FREE_PORT_TRIES,)))


def run_cli(program, args, env, parse=True, check=True,
            timeout=CLI_TIMEOUT):
    """Run an OpenStack CLI of the venv (``baremetal``, ``openstack``).

    :param program: the console script.
    :param args: its arguments.
    :param env: its environment (credentials or endpoint).
    :param parse: append ``-f json`` and return the parsed output.
    :param check: raise when the command exits non-zero.
    :param timeout: seconds before the command is killed.
    :returns: the parsed JSON (parse=True, empty output gives None),
        else a CompletedProcess with text stdout/stderr.
    :raises: HarnessError on a non-zero exit (check=True) or timeout.
    """
    cmd = [os.path.join(BIN_DIR, program)] + list(args)
    if parse:
        cmd += ['-f', 'json']
    try:
        result = subprocess.run(cmd, env=env, text=True,
                                capture_output=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise HarnessError('%s %s timed out after %.0f s'
                           % (program, ' '.join(args), timeout))
    if check and result.returncode:
        raise HarnessError('%s %s failed (%d): %s'
                           % (program, ' '.join(args), result.returncode,
                              result.stderr.strip()[-3000:]))
    if not parse:
        return result
    return json.loads(result.stdout) if result.stdout.strip() else None


def tail(path, lines=TAIL_LINES):
    """Return the last lines of a text file.

    :param path: the file to read; a missing file gives an empty string.
    :param lines: how many lines to keep.
    :returns: the lines, joined by newlines.
    """
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def stop_process(proc, timeout=STOP_TIMEOUT):
    """Stop a child process by pid: SIGTERM, bounded wait, then SIGKILL.

    The child is the leader of its own session, so its process group
    (which carries its pid) holds the workers it forked; they get the
    same signals.

    :param proc: a ``subprocess.Popen`` started with start_new_session.
    :param timeout: seconds to wait after SIGTERM.
    """
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


def _signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class ServerThread(object):
    """A socketserver served by a daemon thread, with a bounded stop."""

    def __init__(self, server, name):
        """Prepare the thread.

        :param server: a bound socketserver.BaseServer.
        :param name: the thread name.
        """
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={'poll_interval': 0.2},
                                        name=name, daemon=True)

    def start(self):
        """Start serving in a background thread."""
        self._thread.start()

    def stop(self):
        """Stop serving and join the thread (bounded)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class FileServer(ServerThread):
    """A stdlib HTTP(S) server thread serving one directory on 127.0.0.1."""

    def __init__(self, directory, tls_paths=None):
        """Bind the server.

        :param directory: the directory to serve.
        :param tls_paths: serve HTTPS with this certificate: a dict with
            ``cert`` and ``key`` paths (simulator.tls.create_certificates).
        """
        handler = functools.partial(_QuietHandler, directory=directory)
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        server.daemon_threads = True
        scheme = 'http'
        if tls_paths:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_paths['cert'], tls_paths['key'])
            server.socket = context.wrap_socket(server.socket,
                                                server_side=True)
            scheme = 'https'
        self.url = '%s://127.0.0.1:%d' % (scheme, server.server_address[1])
        super().__init__(server, 'e2e-file-server')


class Ironic(object):
    """An all-in-one ``ironic`` process (API + conductor) on loopback."""

    def __init__(self, hardware_types=('pxe_amt',), amt_options=None,
                 extra_options=None, workdir=None, novnc_web=None,
                 boot_interfaces=('pxe', 'ipxe')):
        """Prepare (but do not start) the service.

        :param hardware_types: the enabled hardware types.
        :param boot_interfaces: the enabled boot interfaces. Without pxe
            and ipxe, Ironic gets no PXE configuration at all; with
            amt-https, [deploy]http_url is an HTTPS server with its own CA
            (``image_ca_path``) and Ironic can build ISOs.
        :param amt_options: the [amt] options; FAST_AMT_OPTIONS if None.
        :param extra_options: {section: {option: value}} merged last into
            ironic.conf.
        :param workdir: the scratch directory; a new temporary one (removed
            by stop()) if None.
        :param novnc_web: noVNC's files: runs the noVNC proxy inside the
            ``ironic`` process (``[vnc]enabled``) on a free loopback port.
            A separate ironic-novncproxy could not reach the conductor
            under ``rpc_transport = none``.
        """
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix='ironic-amt-e2e-')
        self.hardware_types = list(hardware_types)
        self.amt_options = dict(FAST_AMT_OPTIONS if amt_options is None
                                else amt_options)
        self.extra_options = extra_options or {}
        self.novnc_web = novnc_web
        self.vnc_port = None
        self.conf_path = os.path.join(self.workdir, 'ironic.conf')
        self.output_path = os.path.join(self.workdir, 'ironic.out')
        self.log_path = os.path.join(self.workdir, 'ironic.log')
        self.image_dir = os.path.join(self.workdir, 'img')
        self.http_root = os.path.join(self.workdir, 'httpboot')
        self.boot_interfaces = list(boot_interfaces)
        self.https_images = 'amt-https' in self.boot_interfaces
        self.image_tls_dir = os.path.join(self.workdir, 'image-tls')
        self.image_ca_path = None
        self.port = None
        self.url = None
        self.images = {}
        self.start_seconds = None
        self._proc = None
        self._output = None
        self._files = None
        self.session = requests.Session()
        self.session.headers['X-OpenStack-Ironic-API-Version'] = API_VERSION

    def _config(self):
        work = self.workdir
        sections = {
            'DEFAULT': {
                'auth_strategy': 'noauth',
                'rpc_transport': 'none',
                'host': 'e2e-conductor',
                'debug': 'true',
                'log_dir': work,
                'enabled_hardware_types': ','.join(self.hardware_types),
                'enabled_boot_interfaces': ','.join(self.boot_interfaces),
                'enabled_deploy_interfaces': 'ramdisk,direct',
                'enabled_vendor_interfaces': 'no-vendor',
                'enabled_network_interfaces': 'noop',
                'tempdir': os.path.join(work, 'tmp'),
            },
            'api': {'host_ip': '127.0.0.1', 'port': str(self.port)},
            'database': {
                'connection': 'sqlite:///%s' % os.path.join(work,
                                                            'ironic.db')},
            'dhcp': {'dhcp_provider': 'none'},
            'conductor': {'automated_clean': 'false',
                          'file_url_allowed_paths': self.image_dir,
                          'power_state_change_timeout':
                              POWER_STATE_CHANGE_TIMEOUT},
            'deploy': {'http_root': self.http_root,
                       'http_url': self._files.url},
            'service_catalog': {'endpoint_override': self.url},
            'agent': {'require_tls': 'false'},
            'oslo_concurrency': {'lock_path': os.path.join(work, 'locks')},
            'amt': self.amt_options,
        }
        if self.novnc_web:
            # vnc_lite.html connects by itself (vnc_auto.html is vnc.html,
            # which waits for a click, in Debian's novnc).
            sections['vnc'] = {
                'enabled': 'true', 'host_ip': '127.0.0.1',
                'port': str(self.vnc_port), 'novnc_web': self.novnc_web,
                'public_url': 'http://127.0.0.1:%d/vnc_lite.html'
                              % self.vnc_port}
        if set(self.boot_interfaces) & {'pxe', 'ipxe'}:
            sections['pxe'] = {
                'tftp_root': os.path.join(work, 'tftpboot'),
                'tftp_master_path': os.path.join(work, 'tftpboot',
                                                 'master_images'),
                'images_path': os.path.join(work, 'images'),
                'instance_master_path': os.path.join(work, 'master_images'),
            }
        if self.https_images:
            # Ironic builds UEFI ISOs with mkisofs around an EFI system
            # partition image; the simulated firmware only reads the GRUB
            # menu, so a placeholder partition image will do.
            sections['DEFAULT']['esp_image'] = self.images['esp.img']['path']
            # The conductor checks the images it caches under http_root
            # through http_url, so it trusts the image server's CA too.
            sections['DEFAULT']['webserver_verify_ca'] = self.image_ca_path
        for section, options in self.extra_options.items():
            sections.setdefault(section, {}).update(options)
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str
        parser.read_dict(sections)
        return parser

    def _make_images(self):
        os.makedirs(self.image_dir, exist_ok=True)
        for name, size in IMAGE_SIZES.items():
            path = os.path.join(self.image_dir, name)
            data = os.urandom(size)
            with open(path, 'wb') as f:
                f.write(data)
            self.images[name] = {'path': path, 'url': 'file://' + path,
                                 'sha256': hashlib.sha256(data).hexdigest()}

    def start(self, timeout=START_TIMEOUT):
        """Write the config, create the schema, start and wait for the API.

        :param timeout: seconds to wait for ``GET /`` to answer.
        :raises: HarnessError with the tail of Ironic's output when the
            process dies or does not answer in time.
        """
        for sub in ('tmp', 'locks'):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)
        os.makedirs(self.http_root, exist_ok=True)
        self._make_images()
        tls_paths = None
        if self.https_images:
            ensure_iso_tools()
            os.makedirs(self.image_tls_dir, exist_ok=True)
            tls_paths = tls.create_certificates(self.image_tls_dir,
                                                ['127.0.0.1'])
            self.image_ca_path = tls_paths['ca_cert']
        self._files = FileServer(self.http_root, tls_paths)
        self._files.start()
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        if self.novnc_web:
            self.vnc_port = free_port()
        with open(self.conf_path, 'w') as f:
            self._config().write(f)
        started = time.monotonic()
        self._run_dbsync()
        self._output = open(self.output_path, 'ab')
        self._spawn(timeout)
        self.start_seconds = time.monotonic() - started

    def _command(self):
        """The command line that runs Ironic on conf_path."""
        return [os.path.join(BIN_DIR, 'ironic'), '--config-file',
                self.conf_path]

    def _spawn(self, timeout):
        self._proc = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL, stdout=self._output,
            stderr=subprocess.STDOUT, cwd=self.workdir,
            start_new_session=True)
        self._wait_for_api(timeout)

    @property
    def pid(self):
        """The pid of the running ``ironic`` process, or None."""
        return self._proc.pid if self._proc is not None else None

    def restart(self, timeout=START_TIMEOUT):
        """Stop the ironic process by pid and start it again.

        Same config, port, database and log file; no schema creation.

        :param timeout: seconds to wait for the API.
        :returns: the pid of the new process.
        :raises: HarnessError as :meth:`start` does.
        """
        stop_process(self._proc)
        self._spawn(timeout)
        return self._proc.pid

    def _run_dbsync(self):
        with open(self.output_path, 'ab') as out:
            rc = subprocess.call(
                [os.path.join(BIN_DIR, 'ironic-dbsync'), '--config-file',
                 self.conf_path, 'create_schema'],
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, timeout=DBSYNC_TIMEOUT)
        if rc:
            raise HarnessError('ironic-dbsync failed (%d):\n%s'
                               % (rc, tail(self.output_path)))

    def _worker_died(self, offset):
        """Look for a dead worker in the log; return (died, new offset)."""
        try:
            with open(self.log_path, 'rb') as f:
                f.seek(offset)
                text = f.read()
        except OSError:
            return False, offset
        # Only complete lines count; a partial one is read again next time.
        complete = text[:text.rfind(b'\n') + 1]
        return (WORKER_DIED_RE.search(complete) is not None,
                offset + len(complete))

    def _wait_for_api(self, timeout):
        log = {'offset': 0}

        def answered():
            if self._proc.poll() is not None:
                raise HarnessError(
                    'ironic exited with %s before its API answered:\n%s'
                    % (self._proc.returncode, tail(self.output_path)))
            died, log['offset'] = self._worker_died(log['offset'])
            if died:
                raise HarnessError(
                    'an ironic worker died before the API answered (a '
                    'driver that fails to load crash-loops the service):'
                    '\n%s' % tail(self.output_path))
            try:
                return self.session.get(self.url + '/', timeout=2).ok
            except requests.RequestException:
                return False

        try:
            waiting.wait_until(answered, timeout, interval=0.2,
                               what='the ironic API')
        except waiting.WaitTimeout:
            raise HarnessError(
                'ironic API did not answer within %.0f s:\n%s'
                % (timeout, tail(self.output_path)))

    def stop(self, remove=True):
        """Stop Ironic and the file server; remove the scratch directory.

        :param remove: remove the scratch directory if the harness made it.
        """
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        if self._output is not None:
            self._output.close()
            self._output = None
        if self._files is not None:
            self._files.stop()
            self._files = None
        self.session.close()
        if remove and self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self):
        """Return Ironic's log file and captured output, concatenated.

        :returns: the text of both files.
        """
        return read_texts(self.log_path, self.output_path)

    def cli_env(self):
        """Return the environment for the ``baremetal`` CLI.

        :returns: a copy of os.environ without OS_* variables, plus
            OS_ENDPOINT and OS_AUTH_TYPE=none.
        """
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_ENDPOINT=self.url, OS_AUTH_TYPE='none')
        return env

    def cli(self, *args, parse=True, check=True, timeout=CLI_TIMEOUT):
        """Run the real ``baremetal`` CLI against this Ironic.

        :param args: the CLI arguments, e.g. ('node', 'show', 'n1').
        :param parse, check, timeout: as for :func:`run_cli`.
        :returns: what :func:`run_cli` returns.
        :raises: HarnessError, as :func:`run_cli`.
        """
        return run_cli('baremetal', args, self.cli_env(), parse=parse,
                       check=check, timeout=timeout)

    def api(self, method, path, **kwargs):
        """Call the REST API.

        :param method: the HTTP method.
        :param path: the path below the API root, e.g. '/v1/nodes'.
        :param kwargs: passed to requests.
        :returns: the requests Response.
        """
        kwargs.setdefault('timeout', 10)
        return self.session.request(method, self.url + path, **kwargs)

    def node(self, ident):
        """Return a node as the REST API shows it.

        :param ident: node name or UUID.
        :returns: the node dict.
        :raises: HarnessError if the API does not return it.
        """
        resp = self.api('GET', '/v1/nodes/%s' % ident)
        if not resp.ok:
            raise HarnessError('GET node %s: %s %s'
                               % (ident, resp.status_code, resp.text))
        return resp.json()

    def wait_for_node(self, ident, timeout=60.0, **expected):
        """Poll the REST API until node fields have the expected values.

        :param ident: node name or UUID.
        :param timeout: seconds to wait at most.
        :param expected: field=value pairs, e.g. provision_state='active'
            or power_state='power off'.
        :returns: the node dict once every field matches.
        :raises: HarnessError on timeout, or at once when the node reaches
            a failed provision state that was not expected.
        """
        last = {}

        def matched():
            node = last['node'] = self.node(ident)
            if all(node.get(k) == v for k, v in expected.items()):
                return node
            state = node.get('provision_state')
            if (state in FAILED_PROVISION_STATES
                    and expected.get('provision_state') != state):
                raise HarnessError('node %s went to %r: %s'
                                   % (ident, state, node.get('last_error')))
            return None

        try:
            return waiting.wait_until(matched, timeout, POLL_INTERVAL,
                                      'node %s: %r' % (ident, expected))
        except waiting.WaitTimeout:
            node = last['node']
            state = node.get('provision_state')
            raise HarnessError(
                'node %s: %r not reached in %.0f s; provision %r, power '
                '%r, target %r, last_error %r'
                % (ident, expected, timeout, state, node.get('power_state'),
                   node.get('target_provision_state'),
                   node.get('last_error')))


def mac_for(index):
    """Return a locally administered MAC address for a node's port.

    :param index: the node number, 0-255.
    :returns: a MAC like '52:54:00:a3:00:07'.
    """
    return '52:54:00:a3:00:%02x' % index


class Stack(object):
    """An AMT simulator and an Ironic service, started and stopped together.

    ``stop()`` is safe to call after a failed ``start()``.
    """

    def __init__(self, devices, ironic=None, **ironic_kwargs):
        """Prepare the simulator and Ironic.

        :param devices: a list of simulator DeviceSpec.
        :param ironic: an Ironic launcher with ``start``/``stop`` to use
            (e.g. a multi-process cluster); by default a new
            :class:`Ironic` built with ``ironic_kwargs``.
        :param ironic_kwargs: passed to :class:`Ironic`.
        """
        self.sim = simulator.Simulator(devices=devices)
        self.ironic = (ironic if ironic is not None
                       else Ironic(**ironic_kwargs))
        self._sim_started = False

    def start(self):
        """Start the simulator, then Ironic."""
        self.sim.start()
        self._sim_started = True
        self.ironic.start()

    def stop(self, remove=True):
        """Stop Ironic, then the simulator.

        :param remove: remove Ironic's scratch directory.
        """
        try:
            self.ironic.stop(remove=remove)
        finally:
            if self._sim_started:
                self._sim_started = False
                self.sim.stop()

    def driver_info(self, device, protocol='http', **extra):
        """Return the ``--driver-info`` CLI arguments for a device.

        :param device: a simulator Device.
        :param protocol: 'http' or 'https' (https verifies the simulator's
            CA).
        :param extra: more driver_info keys, e.g. amt_password='wrong'.
        :returns: a list of CLI arguments.
        """
        return nodes.cli_arguments(nodes.driver_info(
            device, protocol, ca_path=self.sim.ca_cert_path, **extra))

    def create_node(self, name, device, index=0, protocol='http',
                    deploy_interface='ramdisk', boot_interface='pxe',
                    **extra):
        """Create a pxe_amt node and its port with the ``baremetal`` CLI.

        :param name: the node name.
        :param device: the simulator Device behind it.
        :param index: the node number, gives the port's MAC address.
        :param protocol: 'http' or 'https'.
        :param deploy_interface: 'ramdisk' or 'direct'.
        :param boot_interface: 'pxe', 'ipxe' or 'amt-https'.
        :param extra: more driver_info keys.
        :returns: the node as the CLI printed it.
        """
        node = self.ironic.cli(
            'node', 'create', '--driver', 'pxe_amt', '--name', name,
            '--boot-interface', boot_interface, '--deploy-interface',
            deploy_interface, *self.driver_info(device, protocol, **extra))
        self.ironic.cli('port', 'create', '--node', node['uuid'],
                        mac_for(index))
        return node

    def make_available(self, name, timeout=30.0):
        """Move a node from enroll to available (manage, then provide).

        :param name: the node name.
        :param timeout: seconds to wait for each state.
        :returns: the node dict once available.
        """
        self.ironic.cli('node', 'manage', name, parse=False)
        self.ironic.wait_for_node(name, timeout, provision_state='manageable')
        self.ironic.cli('node', 'provide', name, parse=False)
        return self.ironic.wait_for_node(name, timeout,
                                         provision_state='available')

    def set_ramdisk_image(self, name):
        """Point a node's instance_info at the kernel and ramdisk images.

        :param name: the node name.
        """
        images = self.ironic.images
        self.ironic.cli(
            'node', 'set', name,
            '--instance-info', 'kernel=%s' % images['vmlinuz']['url'],
            '--instance-info', 'ramdisk=%s' % images['initrd.img']['url'],
            parse=False)

    def set_disk_image(self, name):
        """Point a node's instance_info at the whole-disk image.

        image_type is set because of Ironic 39's file:// image_source bug.

        :param name: the node name.
        """
        image = self.ironic.images['disk.img']
        self.ironic.cli(
            'node', 'set', name,
            '--instance-info', 'image_source=%s' % image['url'],
            '--instance-info', 'image_checksum=%s' % image['sha256'],
            '--instance-info', 'image_type=whole-disk', parse=False)
