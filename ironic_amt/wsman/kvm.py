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

"""AMT KVM sessions: RFB inside the redirection protocol.

A KVM session is a redirection session started with the ``KVMR`` tag and
authenticated like SOL; then the client sends ``40 00 00 00 00 00 00
00``, AMT answers ``41`` and seven more bytes, and from there on both
directions are raw RFB (notes: amt-redirection.md 1.5).  This module
does that last step and the RFB client handshake: version (AMT 11 says
``RFB 004.000``, which is 3.8), security type None, ClientInit and
ServerInit, then it asks for AMT's RGB565 pixel format explicitly.
"""

import struct
import time

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import redirection
from ironic_amt.wsman import rfb

START_KVM = bytes([0x40]) + bytes(7)
START_KVM_REPLY = 0x41
START_KVM_REPLY_LENGTH = 8


class KVMConnection(object):
    """An open KVM session, ready for RFB messages after ServerInit.

    What the relay (:mod:`ironic_amt.wsman.kvm_relay`) needs of a device:
    ``fileno``/``pending`` for select(), ``send``, ``read_some`` and
    ``close``, and the screen the device announced.

    :param session: the open redirection.Session (type KVM).
    :param width: screen width in pixels.
    :param height: screen height in pixels.
    :param pixel_format: the format the device sends (rfb.RGB565).
    :param name: the desktop name.
    """

    def __init__(self, session, width, height, pixel_format, name):
        self.session = session
        self.width = width
        self.height = height
        self.pixel_format = pixel_format
        self.name = name

    def fileno(self):
        return self.session.fileno()

    def pending(self):
        return self.session.pending()

    def send(self, data):
        """Send raw RFB bytes; raises RedirectionError subclasses."""
        self.session.send(data)

    def read_some(self, max_bytes, timeout):
        """Raw RFB bytes, empty when none arrived within ``timeout``."""
        return self.session.read_some(max_bytes, timeout)

    def close(self):
        """Close the connection.

        After the switch to RFB an EndRedirectionSession (0x12) would be
        read as RFB, so the socket is just closed, as MeshCommander and
        Intel's ui-toolkit do (notes 1.5).
        """
        self.session.authenticated = False
        self.session.close()


def _text(data):
    """Device text for a message: bounded, control characters escaped."""
    return ascii(data[:rfb.MAX_REASON].decode('utf-8', 'replace')[:80])


def _fail(session, detail):
    return exceptions.RedirectionProtocolError(session.endpoint, detail)


def _reason(session, deadline):
    (length,) = struct.unpack('!I', session.read_exact(4, deadline))
    if length > rfb.MAX_REASON:
        return '(a reason of %d bytes, not read)' % length
    return _text(session.read_exact(length, deadline))


def start_kvm(session, timeout):
    """Switch an authenticated KVM redirection session to RFB.

    Sends 0x40, checks the 0x41 reply, then runs the client side of
    AMT's RFB handshake up to ServerInit and asks for RGB565.

    :param session: a redirection.Session of type KVM, open().
    :param timeout: seconds allowed for the whole exchange.
    :returns: a KVMConnection.
    :raises: RedirectionRefused when AMT refuses KVM;
        RedirectionProtocolError when it breaks RFB; the other
        RedirectionError subclasses on a lost connection or a timeout.
    """
    deadline = time.monotonic() + timeout
    session.send(START_KVM)
    reply = session.read_exact(START_KVM_REPLY_LENGTH, deadline)
    if reply[0] != START_KVM_REPLY:
        raise _fail(session, 'got command 0x%02X where the KVM start reply '
                    '(0x41) was expected' % reply[0])
    if reply[1]:
        raise exceptions.RedirectionRefused(
            session.endpoint, 'KVM', reply[1],
            redirection.SESSION_STATUS.get(reply[1], 'unknown status'))
    version = session.read_exact(rfb.VERSION_LENGTH, deadline)
    if version not in rfb.DEVICE_VERSIONS:
        raise _fail(session, 'unsupported RFB version %s' % _text(version))
    session.send(rfb.VERSION_3_8)
    count = session.read_exact(1, deadline)[0]
    if not count:
        raise _fail(session, 'the device refused the RFB session: %s'
                    % _reason(session, deadline))
    offered = session.read_exact(count, deadline)
    if rfb.SECURITY_NONE not in offered:
        raise _fail(session, 'the device does not offer RFB security type '
                    'None (offered: %s)' % ', '.join(map(str, offered)))
    session.send(bytes([rfb.SECURITY_NONE]))
    (result,) = struct.unpack('!I', session.read_exact(4, deadline))
    if result:
        raise _fail(session, 'the device refused RFB security type None: '
                    '%s' % _reason(session, deadline))
    session.send(b'\x01')  # ClientInit, shared (as MeshCommander).
    width, height, _format, name_length = rfb.SERVER_INIT.unpack(
        session.read_exact(rfb.SERVER_INIT.size, deadline))
    if not (0 < width <= rfb.MAX_DIMENSION
            and 0 < height <= rfb.MAX_DIMENSION):
        raise _fail(session, 'invalid screen size %dx%d' % (width, height))
    if name_length > rfb.MAX_NAME:
        raise _fail(session, 'desktop name of %d bytes refused'
                    % name_length)
    name = session.read_exact(name_length, deadline).decode('utf-8',
                                                            'replace')
    session.send(struct.pack('!B3x', rfb.SET_PIXEL_FORMAT)
                 + rfb.RGB565.pack())
    return KVMConnection(session, width, height, rfb.RGB565, name)
