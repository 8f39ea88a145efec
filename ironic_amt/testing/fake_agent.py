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

"""A minimal ironic-python-agent stand-in for ``direct`` deploys.

It speaks the agent side of the ramdisk API on 127.0.0.1: lookup (to get
the agent token), a heartbeat loop, and the command endpoint answering what
Ironic sends during a whole-disk ``direct`` deploy. Nothing is written
anywhere; every command succeeds at once and is recorded in ``commands``.

``AgentLauncher`` plays the machine: it starts an agent whenever the
simulated device boots from the network and stops it when the device is
powered off, as a real ramdisk would come and go.
"""

import http.server
import json
import threading
import time
import urllib.parse
import uuid

import requests

AGENT_VERSION = '11.0.0'
# 1.68 is the first API version that accepts every heartbeat field sent.
RAMDISK_API_VERSION = '1.68'
HEARTBEAT_INTERVAL = 0.5
LIFETIME = 120.0
WATCH_INTERVAL = 0.05
POWER_OFF = 8

HARDWARE_MANAGER_VERSION = {'generic_hardware_manager': '1.2'}

# The in-band steps a real agent reports (none runs unless requested). The
# list must not be empty: Ironic reloads an empty cache on every heartbeat.
AGENT_STEPS = {
    'deploy': [{'step': 'write_image', 'priority': 0, 'interface': 'deploy',
                'reboot_requested': False}],
    'clean': [{'step': 'erase_devices_metadata', 'priority': 0,
               'interface': 'deploy', 'reboot_requested': False}],
}


def _steps_result(kind):
    return {'%s_steps' % kind: {'GenericHardwareManager': AGENT_STEPS[kind]},
            'hardware_manager_version': HARDWARE_MANAGER_VERSION}


def _step_result(kind, params):
    return {'%s_result' % kind: None, '%s_step' % kind: params.get('step')}


# Agent command (extension.name) -> function(params) giving its result.
COMMANDS = {
    'deploy.get_deploy_steps': lambda p: _steps_result('deploy'),
    'deploy.execute_deploy_step': lambda p: _step_result('deploy', p),
    'clean.get_clean_steps': lambda p: _steps_result('clean'),
    'clean.execute_clean_step': lambda p: _step_result('clean', p),
    'standby.get_partition_uuids': lambda p: {},
    'image.install_bootloader': lambda p: None,
    'standby.sync': lambda p: None,
    'standby.power_off': lambda p: None,
}


class FakeAgent(object):
    """One booted ramdisk: an agent API server plus a heartbeat thread."""

    def __init__(self, api_url, macs=(), node_uuid=None,
                 heartbeat_interval=HEARTBEAT_INTERVAL, lifetime=LIFETIME,
                 token=None):
        """Prepare the agent; nothing runs before start().

        :param api_url: the Ironic API root, e.g. 'http://127.0.0.1:6385'.
        :param macs: MAC addresses used for the lookup.
        :param node_uuid: the node UUID used for the lookup.
        :param token: the agent token given on the kernel command line
            (``ipa-agent-token``, when Ironic built the ISO); the lookup
            does not reveal a pregenerated token.
        :param heartbeat_interval: seconds between two heartbeats.
        :param lifetime: seconds after which the agent stops by itself.
        """
        self.api_url = api_url.rstrip('/')
        self.macs = list(macs)
        self.node_uuid = node_uuid
        self.heartbeat_interval = heartbeat_interval
        self.lifetime = lifetime
        self.commands = []
        self.heartbeats = 0
        self.errors = []
        self.token = None
        self._given_token = token
        self._stop = threading.Event()
        self._session = requests.Session()
        self._session.headers['X-OpenStack-Ironic-API-Version'] = (
            RAMDISK_API_VERSION)
        self._server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), self._handler_class())
        self._server.daemon_threads = True
        self.callback_url = 'http://127.0.0.1:%d' % (
            self._server.server_address[1])
        self._threads = [
            threading.Thread(target=self._server.serve_forever,
                             kwargs={'poll_interval': 0.2},
                             name='fake-agent-api', daemon=True),
            threading.Thread(target=self._run, name='fake-agent-heartbeat',
                             daemon=True),
        ]

    def start(self):
        """Start serving the agent API and heartbeating."""
        for thread in self._threads:
            thread.start()

    def stop(self):
        """Stop heartbeating and serving; join the threads (bounded)."""
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(5)
        self._session.close()

    def command_names(self):
        """Return the names of the commands received, in order.

        :returns: a list like ['deploy.get_deploy_steps', ...].
        """
        return [c['full_name'] for c in self.commands]

    def _run(self):
        deadline = time.monotonic() + self.lifetime
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if self.token is None:
                    self._lookup()
                if self.token is not None:
                    self._heartbeat()
            except requests.RequestException as e:
                self.errors.append(str(e))
            self._stop.wait(self.heartbeat_interval)

    def _lookup(self):
        params = {}
        if self.macs:
            params['addresses'] = ','.join(self.macs)
        if self.node_uuid:
            params['node_uuid'] = self.node_uuid
        resp = self._session.get(self.api_url + '/v1/lookup', params=params,
                                 timeout=10)
        if resp.ok:
            body = resp.json()
            self.node_uuid = body['node']['uuid']
            self.token = self._given_token or body['config']['agent_token']

    def _heartbeat(self):
        resp = self._session.post(
            self.api_url + '/v1/heartbeat/%s' % self.node_uuid,
            json={'callback_url': self.callback_url,
                  'agent_token': self.token,
                  'agent_version': AGENT_VERSION},
            timeout=10)
        if resp.ok:
            self.heartbeats += 1
        else:
            self.errors.append('heartbeat %d: %s'
                               % (resp.status_code, resp.text[:200]))

    def _execute(self, name, params):
        result = {'id': str(uuid.uuid4()),
                  'command_name': name.split('.', 1)[-1],
                  'command_params': params,
                  'command_status': 'SUCCEEDED',
                  'command_error': None,
                  'command_result': COMMANDS[name](params)}
        self.commands.append(dict(result, full_name=name))
        return result

    def _handler_class(self):
        agent = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def _reply(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self):
                query = urllib.parse.urlparse(self.path).query
                token = urllib.parse.parse_qs(query).get('agent_token')
                if token == [agent.token]:
                    return True
                self._reply(401, {'faultstring': 'Invalid agent_token'})
                return False

            def do_GET(self):
                if not self._authorized():
                    return
                commands = [{k: v for k, v in c.items() if k != 'full_name'}
                            for c in agent.commands]
                self._reply(200, {'commands': commands})

            def do_POST(self):
                if not self._authorized():
                    return
                length = int(self.headers.get('Content-Length') or 0)
                body = json.loads(self.rfile.read(length) or b'{}')
                name = body.get('name')
                if name not in COMMANDS:
                    self._reply(400, {'faultstring':
                                      'Unknown command: %s' % name})
                    return
                self._reply(200, agent._execute(name, body.get('params')))

        return Handler


