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

"""Bounded HTTP/1.1 exchanges with an untrusted device.

One :class:`Connection` is one TCP (or TLS) socket to a device.  Every
exchange on it is bounded:

* in time: the socket is non-blocking and every wait (connect, TLS
  handshake, send, each read) is at most the per-wait time-out and never
  past the exchange's deadline, so a device trickling bytes fails at the
  deadline, not at the speed it chooses;
* in bytes: the status line and headers are capped
  (:data:`MAX_HEADER_BYTES`, :data:`MAX_HEADERS`), a declared
  ``Content-Length`` over the cap is refused before anything is read, and
  the body is counted as it arrives, after ``Content-Encoding`` decoding
  (gzip, deflate), so compression cannot get round the cap; what is held
  is the body so far plus one read buffer (:data:`READ_SIZE`).

Nothing here follows redirects, and nothing read from the device (reason
phrase, header values) ends up in an exception message.  Errors are the
typed :mod:`ironic_amt.wsman.exceptions`.
"""

import collections
import re
import select
import socket
import ssl
import time
import zlib

from ironic_amt.wsman import connect
from ironic_amt.wsman import exceptions

# Bytes asked of the socket per read.
READ_SIZE = 65536
# Status line plus header lines of one response, and their number.
MAX_HEADER_BYTES = 16384
MAX_HEADERS = 64
# The empty line ending a response head (bare LF tolerated, as before).
_HEAD_END = re.compile(rb'\r?\n\r?\n')
# Length of a chunk-size line (hex size and extensions).
MAX_CHUNK_LINE = 1024
# Interim (1xx) responses skipped before the final one.
MAX_INTERIM = 3
# Longest text taken from the device into a message (sanitised).
MAX_QUOTED = 64

# Content-Encoding -> zlib wbits of its decoder (None: identity).
DECODERS = {'identity': None, 'gzip': 16 + zlib.MAX_WBITS,
            'x-gzip': 16 + zlib.MAX_WBITS, 'deflate': zlib.MAX_WBITS}

Response = collections.namedtuple('Response', [
    'status', 'headers', 'body', 'reusable'])
Response.__doc__ = """One HTTP response.

:ivar status: the status code (int).
:ivar headers: dict of lower-cased header names to values (the last one
    wins; AMT sends no repeated headers that matter here).
:ivar body: the decoded body (bytes).
:ivar reusable: whether the connection may carry another request.
"""


def quote_device_text(text, limit=MAX_QUOTED):
    """Make text from a device safe for a message or a log.

    :param text: str or bytes from the device.
    :param limit: the longest text kept.
    :returns: printable ASCII, at most limit characters (and '...').
    """
    if isinstance(text, bytes):
        text = text.decode('latin-1')
    safe = ''.join(c if ' ' <= c <= '~' else '?' for c in text[:limit])
    return safe + ('...' if len(text) > limit else '')


