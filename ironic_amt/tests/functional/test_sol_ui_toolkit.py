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

"""Intel's own redirection client against the simulator's SOL port.

The AMTRedirector of the npm package @device-management-toolkit/
ui-toolkit (as shipped) runs under Node and reaches the device's plain
redirection port through websockify, standing in for Intel's MPS/Console.
Node, npm, websockify and the package are installed by the test when
missing (bounded in time), never skipped.
"""

import json
import os
import socket
import subprocess

import testtools

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.testing import harness
from ironic_amt.testing import packages
from ironic_amt.testing import waiting

PACKAGE = '@device-management-toolkit/ui-toolkit'
VERSION = '3.3.12'
SCRIPT = os.path.join(os.path.dirname(packages.__file__),
                      'ui_toolkit_sol.js')
PASSWORD = 'Uit-Passw0rd!'
WAIT = 30


class UIToolkitSOLTestCase(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        paths = packages.ensure_commands({'websockify': 'websockify',
                                          'node': 'nodejs'})
        cls.websockify = paths['websockify']
        cls.node = paths['node']
        cls.package_dir = packages.ensure_npm_package(PACKAGE, VERSION)

    def setUp(self):
        super().setUp()
        # AMT 12: the profile whose exchange MeshCommander captured, with
        # the plain redirection port a WebSocket relay can reach.
        self.sim = Simulator([DeviceSpec(
            name='uit-1', password=PASSWORD, profile='12', power_delay=0.05,
            features={'sol': True, 'listener': True})])
        self.sim.start()
        self.addCleanup(self.sim.stop)
        self.dev = self.sim.device('uit-1')
        self.relay_port = harness.free_port()
        relay = subprocess.Popen(
            [self.websockify, '127.0.0.1:%d' % self.relay_port,
             '127.0.0.1:%d' % self.dev.redirection_port],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.addCleanup(self._stop, relay)
        waiting.wait_until(self._relay_listening, WAIT, 0.1,
                           'websockify listening')

    def _relay_listening(self):
        try:
            socket.create_connection(('127.0.0.1', self.relay_port),
                                     1).close()
            return True
        except OSError:
            return False

    @staticmethod
    def _stop(proc):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def run_redirector(self, correct, power_on=False):
        env = dict(os.environ, UIT_DIR=self.package_dir,
                   RELAY_URL='ws://127.0.0.1:%d' % self.relay_port,
                   AMT_USER='admin', AMT_PASSWORD=PASSWORD,
                   UIT_CORRECT='1' if correct else '0', UIT_TYPE='uit-typed',
                   UIT_TIMEOUT_MS=str(WAIT * 1000))
        proc = subprocess.Popen([self.node, SCRIPT], env=env,
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(self._stop, proc)
        if power_on:
            waiting.wait_until(
                lambda: (self.dev.redirection.session_open
                         or proc.poll() is not None),
                WAIT, 0.05, 'SOL session of the redirector')
            self.dev.set_power_state(2)
        stdout, stderr = proc.communicate(timeout=WAIT + 10)
        events = [json.loads(line) for line in stdout.splitlines()]
        return proc.returncode, events, stderr

    def auth_events(self):
        return [e for e in self.dev.request_log
                if e['event'] == 'redirection_auth']

    def test_uncorrected_digest_is_refused(self):
        code, events, _stderr = self.run_redirector(correct=False)
        self.assertEqual(4, code, events)
        self.assertNotIn({'event': 'state', 'state': 3}, events)
        refused = self.auth_events()
        self.assertEqual("URI '' is not /RedirectionService",
                         refused[0]['reason'])
        self.assertTrue(all(e['result'] == 'refused' for e in refused))
        self.assertFalse(self.dev.redirection.session_open)

    def test_corrected_redirector_sees_the_stream_and_echo(self):
        code, events, stderr = self.run_redirector(correct=True,
                                                   power_on=True)
        self.assertEqual(0, code, (events, stderr))
        self.assertIn({'event': 'state', 'state': 3}, events)
        output = ''.join(e['data'] for e in events if e['event'] == 'data')
        self.assertIn('Intel(R) AMT simulated firmware 12.0', output)
        self.assertIn('Boot source: disk [hard disk] (no override)',
                      output)
        self.assertTrue(output.endswith('uit-1 login: uit-typed'), output)
        self.assertEqual([{'event': 'redirection_auth', 'result': 'ok'}],
                         [{'event': e['event'], 'result': e['result']}
                          for e in self.auth_events()])
