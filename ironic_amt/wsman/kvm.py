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

from ironic_amt.wsman import rfb

START_KVM = bytes([0x40]) + bytes(7)
START_KVM_REPLY = 0x41
START_KVM_REPLY_LENGTH = 8


class KVMError(rfb.RFBError):
    """The device refused or broke the KVM session."""


class KVMConnection(object):
    """An open KVM session, ready for RFB messages after ServerInit.

    :param sock: the connected (TLS) socket.
    :param reader: the rfb.Reader holding any bytes already received.
    :param width: screen width in pixels.
    :param height: screen height in pixels.
    :param pixel_format: the format the device sends (rfb.RGB565).
    :param name: the desktop name.
    :param closer: called by close() instead of closing the socket, e.g.
        to end the redirection session politely.
    """

    def __init__(self, sock, reader, width, height, pixel_format, name,
                 closer=None):
        self.sock = sock
        self.reader = reader
        self.width = width
        self.height = height
        self.pixel_format = pixel_format
        self.name = name
        self._closer = closer

    def close(self):
        """Close the session (and its socket)."""
        if self._closer is not None:
            self._closer()
        else:
            self.sock.close()


def _reason(reader, timeout):
    (length,) = struct.unpack('!I', reader.read(4, timeout))
    if length > rfb.MAX_REASON:
        return 'reason of %d bytes not read' % length
    return reader.read(length, timeout).decode('utf-8', 'replace')


def start_kvm(sock, reader, timeout, closer=None):
    """Switch an authenticated KVMR redirection session to RFB.

    :param sock: the socket of the authenticated session.
    :param reader: an rfb.Reader on it (it may hold bytes already read).
    :param timeout: seconds allowed for each step.
    :param closer: passed to the KVMConnection.
    :returns: a KVMConnection.
    :raises: KVMError when AMT refuses KVM or breaks RFB; rfb.RFBError
        on a lost connection or a timeout.
    """
    sock.sendall(START_KVM)
    reply = reader.read(START_KVM_REPLY_LENGTH, timeout)
    if reply[0] != START_KVM_REPLY:
        raise KVMError('the device answered 0x%02x to the KVM start '
                       'message' % reply[0])
    if reply[1]:
        raise KVMError('the device refused to start KVM (status %d)'
                       % reply[1])
    return rfb_handshake(sock, reader, timeout, closer=closer)


def rfb_handshake(sock, reader, timeout, closer=None):
    """The client side of AMT's RFB handshake, up to ServerInit.

    :param sock: the socket.
    :param reader: an rfb.Reader on it.
    :param timeout: seconds allowed for each step.
    :param closer: passed to the KVMConnection.
    :returns: a KVMConnection whose device sends RGB565.
    :raises: KVMError or rfb.RFBError.
    """
    version = reader.read(rfb.VERSION_LENGTH, timeout)
    if version not in rfb.DEVICE_VERSIONS:
        raise KVMError('unsupported RFB version %r from the device'
                       % version[:11].decode('ascii', 'replace'))
    sock.sendall(rfb.VERSION_3_8)
    count = reader.read(1, timeout)[0]
    if not count:
        raise KVMError('the device refused the RFB session: %s'
                       % _reason(reader, timeout))
    offered = reader.read(count, timeout)
    if rfb.SECURITY_NONE not in offered:
        raise KVMError('the device does not offer RFB security type None '
                       '(offered: %s)' % ', '.join(map(str, offered)))
    sock.sendall(bytes([rfb.SECURITY_NONE]))
    (result,) = struct.unpack('!I', reader.read(4, timeout))
    if result:
        raise KVMError('the device refused RFB security type None: %s'
                       % _reason(reader, timeout))
    sock.sendall(b'\x01')  # ClientInit, shared (as MeshCommander).
    width, height, _format, name_length = reader.unpack(rfb.SERVER_INIT,
                                                        timeout)
    if not (0 < width <= rfb.MAX_DIMENSION
            and 0 < height <= rfb.MAX_DIMENSION):
        raise KVMError('invalid screen size %dx%d' % (width, height))
    if name_length > rfb.MAX_NAME:
        raise KVMError('desktop name of %d bytes refused' % name_length)
    name = reader.read(name_length, timeout).decode('utf-8', 'replace')
    sock.sendall(struct.pack('!B3x', rfb.SET_PIXEL_FORMAT)
                 + rfb.RGB565.pack())
    return KVMConnection(sock, reader, width, height, rfb.RGB565, name,
                         closer=closer)
