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

"""The control API, the log file and the console script."""

import json
import os
import select
import signal
import subprocess
import sys

import fixtures
import requests

from ironic_amt.tests.functional import test_simulator as base

WAIT = base.WAIT


class ControlApiTestCase(base.SimulatorTestCase):

    def control(self, method, path, expect=200, **kwargs):
        response = requests.request(method, self.sim.control_url + path,
                                    timeout=WAIT, **kwargs)
        self.assertEqual(expect, response.status_code, response.text)
        self.assertNotIn(base.PASSWORD, response.text)
        return response.json()

    def test_list_and_show(self):
        devices = self.control('GET', '/devices')
        self.assertEqual([{'name': 'node-1', 'address': '127.0.0.1',
                           'http_port': self.dev.http_port,
                           'https_port': self.dev.https_port,
                           'redirection_port': self.dev.redirection_port,
                           'redirection_tls_port':
                               self.dev.redirection_tls_port,
                           'username': 'admin', 'realm': self.dev.realm,
                           'profile': '16.1'}], devices)
        state = self.control('GET', '/devices/node-1')
        self.assertEqual(8, state['power_state'])
        self.assertEqual(32768, state['boot_override']['role'])
        self.assertEqual([], state['boot_history'])
        self.assertIsNone(state['last_boot_source'])
        self.assertEqual(self.dev.system_uuid, state['system_uuid'])

    def test_power_and_os_boot(self):
        self.control('POST', '/devices/node-1/boot', expect=400)
        state = self.control('POST', '/devices/node-1/power',
                             json={'state': 2})
        self.assertEqual(2, state['power_state'])
        self.assertEqual('disk', state['last_boot_source'])
        event = self.control('POST', '/devices/node-1/boot')
        self.assertEqual(('boot', 'os'), (event['event'], event['via']))
        self.control('POST', '/devices/node-1/power', expect=400,
                     json={'state': 5})

    def test_faults(self):
        self.control('POST', '/devices/node-1/faults',
                     json={'fault': 'http_500', 'count': 1})
        state = self.control('GET', '/devices/node-1')
        self.assertEqual([{'fault': 'http_500', 'count': 1,
                           'probability': None, 'params': {}}],
                         state['faults'])
        # The digest challenge is not counted, the request after it is.
        response = self.post(base.envelope(base.TRANSFER + 'Get',
                                           base.class_uri('CIM_Chassis')))
        self.assertEqual(500, response.status_code)
        self.control('POST', '/devices/node-1/faults',
                     json={'fault': 'latency', 'seconds': 0.01})
        self.control('DELETE', '/devices/node-1/faults')
        self.assertEqual([], self.dev.faults.describe())
        self.control('POST', '/devices/node-1/faults', expect=400,
                     json={'fault': 'meteor'})
        self.control('POST', '/devices/node-1/faults', expect=400,
                     data='not json')

    def test_log(self):
        self.get('CIM_Chassis')
        log = self.control('GET', '/devices/node-1/log')
        self.assertEqual([401, 200], [e['status'] for e in log])
        later = self.control('GET', '/devices/node-1/log?since=%d'
                             % log[0]['seq'])
        self.assertEqual([log[1]], later)
        self.control('DELETE', '/devices/node-1/log')
        self.assertEqual([], self.control('GET', '/devices/node-1/log'))

    def test_errors(self):
        self.control('GET', '/devices/nope', expect=404)
        self.control('GET', '/elsewhere', expect=404)
        self.control('PUT', '/devices/node-1/log', expect=405)
        self.control('POST', '/devices', expect=405)


class ConsoleScriptTestCase(base.testtools.TestCase):

    def run_simulator(self, *args):
        tmp = self.useFixture(fixtures.TempDir()).path
        ready = os.path.join(tmp, 'ready.json')
        script = os.path.join(os.path.dirname(sys.executable),
                              'ironic-amt-simulator')
        proc = subprocess.Popen(
            [script, '--ready-file', ready] + list(args), cwd=tmp,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self._reap, proc)
        readable, _w, _x = select.select([proc.stdout], [], [], 60)
        self.assertTrue(readable, 'no ready line')
        line = proc.stdout.readline().decode()
        with open(ready) as f:
            self.assertEqual(line, f.read())
        return proc, json.loads(line), tmp

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT)
        proc.stdout.close()
        proc.stderr.close()

    def test_devices_and_sigterm(self):
        proc, info, tmp = self.run_simulator(
            '--devices', '2', '--password', base.PASSWORD,
            '--log-file', 'LOG')
        self.assertNotIn(base.PASSWORD, json.dumps(info))
        self.assertEqual(['amt-0', 'amt-1'],
                         [d['name'] for d in info['devices']])
        device = info['devices'][1]
        self.assertEqual({'name', 'address', 'http_port', 'https_port',
                          'redirection_port', 'redirection_tls_port',
                          'username', 'realm', 'profile'}, set(device))
        self.assertTrue(all(device[key] for key in (
            'redirection_port', 'redirection_tls_port')))
        session = requests.Session()
        self.addCleanup(session.close)
        session.auth = requests.auth.HTTPDigestAuth('admin', base.PASSWORD)
        response = session.post(
            'https://127.0.0.1:%d/wsman' % device['https_port'],
            data=base.envelope(base.TRANSFER + 'Get',
                               base.class_uri('AMT_GeneralSettings')),
            verify=info['ca_cert'], timeout=WAIT)
        self.assertEqual(200, response.status_code)
        self.assertIn(device['realm'], response.text)
        state = requests.get(info['control_url'] + '/devices/amt-1',
                             timeout=WAIT).json()
        self.assertEqual(8, state['power_state'])
        os.kill(proc.pid, signal.SIGTERM)
        self.assertEqual(0, proc.wait(WAIT))
        with open(os.path.join(tmp, 'LOG')) as f:
            logged = [json.loads(line) for line in f]
        self.assertIn(('amt-1', 'Get', 'AMT_GeneralSettings', 200),
                      [(e['device'], e['action'], e['resource'], e['status'])
                       for e in logged])

    def test_config_file(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'sim.json')
        with open(path, 'w') as f:
            json.dump({'defaults': {'password': base.PASSWORD,
                                    'profile': '12'},
                       'devices': [{'name': 'a'},
                                   {'name': 'b', 'power_state': 2}]}, f)
        proc, info, _tmp = self.run_simulator('--config', path)
        self.assertEqual(['12', '12'],
                         [d['profile'] for d in info['devices']])
        state = requests.get(info['control_url'] + '/devices/b',
                             timeout=WAIT).json()
        self.assertEqual(2, state['power_state'])
        os.kill(proc.pid, signal.SIGINT)
        self.assertEqual(0, proc.wait(WAIT))

    def test_bad_arguments(self):
        script = os.path.join(os.path.dirname(sys.executable),
                              'ironic-amt-simulator')
        result = subprocess.run([script, '--devices', '1', '--profile',
                                 '3.0'], capture_output=True, timeout=WAIT)
        self.assertEqual(2, result.returncode)
        self.assertIn(b'Unknown AMT profile', result.stderr)
