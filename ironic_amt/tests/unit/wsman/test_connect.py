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

"""The bounded name lookup and connect of ironic_amt.wsman.connect."""

import socket
import threading
import time
from unittest import mock

import fixtures
from oslotest import base

from ironic_amt.wsman import connect
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import http

# Far longer than any time-out below: a wait this long is a failure.
STUCK = 30.0


class TCPConnectionTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(4)
        self.addCleanup(self.listener.close)
        self.port = self.listener.getsockname()[1]

    def stuck_resolver(self):
        """getaddrinfo that answers IP literals and hangs on names."""
        release = threading.Event()
        self.addCleanup(release.set)
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if kwargs.get('flags', 0) & socket.AI_NUMERICHOST:
                return real(host, port, *args, **kwargs)
            release.wait(STUCK)
            return real('127.0.0.1', port, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(socket, 'getaddrinfo',
                                                 side_effect=getaddrinfo))
        return release

    def test_ip_literal_needs_no_lookup_thread(self):
        with mock.patch.object(connect, '_lookup_pool',
                               autospec=True) as pool:
            sock = connect.tcp_connection('127.0.0.1', self.port, 5)
        self.addCleanup(sock.close)
        pool.assert_not_called()
        self.assertEqual(('127.0.0.1', self.port), sock.getpeername())

    def test_host_name_is_looked_up(self):
        sock = connect.tcp_connection('localhost', self.port, 5)
        self.addCleanup(sock.close)
        self.assertEqual(self.port, sock.getpeername()[1])

    def test_stuck_lookup_ends_with_the_time_out(self):
        release = self.stuck_resolver()
        error = self.assertRaises(socket.timeout, connect.tcp_connection,
                                  'amt.example.com', self.port, 0.2)
        self.assertIn('no address for the host name', str(error))
        # The caller did not wait for the resolver.
        self.assertFalse(release.is_set())

    def test_unknown_name_and_refused_connection(self):
        with mock.patch.object(socket, 'getaddrinfo', autospec=True,
                               side_effect=socket.gaierror(-2, 'unknown')):
            self.assertRaises(socket.gaierror, connect.tcp_connection,
                              'nowhere.invalid', self.port, 5)
        self.listener.close()
        self.assertRaises(ConnectionRefusedError, connect.tcp_connection,
                          '127.0.0.1', self.port, 5)

    def test_wsman_connection_bounded_by_its_deadline(self):
        release = self.stuck_resolver()
        endpoint = 'http://amt.example.com:%d/wsman' % self.port
        error = self.assertRaises(
            exceptions.WSManConnectTimeoutError, http.Connection.open,
            endpoint, 'amt.example.com', self.port, connect_timeout=10,
            read_timeout=10, deadline=time.monotonic() + 0.2)
        self.assertIn('no address for the host name', str(error))
        self.assertFalse(release.is_set())
