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

"""RFB (VNC) protocol pieces used by the KVM relay (RFC 6143).

Message numbers, encodings, the pixel format, pixel conversion between
two true-colour formats and a bounded blocking reader.  Every integer on
the RFB wire is big-endian.
"""

import array
import socket
import struct
import sys
import time

VERSION_3_8 = b'RFB 003.008\n'
VERSION_LENGTH = 12
# Versions a device may announce: RFB 3.8, and AMT 11's 4.0, which noVNC
# and MeshCommander treat as 3.8 (notes: amt-redirection.md 1.5).
DEVICE_VERSIONS = frozenset([VERSION_3_8, b'RFB 004.000\n'])

SECURITY_INVALID = 0
SECURITY_NONE = 1

# Client to server message types.
SET_PIXEL_FORMAT = 0
SET_ENCODINGS = 2
FRAMEBUFFER_UPDATE_REQUEST = 3
KEY_EVENT = 4
POINTER_EVENT = 5
CLIENT_CUT_TEXT = 6
# Total length of the fixed-size client messages, type byte included.
CLIENT_MESSAGE_LENGTHS = {SET_PIXEL_FORMAT: 20, FRAMEBUFFER_UPDATE_REQUEST: 10,
                          KEY_EVENT: 8, POINTER_EVENT: 6}

# Server to client message types.
FRAMEBUFFER_UPDATE = 0
SET_COLOUR_MAP_ENTRIES = 1
BELL = 2
SERVER_CUT_TEXT = 3

# Encodings.
ENCODING_RAW = 0
ENCODING_HEXTILE = 5
ENCODING_DESKTOP_SIZE = -223

# Hextile subencoding bits and tile size.
HEXTILE_RAW = 1
HEXTILE_BACKGROUND = 2
HEXTILE_TILE = 16

# Upper bounds: anything above is a protocol error, never an allocation.
MAX_ENCODINGS = 64
MAX_REASON = 1024
MAX_NAME = 256
MAX_CUT_TEXT = 64 * 1024
MAX_DIMENSION = 8192

PIXEL_FORMAT = struct.Struct('!BBBBHHHBBB3x')
SERVER_INIT = struct.Struct('!HH16sI')
RECTANGLE = struct.Struct('!HHHHi')
_ARRAY_CODES = {8: 'B', 16: 'H', 32: 'I'}
_NATIVE_BIG = sys.byteorder == 'big'


class RFBError(Exception):
    """The peer broke the RFB protocol or closed the connection."""


class PixelFormat(object):
    """An RFB PIXEL_FORMAT (RFC 6143 7.4).

    :param bpp: bits per pixel, 8, 16 or 32.
    :param depth: colour depth in bits.
    :param big_endian: whether multi-byte pixels are big-endian.
    :param true_colour: whether pixels are RGB values (not palette
        indices).
    :param maxes: (red, green, blue) maximum channel values.
    :param shifts: (red, green, blue) channel shifts.
    """

    __slots__ = ('bpp', 'depth', 'big_endian', 'true_colour', 'maxes',
                 'shifts')

    def __init__(self, bpp, depth, big_endian, true_colour, maxes, shifts):
        self.bpp = bpp
        self.depth = depth
        self.big_endian = bool(big_endian)
        self.true_colour = bool(true_colour)
        self.maxes = tuple(maxes)
        self.shifts = tuple(shifts)

    @classmethod
    def unpack(cls, data):
        """Parse the 16 bytes of a PIXEL_FORMAT.

        :param data: 16 bytes.
        :returns: a PixelFormat.
        """
        (bpp, depth, big_endian, true_colour, red_max, green_max, blue_max,
         red_shift, green_shift, blue_shift) = PIXEL_FORMAT.unpack(data)
        return cls(bpp, depth, big_endian, true_colour,
                   (red_max, green_max, blue_max),
                   (red_shift, green_shift, blue_shift))

    def pack(self):
        """The 16 bytes of this PIXEL_FORMAT."""
        return PIXEL_FORMAT.pack(self.bpp, self.depth, int(self.big_endian),
                                 int(self.true_colour), *self.maxes,
                                 *self.shifts)

    @property
    def bytes_per_pixel(self):
        return self.bpp // 8

    def check(self):
        """Refuse a format the relay cannot produce.

        :raises: RFBError for palette formats, a bits-per-pixel other than
            8, 16 or 32, or channels that do not fit in a pixel.
        """
        if self.bpp not in _ARRAY_CODES:
            raise RFBError('unsupported bits per pixel %d' % self.bpp)
        if not self.true_colour:
            raise RFBError('colour-map pixel formats are not supported')
        for channel_max, shift in zip(self.maxes, self.shifts):
            if (channel_max < 1 or channel_max & (channel_max + 1)
                    or channel_max.bit_length() + shift > self.bpp):
                raise RFBError('invalid colour channel %d << %d for %d '
                               'bits per pixel' % (channel_max, shift,
                                                   self.bpp))

    def __eq__(self, other):
        return (isinstance(other, PixelFormat)
                and self.pack() == other.pack())

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.pack())

    def __repr__(self):
        return ('<PixelFormat %dbpp depth %d %s-endian max %s shift %s>'
                % (self.bpp, self.depth,
                   'big' if self.big_endian else 'little', self.maxes,
                   self.shifts))


