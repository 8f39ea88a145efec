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

"""Serial-over-LAN: the simulator's redirection port, the client, the CLI.

The raw-byte tests speak the protocol from the notes without the
client, to pin what the simulator accepts and refuses.
"""

import hashlib
import os
import pty
import socket
import struct
import subprocess
import sys
import termios
import time

import fixtures
import testtools

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.testing import sol as sol_testing
from ironic_amt.testing import waiting
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import power_service
from ironic_amt.wsman import redirection
from ironic_amt.wsman import redirection_service

PASSWORD = 'Sol-Passw0rd!'
WAIT = 10
PXE = 'Intel(r) AMT: Force PXE Boot'


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def lp(text):
    return bytes([len(text)]) + text.encode()


class RawClient(object):
    """Just enough of the protocol, byte by byte, to probe the server."""

    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port), WAIT)
        self.sock.settimeout(WAIT)

    def close(self):
        self.sock.close()

    def recv_exact(self, count):
        data = b''
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise EOFError('closed after %r' % data)
            data += chunk
        return data

    def auth(self, auth_type, data):
        self.sock.sendall(bytes([0x13, 0, 0, 0, auth_type])
                          + struct.pack('<I', len(data)) + data)
        head = self.recv_exact(9)
        return head, self.recv_exact(struct.unpack_from('<I', head, 5)[0])

    def start(self):
        self.sock.sendall(b'\x10\x00\x00\x00SOL ')
        return self.recv_exact(13)

    def challenge(self, uri='/RedirectionService'):
        head, data = self.auth(4, lp('admin') + b'\0\0' + lp(uri)
                               + b'\0\0\0\0')
        self.assertion = head
        realm = data[1:1 + data[0]].decode()
        data = data[1 + data[0]:]
        nonce = data[1:1 + data[0]].decode()
        return realm, nonce

    def respond(self, realm, nonce, uri, hashed_uri, qop_hashed):
        cnonce, nc = 'c0ffee' * 4, '00000002'
        ha1 = md5('admin:%s:%s' % (realm, PASSWORD))
        response = md5(':'.join([ha1, nonce, nc, cnonce, qop_hashed,
                                 md5('POST:' + hashed_uri)]))
        head, _data = self.auth(4, b''.join(lp(f) for f in [
            'admin', realm, nonce, uri, cnonce, nc, response, 'auth']))
        return head


class SOLTestCase(testtools.TestCase):

    # As after provisioning: SOL, IDE-R and the listener off.
    features = None

    def setUp(self):
        super().setUp()
        self.sim = Simulator([DeviceSpec(
            name='sol-1', password=PASSWORD, profile='12', power_delay=0.05,
            features=self.features)])
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.dev = self.sim.device('sol-1')
        self.client = wsman.Client('127.0.0.1', 'admin', PASSWORD,
                                   protocol='https', port=self.dev.https_port,
                                   verify=self.sim.ca_cert_path, attempts=1)
        self.addCleanup(self.client.close)

    def session(self, protocol='https', password=PASSWORD, **kwargs):
        port = (self.dev.redirection_tls_port if protocol == 'https'
                else self.dev.redirection_port)
        kwargs.setdefault('verify', self.sim.ca_cert_path)
        session = redirection.SOLSession('127.0.0.1', 'admin', password,
                                         protocol=protocol, port=port,
                                         read_timeout=WAIT, **kwargs)
        self.addCleanup(session.close)
        return session

    def disable_in_mebx(self):
        # MEBx's SOL/Storage Redirection switch, set at the machine.
        with self.dev.lock:
            self.dev.features.settings['redirection_mebx'] = False

    def raw(self):
        client = RawClient(self.dev.redirection_port)
        self.addCleanup(client.close)
        return client

    def events(self):
        return [e for e in self.dev.request_log
                if e['event'].startswith(('redirection', 'sol', 'kvm'))]


class EnablingTestCase(SOLTestCase):

    def test_disabled_after_provisioning_then_enabled(self):
        status = redirection_service.read_status(self.client)
        self.assertEqual((32768, False), status)
        # The listener is off: the port closes the connection at once.
        self.assertRaises(exceptions.RedirectionConnectionError,
                          self.session('http').open)
        self.assertEqual(['sol', 'listener'],
                         redirection_service.enable_sol(self.client))
        self.assertEqual([], redirection_service.enable_sol(self.client))
        session = self.session()
        session.open()
        session.start()
        self.assertEqual('12.0', session.firmware_version)

    def test_listener_without_sol_refuses_the_sol_start(self):
        # IDE-R only (32769): the port listens, SOL is refused.
        self.assertEqual(0, self.dev.features.set_redirection(32769))
        with self.dev.lock:
            self.dev.features.listener = True
        session = self.session()
        session.open()
        error = self.assertRaises(exceptions.RedirectionRefused,
                                  session.start)
        self.assertEqual(3, error.status)

    def test_disabled_in_mebx(self):
        self.disable_in_mebx()
        error = self.assertRaises(exceptions.RedirectionNotEnabled,
                                  redirection_service.enable_sol,
                                  self.client)
        self.assertIn('disabled in MEBx', str(error))

    def test_consent_pending(self):
        with self.dev.lock:
            self.dev.consent.required = 4294967295
        self.dev.inject('access_denied', count=1)
        error = self.assertRaises(exceptions.RedirectionNotEnabled,
                                  redirection_service.enable_sol,
                                  self.client)
        self.assertIn('user consent is required', str(error))
        self.assertIn('OptInState 0', str(error))


