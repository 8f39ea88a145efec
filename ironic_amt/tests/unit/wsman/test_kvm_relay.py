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

"""The KVM relay against a scripted device, over real sockets."""

import socket
import struct

import testtools

from ironic_amt.testing import waiting
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import kvm_relay
from ironic_amt.wsman import rfb

NOVNC = rfb.PixelFormat(32, 24, False, True, (255, 255, 255), (0, 8, 16))
TIMEOUT = 5


class FakeDevice(object):
    """A KVMConnection whose far end the test drives (a socketpair)."""

    def __init__(self, width=32, height=16):
        self.sock, self.far = socket.socketpair()
        self.far.settimeout(TIMEOUT)
        self.width, self.height = width, height
        self.pixel_format = rfb.RGB565
        self.name = 'Intel(r) AMT KVM'
        self.closed = False

    def fileno(self):
        return self.sock.fileno()

    def pending(self):
        return False

    def send(self, data):
        self.sock.sendall(data)

    def read_some(self, max_bytes, timeout):
        data = self.sock.recv(max_bytes)
        if not data:
            raise exceptions.RedirectionClosed('tcp://device', 'closed')
        return data

    def close(self):
        self.closed = True
        self.sock.close()

    def read(self, size):
        data = b''
        while len(data) < size:
            chunk = self.far.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data


def recv_exact(sock, size):
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError('closed after %d of %d bytes' % (len(data), size))
        data += chunk
    return data


def closed(sock):
    try:
        return sock.recv(1) == b''
    except (socket.timeout, OSError):
        return False


class RelayTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.devices = []

    def _connect_device(self):
        device = FakeDevice()
        self.devices.append(device)
        return device

    def start(self, **kwargs):
        kwargs.setdefault('poll_interval', 0.05)
        relay = kvm_relay.Relay('node-1', kwargs.pop('connect',
                                                     self._connect_device),
                                **kwargs)
        self.address = relay.start()
        self.addCleanup(relay.stop)
        return relay

    def viewer(self):
        sock = socket.create_connection(self.address, TIMEOUT)
        self.addCleanup(sock.close)
        return sock

    def handshake(self, sock):
        self.assertEqual(rfb.VERSION_3_8, recv_exact(sock, 12))
        sock.sendall(rfb.VERSION_3_8)
        self.assertEqual(b'\x01\x01', recv_exact(sock, 2))
        sock.sendall(b'\x01')
        self.assertEqual(b'\x00\x00\x00\x00', recv_exact(sock, 4))
        sock.sendall(b'\x01')
        width, height, pixel_format, length = rfb.SERVER_INIT.unpack(
            recv_exact(sock, 24))
        name = recv_exact(sock, length)
        return width, height, rfb.PixelFormat.unpack(pixel_format), name

    def device_encodings(self, device):
        head = device.read(4)
        self.assertEqual(rfb.SET_ENCODINGS, head[0])
        count = struct.unpack('!H', head[2:])[0]
        return struct.unpack('!%di' % count, device.read(4 * count))

    def test_handshake_presents_the_device_screen(self):
        self.start()
        width, height, pixel_format, name = self.handshake(self.viewer())
        self.assertEqual((32, 16, rfb.RGB565, b'Intel(r) AMT KVM'),
                         (width, height, pixel_format, name))

    def test_converts_and_sends_only_what_the_viewer_asked(self):
        self.start()
        viewer = self.viewer()
        self.handshake(viewer)
        device = self.devices[0]
        # Before the viewer said anything: Raw only.
        self.assertEqual((rfb.ENCODING_RAW,), self.device_encodings(device))
        viewer.sendall(struct.pack('!B3x', rfb.SET_PIXEL_FORMAT)
                       + NOVNC.pack())
        viewer.sendall(struct.pack('!BxH3i', rfb.SET_ENCODINGS, 3,
                                   rfb.ENCODING_HEXTILE, 16,
                                   rfb.ENCODING_RAW))
        # Hextile and AMT's 16 are not asked of the device; no DesktopSize
        # either, since the viewer did not list it.
        self.assertEqual((rfb.ENCODING_RAW,), self.device_encodings(device))
        viewer.sendall(struct.pack('!BBHHHH', 3, 0, 0, 0, 32, 16))
        self.assertEqual(struct.pack('!BBHHHH', 3, 0, 0, 0, 32, 16),
                         device.read(10))
        # 18x2 red pixels, then one blue one at the end of each row.
        red, blue = struct.pack('<H', 31 << 11), struct.pack('<H', 31)
        row = red * 17 + blue
        device.far.sendall(struct.pack('!BxH', 0, 1)
                           + rfb.RECTANGLE.pack(0, 0, 18, 2, 0) + row * 2)
        self.assertEqual(struct.pack('!BxH', 0, 1), recv_exact(viewer, 4))
        self.assertEqual(rfb.RECTANGLE.pack(0, 0, 18, 2,
                                            rfb.ENCODING_HEXTILE),
                         recv_exact(viewer, 12))
        red32, blue32 = b'\xff\x00\x00\x00', b'\x00\x00\xff\x00'
        # First tile (16x2) is flat red; the second (2x2) is raw.
        self.assertEqual(bytes([rfb.HEXTILE_BACKGROUND]) + red32,
                         recv_exact(viewer, 5))
        self.assertEqual(bytes([rfb.HEXTILE_RAW]) + (red32 + blue32) * 2,
                         recv_exact(viewer, 17))

    def test_raw_when_the_viewer_lists_no_hextile(self):
        self.start()
        viewer = self.viewer()
        self.handshake(viewer)
        device = self.devices[0]
        self.device_encodings(device)
        viewer.sendall(struct.pack('!BxH2i', rfb.SET_ENCODINGS, 2,
                                   rfb.ENCODING_RAW,
                                   rfb.ENCODING_DESKTOP_SIZE))
        self.assertEqual((rfb.ENCODING_RAW, rfb.ENCODING_DESKTOP_SIZE),
                         self.device_encodings(device))
        pixel = struct.pack('<H', 0x1234)
        device.far.sendall(struct.pack('!BxH', 0, 2)
                           + rfb.RECTANGLE.pack(1, 1, 2, 1, 0) + pixel * 2
                           + rfb.RECTANGLE.pack(0, 0, 64, 48, -223))
        self.assertEqual(struct.pack('!BxH', 0, 2)
                         + rfb.RECTANGLE.pack(1, 1, 2, 1, 0) + pixel * 2
                         + rfb.RECTANGLE.pack(0, 0, 64, 48, -223),
                         recv_exact(viewer, 4 + 12 + 4 + 12))

    def test_resize_the_viewer_cannot_follow_ends_the_session(self):
        relay = self.start()
        viewer = self.viewer()
        self.handshake(viewer)
        device = self.devices[0]
        device.far.sendall(struct.pack('!BxH', 0, 1)
                           + rfb.RECTANGLE.pack(0, 0, 64, 48, -223))
        waiting.wait_until(lambda: device.closed, TIMEOUT, 0.05,
                           'device session closed')
        self.assertIn('cannot follow', relay.sessions[-1]['end'])

    def test_second_viewer_refused_with_a_reason(self):
        self.start()
        self.handshake(self.viewer())
        second = self.viewer()
        self.assertEqual(rfb.VERSION_3_8, recv_exact(second, 12))
        second.sendall(rfb.VERSION_3_8)
        self.assertEqual(b'\x00', recv_exact(second, 1))
        length = struct.unpack('!I', recv_exact(second, 4))[0]
        self.assertIn(b'another viewer', recv_exact(second, length))
        self.assertEqual(1, len(self.devices))

    def test_next_viewer_accepted_after_the_first_left(self):
        relay = self.start()
        first = self.viewer()
        self.handshake(first)
        first.close()
        waiting.wait_until(lambda: not relay.viewer_connected, TIMEOUT,
                           0.05, 'first viewer gone')
        waiting.wait_until(lambda: self.devices[0].closed, TIMEOUT, 0.05,
                           'device session closed')
        self.handshake(self.viewer())

    def test_device_failure_reported_to_the_viewer(self):
        def fail():
            raise exceptions.RedirectionAuthError('tls://192.0.2.1:16995',
                                                  'digest refused')

        self.start(connect=fail)
        viewer = self.viewer()
        recv_exact(viewer, 12)
        viewer.sendall(rfb.VERSION_3_8)
        self.assertEqual(b'\x00', recv_exact(viewer, 1))
        length = struct.unpack('!I', recv_exact(viewer, 4))[0]
        reason = recv_exact(viewer, length)
        self.assertIn(b'AMT KVM session failed', reason)
        self.assertIn(b'digest refused', reason)

    def test_idle_viewer_disconnected(self):
        self.start(idle_timeout=0.3)
        viewer = self.viewer()
        self.handshake(viewer)
        viewer.settimeout(TIMEOUT)
        self.assertEqual(b'', viewer.recv(1))
        waiting.wait_until(lambda: self.devices[0].closed, TIMEOUT, 0.05,
                           'device session closed')

    def test_read_only_drops_input(self):
        self.start(read_only=True)
        viewer = self.viewer()
        self.handshake(viewer)
        device = self.devices[0]
        self.device_encodings(device)
        viewer.sendall(struct.pack('!BBxxI', rfb.KEY_EVENT, 1, 0x61))
        viewer.sendall(struct.pack('!BBHH', rfb.POINTER_EVENT, 1, 5, 5))
        viewer.sendall(struct.pack('!BBHHHH', 3, 1, 0, 0, 32, 16))
        # Only the update request reaches the device.
        self.assertEqual(struct.pack('!BBHHHH', 3, 1, 0, 0, 32, 16),
                         device.read(10))

    def test_input_forwarded(self):
        self.start()
        viewer = self.viewer()
        self.handshake(viewer)
        device = self.devices[0]
        self.device_encodings(device)
        key = struct.pack('!BBxxI', rfb.KEY_EVENT, 1, 0x61)
        viewer.sendall(key)
        self.assertEqual(key, device.read(8))

    def test_oversized_messages_end_the_session(self):
        relay = self.start()
        for message in (struct.pack('!BxH', rfb.SET_ENCODINGS, 1000),
                        struct.pack('!B3xI', rfb.CLIENT_CUT_TEXT, 1 << 30),
                        struct.pack('!B3x', rfb.SET_PIXEL_FORMAT)
                        + rfb.PixelFormat(24, 24, False, True, (255,) * 3,
                                          (0, 8, 16)).pack()):
            viewer = self.viewer()
            self.handshake(viewer)
            viewer.sendall(message)
            viewer.settimeout(TIMEOUT)
            self.assertTrue(waiting.wait_until(
                lambda: closed(viewer), TIMEOUT, 0.05, 'viewer dropped'))
            waiting.wait_until(lambda: not relay.viewer_connected, TIMEOUT,
                               0.05, 'session ended')

    def test_stop_ends_the_session_and_the_listener(self):
        relay = self.start()
        viewer = self.viewer()
        self.handshake(viewer)
        relay.stop()
        viewer.settimeout(TIMEOUT)
        self.assertEqual(b'', viewer.recv(1))
        waiting.wait_until(lambda: self.devices[0].closed, TIMEOUT, 0.05,
                           'device session closed')
        self.assertFalse(relay.running)
        self.assertRaises(OSError, socket.create_connection, self.address,
                          TIMEOUT)