# AMT's default KVM pixel format (notes 1.5): RGB565, 16 bits per pixel,
# and the 8-bit RGB332 format MeshCommander selects for slow links.
RGB565 = PixelFormat(16, 16, False, True, (31, 63, 31), (11, 5, 0))
RGB332 = PixelFormat(8, 8, False, True, (7, 7, 3), (5, 2, 0))


class PixelConverter(object):
    """Convert pixels from an 8 or 16 bpp format to any true-colour one.

    A lookup table maps every source pixel value (at most 65536) to the
    destination value, so a conversion is two C-level passes.

    :param source: the PixelFormat of the input (8 or 16 bpp).
    :param target: the PixelFormat of the output.
    :raises: RFBError when the source has more than 16 bits per pixel.
    """

    def __init__(self, source, target):
        if source.bpp not in (8, 16):
            raise RFBError('cannot convert from %d bits per pixel'
                           % source.bpp)
        self.source = source
        self.target = target
        self.identity = source == target
        self._table = None if self.identity else self._build_table()

    def _build_table(self):
        channels = list(zip(self.source.maxes, self.source.shifts,
                            self.target.maxes, self.target.shifts))
        table = array.array(_ARRAY_CODES[self.target.bpp])
        for value in range(1 << self.source.bpp):
            pixel = 0
            for src_max, src_shift, dst_max, dst_shift in channels:
                level = (value >> src_shift) & src_max
                pixel |= ((level * dst_max + src_max // 2) // src_max
                          << dst_shift)
            table.append(pixel)
        return table

    def convert(self, data):
        """Convert a run of pixels.

        :param data: source pixel bytes (a whole number of pixels).
        :returns: the same pixels in the target format, as bytes.
        """
        if self.identity:
            return bytes(data)
        pixels = array.array(_ARRAY_CODES[self.source.bpp])
        pixels.frombytes(data)
        if self.source.bpp > 8 and self.source.big_endian != _NATIVE_BIG:
            pixels.byteswap()
        out = array.array(_ARRAY_CODES[self.target.bpp],
                          map(self._table.__getitem__, pixels))
        if self.target.bpp > 8 and self.target.big_endian != _NATIVE_BIG:
            out.byteswap()
        return out.tobytes()


def hextile_band(band, width, height, converter):
    """Encode one band of at most 16 rows as Hextile tiles (RFC 6143 7.7.4).

    A tile of a single colour is sent as its background colour, any
    other tile raw: text screens are mostly flat background.  Tiles are
    examined in the source format and only what is sent is converted.

    :param band: ``height`` rows of ``width`` pixels in the converter's
        source format.
    :param width: the rectangle width in pixels.
    :param height: rows in this band (1 to 16).
    :param converter: a PixelConverter to the viewer's format.
    :returns: the encoded tiles of the band, as bytes.
    """
    size = converter.source.bytes_per_pixel
    stride = width * size
    out = bytearray()
    for left in range(0, width, HEXTILE_TILE):
        tile_width = min(HEXTILE_TILE, width - left)
        start = left * size
        length = tile_width * size
        rows = [band[row * stride + start:row * stride + start + length]
                for row in range(height)]
        first = rows[0][:size]
        flat = first * tile_width
        if all(row == flat for row in rows):
            out.append(HEXTILE_BACKGROUND)
            out += converter.convert(first)
        else:
            out.append(HEXTILE_RAW)
            out += converter.convert(b''.join(rows))
    return bytes(out)


class Reader(object):
    """Blocking, bounded reads from a socket with an overall deadline.

    :param sock: a connected socket (or TLS socket) whose timeout is used
        as the poll interval.
    :param alive: a callable returning False when reading must stop (the
        relay is closing).
    """

    def __init__(self, sock, alive=lambda: True):
        self._sock = sock
        self._alive = alive
        self._buffer = bytearray()
        self.last_activity = time.monotonic()

    def read(self, size, timeout):
        """Read exactly ``size`` bytes.

        :param size: number of bytes.
        :param timeout: seconds of silence allowed before failing; None to
            wait as long as ``alive()`` is true.
        :returns: the bytes.
        :raises: RFBError on end of stream, a timeout, or when ``alive()``
            turns false.
        """
        while len(self._buffer) < size:
            if not self._alive():
                raise RFBError('closing')
            try:
                chunk = self._sock.recv(max(size - len(self._buffer), 65536))
            except socket.timeout:
                if (timeout is not None and time.monotonic()
                        - self.last_activity > timeout):
                    raise RFBError('no data for %s seconds' % timeout)
                continue
            except OSError as e:
                raise RFBError('connection lost: %s' % e)
            if not chunk:
                raise RFBError('connection closed by the peer')
            self._buffer += chunk
            self.last_activity = time.monotonic()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def drain(self):
        """Take the bytes read from the socket and not consumed yet."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def unpack(self, fmt, timeout):
        """Read and unpack a struct.

        :param fmt: a struct.Struct.
        :param timeout: as for read().
        :returns: the unpacked tuple.
        """
        return fmt.unpack(self.read(fmt.size, timeout))

    def skip(self, size, timeout, limit):
        """Read and drop ``size`` bytes, refusing more than ``limit``.

        :raises: RFBError when size exceeds limit.
        """
        if size > limit:
            raise RFBError('%d bytes announced, at most %d accepted'
                           % (size, limit))
        self.read(size, timeout)
