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

"""A small asyncio HTTP/1.1 server: many listeners, one loop.

It parses requests (Content-Length or chunked bodies, ``Expect:
100-continue``, keep-alive) and hands each to an async handler, which
returns an HttpResponse.  A response can also ask for the connection to
be dropped without an answer or reset part way through the body, which
is how injected network faults are played.  TLS comes from ``ssl``
contexts passed to asyncio, so a thousand devices cost no threads.
"""

import asyncio
import collections
import itertools
import urllib.parse

# Largest request head and body accepted.
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
# Seconds a keep-alive connection may sit idle before it is closed.
IDLE_TIMEOUT = 120

REASONS = {100: 'Continue', 200: 'OK', 400: 'Bad Request',
           401: 'Unauthorized', 404: 'Not Found',
           405: 'Method Not Allowed', 411: 'Length Required',
           413: 'Payload Too Large', 500: 'Internal Server Error',
           501: 'Not Implemented'}

# What to do with the connection instead of (or while) answering.
DROP = 'drop'
RESET = 'reset'


class HttpError(Exception):
    """A request that cannot be parsed; answered with ``status``."""

    def __init__(self, status, message):
        """Create the error.

        :param status: the HTTP status to answer with.
        :param message: a short explanation (sent as the body).
        """
        super().__init__(message)
        self.status = status


HttpRequest = collections.namedtuple('HttpRequest', [
    'method', 'target', 'path', 'query', 'version', 'headers', 'body',
    'keep_alive'])
"""A parsed request; header names are lower case, query is a dict."""


class HttpResponse(object):
    """A response to write, or a connection fault to play."""

    def __init__(self, status, headers=(), body=b'', chunk_sizes=None,
                 close=False, disposition=None, fraction=0.5):
        """Create the response.

        :param status: the HTTP status code.
        :param headers: (name, value) pairs, in order; Content-Length or
            Transfer-Encoding is added.
        :param body: the body bytes.
        :param chunk_sizes: send the body chunked, cycling through these
            chunk sizes; None sends Content-Length.
        :param close: close the connection after this response.
        :param disposition: None, DROP (close without answering) or RESET
            (send the head and ``fraction`` of the body, then abort).
        :param fraction: see disposition.
        """
        self.status = status
        self.headers = list(headers)
        self.body = body
        self.chunk_sizes = chunk_sizes
        self.close = close
        self.disposition = disposition
        self.fraction = fraction

    def encode(self):
        """Serialise the response.

        :returns: (head bytes, body bytes as sent on the wire).
        """
        lines = ['HTTP/1.1 %d %s' % (self.status,
                                     REASONS.get(self.status, 'Unknown'))]
        lines.extend('%s: %s' % pair for pair in self.headers)
        if self.chunk_sizes:
            lines.append('Transfer-Encoding: chunked')
            parts = []
            sizes = itertools.cycle(self.chunk_sizes)
            offset = 0
            while offset < len(self.body):
                chunk = self.body[offset:offset + next(sizes)]
                offset += len(chunk)
                parts.append(b'%x\r\n%s\r\n' % (len(chunk), chunk))
            parts.append(b'0\r\n\r\n')
            body = b''.join(parts)
        else:
            lines.append('Content-Length: %d' % len(self.body))
            body = self.body
        if self.close:
            lines.append('Connection: close')
        head = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')
        return head, body


class Connection(object):
    """One accepted connection, as a handler sees it."""

    def __init__(self, conn_id, scheme, peer, tls_resumed=False):
        """Create the record.

        :param conn_id: a number unique within the server.
        :param scheme: 'http' or 'https'.
        :param peer: the peer address tuple.
        :param tls_resumed: whether the TLS handshake resumed a session
            (an abbreviated handshake, no certificate exchange).
        """
        self.id = conn_id
        self.scheme = scheme
        self.peer = peer
        self.tls_resumed = tls_resumed
        self.requests = 0

    @property
    def new(self):
        """Whether the current request is the first on this connection."""
        return self.requests == 1


