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

"""The redirection port of one device (16994 plain, 16995 TLS).

SOL is served here; a KVM session is handed to
:func:`ironic_amt.simulator.protocol.rfb.serve_kvm` once authenticated.

Written from the protocol notes (amtterm, MeshCommander, captures of
AMT 11.8/12.0 in MeshCommander issue 24), sharing no code with the
client.  What it enforces, as firmware does:

- the listener must be enabled (ListenerEnabled, which gates SOL, IDE-R
  and KVM alike) or the connection is closed at once;
- StartRedirectionSession must come first, 8 bytes, a known tag; IDE-R
  is answered 3 (unsupported) by this simulator;
- authentication is digest RFC 2617 (type 4) only, as AMT 12 offers
  (MC#24); plain text (type 1) is answered 2 (not supported); the
  response must name the device's user, realm and the nonce just
  issued, the URI ``/RedirectionService`` and qop ``auth``, and its
  digest is checked over ``POST:/RedirectionService``.  Intel's
  ui-toolkit as shipped sends an empty URI and hashes ``auth `` with a
  stray space: both are refused (AMT answers ``14 01 00 00 04`` and
  L = 0).  Three refused responses close the connection;
- nothing but the session-manager messages before authentication;
- StartSOLRedirection is refused (status 3) while SOL is disabled and
  (status 2, busy) while another session holds SOL: one at a time;
- replies are written one message per write (amtterm drops messages
  that share a read with 0x14, 0x21, 0x23 or 0x29), with no OEM data;
- an unknown command, a length beyond the limits or 60 s without a
  message closes the connection.

While a session holds SOL (or KVM) the device refuses power-off and
power-cycle requests (the same effect as the ``redirection`` fault).
"""

import asyncio
import hashlib
import hmac
import os
import socket
import struct
import time

from ironic_amt.simulator.model import serial
from ironic_amt.simulator.protocol import rfb

# Commands.
START_SESSION = 0x10
START_SESSION_REPLY = 0x11
END_SESSION = 0x12
AUTHENTICATE = 0x13
AUTHENTICATE_REPLY = 0x14
START_SOL = 0x20
START_SOL_REPLY = 0x21
END_SOL = 0x22
END_SOL_REPLY = 0x23
PING = 0x24
PONG = 0x25
SOL_SETTINGS = 0x27
DATA_TO_HOST = 0x28
CONTROLS_FROM_HOST = 0x29
DATA_FROM_HOST = 0x2A
HEARTBEAT = 0x2B

TAGS = {(0, b'SOL '): 'SOL', (0, b'IDER'): 'IDER', (1, b'KVMR'): 'KVM'}
STATUS_OK = 0
STATUS_BUSY = 2
STATUS_UNSUPPORTED = 3
AUTH_QUERY = 0
AUTH_PLAIN = 1
AUTH_DIGEST = 4
AUTH_SUCCESS = 0
AUTH_FAILURE = 1
AUTH_NOT_SUPPORTED = 2
AUTH_URI = '/RedirectionService'
INTEL_IANA = 343

# Fixed message lengths from the client, by command.
_FIXED = {END_SESSION: 4, START_SOL: 24, END_SOL: 8, PING: 8,
          SOL_SETTINGS: 14, HEARTBEAT: 8}
# Limits.
MAX_AUTH_DATA = 1024
MAX_AUTH_FAILURES = 3
IDLE_TIMEOUT = 60.0
POLL_INTERVAL = 0.05
# 0x29 status bits.
STATUS_POWER_ON = 0x04
CONTROL_RTS_DTR = 0x03


def _md5(text):
    return hashlib.md5(text.encode('utf-8')).hexdigest()  # nosec


def _fields(data, count):
    """Split ``count`` u8-length-prefixed fields; None if malformed."""
    out = []
    offset = 0
    for _index in range(count):
        if offset >= len(data) or offset + 1 + data[offset] > len(data):
            return None
        out.append(data[offset + 1:offset + 1 + data[offset]])
        offset += 1 + data[offset]
    return out if offset == len(data) else None


def _lp(text):
    data = text.encode()
    return bytes([len(data)]) + data


class _Closed(Exception):
    """End the connection (peer gone, protocol violation, timeout)."""


