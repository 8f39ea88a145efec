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

"""The amt-kvm console: Ironic's interface, the relay and the simulator.

A real RFB client from PyPI (vncdotool) connects to the relay that
``start_console`` started, and the pixels it receives are compared with
the simulated screen rendered independently (testing.kvm_screen).
"""

import socket
import struct
import time

from ironic.conductor import task_manager
from vncdotool import api as vnc_api
from vncdotool import client as vnc_client
from vncdotool import rfb as vnc_rfb

from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import graphical_console
from ironic_amt.testing import driver_case
from ironic_amt.testing import kvm_screen
from ironic_amt.testing import waiting

TIMEOUT = 10


class HextileRGB32Client(vnc_client.VNCDoToolClient):
    """vncdotool asking for 32 bpp and Hextile, as noVNC does."""

    encoding = vnc_rfb.Encoding.HEXTILE

    def setImageMode(self):
        self.setPixelFormat(vnc_client.RGB32)
        self._image_mode = vnc_client.PF2IM[vnc_client.RGB32]


class HextileRGB32Factory(vnc_client.VNCDoToolFactory):
    protocol = HextileRGB32Client


def tearDownModule():
    # vncdotool's Twisted reactor cannot restart: stop it once, at the end.
    vnc_api.shutdown()


class KVMConsoleTestCase(driver_case.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        self.config(enabled_console_interfaces=['amt-kvm', 'no-console'])
        self.config(public_url='http://127.0.0.1:6090/vnc_lite.html',
                    group='vnc')
        device = self.device()
        kvm, consent = device.kvm, device.consent
        saved = (kvm.enabled_by_mebx, kvm.provisioning_mode,
                 consent.required)

        def restore():
            (kvm.enabled_by_mebx, kvm.provisioning_mode,
             consent.required) = saved
            kvm.request_state_change(3)
        self.addCleanup(restore)
        self.console = graphical_console.AMTKVMConsole()

    def start(self, protocol='http'):
        device = self.device()
        port = (device.redirection_tls_port if protocol == 'https'
                else device.redirection_port)
        node = self.make_node(protocol=protocol, amt_redirection_port=port)
        node.console_interface = 'amt-kvm'
        node.save()
        with task_manager.acquire(self.context, node.uuid) as task:
            self.console.start_console(task)
            info = task.node.driver_internal_info
        self.addCleanup(self.stop, node)
        return node, (info['vnc_host'], info['vnc_port'])

    def stop(self, node):
        with task_manager.acquire(self.context, node.uuid) as task:
            self.console.stop_console(task)

    def viewer(self, address, factory=HextileRGB32Factory):
        started = time.monotonic()
        client = vnc_api.connect('%s::%d' % address, None, factory,
                                 timeout=TIMEOUT)
        self.addCleanup(client.disconnect)
        client.refreshScreen()
        return client, time.monotonic() - started

    def assert_screen(self, client, incremental=True):
        """The viewer shows what the simulator draws (bounded retries)."""
        def matches():
            client.refreshScreen(incremental=incremental)
            return kvm_screen.mismatches(
                client.screen, kvm_screen.expected_image(self.device())) == 0
        waiting.wait_until(matches, TIMEOUT, 0.1, 'the simulated screen')

    def test_screen_power_and_typing_through_the_relay(self):
        node, address = self.start()
        device = self.device()
        self.assertTrue(device.kvm.enabled)
        client, first_frame = self.viewer(address)
        self.assertEqual((800, 600), client.screen.size)
        # Host off: the no-signal screen, pixel for pixel.
        self.assertEqual(0, kvm_screen.mismatches(
            client.screen, kvm_screen.expected_image(device)))
        self.assertIsNotNone(kvm_screen.find_text_row(device, 'No Signal'))
        # A person presses the power button: the firmware screen.
        device.set_power_state(2)
        self.assert_screen(client)
        self.assertIsNotNone(kvm_screen.find_text_row(device, 'on (S0)'))
        # Keys typed in the viewer appear on the simulated console.
        for key in 'hello kvm':
            client.keyPress('space' if key == ' ' else key)
        client.keyPress('enter')
        waiting.wait_until(
            lambda: kvm_screen.find_text_row(device, 'login: hello kvm'),
            TIMEOUT, 0.05, 'typed text on the simulated console')
        self.assert_screen(client)
        relay = graphical_console.get_relay(node.uuid)
        stats = relay.sessions[-1]
        self.assertGreater(stats['bytes_to_viewer'], 0)
        self.assertLess(stats['first_frame_s'], first_frame + 0.5)

    def test_tls_redirection_port(self):
        _node, address = self.start(protocol='https')
        client, _first = self.viewer(address)
        self.assertEqual(0, kvm_screen.mismatches(
            client.screen, kvm_screen.expected_image(self.device())))
        self.assertTrue([e for e in self.device().request_log
                         if e.get('event') == 'kvm'
                         and e.get('result') == 'session started'])

    def test_second_viewer_refused_while_one_is_connected(self):
        _node, address = self.start()
        self.viewer(address)
        with socket.create_connection(address, TIMEOUT) as second:
            second.settimeout(TIMEOUT)
            self.assertEqual(b'RFB 003.008\n', second.recv(12))
            second.sendall(b'RFB 003.008\n')
            self.assertEqual(b'\x00', second.recv(1))
            length = struct.unpack('!I', second.recv(4))[0]
            self.assertIn(b'another viewer', second.recv(length))

    def test_stop_console_ends_the_viewer_session(self):
        node, address = self.start()
        client, _first = self.viewer(address)
        self.assertTrue(self.device().kvm.session_open)
        self.stop(node)
        waiting.wait_until(lambda: not self.device().kvm.session_open,
                           TIMEOUT, 0.05, 'the KVM session to end')
        self.assertRaises(OSError, socket.create_connection, address,
                          TIMEOUT)

    def test_kvm_disabled_in_mebx(self):
        self.device().kvm.enabled_by_mebx = False
        error = self.assertRaises(errors.AMTOperationError, self.start)
        self.assertIn('disabled in MEBx', str(error))

    def test_user_consent_in_client_control_mode(self):
        # What a device provisioned in CCM (spec control_mode 4) reports.
        self.device().kvm.provisioning_mode = 4
        self.device().consent.required = 4294967295
        error = self.assertRaises(errors.AMTOperationError, self.start)
        self.assertIn('client control mode', str(error))
        self.assertIn('consent', str(error))
        self.assertFalse(self.device().kvm.enabled)