async def _read_chunked(reader):
    parts = []
    total = 0
    while True:
        line = await reader.readline()
        try:
            size = int(line.split(b';', 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(400, 'bad chunk size')
        if size == 0:
            break
        total += size
        if total > MAX_BODY:
            raise HttpError(413, 'body too large')
        data = await reader.readexactly(size + 2)
        parts.append(data[:-2])
    while (await reader.readline()).strip():
        pass    # trailer fields are ignored
    return b''.join(parts)


async def read_request(reader, writer):
    """Read one request from a connection.

    :param reader: the asyncio StreamReader.
    :param writer: the StreamWriter (for ``100 Continue``).
    :returns: an HttpRequest, or None when the peer closed cleanly.
    :raises: HttpError for a malformed request.
    """
    try:
        head = await reader.readuntil(b'\r\n\r\n')
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise HttpError(400, 'incomplete request head')
        return None
    except asyncio.LimitOverrunError:
        raise HttpError(400, 'request head too large')
    lines = head.decode('latin-1').split('\r\n')
    try:
        method, target, version = lines[0].split(' ')
    except ValueError:
        raise HttpError(400, 'bad request line')
    if not version.startswith('HTTP/1.'):
        raise HttpError(400, 'unsupported HTTP version')
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(':')
        if not sep:
            raise HttpError(400, 'bad header line')
        headers[name.strip().lower()] = value.strip()
    if headers.get('expect', '').lower() == '100-continue':
        writer.write(b'HTTP/1.1 100 Continue\r\n\r\n')
    if 'chunked' in headers.get('transfer-encoding', '').lower():
        body = await _read_chunked(reader)
    elif 'content-length' in headers:
        try:
            length = int(headers['content-length'])
        except ValueError:
            raise HttpError(400, 'bad Content-Length')
        if length > MAX_BODY or length < 0:
            raise HttpError(413, 'body too large')
        body = await reader.readexactly(length)
    else:
        body = b''
    connection = headers.get('connection', '').lower()
    keep_alive = ('close' not in connection if version == 'HTTP/1.1'
                  else 'keep-alive' in connection)
    url = urllib.parse.urlsplit(target)
    query = dict(urllib.parse.parse_qsl(url.query))
    return HttpRequest(method, target, url.path, query, version, headers,
                       body, keep_alive)


class HttpServer(object):
    """Listeners sharing one event loop, and their open connections."""

    def __init__(self):
        """Create the server (no listener yet)."""
        self._servers = []
        self._tasks = set()
        self._ids = itertools.count(1)

    async def listen(self, host, port, handler, scheme='http',
                     ssl_context=None, error_page=None):
        """Open a listener.

        :param host: the address to bind.
        :param port: the port, 0 for any.
        :param handler: ``async handler(request, connection)`` returning an
            HttpResponse.
        :param scheme: 'http' or 'https' (recorded on connections).
        :param ssl_context: a server SSLContext for TLS.
        :param error_page: ``error_page(status)`` returning the
            HttpResponse for a request that cannot be parsed (the
            connection is closed after it); default a plain text answer.
        :returns: the bound port.
        """
        async def serve(reader, writer):
            await self._serve(reader, writer, handler, scheme, error_page)

        return await self.listen_stream(host, port, serve, ssl_context)

    async def listen_stream(self, host, port, serve, ssl_context=None):
        """Open a listener for any stream protocol (not only HTTP).

        close() cancels connections still open and closes the listener,
        so a protocol server built on this needs no cleanup of its own.

        :param host: the address to bind.
        :param port: the port, 0 for any.
        :param serve: ``async serve(reader, writer)`` for each connection;
            the writer is closed when it returns.
        :param ssl_context: a server SSLContext for TLS.
        :returns: the bound port.
        """
        async def on_connect(reader, writer):
            task = asyncio.current_task()
            self._tasks.add(task)
            try:
                await serve(reader, writer)
            except (ConnectionError, TimeoutError,
                    asyncio.IncompleteReadError, asyncio.CancelledError):
                # close() cancels open connections; end quietly, because
                # asyncio reports a connection task that ends cancelled.
                pass
            finally:
                self._tasks.discard(task)
                writer.close()

        server = await asyncio.start_server(
            on_connect, host, port, ssl=ssl_context, limit=MAX_HEAD,
            reuse_address=True, backlog=128)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def _serve(self, reader, writer, handler, scheme, error_page):
        tls = writer.get_extra_info('ssl_object')
        conn = Connection(next(self._ids), scheme,
                          writer.get_extra_info('peername'),
                          tls_resumed=bool(tls and tls.session_reused))
        while True:
            try:
                async with asyncio.timeout(IDLE_TIMEOUT):
                    request = await read_request(reader, writer)
            except HttpError as exc:
                response = (error_page(exc.status) if error_page else
                            HttpResponse(exc.status,
                                         [('Content-Type', 'text/plain')],
                                         str(exc).encode()))
                response.close = True
                await self._write(writer, response)
                break
            if request is None:
                break
            conn.requests += 1
            response = await handler(request, conn)
            if response.disposition == DROP:
                break
            if response.disposition == RESET:
                head, body = response.encode()
                writer.write(head + body[:int(len(body)
                                              * response.fraction)])
                await writer.drain()
                writer.transport.abort()
                break
            await self._write(writer, response)
            if response.close or not request.keep_alive:
                break

    @staticmethod
    async def _write(writer, response):
        head, body = response.encode()
        writer.write(head + body)
        await writer.drain()

    async def close(self):
        """Close every listener and every open connection."""
        for server in self._servers:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers = []
