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

"""The amt-socat serial console through the real ``baremetal`` CLI.

Ironic 39 runs socat, socat runs ``ironic-amt-sol`` for each connection,
and that speaks SOL to the simulated device, whose SOL and redirection
listener start disabled as after provisioning.
"""

import os
import socket
import time
import urllib.parse

from testtools import content

from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import harness
from ironic_amt.testing import sol as sol_testing
from ironic_amt.testing import waiting
from ironic_amt.tests.e2e import base

PASSWORD = 'Console-Pa55!'
WAIT = 30


def process_arguments():
    """The argument lists of every process, from /proc.

    :returns: dict of pid to the raw cmdline bytes.
    """
    result = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                result[int(entry)] = f.read()
        except OSError:
            continue    # the process ended meanwhile
    return result


class ConsoleTest(base.StackTestCase):

    DEVICES = (DeviceSpec('con-1', password=PASSWORD, power_delay=0.1),
               DeviceSpec('con-2', password=PASSWORD, power_delay=0.1),
               # SOL/Storage Redirection disabled in MEBx.
               DeviceSpec('con-mebx', password=PASSWORD,
                          features={'redirection_mebx': False}))
    TEST_TIMEOUT = 180

    @classmethod
    def make_stack(cls):
        options = sol_testing.ironic_console_options()
        return harness.Stack(list(cls.DEVICES), extra_options=options)

    def test_console_shows_boot_source_and_echo(self):
        device = self.stack.sim.device('con-1')
        self.stack.create_node('con-1', device, index=1)
        self.ironic.cli('node', 'set', 'con-1', '--console-interface',
                        'amt-socat', parse=False)
        checks = {row['Interface']: row for row in self.ironic.cli(
            'node', 'validate', 'con-1')}
        self.assertTrue(checks['console']['Result'], checks['console'])
        self.assertEqual((32768, False), (device.features.redirection,
                                          device.features.listener))

        start = time.monotonic()
        sock, console = sol_testing.open_console(self.ironic, 'con-1', WAIT)
        self.addCleanup(sock.close)
        setup = time.monotonic() - start
        # Enabling the console enabled SOL and the listener over WS-Man.
        self.assertEqual((32770, True), (device.features.redirection,
                                         device.features.listener))
        shown = self.ironic.cli('node', 'console', 'show', 'con-1')
        self.assertTrue(shown['console_enabled'])
        self.assertEqual('socat', shown['console_info']['type'])
        self.assertTrue(shown['console_info']['url'].startswith(
            'tcp://127.0.0.1:'))
        self.assertTrue(device.redirection.session_open)

        # No process shows the password in its arguments, while the tool
        # that knows it runs.
        arguments = process_arguments()
        tools = [args for args in arguments.values()
                 if b'ironic-amt-sol' in args and b'--address' in args]
        self.assertTrue(tools, 'no ironic-amt-sol process found')
        self.assertFalse([pid for pid, args in arguments.items()
                          if PASSWORD.encode() in args])

        self.ironic.cli('node', 'boot', 'device', 'set', 'con-1', 'pxe',
                        parse=False)
        self.ironic.cli('node', 'power', 'on', 'con-1', parse=False)
        banner = console.wait_for('con-1 login: ', WAIT)
        self.assertIn(b'Boot source: pxe [PXE (network)] (one-time override '
                      b'from Intel AMT)', banner)

        typed = time.monotonic()
        sock.sendall(b'e2e-typed')
        self.assertEqual(b'e2e-typed', console.wait_for('e2e-typed', WAIT))
        echo = time.monotonic() - typed
        self.addDetail('timings', content.text_content(
            'console enable + connect to SOL ready %.3f s, echo %.3f s'
            % (setup, echo)))

        sock.close()
        waiting.wait_until(lambda: not device.redirection.session_open,
                           WAIT, 0.1, 'SOL session end after disconnect')
        self.ironic.cli('node', 'console', 'disable', 'con-1', parse=False)
        self.ironic.wait_for_node('con-1', WAIT, console_enabled=False)
        self.assertFalse([args for args in process_arguments().values()
                          if b'ironic-amt-sol' in args])
        shown = self.ironic.cli('node', 'console', 'show', 'con-1')
        self.assertFalse(shown['console_enabled'])
        self.assertIsNone(shown['console_info'])
        # With the session gone, power off is allowed again.
        self.ironic.cli('node', 'power', 'off', 'con-1', parse=False)
        self.ironic.wait_for_node('con-1', WAIT, power_state='power off')

    def _attach(self, name, device):
        """Connect to the console URL Ironic shows, once it serves SOL."""
        url = self.ironic.cli('node', 'console', 'show',
                              name)['console_info']['url']
        parsed = urllib.parse.urlparse(url)
        sock = socket.create_connection((parsed.hostname, parsed.port), WAIT)
        self.addCleanup(sock.close)
        console = sol_testing.StreamReader(
            sol_testing.fd_reader(sock.fileno()))
        console.wait_for(sol_testing.SESSION_BANNER, WAIT)
        return sock

    def test_console_restored_after_conductor_restart(self):
        device = self.stack.sim.device('con-2')
        self.stack.create_node('con-2', device, index=2)
        sock, _console = sol_testing.open_console(self.ironic, 'con-2', WAIT)
        sock.close()
        waiting.wait_until(lambda: not device.redirection.session_open,
                           WAIT, 0.1, 'SOL session end after disconnect')

        self.ironic.restart()
        # Ironic's conductor starts the consoles of console_enabled nodes
        # again (console_restore); the console answers once it has.

        def attached():
            try:
                return self._attach('con-2', device)
            except (OSError, waiting.WaitTimeout, harness.HarnessError,
                    TypeError):
                return None

        sock = waiting.wait_until(attached, WAIT * 2, 1.0,
                                  'restored console of con-2')
        self.assertTrue(device.redirection.session_open)
        node = self.ironic.node('con-2')
        self.assertTrue(node['console_enabled'])
        self.assertIsNone(node['last_error'])
        sock.close()
        self.ironic.cli('node', 'console', 'disable', 'con-2', parse=False)
        self.ironic.wait_for_node('con-2', WAIT, console_enabled=False)

    def test_sol_disabled_in_mebx_is_reported(self):
        device = self.stack.sim.device('con-mebx')
        self.stack.create_node('con-mebx', device, index=3)
        self.ironic.cli('node', 'set', 'con-mebx', '--console-interface',
                        'amt-socat', parse=False)
        self.ironic.cli('node', 'console', 'enable', 'con-mebx',
                        parse=False)

        def failed():
            node = self.ironic.node('con-mebx')
            return node if node['last_error'] else None

        node = waiting.wait_until(failed, WAIT, 0.5,
                                  'console enable failure of con-mebx')
        self.addDetail('last_error', content.text_content(
            node['last_error']))
        self.assertFalse(node['console_enabled'])
        self.assertIn('disabled in MEBx', node['last_error'])
        self.assertIn(node['uuid'], node['last_error'])
        self.assertNotIn(PASSWORD, node['last_error'])
        self.assertFalse([args for args in process_arguments().values()
                          if b'ironic-amt-sol' in args
                          and str(device.redirection_port).encode()
                          in args])
