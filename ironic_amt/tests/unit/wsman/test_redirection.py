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

"""Tests of the AMT redirection (SOL) client against a scripted peer.

The peer below is written from the byte layouts of the notes (amtterm,
MeshCommander captures), independently of the client's helpers.
"""

import hashlib
import socket
import struct
import threading
import time

from oslotest import base

from ironic_amt.testing import waiting
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import redirection

USER = 'admin'
PASSWORD = 'Sol-Pa55word!'
REALM = 'Digest:0123456789ABCDEF0123456789ABCDEF'
NONCE = 'a' * 32
SESSION_OK = bytes([0x11, 0, 0, 0, 1, 0, 16, 1, 0x57, 1, 0, 0, 0])


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def expected_digest(cnonce, nc, qop='auth'):
    ha1 = md5('%s:%s:%s' % (USER, REALM, PASSWORD))
    ha2 = md5('POST:/RedirectionService')
    return md5('%s:%s:%s:%s:%s:%s' % (ha1, NONCE, nc, cnonce, qop, ha2))


def fields(data):
    out = []
    while data:
        out.append(data[1:1 + data[0]].decode())
        data = data[1 + data[0]:]
    return out


def lp(text):
    return bytes([len(text)]) + text.encode()


class Peer(object):
    """A one-connection scripted device on loopback, run in a thread."""

    def __init__(self, script):
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.received = []
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.listener.settimeout(10)
        try:
            conn, _addr = self.listener.accept()
            conn.settimeout(10)
            with conn:
                self.script(self, conn)
        except Exception as e:
            self.error = e
        finally:
            self.listener.close()

    def recv_exact(self, conn, count):
        data = b''
        while len(data) < count:
            chunk = conn.recv(count - len(data))
            if not chunk:
                raise EOFError('client closed')
            data += chunk
        return data

    def recv_auth(self, conn):
        head = self.recv_exact(conn, 9)
        length = struct.unpack_from('<I', head, 5)[0]
        message = head + self.recv_exact(conn, length)
        self.received.append(message)
        return head[4], message[9:]

    def join(self):
        self.thread.join(10)


def authenticate(peer, conn, offered=b'\x04', accept=True):
    start = peer.recv_exact(conn, 8)
    peer.received.append(start)
    conn.sendall(SESSION_OK)
    peer.recv_auth(conn)
    conn.sendall(bytes([0x14, 0, 0, 0, 0]) + struct.pack('<I', len(offered))
                 + offered)
    peer.recv_auth(conn)
    challenge = lp(REALM) + lp(NONCE) + lp('auth')
    conn.sendall(bytes([0x14, 1, 0, 0, 4])
                 + struct.pack('<I', len(challenge)) + challenge)
    _type, data = peer.recv_auth(conn)
    user, realm, nonce, uri, cnonce, nc, response, qop = fields(data)
    ok = accept and response == expected_digest(cnonce, nc) and (
        uri == '/RedirectionService')
    conn.sendall(bytes([0x14, 0 if ok else 1, 0, 0, 4, 0, 0, 0, 0]))
    return ok


def sol_start(peer, conn, status=0):
    message = peer.recv_exact(conn, 24)
    peer.received.append(message)
    conn.sendall(bytes([0x21, status]) + bytes(21))