def _describe(error):
    """A short, safe description of an OS or TLS error."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return quote_device_text('certificate verify failed: %s'
                                 % error.verify_message, 200)
    if isinstance(error, ssl.SSLError) and error.reason:
        return quote_device_text('%s (%s)' % (error.reason,
                                              error.library or 'ssl'), 200)
    if isinstance(error, OSError) and error.strerror:
        return quote_device_text(error.strerror, 200)
    return type(error).__name__


def _wait(sock, for_write, timeout):
    """Wait until sock is readable or writable; False on time-out."""
    poll = getattr(select, 'poll', None)
    if poll is not None:
        poller = poll()
        poller.register(sock, select.POLLOUT if for_write else select.POLLIN)
        return bool(poller.poll(max(timeout, 0) * 1000))
    readable, writable, _ = select.select(
        () if for_write else (sock,), (sock,) if for_write else (), (),
        max(timeout, 0))
    return bool(readable or writable)


class Connection(object):
    """One socket to a device, carrying one exchange at a time.

    Not thread-safe: a connection is used by one thread, then returned to
    its owner's pool.

    :param endpoint: the endpoint URL, for messages.
    :param sock: a connected socket (TLS handshake done), non-blocking.
    :param read_timeout: the longest wait for the device in one read.
    """

    def __init__(self, endpoint, sock, read_timeout):
        self.endpoint = endpoint
        self.sock = sock
        self.read_timeout = read_timeout
        self.exchanges = 0
        self.bytes_read = 0
        self._buffer = bytearray()
        self._deadline = None
        self._answer_due = False

    @classmethod
    def open(cls, endpoint, host, port, connect_timeout, read_timeout,
             deadline, tls_context=None, server_hostname=None,
             tls_session=None):
        """Connect (and shake hands), within connect_timeout and deadline.

        :param endpoint: the endpoint URL, for messages.
        :param host: the host name or IP address.
        :param port: the TCP port.
        :param connect_timeout: the longest wait for the TCP connection
            and, again, for the TLS handshake.
        :param read_timeout: see the class.
        :param deadline: ``time.monotonic()`` time the exchange must end.
        :param tls_context: an ``ssl.SSLContext``, None for plain HTTP.
        :param server_hostname: the name to verify the certificate for.
        :param tls_session: an ``ssl.SSLSession`` to resume, or None.
        :returns: a Connection.
        :raises: WSManConnectError (nothing was sent), WSManTimeoutError,
            WSManDeadlineError, WSManTLSError.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise exceptions.WSManDeadlineError(endpoint, 'before connecting')
        try:
            sock = connect.tcp_connection(
                host, port, min(connect_timeout, remaining))
        except socket.timeout as e:
            # The message is ours (connect.tcp_connection): the lookup or
            # the connection that took too long.
            raise exceptions.WSManConnectTimeoutError(endpoint, str(e))
        except OSError as e:
            raise exceptions.WSManConnectError(endpoint, _describe(e))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            conn = cls(endpoint, sock, read_timeout)
            if tls_context is not None:
                conn.sock = tls_context.wrap_socket(
                    sock, server_hostname=server_hostname,
                    do_handshake_on_connect=False, session=tls_session)
                conn._deadline = deadline
                conn._io(conn.sock.do_handshake,
                         until=time.monotonic() + connect_timeout)
            return conn
        except BaseException:
            sock.close()
            raise

    @property
    def tls_session(self):
        """The TLS session to resume next time, or None."""
        return getattr(self.sock, 'session', None)

    @property
    def tls_resumed(self):
        """Whether the TLS handshake resumed a session."""
        return bool(getattr(self.sock, 'session_reused', False))

    def is_dropped(self):
        """Whether an idle connection was closed (or spoke out of turn)."""
        try:
            return _wait(self.sock, False, 0)
        except (OSError, ValueError):
            return True

    def close(self):
        """Close the socket."""
        try:
            self.sock.close()
        except OSError:
            pass

    def exchange(self, request, max_body, deadline):
        """Send one request and read its whole response.

        :param request: the request (head and body) as bytes.
        :param max_body: the cap of the decoded body in bytes.
        :param deadline: ``time.monotonic()`` time it must end.
        :returns: a :class:`Response`.
        :raises: WSManConnectionError (and subclasses: time-out, deadline),
            WSManTLSError, WSManResponseTooLarge, WSManProtocolError.
        """
        self._deadline = deadline
        self.exchanges += 1
        self._send(request)
        self._answer_due = True
        for _interim in range(MAX_INTERIM + 1):
            version, status, headers = self._read_head()
            if not 100 <= status < 200:
                break
        else:
            raise exceptions.WSManProtocolError(
                self.endpoint, 'too many interim (1xx) responses')
        if status in (204, 304):
            body, framed = b'', True
        else:
            body, framed = self._read_body(headers, max_body)
        connection = headers.get('connection', '').lower()
        reusable = (framed and version == 'HTTP/1.1' and not self._buffer
                    and 'close' not in connection)
        return Response(status, headers, body, reusable)

    # Socket I/O, every wait bounded by read_timeout and the deadline.

    def _io(self, operation, *args, until=None, wait_first=False):
        """Run a socket operation, waiting as it asks.

        :param until: for the TLS handshake, the ``time.monotonic()`` time
            of the connect time-out; else each wait is at most
            read_timeout. Never past the exchange's deadline.
        :param wait_first: wait until the socket is readable before the
            first try (the first read of an answer, which is never there
            yet: one system call fewer, each releasing the GIL).
        """
        for_write = False
        while True:
            if wait_first:
                wait_first = False
            else:
                try:
                    return operation(*args)
                except (ssl.SSLWantReadError, BlockingIOError,
                        InterruptedError, socket.timeout):
                    for_write = False
                except ssl.SSLWantWriteError:
                    for_write = True
                except ssl.SSLError as e:
                    raise exceptions.WSManTLSError(self.endpoint,
                                                   _describe(e))
                except OSError as e:
                    raise exceptions.WSManConnectionError(self.endpoint,
                                                          _describe(e))
            now = time.monotonic()
            limit = (now + self.read_timeout) if until is None else until
            if now >= self._deadline or (
                    now >= limit or not _wait(
                        self.sock, for_write,
                        min(limit, self._deadline) - now)):
                self._timed_out(until)

    def _timed_out(self, until):
        if time.monotonic() >= self._deadline:
            raise exceptions.WSManDeadlineError(
                self.endpoint, '%d bytes received' % self.bytes_read)
        if until is not None:
            raise exceptions.WSManConnectTimeoutError(
                self.endpoint, 'no TLS handshake within the connect '
                'time-out')
        raise exceptions.WSManTimeoutError(
            self.endpoint, 'no data for %s seconds' % self.read_timeout)

    def _send(self, data):
        view = memoryview(data)
        while view:
            sent = self._io(self.sock.send, view)
            view = view[sent:]

    def _fill(self, eof_ok=False):
        """Read once into the buffer; False at the end of the stream."""
        data = self._io(self.sock.recv, READ_SIZE,
                        wait_first=self._answer_due)
        self._answer_due = False
        if not data:
            if eof_ok:
                return False
            raise exceptions.WSManConnectionError(
                self.endpoint, 'the device closed the connection after %d '
                'bytes' % self.bytes_read)
        self.bytes_read += len(data)
        self._buffer += data
        return True

    def _read_line(self, limit, what):
        start = 0
        while True:
            end = self._buffer.find(b'\n', start)
            if end >= 0:
                line = bytes(self._buffer[:end + 1])
                del self._buffer[:end + 1]
                return line.rstrip(b'\r\n')
            if len(self._buffer) > limit:
                raise exceptions.WSManResponseTooLarge(
                    self.endpoint, '%s longer than %d bytes' % (what, limit))
            start = len(self._buffer)
            self._fill()

    def _read_head(self):
        """Read the status line and headers, up to the empty line."""
        searched = 0
        while True:
            end = _HEAD_END.search(self._buffer, max(0, searched - 3))
            if end is not None:
                break
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise exceptions.WSManResponseTooLarge(
                    self.endpoint, 'response headers longer than %d bytes'
                    % MAX_HEADER_BYTES)
            searched = len(self._buffer)
            self._fill()
        if end.start() > MAX_HEADER_BYTES:
            raise exceptions.WSManResponseTooLarge(
                self.endpoint, 'response headers longer than %d bytes'
                % MAX_HEADER_BYTES)
        lines = bytes(self._buffer[:end.start()]).split(b'\n')
        del self._buffer[:end.end()]
        if len(lines) > MAX_HEADERS + 1:
            raise exceptions.WSManResponseTooLarge(
                self.endpoint, 'more than %d response headers'
                % MAX_HEADERS)
        status_line = lines[0].rstrip(b'\r')
        parts = status_line.split(None, 2)
        if (len(parts) < 2 or parts[0] not in (b'HTTP/1.1', b'HTTP/1.0')
                or not parts[1].isdigit() or len(parts[1]) != 3):
            raise exceptions.WSManProtocolError(
                self.endpoint, 'not an HTTP response: %s'
                % quote_device_text(status_line))
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.rstrip(b'\r').partition(b':')
            if not sep or not name.strip() or name != name.strip():
                raise exceptions.WSManProtocolError(
                    self.endpoint, 'malformed response header')
            headers[name.decode('latin-1').lower()] = (
                value.strip().decode('latin-1'))
        return parts[0].decode(), int(parts[1]), headers

    def _read_body(self, headers, max_body):
        """Read the body; returns (decoded bytes, framed)."""
        sink = _BodySink(self.endpoint, headers.get('content-encoding'),
                         max_body)
        if 'chunked' in headers.get('transfer-encoding', '').lower():
            self._read_chunked(sink)
            return sink.finish(), True
        length = headers.get('content-length')
        if length is not None:
            if not length.isdigit():
                raise exceptions.WSManProtocolError(
                    self.endpoint, 'invalid Content-Length')
            length = int(length)
            if length > max_body:
                raise exceptions.WSManResponseTooLarge(
                    self.endpoint, 'the device announced %d bytes, over '
                    'the cap of %d' % (length, max_body))
            self._read_exact(length, sink)
            return sink.finish(), True
        # Neither: the body ends when the device closes the connection.
        while True:
            sink.feed(self._take(len(self._buffer)))
            if not self._fill(eof_ok=True):
                return sink.finish(), False

    def _take(self, count):
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def _read_exact(self, count, sink):
        while count:
            if not self._buffer:
                self._fill()
            piece = self._take(min(count, len(self._buffer)))
            count -= len(piece)
            sink.feed(piece)

    def _read_chunked(self, sink):
        while True:
            line = self._read_line(MAX_CHUNK_LINE, 'a chunk-size line')
            size = line.split(b';', 1)[0].strip()
            try:
                size = int(size, 16)
            except ValueError:
                raise exceptions.WSManProtocolError(
                    self.endpoint, 'invalid chunk size')
            if size == 0:
                break
            sink.check(size)
            self._read_exact(size, sink)
            if self._read_line(MAX_CHUNK_LINE, 'a chunk end'):
                raise exceptions.WSManProtocolError(
                    self.endpoint, 'chunk longer than announced')
        budget = MAX_HEADER_BYTES
        while True:
            line = self._read_line(budget, 'the trailers')
            budget -= len(line) + 2
            if not line:
                return
            if budget < 0:
                raise exceptions.WSManResponseTooLarge(
                    self.endpoint, 'trailers longer than %d bytes'
                    % MAX_HEADER_BYTES)