class RedirectionSession(object):
    """One connection to a device's redirection port."""

    def __init__(self, device, reader, writer, scheme):
        """Create the session handler.

        :param device: the simulated device.
        :param reader: the asyncio StreamReader.
        :param writer: the asyncio StreamWriter.
        :param scheme: 'tcp' or 'tls'.
        """
        self.device = device
        self.state = device.redirection
        self.reader = reader
        self.writer = writer
        self.scheme = scheme
        self.nonce = None
        self.host = None
        self.heartbeat = 0.0
        self.sol = False
        self._last_power = None

    def log(self, event, **fields):
        entry = {'event': event, 'scheme': self.scheme}
        entry.update(fields)
        self.device.record(entry)

    async def _read(self, count):
        try:
            async with asyncio.timeout(IDLE_TIMEOUT):
                return await self.reader.readexactly(count)
        except (asyncio.IncompleteReadError, TimeoutError,
                ConnectionError):
            raise _Closed()

    async def _send(self, message):
        # One message per write, never coalesced.
        self.writer.write(message)
        await self.writer.drain()

    async def run(self):
        """Serve the connection until it ends."""
        try:
            if not self.state.listening:
                self.log('redirection_refused', reason='listener disabled')
                return
            kind = await self._start_session()
            if kind is None:
                return
            if not await self._authenticate():
                return
            if kind == 'KVM':
                reason = 'connection closed'
                try:
                    reason = await rfb.serve_kvm(self.device, self.reader,
                                                 self.writer, IDLE_TIMEOUT)
                finally:
                    self.log('kvm_end', reason=reason)
                return
            await self._serve_sol()
        except (_Closed, ConnectionError, asyncio.IncompleteReadError,
                TimeoutError):
            pass
        finally:
            if self.sol:
                self.state.release_sol(self)
                self.log('sol_end')
            self.writer.close()

    async def _start_session(self):
        message = await self._read(8)
        kind = TAGS.get((message[1], message[4:8]))
        if message[0] != START_SESSION or message[2:4] != b'\0\0':
            self.log('redirection_refused', reason='bad start message')
            return None
        if kind in ('SOL', 'KVM'):
            status = STATUS_OK
        else:
            status = STATUS_UNSUPPORTED
        major, minor = (int(part) for part in
                        self.device.profile_info.version.split('.')[:2])
        await self._send(struct.pack('<BBBBBBBBIB', START_SESSION_REPLY,
                                     status, 0, 0, 1, 0, major, minor,
                                     INTEL_IANA, 0))
        self.log('redirection_start', session_type=kind or 'unknown',
                 status=status)
        return kind if status == STATUS_OK else None

    async def _auth_message(self):
        head = await self._read(9)
        if head[0] != AUTHENTICATE:
            self.log('redirection_refused',
                     reason='command 0x%02X before authentication'
                     % head[0])
            raise _Closed()
        length = struct.unpack_from('<I', head, 5)[0]
        if length > MAX_AUTH_DATA:
            self.log('redirection_refused', reason='auth data too long')
            raise _Closed()
        return head[4], await self._read(length)

    async def _auth_reply(self, status, auth_type, data=b''):
        await self._send(struct.pack('<BBBBBI', AUTHENTICATE_REPLY, status,
                                     0, 0, auth_type, len(data)) + data)

    async def _authenticate(self):
        failures = 0
        while failures < MAX_AUTH_FAILURES:
            auth_type, data = await self._auth_message()
            if auth_type == AUTH_QUERY:
                await self._auth_reply(AUTH_SUCCESS, AUTH_QUERY,
                                       bytes([AUTH_DIGEST]))
                continue
            if auth_type != AUTH_DIGEST:
                await self._auth_reply(AUTH_NOT_SUPPORTED, auth_type)
                failures += 1
                continue
            fields = _fields(data, 8)
            if fields is None:
                await self._auth_reply(AUTH_FAILURE, AUTH_DIGEST)
                failures += 1
                continue
            if not fields[1] and not fields[2] and not fields[6]:
                # A start (empty realm, nonce and response): challenge.
                self.nonce = os.urandom(16).hex()
                await self._auth_reply(
                    AUTH_FAILURE, AUTH_DIGEST, _lp(self.device.realm)
                    + _lp(self.nonce) + _lp('auth'))
                continue
            reason = self._check_digest(fields)
            self.nonce = None
            if reason is None:
                await self._auth_reply(AUTH_SUCCESS, AUTH_DIGEST)
                self.log('redirection_auth', result='ok')
                return True
            self.log('redirection_auth', result='refused', reason=reason)
            await self._auth_reply(AUTH_FAILURE, AUTH_DIGEST)
            failures += 1
        return False

    def _check_digest(self, fields):
        try:
            user, realm, nonce, uri, cnonce, nc, response, qop = (
                f.decode('ascii') for f in fields)
        except UnicodeDecodeError:
            return 'non-ASCII field'
        if user != self.device.username:
            return 'unknown user'
        if realm != self.device.realm or self.nonce is None or (
                nonce != self.nonce):
            return 'wrong realm or nonce'
        if uri != AUTH_URI:
            return 'URI %r is not %s' % (uri[:32], AUTH_URI)
        if qop != 'auth':
            return 'qop is not auth'
        ha1 = _md5('%s:%s:%s' % (self.device.username, self.device.realm,
                                 self.device.password))
        expected = _md5(':'.join([ha1, nonce, nc, cnonce, qop,
                                  _md5('POST:' + AUTH_URI)]))
        if not hmac.compare_digest(expected, response.lower()):
            return 'wrong digest'
        return None

    async def _next_message(self):
        """Read one client message after authentication."""
        head = await self._read(1)
        command = head[0]
        if command in _FIXED:
            return head + await self._read(_FIXED[command] - 1)
        if command == DATA_TO_HOST:
            rest = await self._read(9)
            length = struct.unpack_from('<H', rest, 7)[0]
            return head + rest + await self._read(length)
        self.log('redirection_refused', reason='unknown command 0x%02X'
                 % command)
        raise _Closed()

    async def _serve_sol(self):
        reading = asyncio.ensure_future(self._next_message())
        next_heartbeat = None
        try:
            while True:
                done, _pending = await asyncio.wait(
                    [reading], timeout=POLL_INTERVAL)
                if done:
                    message = reading.result()
                    if not await self._handle(message):
                        return
                    reading = asyncio.ensure_future(self._next_message())
                if self.sol:
                    await self._pump()
                    now = time.monotonic()
                    if self.heartbeat and (next_heartbeat is None
                                           or now >= next_heartbeat):
                        if next_heartbeat is not None:
                            await self._send(bytes([HEARTBEAT]) + bytes(7))
                        next_heartbeat = now + self.heartbeat
        finally:
            reading.cancel()

    async def _handle(self, message):
        command = message[0]
        if command == END_SESSION:
            return False
        if command == START_SOL:
            await self._start_sol(message)
        elif command == END_SOL:
            if self.sol:
                self.sol = False
                self.state.release_sol(self)
                self.log('sol_end')
            await self._send(bytes([END_SOL_REPLY]) + bytes(7))
        elif command == PING:
            await self._send(bytes([PONG]) + message[1:])
        elif command == DATA_TO_HOST and self.sol:
            echo = self.host.type(message[10:])
            if echo:
                await self._data(echo)
        # SOL_SETTINGS (0x27), HEARTBEAT and data outside SOL are
        # accepted and ignored.
        return True

    async def _start_sol(self, message):
        if self.sol:
            status = STATUS_OK
        elif not self.state.sol_enabled:
            status = STATUS_UNSUPPORTED
        elif not self.state.claim_sol(self):
            status = STATUS_BUSY
        else:
            status = STATUS_OK
            self.sol = True
            self.host = serial.SerialHost(self.device)
            self.heartbeat = struct.unpack_from('<H', message, 18)[0] / 1000
        await self._send(bytes([START_SOL_REPLY, status]) + bytes(21))
        self.log('sol_start', status=status)
        if self.sol:
            await self._controls()

    async def _controls(self):
        self._last_power = self.host.power_on
        status = STATUS_POWER_ON if self._last_power else 0
        await self._send(bytes([CONTROLS_FROM_HOST, 0, 0, 0, 0, 0, 0, 0,
                                CONTROL_RTS_DTR, status]))

    async def _data(self, payload):
        for offset in range(0, len(payload), 1000):
            chunk = payload[offset:offset + 1000]
            await self._send(bytes([DATA_FROM_HOST, 0, 0, 0, 0, 0, 0, 0])
                             + struct.pack('<H', len(chunk)) + chunk)

    async def _pump(self):
        # The power change is signalled before what the host prints.
        if self.host.power_on != self._last_power:
            await self._controls()
        for line in self.host.poll():
            await self._data(line)


class RedirectionPort(object):
    """Serves one device's redirection port (listen_stream callback)."""

    def __init__(self, device, scheme):
        """Create the port.

        :param device: the simulated device.
        :param scheme: 'tcp' or 'tls'.
        """
        self.device = device
        self.scheme = scheme

    async def __call__(self, reader, writer):
        """Serve one connection.

        :param reader: the asyncio StreamReader.
        :param writer: the asyncio StreamWriter.
        """
        sock = writer.get_extra_info('socket')
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await RedirectionSession(self.device, reader, writer,
                                 self.scheme).run()
