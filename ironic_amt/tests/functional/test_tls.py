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

"""Certificate verification against the simulator, and redirects."""

import http.server
import threading

import fixtures
from ironic.common import states
from ironic.conductor import task_manager
import requests

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.testing import driver_case as base
from ironic_amt.wsman import tls

CHALLENGE = ('Digest realm="Digest:0123456789ABCDEF0123456789ABCDEF", '
             'nonce="bQali2IAAAAAAAAAn0xaWCOcxNsRcEHX",stale="false",'
             'qop="auth"')


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 401 without Authorization, else the server's response."""

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        self.rfile.read(length)
        self.server.seen.append(self.headers.get('Authorization'))
        if self.server.location is None:
            self.send_response(200)
        elif self.headers.get('Authorization') is None:
            self.send_response(401)
            self.send_header('WWW-Authenticate', CHALLENGE)
        else:
            self.send_response(302)
            self.send_header('Location', self.server.location)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, format, *args):
        pass


def start_server(test, location=None):
    """Serve on 127.0.0.1 in a thread until the test ends.

    :param test: the test case (for cleanups).
    :param location: answer authenticated requests with a 302 to this
        URL; None answers 200 to everything.
    :returns: the server; ``seen`` lists the Authorization headers.
    """
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Recorder)
    server.daemon_threads = True
    server.seen = []
    server.location = location
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={'poll_interval': 0.1}, daemon=True)
    thread.start()
    test.addCleanup(thread.join, 5)
    test.addCleanup(server.server_close)
    test.addCleanup(server.shutdown)
    return server


class TLSTestCase(base.SimulatorTestCase):

    def _power_state(self, node):
        with task_manager.acquire(self.context, node.uuid) as task:
            return task.driver.power.get_power_state(task)

    def _https_node(self, **extra):
        node = self.make_node(protocol='https', **extra)
        if 'amt_verify_ca' not in extra:
            info = dict(node.driver_info)
            del info['amt_verify_ca']
            node.driver_info = info
            node.save()
        return node

    def _assert_refused(self, node):
        error = self.assertRaises(errors.AMTOperationError,
                                  self._power_state, node)
        self.assertIn('certificate verify failed', str(error))
        self.assertIn('amt_verify_ca', str(error))
        # Refused during the handshake: no request reached the device.
        self.assertEqual([], self.requests())

    def test_verified_by_default(self):
        self.assertEqual('True', str(common.CONF.amt.verify_ca))
        self._assert_refused(self._https_node())

    def test_conf_verify_ca_used_when_node_has_none(self):
        self.config(verify_ca=self.simulator.ca_cert_path, group='amt')
        self.assertEqual(states.POWER_OFF,
                         self._power_state(self._https_node()))

    def test_ca_bundle_of_the_device(self):
        node = self._https_node(amt_verify_ca=self.simulator.ca_cert_path)
        self.assertEqual(states.POWER_OFF, self._power_state(node))
        self.assertEqual({'https'}, {e['scheme'] for e in self.requests()})

    def test_nodes_share_one_context_and_resume_sessions(self):
        self.useFixture(fixtures.MockPatchObject(tls, '_CONTEXTS', {}))
        ca = self.simulator.ca_cert_path
        first = self.make_node('dev', protocol='https', amt_verify_ca=ca)
        second = self.make_node('nolms', protocol='https', amt_verify_ca=ca)
        for node in (first, second, first, second):
            self.assertEqual(states.POWER_OFF, self._power_state(node))
            # A new connection each time (as after AMT closes one).
            common.get_client(node).close()
        self.assertEqual(1, tls.context_count())
        for name in ('dev', 'nolms'):
            # The challenge's connection (closed by AMT: a full
            # handshake), the answer's and the next call's: resumed.
            self.assertEqual(
                [False, True, True],
                [e['tls_resumed']
                 for e in self.requests(name, tls_handshake=True)])

    def test_other_ca_bundle_refused(self):
        node = self._https_node(amt_verify_ca=requests.certs.where())
        self._assert_refused(node)

    def test_redirect_never_followed(self):
        target = start_server(self)
        redirect = start_server(
            self, 'http://127.0.0.1:%d/wsman' % target.server_address[1])
        node = self.make_node(amt_port=redirect.server_address[1])
        error = self.assertRaises(errors.AMTOperationError,
                                  self._power_state, node)
        self.assertIn('Unexpected HTTP status 302', str(error))
        # The challenge, then the authorised request answered with 302;
        # each attempt ends there and nothing goes to the new location.
        self.assertIsNone(redirect.seen[0])
        self.assertIn('Digest username="admin"', redirect.seen[1])
        self.assertEqual([], target.seen)
