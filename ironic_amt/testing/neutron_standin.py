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

"""A minimal, read-only Neutron stand-in for the Nova tests.

This is NOT Neutron. Instances in the Nova tests boot with ``--nic none``,
yet Nova still asks the networking service for the ports and floating IPs
of an instance when it shows, lists and deletes servers. This stand-in
answers exactly those list calls, and the extension list, with empty
lists; any other request (every write, any unknown path) gets a 404, and
every request is recorded so that a test can check that Nova only read.
It does not check tokens.
"""

import http.server
import json
import threading
import urllib.parse

from ironic_amt.testing import harness

# Collections Nova lists on the paths of a server without NICs.
LIST_COLLECTIONS = frozenset(['ports', 'floatingips', 'networks', 'subnets',
                              'security-groups', 'extensions'])
API_PREFIX = '/v2.0/'


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _discard_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))

    def _handle(self):
        self._discard_body()
        path = urllib.parse.urlsplit(self.path).path
        collection = None
        if path.startswith(API_PREFIX):
            collection = path[len(API_PREFIX):].rstrip('/')
        self.server.record(self.command, self.path)
        if self.command == 'GET' and path.rstrip('/') in ('', '/v2.0'):
            self._reply(200, {'versions': [{'id': 'v2.0',
                                            'status': 'CURRENT'}]})
        elif self.command == 'GET' and collection in LIST_COLLECTIONS:
            self._reply(200, {collection.replace('-', '_'): []})
        else:
            self._reply(404, {'NeutronError': {
                'type': 'HTTPNotFound', 'detail': '',
                'message': 'read-only Neutron stand-in: %s %s is not served'
                           % (self.command, path)}})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.requests = []
        self._lock = threading.Lock()

    def record(self, method, path):
        with self._lock:
            self.requests.append((method, path))

    def recorded(self):
        with self._lock:
            return list(self.requests)


class NeutronStandIn(harness.ServerThread):
    """The read-only stand-in, served by a thread on 127.0.0.1."""

    def __init__(self):
        """Bind the server (on a free port)."""
        server = _Server()
        self.url = 'http://127.0.0.1:%d' % server.server_address[1]
        super().__init__(server, 'neutron-standin')

    @property
    def requests(self):
        """The (method, path) of every request so far, in order."""
        return self._server.recorded()