class _BodySink(object):
    """Decodes a body as it arrives and counts it against the cap."""

    def __init__(self, endpoint, encoding, cap):
        self.endpoint = endpoint
        self.cap = cap
        self.raw = 0
        self.parts = []
        self.size = 0
        name = (encoding or 'identity').strip().lower()
        if name not in DECODERS:
            raise exceptions.WSManProtocolError(
                endpoint, 'unsupported Content-Encoding %s'
                % quote_device_text(name))
        wbits = DECODERS[name]
        self.decoder = None if wbits is None else zlib.decompressobj(wbits)

    def _too_large(self):
        return exceptions.WSManResponseTooLarge(
            self.endpoint, 'the answer is larger than the cap of %d bytes'
            % self.cap)

    def check(self, announced):
        """Refuse a chunk that alone would pass the cap (no decoder)."""
        if self.decoder is None and self.size + announced > self.cap:
            raise self._too_large()

    def feed(self, data):
        if not data:
            return
        self.raw += len(data)
        if self.raw > self.cap:
            raise self._too_large()
        if self.decoder is not None:
            try:
                data = self.decoder.decompress(data,
                                               self.cap - self.size + 1)
            except zlib.error:
                raise exceptions.WSManProtocolError(
                    self.endpoint, 'the compressed body is corrupt')
            if self.decoder.unconsumed_tail:
                raise self._too_large()
        self.size += len(data)
        if self.size > self.cap:
            raise self._too_large()
        self.parts.append(data)

    def finish(self):
        if self.decoder is not None:
            try:
                tail = self.decoder.flush()
            except zlib.error:
                raise exceptions.WSManProtocolError(
                    self.endpoint, 'the compressed body is corrupt')
            self.size += len(tail)
            if self.size > self.cap:
                raise self._too_large()
            self.parts.append(tail)
        return b''.join(self.parts)
