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

"""The AMT HTTP endpoint of one device: faults, digest, WS-Man, logging.

Each HTTP exchange becomes one request-log entry.  Replies carry AMT's
headers: a 401 has the HTML page and ``Connection: close``; a 200 or a
SOAP fault (400) is chunked ``application/soap+xml`` with
``X-Frame-Options: DENY``.  The handshake cost of the timing profile and
the ``tls_delay`` fault are modelled by sleeping before the first reply
on a new TLS connection (the client cannot tell that
from a slow handshake, since it sees nothing until the reply).
"""

import asyncio
import email.utils
import time

from ironic_amt.simulator import profiles
from ironic_amt.simulator.transport import digest
from ironic_amt.simulator.transport import server

WSMAN_PATH = '/wsman'
SOAP_CONTENT_TYPE = 'application/soap+xml; charset=UTF-8'
# AMT sends its XML in chunks of roughly 0x200-0x300 bytes.
CHUNK_SIZES = (0x200, 0x2a0, 0x300, 0x260)

_ERROR_PAGE = (b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional'
               b'//EN" >\n<html><head><title>Intel&reg; Active Management '
               b'Technology</title></head><body><h2>%d %s</h2></body>'
               b'</html>\n')
_GARBAGE = b'\x00\xffThis is not XML<<<'
# Seconds between checks while holding an unresponsive connection.
_HOLD_STEP = 0.05


class Endpoint(object):
    """Serves WS-Man for one device on one scheme."""

    def __init__(self, device, scheme, service, auth):
        """Create the endpoint.

        :param device: the model.device.Device served.
        :param scheme: 'http' or 'https'.
        :param service: its protocol.service.Service.
        :param auth: its digest.DigestAuthority (shared by both schemes).
        """
        self.device = device
        self.scheme = scheme
        self.service = service
        self.auth = auth
        self.server_header = profiles.server_header(device.profile_info)

    def error_page(self, status):
        """The answer to a request that cannot be parsed.

        AMT answers a malformed HTTP request with an HTML error page and
        closes the connection (issue 16: its 400 carries ``Connection:
        close``), never with SOAP.

        :param status: the HTTP status (400 or 413).
        :returns: a server.HttpResponse.
        """
        return self._page(status)

    def _page(self, status, close=True, headers=()):
        body = _ERROR_PAGE % (status, server.REASONS[status].encode())
        return server.HttpResponse(
            status, list(headers) + [('Content-Type', 'text/html'),
                                     ('Server', self.server_header)],
            body, close=close)

    async def _hold(self, seconds):
        generation = self.device.faults.generation
        deadline = time.monotonic() + seconds
        while (time.monotonic() < deadline
               and self.device.faults.generation == generation):
            await asyncio.sleep(_HOLD_STEP)

    async def __call__(self, request, conn):
        """Answer one HTTP request.

        :param request: a server.HttpRequest.
        :param conn: its server.Connection.
        :returns: a server.HttpResponse.
        """
        faults = self.device.faults
        entry = {'event': 'request', 'scheme': self.scheme, 'conn': conn.id,
                 'new_connection': conn.new,
                 'tls_handshake': conn.new and self.scheme == 'https',
                 'tls_resumed': conn.new and conn.tls_resumed,
                 'status': None, 'auth': None, 'action': None,
                 'resource': None, 'method': None, 'args': {},
                 'return_value': None, 'fault': None, 'ignored': False,
                 'injected': []}
        try:
            response = await self._respond(request, conn, faults, entry)
        finally:
            self.device.record(entry)
        return response

    async def _respond(self, request, conn, faults, entry):
        injected = entry['injected']
        if entry['tls_handshake']:
            if self.device.timing.tls_handshake:
                await asyncio.sleep(self.device.timing.tls_handshake)
            params = faults.take('tls_delay')
            if params is not None:
                injected.append('tls_delay')
                await asyncio.sleep(params['seconds'])
        params = faults.take('latency')
        if params is not None:
            injected.append('latency')
            await asyncio.sleep(params['seconds'])
        params = faults.take('unresponsive')
        if params is not None:
            injected.append('unresponsive')
            await self._hold(params['seconds'])
            return server.HttpResponse(0, disposition=server.DROP)
        if faults.take('drop') is not None:
            injected.append('drop')
            return server.HttpResponse(0, disposition=server.DROP)
        if request.path != WSMAN_PATH:
            entry['status'] = 404
            return self._page(404)
        if request.method != 'POST':
            entry['status'] = 405
            return self._page(405, headers=[('Allow', 'POST')])

        authorization = request.headers.get('authorization')
        if authorization and faults.take('nonce_reset') is not None:
            injected.append('nonce_reset')
            self.auth.expire_nonces()
        auth = self.auth.check(authorization, request.method)
        entry['auth'] = auth
        if auth != digest.AUTH_OK:
            entry['status'] = 401
            return server.HttpResponse(401, [
                ('WWW-Authenticate', self.auth.challenge(
                    stale=auth == digest.AUTH_STALE)),
                ('Content-Type', 'text/html'),
                ('Server', self.server_header),
            ], digest.UNAUTHORIZED_PAGE, close=True)

        if faults.take('http_500') is not None:
            injected.append('http_500')
            entry['status'] = 500
            return self._page(500)
        outcome = self.service.handle(request.body, self.scheme)
        entry.update(outcome.info)
        entry['status'] = outcome.status
        if outcome.info['fault'] == 'AccessDenied':
            entry['auth'] = 'access_denied'
        body = outcome.body
        response = server.HttpResponse(outcome.status, [
            ('Date', email.utils.formatdate(usegmt=True)),
            ('Server', self.server_header),
            ('X-Frame-Options', 'DENY'),
            ('Content-Type', SOAP_CONTENT_TYPE),
        ], body, chunk_sizes=CHUNK_SIZES)
        if faults.take('garbage_xml') is not None:
            injected.append('garbage_xml')
            response.body = _GARBAGE
        elif faults.take('truncated_xml') is not None:
            injected.append('truncated_xml')
            response.body = body[:len(body) // 2]
        params = faults.take('reset')
        if params is not None:
            injected.append('reset')
            response.disposition = server.RESET
            response.fraction = params['fraction']
        return response
