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

"""A hostile or broken "AMT device" on loopback, for tests and tools.

:class:`HostileServer` listens on 127.0.0.1 and answers every request
that carries an ``Authorization`` header with one misbehaviour from
:data:`BEHAVIOURS` (a request without one gets a digest challenge first,
closing the connection as AMT does, so that the client's credentials are
on the wire).  It shares no code with the client.

Everything is bounded: each behaviour stops after :data:`MAX_SEND` bytes
or :data:`MAX_SECONDS` seconds, or as soon as the client goes away; the
server thread and its connection threads stop with :meth:`stop`.
"""

import gzip
import socket
import socketserver
import struct
import threading
import time

# Upper bounds of one misbehaviour.
MAX_SEND = 256 * 1024 * 1024
MAX_SECONDS = 60.0
# Request head and body the server reads at most.
MAX_REQUEST = 1024 * 1024
# Seconds the server waits for a request.
REQUEST_TIMEOUT = 10.0
BLOCK = 64 * 1024
REALM = 'Digest:0000000000000000000000000000000000'
SOAP = 'application/soap+xml;charset=UTF-8'

_HTML = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">'
         b'<html><head><title>Intel&reg; Active Management Technology'
         b'</title></head><body><h2>400 Bad Request</h2></body></html>\n')

# A well-formed answer to a Get of CIM_AssociatedPowerManagementService.
POWER_STATE = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:b="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    b'xmlns:g="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
    b'CIM_AssociatedPowerManagementService"><a:Header>'
    b'<b:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/'
    b'GetResponse</b:Action></a:Header><a:Body>'
    b'<g:CIM_AssociatedPowerManagementService><g:PowerState>2'
    b'</g:PowerState><g:AvailableRequestedPowerStates>8'
    b'</g:AvailableRequestedPowerStates>'
    b'</g:CIM_AssociatedPowerManagementService></a:Body></a:Envelope>')


def _xml_bomb(levels=9):
    """The billion laughs: each level ten references to the one below."""
    names = [b'lol'] + [b'lol%d' % level for level in range(1, levels + 1)]
    entities = [b'<!ENTITY lol "lol">'] + [
        b'<!ENTITY %s "%s">' % (name, (b'&%s;' % below) * 10)
        for below, name in zip(names, names[1:])]
    return (b'<?xml version="1.0"?><!DOCTYPE lolz [' + b''.join(entities)
            + b']><lolz>&%s;</lolz>' % names[-1])


XML_BOMB = _xml_bomb()


def _head(status, headers):
    lines = ['HTTP/1.1 %s' % status] + ['%s: %s' % h for h in headers]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')


class _Stop(Exception):
    """The client went away, or a bound was reached."""


class _Connection(socketserver.BaseRequestHandler):
    """One client connection: requests in turn, each misbehaved."""

    def setup(self):
        self.sent = 0
        self.started = time.monotonic()
        self.request.settimeout(REQUEST_TIMEOUT)
        with self.server.owner.lock:
            self.server.owner.connections += 1

    def handle(self):
        owner = self.server.owner
        buffered = b''
        try:
            while not owner.stopping.is_set():
                head, buffered = self._read_request(buffered)
                if head is None:
                    return
                authorization = _header(head, b'authorization')
                with owner.lock:
                    owner.requests += 1
                    if authorization:
                        owner.authorizations.append(authorization)
                if not authorization:
                    self.send(_head('401 Unauthorized', [
                        ('WWW-Authenticate', 'Digest realm="%s", nonce="%s",'
                         'stale="false",qop="auth"' % (REALM, 'n%d' % (
                             owner.requests))),
                        ('Content-Type', 'text/html'),
                        ('Content-Length', '0'), ('Connection', 'close')]))
                    return
                keep_open = BEHAVIOURS[owner.behaviour](self, owner)
                if not keep_open:
                    return
        except (_Stop, OSError):
            return

    def _read_request(self, data):
        while b'\r\n\r\n' not in data:
            if len(data) > MAX_REQUEST:
                raise _Stop()
            chunk = self.request.recv(BLOCK)
            if not chunk:
                return None, b''
            data += chunk
        head, _sep, rest = data.partition(b'\r\n\r\n')
        length = int(_header(head, b'content-length') or 0)
        if length > MAX_REQUEST:
            raise _Stop()
        while len(rest) < length:
            chunk = self.request.recv(BLOCK)
            if not chunk:
                return None, b''
            rest += chunk
        return head, rest[length:]

    def send(self, data):
        """Send, bounded by MAX_SEND and MAX_SECONDS (raises _Stop)."""
        if (self.sent + len(data) > MAX_SEND
                or time.monotonic() - self.started > MAX_SECONDS
                or self.server.owner.stopping.is_set()):
            raise _Stop()
        self.request.sendall(data)
        self.sent += len(data)
        with self.server.owner.lock:
            self.server.owner.bytes_sent += len(data)

    def pause(self, seconds):
        if self.server.owner.stopping.wait(seconds):
            raise _Stop()


def _header(head, name):
    for line in head.split(b'\r\n')[1:]:
        key, _sep, value = line.partition(b':')
        if key.strip().lower() == name:
            return value.strip().decode('latin-1')
    return None


def _answer(conn, body, content_type=SOAP, status='200 OK', extra=()):
    conn.send(_head(status, [('Content-Type', content_type),
                             ('Content-Length', str(len(body)))]
                    + list(extra)) + body)


def ok(conn, owner):
    """A correct answer on a kept-alive connection."""
    _answer(conn, POWER_STATE)
    return True


def ok_close(conn, owner):
    """A correct answer, then ``Connection: close`` (as AMT on errors)."""
    _answer(conn, POWER_STATE, extra=[('Connection', 'close')])
    return False


def trickle(conn, owner):
    """Headers, then one byte of body every ``owner.interval`` seconds."""
    body = POWER_STATE * 100
    conn.send(_head('200 OK', [('Content-Type', SOAP),
                               ('Content-Length', str(len(body)))]))
    for offset in range(len(body)):
        conn.pause(owner.interval)
        conn.send(body[offset:offset + 1])
    return False


def endless_body(conn, owner):
    """A body without length that never ends (until the client leaves)."""
    conn.send(_head('200 OK', [('Content-Type', SOAP)]))
    block = b'<a>' + b'x' * (BLOCK - 3)
    while True:
        conn.send(block)


def endless_chunked(conn, owner):
    """A chunked body whose chunks never end."""
    conn.send(_head('200 OK', [('Content-Type', SOAP),
                               ('Transfer-Encoding', 'chunked')]))
    block = b'x' * 16384
    chunk = b'%x\r\n%s\r\n' % (len(block), block)
    while True:
        conn.send(chunk)


def huge_length(conn, owner):
    """``Content-Length: 2147483648`` and a short body, then close."""
    conn.send(_head('200 OK', [('Content-Type', SOAP),
                               ('Content-Length', str(2 ** 31))]))
    conn.send(POWER_STATE)
    return False


def gzip_bomb(conn, owner):
    """A small gzip body that decodes to 32 MiB."""
    body = owner.gzip_bomb()
    _answer(conn, body, extra=[('Content-Encoding', 'gzip')])
    return True


def deep_xml(conn, owner):
    """Elements nested ``owner.depth`` deep."""
    _answer(conn, b'<a>' * owner.depth + b'</a>' * owner.depth)
    return True


def xml_bomb(conn, owner):
    """Entity expansion (billion laughs)."""
    _answer(conn, XML_BOMB)
    return True


def html_400(conn, owner):
    """Real AMT's answer to a malformed request."""
    _answer(conn, _HTML, content_type='text/html', status='400 Bad Request',
            extra=[('Connection', 'close')])
    return False


def wrong_content_type(conn, owner):
    """A 200 with an HTML page."""
    _answer(conn, _HTML.replace(b'400 Bad Request', b'Welcome'),
            content_type='text/html')
    return True


def reset_mid_body(conn, owner):
    """Part of the announced body, then a TCP reset."""
    conn.send(_head('200 OK', [('Content-Type', SOAP),
                               ('Content-Length', str(len(POWER_STATE)))]))
    conn.send(POWER_STATE[:len(POWER_STATE) // 3])
    conn.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack('ii', 1, 0))
    conn.request.close()
    return False


def redirect(conn, owner):
    """A redirect to another host (``owner.location``)."""
    conn.send(_head('302 Found', [('Location', owner.location),
                                  ('Content-Length', '0')]))
    return True


BEHAVIOURS = {f.__name__: f for f in (
    ok, ok_close, trickle, endless_body, endless_chunked, huge_length,
    gzip_bomb, deep_xml, xml_bomb, html_400, wrong_content_type,
    reset_mid_body, redirect)}


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class HostileServer(object):
    """A loopback "device" that misbehaves one way.

    Usable as a simulator device by ``ironic_amt.testing.nodes``
    (``address``, ``username``, ``password``, ``http_port``).

    :param behaviour: a key of :data:`BEHAVIOURS`.
    :param interval: seconds between two bytes of ``trickle``.
    :param depth: nesting of ``deep_xml``.
    :param location: the target of ``redirect``.
    """

    address = '127.0.0.1'
    username = 'admin'
    password = 'Hostile-Test-Pw1!'
    https_port = None

    def __init__(self, behaviour='ok', interval=0.2, depth=5000,
                 location='http://127.0.0.2:9/wsman'):
        if behaviour not in BEHAVIOURS:
            raise ValueError('Unknown behaviour %s' % behaviour)
        self.behaviour = behaviour
        self.interval = interval
        self.depth = depth
        self.location = location
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.connections = 0
        self.requests = 0
        self.bytes_sent = 0
        self.authorizations = []
        self._bomb = None
        self._server = None
        self._thread = None

    @property
    def http_port(self):
        return self._server.server_address[1]

    def gzip_bomb(self):
        """The gzip body of ``gzip_bomb`` (built by :meth:`start`)."""
        return self._bomb

    def start(self):
        """Listen on a free port of 127.0.0.1 and serve in a thread."""
        if self.behaviour == 'gzip_bomb':
            # Built before serving, so the answer itself is not slow.
            self._bomb = gzip.compress(b'\0' * (32 * 1024 * 1024))
        self._server = _Server(('127.0.0.1', 0), _Connection)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={'poll_interval': 0.05},
            name='hostile-%s' % self.behaviour, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the listening socket (bounded)."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