class WireTestCase(SOLTestCase):
    """What the redirection port accepts and refuses, in raw bytes."""

    features = {'sol': True, 'listener': True}

    def test_start_reply_bytes(self):
        # AMT 12.0 capture (MC#24): 11 00 00 00 01 00 0c 00 57 01 00 00 00
        self.assertEqual(bytes.fromhex('11000000 0100 0c00 57010000 00'),
                         self.raw().start())

    def test_only_digest_is_offered_and_plain_is_refused(self):
        raw = self.raw()
        raw.start()
        head, data = raw.auth(0, b'')
        self.assertEqual((0x14, 0, b'\x04'), (head[0], head[1], data))
        head, _data = raw.auth(1, lp('admin') + lp(PASSWORD))
        self.assertEqual(2, head[1])

    def check_digest(self, uri, hashed_uri, qop_hashed):
        raw = self.raw()
        raw.start()
        realm, nonce = raw.challenge(uri)
        self.assertEqual((0x14, 1, 4), (raw.assertion[0], raw.assertion[1],
                                        raw.assertion[4]))
        self.assertEqual(self.dev.realm, realm)
        return raw.respond(realm, nonce, uri, hashed_uri, qop_hashed)

    def test_rfc2617_digest_accepted(self):
        head = self.check_digest('/RedirectionService',
                                 '/RedirectionService', 'auth')
        self.assertEqual(bytes([0x14, 0, 0, 0, 4, 0, 0, 0, 0]), head)

    def test_ui_toolkit_uncorrected_digest_refused(self):
        # Empty URI and 'auth ' with a stray space in the hash, as
        # @device-management-toolkit/ui-toolkit 3.3.12 sends (notes §1.3).
        head = self.check_digest('', '', 'auth ')
        self.assertEqual(bytes([0x14, 1, 0, 0, 4, 0, 0, 0, 0]), head)
        self.assertIn("URI '' is not /RedirectionService",
                      self.events()[-1]['reason'])

    def test_each_correction_alone_is_refused(self):
        for uri, hashed, qop in [('/RedirectionService',
                                  '/RedirectionService', 'auth '),
                                 ('', '', 'auth')]:
            head = self.check_digest(uri, hashed, qop)
            self.assertEqual(1, head[1], (uri, qop))

    def test_messages_before_authentication_close(self):
        raw = self.raw()
        raw.start()
        raw.sock.sendall(bytes([0x20]) + bytes(23))
        self.assertRaises(EOFError, raw.recv_exact, 1)

    def test_three_failures_close(self):
        raw = self.raw()
        raw.start()
        for _attempt in range(3):
            realm, nonce = raw.challenge()
            raw.respond(realm, nonce, '/RedirectionService',
                        '/RedirectionService', 'wrong')
        self.assertRaises(EOFError, raw.recv_exact, 1)


