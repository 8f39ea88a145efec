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

"""Client of the AMT redirection protocol (ports 16994 and 16995).

:class:`Session` opens a redirection session of any type (SOL, IDE-R,
KVM): TCP or TLS connection, StartRedirectionSession, digest
authentication.  :class:`SOLSession` adds Serial-over-LAN on top: start,
data both ways, heartbeats and a clean end.  Every read is bounded in
bytes (a message never exceeds what its length field allows, and that
field is checked against a limit) and in total time (a deadline per
call).  Failures are :mod:`ironic_amt.wsman.exceptions` Redirection*
errors naming ``tcp://host:port`` or ``tls://host:port``.

The wire format (all integers little-endian) is summarised in
doc/source/console.rst; sources: amtterm ``redir.c``/``auth.c``,
MeshCommander ``amt-redir-ws``, Intel's ui-toolkit AMTRedirector.
"""

import hashlib
import logging
import secrets
import socket
import ssl
import struct
import time

from ironic_amt.wsman import connect
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import tls

LOG = logging.getLogger(__name__)

DEFAULT_PORTS = {'http': 16994, 'https': 16995}

# Session types: (byte 1 of StartRedirectionSession, protocol tag).
SOL = 'SOL'
IDER = 'IDER'
KVM = 'KVM'
SESSION_TYPES = {SOL: (0, b'SOL '), IDER: (0, b'IDER'), KVM: (1, b'KVMR')}

# Session manager commands.
START_REDIRECTION_SESSION = 0x10
START_REDIRECTION_SESSION_REPLY = 0x11
END_REDIRECTION_SESSION = 0x12
AUTHENTICATE_SESSION = 0x13
AUTHENTICATE_SESSION_REPLY = 0x14

# SOL commands.
START_SOL = 0x20
START_SOL_REPLY = 0x21
END_SOL = 0x22
END_SOL_REPLY = 0x23
KEEP_ALIVE_PING = 0x24
KEEP_ALIVE_PONG = 0x25
SOL_DATA_TO_HOST = 0x28
SOL_CONTROLS_FROM_HOST = 0x29
SOL_DATA_FROM_HOST = 0x2A
HEARTBEAT = 0x2B

# Status byte of 0x11 and 0x21 replies.
SESSION_STATUS = {0: 'success', 1: 'unknown error', 2: 'busy',
                  3: 'unsupported', 0xFF: 'error'}

# Authentication types; status of 0x14 replies.
AUTH_QUERY = 0
AUTH_PLAIN = 1
AUTH_DIGEST_2069 = 3
AUTH_DIGEST_2617 = 4
AUTH_OK = 0
AUTH_CHALLENGE = 1
AUTH_STATUS = {0: 'success', 1: 'failure', 2: 'not supported'}
# The URI both sides hash into the digest.
AUTH_URI = '/RedirectionService'

# Status bits of 0x29 (SOLControlsFromHost).
HOST_POWER_ON = 0x04

# Limits on what is read from a device.
MAX_AUTH_DATA = 1024
MAX_OEM_DATA = 255
RECV_SIZE = 65536
# Largest payload of one 0x28 message sent (AMT's MaxTxBuffer).
MAX_TX_CHUNK = 1000

# StartSOLRedirection parameters (amtterm's values, heartbeat 5 s).
SOL_MAX_TX_BUFFER = 1000
SOL_TX_BUFFER_TIMEOUT = 100
SOL_TX_OVERFLOW_TIMEOUT = 0
SOL_HOST_SESSION_RX_TIMEOUT = 10000
SOL_HOST_FIFO_RX_FLUSH_TIMEOUT = 0
SOL_HEARTBEAT_MS = 5000

# Fixed-size messages from the device, by command: total length.
_FIXED_LENGTHS = {START_SOL_REPLY: 23, END_SOL_REPLY: 8,
                  KEEP_ALIVE_PONG: 8, KEEP_ALIVE_PING: 8,
                  SOL_CONTROLS_FROM_HOST: 10, HEARTBEAT: 8}


def _md5(text):
    return hashlib.md5(text.encode('utf-8'),
                       usedforsecurity=False).hexdigest()


def digest_response(auth_type, username, password, realm, nonce, cnonce,
                    nc, qop):
    """The digest a redirection session authenticates with.

    HA1 = MD5(user:realm:password), HA2 = MD5(POST:/RedirectionService);
    type 4 (RFC 2617) hashes HA1:nonce:nc:cnonce:qop:HA2, type 3
    (RFC 2069) HA1:nonce:HA2.

    :param auth_type: AUTH_DIGEST_2617 or AUTH_DIGEST_2069.
    :param username: the user name.
    :param password: the password.
    :param realm: the realm of the challenge.
    :param nonce: the nonce of the challenge.
    :param cnonce: the client nonce.
    :param nc: the nonce count, 8 hex digits.
    :param qop: 'auth' for type 4.
    :returns: 32 lowercase hex digits.
    """
    ha1 = _md5('%s:%s:%s' % (username, realm, password))
    ha2 = _md5('POST:%s' % AUTH_URI)
    if auth_type == AUTH_DIGEST_2069:
        return _md5('%s:%s:%s' % (ha1, nonce, ha2))
    return _md5(':'.join([ha1, nonce, nc, cnonce, qop, ha2]))


def _field(value):
    data = value.encode('utf-8') if isinstance(value, str) else value
    if len(data) > 255:
        raise ValueError('a redirection authentication field is longer '
                         'than 255 bytes')
    return bytes([len(data)]) + data


def auth_message(auth_type, fields):
    """An AuthenticateSession (0x13) message.

    :param auth_type: the authentication type byte.
    :param fields: str or bytes values, each sent length-prefixed.
    :returns: the message bytes.
    :raises: ValueError for a field longer than 255 bytes.
    """
    data = b''.join(_field(f) for f in fields)
    return struct.pack('<BBBBBI', AUTHENTICATE_SESSION, 0, 0, 0, auth_type,
                       len(data)) + data


def parse_fields(data, count):
    """Split length-prefixed (u8) fields.

    :param data: the authentication data.
    :param count: how many fields to read; missing ones are ''.
    :returns: a list of ``count`` strings.
    :raises: ValueError when a length runs past the data.
    """
    fields = []
    offset = 0
    for _index in range(count):
        if offset >= len(data):
            fields.append('')
            continue
        length = data[offset]
        end = offset + 1 + length
        if end > len(data):
            raise ValueError('field length %d runs past the data' % length)
        fields.append(data[offset + 1:end].decode('utf-8', 'replace'))
        offset = end
    return fields


def _sanitize(text, limit=80):
    """Printable ASCII only, bounded: device text for messages."""
    return ''.join(c if ' ' <= c <= '~' else '?' for c in text[:limit])


def ssl_context(verify=True, legacy_tls=False):
    """The TLS context of a redirection connection.

    The WS-Man transport's shared context for the same setting
    (:func:`ironic_amt.wsman.tls.context_for`): True checks the
    certificate and host name against the system CA store, a path against
    that CA bundle (file) or directory, False checks nothing.

    :param verify: True, False or the path of a CA bundle or directory.
    :param legacy_tls: allow TLS 1.0+ and plain-RSA ciphers (AMT <= 11).
    :returns: an ``ssl.SSLContext``.
    """
    return tls.context_for(verify, legacy_tls)