class SOLSessionTestCase(base.BaseTestCase):

    def session(self, peer, **kwargs):
        kwargs.setdefault('read_timeout', 5)
        session = redirection.SOLSession('127.0.0.1', USER, PASSWORD,
                                         protocol='http', port=peer.port,
                                         **kwargs)
        self.addCleanup(session.close)
        return session

    def test_open_start_data_and_close(self):
        def script(peer, conn):
            assert authenticate(peer, conn)
            sol_start(peer, conn)
            # Controls (power on), then a data message split in two
            # writes, a heartbeat and a second data message in one write.
            conn.sendall(bytes([0x29, 0, 0, 0, 0, 0, 0, 0, 3, 4]))
            payload = b'Intel(R) Boot Agent\r\n'
            frame = (bytes([0x2A, 0, 0, 0, 0, 0, 0, 0])
                     + struct.pack('<H', len(payload)) + payload)
            conn.sendall(frame[:5])
            time.sleep(0.05)
            conn.sendall(frame[5:] + bytes([0x2B, 0, 0, 0, 0, 0, 0, 0])
                         + bytes([0x2A, 0, 0, 0, 0, 0, 0, 0, 2, 0]) + b'ok')
            typed = peer.recv_exact(conn, 10)
            typed += peer.recv_exact(conn, struct.unpack_from(
                '<H', typed, 8)[0])
            peer.received.append(typed)
            end = peer.recv_exact(conn, 8)
            peer.received.append(end)
            conn.sendall(bytes([0x23, 0, 0, 0, 0, 0, 0, 0]))
            peer.received.append(peer.recv_exact(conn, 4))

        peer = Peer(script)
        session = self.session(peer)
        session.open()
        self.assertTrue(session.authenticated)
        self.assertEqual(redirection.AUTH_DIGEST_2617, session.auth_type)
        self.assertEqual('16.1', session.firmware_version)
        self.assertEqual(343, session.oem_id)
        session.start()
        received = []

        def banner_read():
            received.append(session.read(1.0))
            return b''.join(received) == b'Intel(R) Boot Agent\r\nok'

        try:
            waiting.wait_until(banner_read, 5, 0, 'the banner')
        except waiting.WaitTimeout:
            pass
        output = b''.join(received)
        self.assertEqual(b'Intel(R) Boot Agent\r\nok', output)
        self.assertTrue(session.host_power_on)
        session.write(b'root\r')
        session.close()
        peer.join()
        self.assertIsNone(peer.error)
        start, query, digest_start, response, sol, typed, end, bye = (
            peer.received)
        self.assertEqual(b'\x10\x00\x00\x00SOL ', start)
        self.assertEqual(b'\x13\x00\x00\x00\x00\x00\x00\x00\x00', query)
        # Layout of the MeshCommander capture: L = 0x20 for "admin".
        self.assertEqual(b'\x13\x00\x00\x00\x04\x20\x00\x00\x00\x05admin'
                         b'\x00\x00\x13/RedirectionService\x00\x00\x00\x00',
                         digest_start)
        self.assertEqual(struct.pack('<I', len(response) - 9),
                         response[5:9])
        self.assertEqual(8, len(fields(response[9:])))
        self.assertNotIn(PASSWORD.encode(), b''.join(peer.received))
        self.assertEqual(0x20, sol[0])
        self.assertEqual((1000, 100, 0, 10000, 0, 5000),
                         struct.unpack_from('<6H', sol, 8))
        self.assertEqual(b'\x28\x00\x00\x00\x00\x00\x00\x00\x05\x00root\r',
                         typed)
        self.assertEqual(bytes([0x22]) + bytes(7), end)
        self.assertEqual(b'\x12\x00\x00\x00', bye)

    def test_wrong_password(self):
        peer = Peer(lambda p, c: authenticate(p, c, accept=False))
        session = self.session(peer)
        error = self.assertRaises(exceptions.RedirectionAuthError,
                                  session.open)
        self.assertIn(REALM, str(error))
        self.assertNotIn(PASSWORD, str(error))
        self.assertIsInstance(error, exceptions.WSManAuthError)
        self.assertFalse(error.transient)

    def test_plain_text_only_is_refused(self):
        def script(peer, conn):
            peer.recv_exact(conn, 8)
            conn.sendall(SESSION_OK)
            peer.recv_auth(conn)
            conn.sendall(bytes([0x14, 0, 0, 0, 0, 1, 0, 0, 0, 1]))
            conn.recv(64)

        peer = Peer(script)
        error = self.assertRaises(exceptions.RedirectionAuthError,
                                  self.session(peer).open)
        self.assertIn('no digest', str(error))

    def test_busy_session_is_transient(self):
        def script(peer, conn):
            peer.recv_exact(conn, 8)
            conn.sendall(bytes([0x11, 2]) + bytes(11))
            conn.recv(64)

        peer = Peer(script)
        error = self.assertRaises(exceptions.RedirectionRefused,
                                  self.session(peer).open)
        self.assertTrue(error.transient)
        self.assertEqual(2, error.status)
        self.assertIn('busy', str(error))

    def test_sol_refused(self):
        def script(peer, conn):
            authenticate(peer, conn)
            sol_start(peer, conn, status=3)
            conn.recv(64)

        peer = Peer(script)
        session = self.session(peer)
        session.open()
        error = self.assertRaises(exceptions.RedirectionRefused,
                                  session.start)
        self.assertIn('the SOL session', str(error))
        self.assertFalse(error.transient)

    def test_oversized_auth_data_is_refused(self):
        def script(peer, conn):
            peer.recv_exact(conn, 8)
            conn.sendall(SESSION_OK)
            peer.recv_auth(conn)
            conn.sendall(bytes([0x14, 0, 0, 0, 0]) + struct.pack(
                '<I', 100000000))
            conn.recv(64)

        peer = Peer(script)
        error = self.assertRaises(exceptions.RedirectionProtocolError,
                                  self.session(peer).open)
        self.assertIn('100000000', str(error))

    def test_silent_device_times_out(self):
        def script(peer, conn):
            peer.recv_exact(conn, 8)
            time.sleep(1.5)

        peer = Peer(script)
        session = self.session(peer, read_timeout=0.3)
        start = time.monotonic()
        self.assertRaises(exceptions.RedirectionTimeoutError, session.open)
        self.assertLess(time.monotonic() - start, 1.2)

    def test_unknown_command_is_a_protocol_error(self):
        def script(peer, conn):
            authenticate(peer, conn)
            sol_start(peer, conn)
            conn.sendall(bytes([0x77, 0, 0, 0]))
            conn.recv(64)

        peer = Peer(script)
        session = self.session(peer)
        session.open()
        session.start()
        self.assertRaises(exceptions.RedirectionProtocolError,
                          session.read, 2.0)

    def test_device_end_of_sol(self):
        def script(peer, conn):
            authenticate(peer, conn)
            sol_start(peer, conn)
            conn.sendall(bytes([0x23]) + bytes(7))
            conn.recv(64)

        peer = Peer(script)
        session = self.session(peer)
        session.open()
        session.start()
        self.assertRaises(exceptions.RedirectionClosed, session.read, 2.0)
        self.assertTrue(session.ended_by_device)

    def test_heartbeat_sent_when_idle(self):
        def script(peer, conn):
            authenticate(peer, conn)
            sol_start(peer, conn)
            for _index in range(2):
                peer.received.append(peer.recv_exact(conn, 8))
            conn.recv(64)

        peer = Peer(script)
        session = self.session(peer, heartbeat=0.2)
        session.open()
        session.start()
        start = time.monotonic()
        self.assertEqual(b'', session.read(0.5))
        self.assertGreaterEqual(time.monotonic() - start, 0.5)
        session.close()
        peer.join()
        self.assertEqual([bytes([0x2B]) + bytes(7)] * 2, peer.received[-2:])

    def test_connection_refused(self):
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        port = listener.getsockname()[1]
        listener.close()
        session = redirection.SOLSession('127.0.0.1', USER, PASSWORD,
                                         protocol='http', port=port)
        error = self.assertRaises(exceptions.RedirectionConnectionError,
                                  session.open)
        self.assertTrue(error.transient)
        self.assertIn('tcp://127.0.0.1:%d' % port, str(error))


class HelpersTestCase(base.BaseTestCase):

    def test_default_ports(self):
        self.assertEqual(16995, redirection.SOLSession(
            '192.0.2.1', USER, PASSWORD).port)
        session = redirection.SOLSession('::1', USER, PASSWORD,
                                         protocol='http')
        self.assertEqual('tcp://[::1]:16994', session.endpoint)

    def test_digest_2069(self):
        ha1 = md5('%s:%s:%s' % (USER, REALM, PASSWORD))
        ha2 = md5('POST:/RedirectionService')
        self.assertEqual(
            md5('%s:%s:%s' % (ha1, NONCE, ha2)),
            redirection.digest_response(3, USER, PASSWORD, REALM, NONCE,
                                        '', '', ''))

    def test_parse_fields_bounds(self):
        self.assertEqual(['ab', '', ''],
                         redirection.parse_fields(b'\x02ab', 3))
        self.assertRaises(ValueError, redirection.parse_fields,
                          b'\x09ab', 1)

    def test_long_field_refused(self):
        self.assertRaises(ValueError, redirection.auth_message, 4,
                          ['x' * 256])

    def test_bad_arguments(self):
        self.assertRaises(ValueError, redirection.Session, '', USER,
                          PASSWORD)
        self.assertRaises(ValueError, redirection.Session, 'h', USER,
                          PASSWORD, protocol='ftp')
        self.assertRaises(ValueError, redirection.Session, 'h', USER,
                          PASSWORD, session_type='VNC')