class SessionTestCase(SOLTestCase):

    features = {'sol': True, 'listener': True}

    def test_boot_banner_source_echo_and_power_rules(self):
        session = self.session()
        session.open()
        session.start()
        console = sol_testing.StreamReader(session.read)
        # Arm PXE, power on: the host prints the source it booted.
        self.client.invoke(
            'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
            'CIM_BootConfigSetting', 'ChangeBootOrder',
            [('Source', wsman.EndpointReference(
                'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
                'CIM_BootSourceSetting', {'InstanceID': PXE}))],
            selectors={'InstanceID': 'Intel(r) AMT: Boot Configuration 0'})
        self.client.invoke(
            'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
            'CIM_BootService', 'SetBootConfigRole',
            [('BootConfigSetting', wsman.EndpointReference(
                'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
                'CIM_BootConfigSetting',
                {'InstanceID': 'Intel(r) AMT: Boot Configuration 0'})),
             ('Role', 1)],
            selectors={'Name': 'Intel(r) AMT Boot Service'})
        power_service.request_state(self.client, power_service.ON)
        banner = console.wait_for('sol-1 login: ')
        self.assertIn(b'Boot source: pxe [PXE (network)] (one-time '
                      b'override from Intel AMT)', banner)
        self.assertTrue(session.host_power_on)
        session.write(b'root')
        self.assertEqual(b'root', console.wait_for('root'))
        # While the session is open, AMT refuses power off.
        error = self.assertRaises(exceptions.WSManReturnValueError,
                                  power_service.request_state,
                                  self.client, power_service.OFF_SOFT)
        self.assertEqual(2, error.code)
        # One SOL session at a time.
        other = self.session('http')
        other.open()
        busy = self.assertRaises(exceptions.RedirectionRefused, other.start)
        self.assertTrue(busy.transient)
        session.close()
        power_service.request_state(self.client, power_service.OFF_SOFT)
        waiting.wait_until(lambda: self.dev.power_state == 8, WAIT, 0.05,
                           'power off')
        other.start()

    def test_kvm_session_reaches_the_rfb_server(self):
        # A KVMR session is authenticated here, then served as RFB, and
        # it blocks power off like SOL does.
        self.dev.kvm.request_state_change(2)
        session = redirection.Session(
            '127.0.0.1', 'admin', PASSWORD, protocol='https',
            port=self.dev.redirection_tls_port,
            verify=self.sim.ca_cert_path, session_type=redirection.KVM,
            read_timeout=WAIT)
        self.addCleanup(session.close)
        session.open()
        session.send(bytes([0x40]) + bytes(7))
        deadline = time.monotonic() + WAIT
        self.assertEqual(bytes([0x41]) + bytes(7),
                         session.read_exact(8, deadline))
        self.assertEqual(b'RFB 003.008\n', session.read_exact(12, deadline))
        self.dev.set_power_state(2)
        error = self.assertRaises(exceptions.WSManReturnValueError,
                                  power_service.request_state,
                                  self.client, power_service.OFF_SOFT)
        self.assertEqual(2, error.code)
        session.close()
        waiting.wait_until(
            lambda: self.events()[-1]['event'] == 'kvm_end', WAIT, 0.05,
            'KVM session end')
        self.assertFalse(self.dev.kvm.session_open)

    def test_wrong_password(self):
        error = self.assertRaises(exceptions.RedirectionAuthError,
                                  self.session(password='nope').open)
        self.assertNotIn(PASSWORD, str(error))

    def test_tls_verification(self):
        session = self.session(verify=True)
        self.assertRaises(exceptions.RedirectionTLSError, session.open)
        self.session(verify=False).open()


class CommandTestCase(SOLTestCase):
    """``ironic-amt-sol`` in a pty, as socat runs it."""

    def run_tool(self, *extra, env=None):
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        command = [os.path.join(os.path.dirname(sys.executable),
                                'ironic-amt-sol'),
                   '--address', '127.0.0.1', '--protocol', 'https',
                   '--wsman-port', str(self.dev.https_port),
                   '--redirection-port', str(self.dev.redirection_tls_port),
                   '--username', 'admin', '--ca-file',
                   self.sim.ca_cert_path] + list(extra)
        environ = dict(os.environ, AMT_PASSWORD=PASSWORD)
        environ.update(env or {})
        proc = subprocess.Popen(command, stdin=slave, stdout=slave,
                                stderr=slave, env=environ,
                                start_new_session=True)
        os.close(slave)
        self.addCleanup(self._stop, proc)
        return proc, master

    @staticmethod
    def _stop(proc):
        if proc.poll() is None:
            proc.terminate()
            proc.wait(WAIT)

    def test_console_in_raw_mode_and_quit(self):
        proc, master = self.run_tool()
        console = sol_testing.StreamReader(sol_testing.fd_reader(master))
        console.wait_for(sol_testing.SESSION_BANNER)
        with open('/proc/%d/cmdline' % proc.pid, 'rb') as f:
            self.assertNotIn(PASSWORD.encode(), f.read())
        self.assertEqual((32770, True),
                         redirection_service.read_status(self.client))
        self.dev.set_power_state(2)
        console.wait_for('sol-1 login: ')
        # Raw mode: the pty does not echo locally, so typed text comes
        # back exactly once, from the host.
        self.assertFalse(termios.tcgetattr(master)[3] & termios.ECHO)
        os.write(master, b'zq')
        self.assertEqual(b'zq', console.wait_for('zq'))
        os.write(master, b'\r')
        console.wait_for('sol-1 login: ')
        os.write(master, b'~.')
        self.assertEqual(0, proc.wait(WAIT))
        self.assertNotIn(b'zqzq', console.output)
        waiting.wait_until(
            lambda: not self.dev.redirection.session_open, WAIT, 0.05,
            'session end')
        self.assertEqual('sol_end', self.events()[-1]['event'])

    def test_no_password(self):
        proc, master = self.run_tool(env={'AMT_PASSWORD': ''})
        self.assertEqual(2, proc.wait(WAIT))
        output = sol_testing.fd_reader(master)(1)
        self.assertIn(b'AMT_PASSWORD', output)

    def test_password_file_and_disabled_in_mebx(self):
        self.disable_in_mebx()
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'pw')
        with open(path, 'w') as f:
            f.write(PASSWORD + '\n')
        proc, master = self.run_tool('--password-file', path,
                                     env={'AMT_PASSWORD': ''})
        self.assertEqual(1, proc.wait(WAIT))
        self.assertIn(b'disabled in MEBx',
                      sol_testing.fd_reader(master)(1))