class Session(object):
    """One AMT redirection session (any type), authenticated by digest.

    Not thread-safe: one thread drives a session.  Reusable by KVM: open
    with ``session_type=KVM``, then use :meth:`send` and
    :meth:`read_exact` / :meth:`read_some` for the RFB stream.

    :param address: host name, IPv4 or IPv6 literal of the AMT device.
    :param username: the digest user name.
    :param password: the digest password; never logged nor shown.
    :param protocol: 'https' (TLS, port 16995) or 'http' (TCP, 16994).
    :param port: the redirection port; None for the protocol's default.
    :param verify: True, False or the path of a CA bundle (TLS only).
    :param session_type: SOL, IDER or KVM.
    :param connect_timeout: seconds for the TCP and TLS connection.
    :param read_timeout: seconds for each answer during the set-up.
    :param legacy_tls: allow TLS 1.0+ and plain-RSA ciphers (AMT <= 11).
    :raises: ValueError on an unknown protocol or session type, an empty
        address or a user name longer than 255 bytes.
    """

    def __init__(self, address, username, password, protocol='https',
                 port=None, verify=True, session_type=SOL,
                 connect_timeout=10.0, read_timeout=30.0, legacy_tls=False):
        if protocol not in DEFAULT_PORTS:
            raise ValueError('Unsupported protocol %r, expected one of %s'
                             % (protocol, ', '.join(sorted(DEFAULT_PORTS))))
        if session_type not in SESSION_TYPES:
            raise ValueError('Unknown redirection session type %r'
                             % session_type)
        host = (address or '').strip().strip('[]')
        if not host:
            raise ValueError('An AMT address is required')
        if len(username.encode('utf-8')) > 255:
            raise ValueError('The AMT user name is longer than 255 bytes')
        self.host = host
        self.port = int(port or DEFAULT_PORTS[protocol])
        self.protocol = protocol
        self.session_type = session_type
        self.endpoint = '%s://%s:%d' % (
            'tls' if protocol == 'https' else 'tcp',
            '[%s]' % host if ':' in host else host, self.port)
        self._username = username
        self._password = password
        self._verify = verify
        self._legacy_tls = legacy_tls
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._sock = None
        self._buffer = bytearray()
        self.authenticated = False
        # Filled by open(): what the device said about itself.
        self.protocol_version = None
        self.firmware_version = None
        self.oem_id = None
        self.auth_type = None

    def __repr__(self):
        return '<%s %s %s>' % (type(self).__name__, self.session_type,
                               self.endpoint)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # Connection -----------------------------------------------------------

    def fileno(self):
        """The socket's file descriptor, for select()."""
        return self._sock.fileno()

    def pending(self):
        """Whether bytes are already buffered (no need to wait in select)."""
        if self._buffer:
            return True
        return isinstance(self._sock, ssl.SSLSocket) and bool(
            self._sock.pending())

    def open(self):
        """Connect, start the redirection session and authenticate.

        :returns: self.
        :raises: RedirectionConnectionError, RedirectionTimeoutError,
            RedirectionTLSError, RedirectionRefused (busy: another
            session is open), RedirectionAuthError,
            RedirectionProtocolError.
        """
        start = time.monotonic()
        self._connect()
        try:
            self._start_session()
            self._authenticate()
        except BaseException:
            self._drop()
            raise
        LOG.debug('AMT %(type)s redirection session with %(endpoint)s '
                  'open in %(elapsed).3f s',
                  {'type': self.session_type, 'endpoint': self.endpoint,
                   'elapsed': time.monotonic() - start})
        return self

    def _connect(self):
        try:
            sock = connect.tcp_connection(self.host, self.port,
                                          self.connect_timeout)
        except socket.timeout as e:
            raise exceptions.RedirectionTimeoutError(self.endpoint, str(e))
        except OSError as e:
            raise exceptions.RedirectionConnectionError(self.endpoint,
                                                        str(e))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.protocol == 'https':
            try:
                context = ssl_context(self._verify, self._legacy_tls)
                sock = context.wrap_socket(sock, server_hostname=self.host)
            except (ssl.SSLError, ssl.CertificateError) as e:
                sock.close()
                raise exceptions.RedirectionTLSError(self.endpoint, str(e))
            except socket.timeout as e:
                sock.close()
                raise exceptions.RedirectionTimeoutError(
                    self.endpoint, 'TLS handshake: %s' % e)
            except OSError as e:
                sock.close()
                raise exceptions.RedirectionConnectionError(self.endpoint,
                                                            str(e))
        self._sock = sock

    def _start_session(self):
        kind, tag = SESSION_TYPES[self.session_type]
        self.send(bytes([START_REDIRECTION_SESSION, kind, 0, 0]) + tag)
        deadline = self._deadline()
        reply = self.read_exact(13, deadline)
        if reply[0] != START_REDIRECTION_SESSION_REPLY:
            raise self._unexpected(reply[0], 'StartRedirectionSessionReply')
        self._check_status(reply[1], 'the %s session' % self.session_type)
        self.protocol_version = '%d.%d' % (reply[4], reply[5])
        self.firmware_version = '%d.%d' % (reply[6], reply[7])
        self.oem_id = struct.unpack_from('<I', reply, 8)[0]
        # OEM data (N bytes) is not used; it is read so it is not taken
        # for the next message.
        self.read_exact(reply[12], deadline)

    def _check_status(self, status, what):
        if status != 0:
            raise exceptions.RedirectionRefused(
                self.endpoint, what, status,
                SESSION_STATUS.get(status, 'unknown status'))

    def _auth_exchange(self, message):
        self.send(message)
        deadline = self._deadline()
        head = self.read_exact(9, deadline)
        if head[0] != AUTHENTICATE_SESSION_REPLY:
            raise self._unexpected(head[0], 'AuthenticateSessionReply')
        length = struct.unpack_from('<I', head, 5)[0]
        if length > MAX_AUTH_DATA:
            raise exceptions.RedirectionProtocolError(
                self.endpoint, 'authentication data of %d bytes (at most '
                '%d expected)' % (length, MAX_AUTH_DATA))
        return head[1], head[4], self.read_exact(length, deadline)

    def _authenticate(self):
        status, _type, offered = self._auth_exchange(
            auth_message(AUTH_QUERY, []))
        offered = set(offered)
        if AUTH_DIGEST_2617 in offered:
            auth_type = AUTH_DIGEST_2617
        elif AUTH_DIGEST_2069 in offered:
            auth_type = AUTH_DIGEST_2069
        else:
            raise exceptions.RedirectionAuthError(
                self.endpoint, 'the device offers no digest authentication '
                '(offered types: %s); plain-text passwords are not sent'
                % (', '.join(str(t) for t in sorted(offered)) or 'none'))
        tail = [''] * (4 if auth_type == AUTH_DIGEST_2617 else 3)
        status, got_type, data = self._auth_exchange(auth_message(
            auth_type, [self._username, '', '', AUTH_URI] + tail))
        if status != AUTH_CHALLENGE or got_type != auth_type:
            raise exceptions.RedirectionAuthError(
                self.endpoint, 'no digest challenge (status %d, type %d)'
                % (status, got_type))
        try:
            realm, nonce, qop = parse_fields(data, 3)
        except ValueError as e:
            raise exceptions.RedirectionProtocolError(
                self.endpoint, 'malformed digest challenge: %s' % e)
        if auth_type == AUTH_DIGEST_2617 and qop != 'auth':
            raise exceptions.RedirectionAuthError(
                self.endpoint, 'unsupported digest qop %r'
                % _sanitize(qop))
        cnonce = secrets.token_hex(16)
        nc = '00000001'
        response = digest_response(auth_type, self._username,
                                   self._password, realm, nonce, cnonce,
                                   nc, qop)
        fields = [self._username, realm, nonce, AUTH_URI, cnonce, nc,
                  response]
        if auth_type == AUTH_DIGEST_2617:
            fields.append(qop)
        status, _type, _data = self._auth_exchange(
            auth_message(auth_type, fields))
        if status != AUTH_OK:
            raise exceptions.RedirectionAuthError(
                self.endpoint, 'digest authentication failed for the user '
                'and realm %s (status %d, %s)'
                % (_sanitize(realm), status,
                   AUTH_STATUS.get(status, 'unknown')))
        self.auth_type = auth_type
        self.authenticated = True

    # I/O ------------------------------------------------------------------

    def _deadline(self, timeout=None):
        return time.monotonic() + (self.read_timeout if timeout is None
                                   else timeout)

    def _unexpected(self, command, expected):
        return exceptions.RedirectionProtocolError(
            self.endpoint, 'got command 0x%02X where %s was expected'
            % (command, expected))

    def send(self, data):
        """Send bytes as they are (a framed message, or raw RFB for KVM).

        :param data: the bytes.
        :raises: RedirectionConnectionError, RedirectionTimeoutError.
        """
        if self._sock is None:
            raise exceptions.RedirectionClosed(self.endpoint,
                                               'the session is closed')
        try:
            self._sock.settimeout(self.read_timeout)
            self._sock.sendall(data)
        except socket.timeout as e:
            raise exceptions.RedirectionTimeoutError(
                self.endpoint, 'send: %s' % e)
        except OSError as e:
            raise exceptions.RedirectionConnectionError(
                self.endpoint, 'send: %s' % e)

    def _fill(self, deadline):
        """Receive once into the buffer, waiting at most until deadline.

        :returns: False when the deadline passed with nothing received.
        :raises: RedirectionClosed on EOF, RedirectionConnectionError.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(RECV_SIZE)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except OSError as e:
            raise exceptions.RedirectionConnectionError(
                self.endpoint, 'receive: %s' % e)
        if not chunk:
            raise exceptions.RedirectionClosed(
                self.endpoint, 'connection closed')
        self._buffer += chunk
        return True

    def read_exact(self, count, deadline):
        """Read exactly ``count`` bytes.

        :param count: the number of bytes.
        :param deadline: a time.monotonic() value.
        :returns: the bytes.
        :raises: RedirectionTimeoutError when they do not arrive in time;
            RedirectionClosed, RedirectionConnectionError.
        """
        while len(self._buffer) < count:
            if self._sock is None:
                raise exceptions.RedirectionClosed(
                    self.endpoint, 'the session is closed')
            if not self._fill(deadline):
                raise exceptions.RedirectionTimeoutError(
                    self.endpoint, '%d of %d bytes received'
                    % (len(self._buffer), count))
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def read_some(self, max_bytes, timeout):
        """Read what arrives within ``timeout``, at most ``max_bytes``.

        For raw streams (KVM's RFB after its start message).

        :param max_bytes: the most bytes returned.
        :param timeout: seconds to wait for the first byte.
        :returns: bytes, empty when nothing arrived in time.
        :raises: RedirectionClosed, RedirectionConnectionError.
        """
        if not self._buffer:
            self._fill(self._deadline(timeout))
        data = bytes(self._buffer[:max_bytes])
        del self._buffer[:max_bytes]
        return data

    def _peek_message(self, deadline, lengths):
        """Wait for one whole framed message and return it.

        :param deadline: a time.monotonic() value.
        :param lengths: callable(buffer) returning the total length of the
            message at the head of the buffer, or None if more header bytes
            are needed.
        :returns: the message bytes, or None when the deadline passed.
        """
        while True:
            if self._buffer:
                total = lengths(self._buffer)
                if total is not None and len(self._buffer) >= total:
                    message = bytes(self._buffer[:total])
                    del self._buffer[:total]
                    return message
            if not self._fill(deadline):
                return None

    def end(self):
        """Send EndRedirectionSession (0x12)."""
        if self._sock is not None and self.authenticated:
            self.authenticated = False
            try:
                self.send(bytes([END_REDIRECTION_SESSION, 0, 0, 0]))
            except exceptions.RedirectionError as e:
                LOG.debug('Could not end the session with %(endpoint)s: '
                          '%(error)s', {'endpoint': self.endpoint,
                                        'error': e})

    def _drop(self):
        sock, self._sock = self._sock, None
        self._buffer.clear()
        if sock is None:
            return
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(1.0)
                sock.unwrap()
        except (OSError, ValueError):
            pass
        finally:
            sock.close()

    def close(self):
        """End the session (0x12) and close the connection; idempotent."""
        self.end()
        self._drop()


class SOLSession(Session):
    """A Serial-over-LAN session.

    ``open()`` then ``start()``; ``write()`` sends typed bytes to the
    host's serial port, ``read()`` returns what the host printed,
    ``close()`` ends SOL and the session.  ``host_power_on`` follows the
    device's SOLControlsFromHost messages (None until the first one).

    :param kwargs: see :class:`Session` (session_type is SOL).
    :param heartbeat: seconds between client heartbeats.
    """

    def __init__(self, *args, heartbeat=SOL_HEARTBEAT_MS / 1000.0,
                 **kwargs):
        kwargs['session_type'] = SOL
        super().__init__(*args, **kwargs)
        self.heartbeat_interval = heartbeat
        self.host_power_on = None
        self.sol_started = False
        self.ended_by_device = False
        self._last_sent = time.monotonic()

    def start(self):
        """Start SOL on the authenticated session (0x20, 0x21).

        :raises: RedirectionRefused (SOL disabled, another SOL session),
            RedirectionProtocolError, RedirectionTimeoutError.
        """
        message = struct.pack(
            '<BBBBIHHHHHHI', START_SOL, 0, 0, 0, 0, SOL_MAX_TX_BUFFER,
            SOL_TX_BUFFER_TIMEOUT, SOL_TX_OVERFLOW_TIMEOUT,
            SOL_HOST_SESSION_RX_TIMEOUT, SOL_HOST_FIFO_RX_FLUSH_TIMEOUT,
            int(self.heartbeat_interval * 1000), 0)
        self._send_message(message)
        deadline = self._deadline()
        while True:
            reply = self._next_message(deadline)
            if reply is None:
                raise exceptions.RedirectionTimeoutError(
                    self.endpoint, 'no StartSOLRedirectionReply')
            if reply[0] == START_SOL_REPLY:
                self._check_status(reply[1], 'the SOL session')
                self.sol_started = True
                return
            if reply[0] != SOL_CONTROLS_FROM_HOST:
                raise self._unexpected(reply[0], 'StartSOLRedirectionReply')
            self._handle(reply)

    def _send_message(self, message):
        self.send(message)
        self._last_sent = time.monotonic()

    @staticmethod
    def _message_length(buffer):
        command = buffer[0]
        if command in _FIXED_LENGTHS:
            return _FIXED_LENGTHS[command]
        if command == SOL_DATA_FROM_HOST:
            if len(buffer) < 10:
                return None
            return 10 + struct.unpack_from('<H', buffer, 8)[0]
        return -1

    def _next_message(self, deadline):
        if not self._buffer and not self._fill(deadline):
            return None
        if self._message_length(self._buffer) == -1:
            command = self._buffer[0]
            self._buffer.clear()
            raise exceptions.RedirectionProtocolError(
                self.endpoint, 'unknown SOL command 0x%02X' % command)
        return self._peek_message(deadline, self._message_length)

    def _handle(self, message):
        """Act on one non-data message; returns data bytes or b''."""
        command = message[0]
        if command == SOL_DATA_FROM_HOST:
            return message[10:]
        if command == SOL_CONTROLS_FROM_HOST:
            self.host_power_on = bool(message[9] & HOST_POWER_ON)
        elif command == KEEP_ALIVE_PING:
            self._send_message(bytes([KEEP_ALIVE_PONG]) + message[1:])
        elif command == END_SOL_REPLY:
            self.ended_by_device = True
            self.sol_started = False
            raise exceptions.RedirectionClosed(self.endpoint,
                                               'the device ended SOL')
        # HEARTBEAT and KEEP_ALIVE_PONG only show the device is alive.
        return b''

    def keep_alive(self):
        """Send a heartbeat if nothing was sent for the interval."""
        if (self.heartbeat_interval
                and time.monotonic() - self._last_sent
                >= self.heartbeat_interval):
            self._send_message(bytes([HEARTBEAT, 0, 0, 0, 0, 0, 0, 0]))

    def seconds_to_heartbeat(self):
        """Seconds until :meth:`keep_alive` has something to send."""
        if not self.heartbeat_interval:
            return self.read_timeout
        return max(0.0, self._last_sent + self.heartbeat_interval
                   - time.monotonic())

    def write(self, data):
        """Send bytes to the host's serial port (0x28 messages).

        :param data: the bytes typed.
        :raises: RedirectionConnectionError, RedirectionTimeoutError.
        """
        view = memoryview(bytes(data))
        for offset in range(0, len(view), MAX_TX_CHUNK):
            chunk = view[offset:offset + MAX_TX_CHUNK]
            self._send_message(struct.pack('<BBBBIH', SOL_DATA_TO_HOST, 0,
                                           0, 0, 0, len(chunk))
                               + bytes(chunk))

    def read(self, timeout, max_bytes=RECV_SIZE):
        """Bytes the host printed, waiting at most ``timeout`` seconds.

        Control, heartbeat and keep-alive messages are handled on the way
        (and a heartbeat is sent when due).  Returns as soon as some data
        arrived; at most about ``max_bytes`` (whole messages).

        :param timeout: seconds to wait.
        :param max_bytes: stop collecting once this many bytes are read.
        :returns: bytes, empty when nothing arrived in time.
        :raises: RedirectionClosed when the device ends SOL or closes;
            RedirectionProtocolError, RedirectionConnectionError.
        """
        deadline = time.monotonic() + timeout
        data = bytearray()
        while len(data) < max_bytes:
            self.keep_alive()
            wait_until = min(deadline,
                             time.monotonic() + self.seconds_to_heartbeat())
            if data:
                # Collect what is already here, without waiting.
                wait_until = time.monotonic()
                if not self.pending():
                    break
            message = self._next_message(wait_until)
            if message is None:
                if time.monotonic() >= deadline or data:
                    break
                continue
            data += self._handle(message)
        return bytes(data)

    def end_sol(self, timeout=2.0):
        """End SOL (0x22) and wait briefly for the reply (0x23)."""
        if not self.sol_started or self._sock is None:
            return
        self.sol_started = False
        try:
            self._send_message(bytes([END_SOL, 0, 0, 0, 0, 0, 0, 0]))
            deadline = self._deadline(timeout)
            while True:
                message = self._next_message(deadline)
                if message is None or message[0] == END_SOL_REPLY:
                    return
        except exceptions.RedirectionError as e:
            LOG.debug('Ending SOL with %(endpoint)s: %(error)s',
                      {'endpoint': self.endpoint, 'error': e})

    def close(self):
        """End SOL, end the session and close; idempotent."""
        self.end_sol()
        super().close()