class AgentLauncher(object):
    """Start a FakeAgent each time a device boots the agent ramdisk.

    It watches a simulator device (``boot_history``, ``power_state``): a
    new boot event with source 'pxe' starts an agent (the ramdisk came up);
    an 'https' boot starts one once the simulated firmware has loaded the
    ISO, with the API URL and agent token of the ISO's kernel command line
    (an ISO without them, or a failed boot, starts none). The device being
    powered off stops it.
    """

    def __init__(self, device, api_url, macs=(), lifetime=LIFETIME):
        """Prepare the watcher; nothing runs before start().

        :param device: the simulator Device of the node.
        :param api_url: the Ironic API root.
        :param macs: the node's MAC addresses, used for the lookup.
        :param lifetime: seconds after which the watcher stops.
        """
        self.device = device
        self.api_url = api_url
        self.macs = list(macs)
        self.lifetime = lifetime
        self.agents = []
        self._current = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run,
                                        name='fake-agent-launcher',
                                        daemon=True)

    def start(self):
        """Start watching the device."""
        self._thread.start()

    def stop(self):
        """Stop watching and stop the running agent (bounded)."""
        self._stop.set()
        self._thread.join(10)
        self._stop_agent()

    def _stop_agent(self):
        if self._current is not None:
            self._current.stop()
            self._current = None

    def _start_agent(self, api_url, token=None):
        self._current = FakeAgent(api_url, macs=self.macs,
                                  lifetime=self.lifetime, token=token)
        self._current.start()
        self.agents.append(self._current)

    def _https_booted(self, event):
        """Start an agent for an HTTPS boot; False while it is loading."""
        result = self.device.ocr.result_for(event['seq'])
        if result is None:
            return False
        params = result.get('kernel_params') or {}
        if result['result'] == 'booted' and params.get('ipa-api-url'):
            self._start_agent(params['ipa-api-url'],
                              params.get('ipa-agent-token'))
        return True

    def _run(self):
        deadline = time.monotonic() + self.lifetime
        seen = len(self.device.boot_history)
        loading = None
        while not self._stop.is_set() and time.monotonic() < deadline:
            history = list(self.device.boot_history)
            for event in history[seen:]:
                self._stop_agent()
                loading = None
                if event.get('source') == 'pxe':
                    self._start_agent(self.api_url)
                elif event.get('source') == 'https':
                    loading = event
            seen = len(history)
            if loading is not None and self._https_booted(loading):
                loading = None
            if self.device.power_state == POWER_OFF:
                self._stop_agent()
            self._stop.wait(WATCH_INTERVAL)
