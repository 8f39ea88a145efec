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

"""A fake device at the connection level, for unit tests of the client.

:class:`FakeHTTP` replaces :meth:`ironic_amt.wsman.http.Connection.open`:
the transport (digest flow, pooling, request bytes) runs for real, and the
fake parses each request it sends and answers from registered responses,
in the manner of requests_mock: ``post(responses)`` or ``post(**one)``,
the last response repeating; ``request_history`` and ``call_count``.
Socket-level behaviour (caps, deadlines, TLS) is tested against real
servers instead.
"""

import fixtures
from requests import structures

from ironic_amt.wsman import http

SOAP = 'application/soap+xml;charset=UTF-8'


class FakeRequest(object):
    """One request the transport sent."""

    def __init__(self, url, raw):
        head, _sep, self.body = raw.partition(b'\r\n\r\n')
        lines = head.decode('latin-1').split('\r\n')
        self.method, self.path, _version = lines[0].split(' ')
        self.url = url
        self.headers = structures.CaseInsensitiveDict(
            line.split(': ', 1) for line in lines[1:])


class Context(object):
    """What a callback may set on its answer."""

    def __init__(self):
        self.status_code = 200
        self.headers = {}


class FakeHTTP(fixtures.Fixture):
    """Answers the transport's exchanges from registered responses."""

    def _setUp(self):
        self.request_history = []
        self.opened = []
        self._responses = [{'status_code': 404, 'content': b''}]
        fake = self

        class FakeConnection(object):
            tls_session = None
            tls_resumed = False

            def __init__(self, endpoint):
                self.endpoint = endpoint
                self.exchanges = 0
                self.bytes_read = 0

            def exchange(self, request, max_body, deadline):
                self.exchanges += 1
                return fake._answer(self.endpoint, request)

            def is_dropped(self):
                return False

            def close(self):
                pass

        def open_connection(endpoint, host, port, connect_timeout,
                            read_timeout, deadline, **kwargs):
            self.opened.append(dict(kwargs, host=host, port=port,
                                    connect_timeout=connect_timeout,
                                    read_timeout=read_timeout))
            return FakeConnection(endpoint)

        self.useFixture(fixtures.MockPatchObject(
            http.Connection, 'open', side_effect=open_connection))

    @property
    def call_count(self):
        return len(self.request_history)

    @property
    def last_request(self):
        return self.request_history[-1]

    def post(self, url, responses=None, **one):
        """Register the answers (for the one endpoint under test).

        :param url: the endpoint URL (for readability; one endpoint).
        :param responses: a list of dicts with status_code, content or
            text, headers or exc; or one such dict as keyword arguments.
        """
        self._responses = list(responses or [one])

    def _answer(self, url, raw):
        request = FakeRequest(url, raw)
        self.request_history.append(request)
        spec = (self._responses.pop(0) if len(self._responses) > 1
                else self._responses[0])
        if 'exc' in spec:
            raise spec['exc']
        context = Context()
        context.status_code = spec.get('status_code', 200)
        context.headers.update(spec.get('headers', {}))
        content = spec.get('content', spec.get('text', b''))
        if callable(content):
            content = content(request, context)
        if isinstance(content, str):
            content = content.encode()
        headers = {'content-type': SOAP}
        headers.update((k.lower(), v) for k, v in context.headers.items())
        return http.Response(
            context.status_code, headers, content,
            'close' not in headers.get('connection', ''))
