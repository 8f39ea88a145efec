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

"""The simulated AMT KVM: an RFB server behind the redirection protocol.

After a KVM redirection session is authenticated and the client sent
the 0x40 message (answered with 0x41), AMT speaks raw RFB (notes:
amt-redirection.md 1.5).  This server follows what is known of AMT's:

- it announces ``RFB 003.008`` (AMT 12 and later) or ``RFB 004.000``
  (AMT 11), offers security type None only (the redirection layer has
  authenticated the user), and names the desktop ``Intel(r) AMT KVM``;
- its default pixel format is RGB565; SetPixelFormat may choose another
  true-colour format of 8 or 16 bits per pixel (AMT's documented ones,
  notes 1.5); anything else closes the session, as does a SetEncodings
  without Raw, which MeshCommander says AMT requires;
- it sends Raw rectangles of at most 64x64 pixels, the tile size of
  AMT's updates, and a DesktopSize rectangle only to clients that asked.

The screen is drawn from :mod:`ironic_amt.simulator.model.screen`; key presses
go to it, so typed text appears on the simulated console.
"""

import asyncio
import struct

from ironic_amt.simulator.model import font
from ironic_amt.simulator.model import screen as host_screen

# The message that switches a KVM redirection session to RFB, and the
# reply (notes 1.5); the 0x41 status byte is 0 on success.
START_KVM = 0x40
START_KVM_REPLY = 0x41
KVM_STATUS_REFUSED = 1
KVM_STATUS_BUSY = 2

VERSION_AMT12 = b'RFB 003.008\n'
VERSION_AMT11 = b'RFB 004.000\n'
# Versions a client may answer with: AMT 12+ clients all send 3.8.
_CLIENT_VERSIONS = (b'RFB 003.008\n',)
DESKTOP_NAME = b'Intel(r) AMT KVM'
TILE = 64
ENCODING_RAW = 0
ENCODING_DESKTOP_SIZE = -223

# Seconds a client may take for one handshake step.
HANDSHAKE_TIMEOUT = 10
# How often the screen is compared with what a client has, while it
# waits for an incremental update.
POLL_INTERVAL = 0.1
MAX_ENCODINGS = 256
MAX_CUT_TEXT = 64 * 1024

_PIXEL_FORMAT = struct.Struct('!BBBBHHHBBB3x')


class PixelFormat(object):
    """A true-colour RFB pixel format, as the simulator stores it."""

    def __init__(self, bpp, depth, big_endian, maxes, shifts):
        self.bpp = bpp
        self.depth = depth
        self.big_endian = big_endian
        self.maxes = maxes
        self.shifts = shifts

    @classmethod
    def parse(cls, data):
        """Parse a PIXEL_FORMAT; None when AMT would not accept it."""
        (bpp, depth, big_endian, true_colour, rmax, gmax, bmax, rshift,
         gshift, bshift) = _PIXEL_FORMAT.unpack(data)
        if bpp not in (8, 16) or not true_colour:
            return None
        maxes, shifts = (rmax, gmax, bmax), (rshift, gshift, bshift)
        for channel_max, shift in zip(maxes, shifts):
            if (not channel_max or channel_max & (channel_max + 1)
                    or channel_max.bit_length() + shift > bpp):
                return None
        return cls(bpp, depth, bool(big_endian), maxes, shifts)

    def pack(self):
        return _PIXEL_FORMAT.pack(self.bpp, self.depth, int(self.big_endian),
                                  1, *self.maxes, *self.shifts)

    def encode(self, rgb):
        """The bytes of one pixel of an 8-bit-per-channel colour."""
        value = 0
        for level, channel_max, shift in zip(rgb, self.maxes, self.shifts):
            value |= (level * channel_max + 127) // 255 << shift
        return value.to_bytes(self.bpp // 8,
                              'big' if self.big_endian else 'little')


RGB565 = PixelFormat(16, 16, False, (31, 63, 31), (11, 5, 0))


class Renderer(object):
    """Draws screen lines into pixel rows of one pixel format."""

    def __init__(self, pixel_format):
        self.pixel_format = pixel_format
        self._colours = {name: pixel_format.encode(rgb)
                         for name, rgb in host_screen.PALETTE.items()}
        self._cells = {}

    def _cell(self, char, fg, bg):
        key = (char, fg, bg)
        rows = self._cells.get(key)
        if rows is None:
            on, off = self._colours[fg], self._colours[bg]
            rows = [b''.join(on if lit else off for lit in mask_row)
                    for mask_row in font.cell_mask(char)]
            self._cells[key] = rows
        return rows

    def line(self, line):
        """The CELL_HEIGHT pixel rows of one text line, WIDTH wide."""
        cells = [self._cell(char, segment.fg, segment.bg)
                 for segment in line for char in segment.text]
        pad = self._colours['black'] * (
            host_screen.WIDTH - len(cells) * font.CELL_WIDTH)
        return [b''.join(cell[row] for cell in cells) + pad
                for row in range(font.CELL_HEIGHT)]

    def blank(self):
        """One black pixel row, WIDTH wide."""
        return self._colours['black'] * host_screen.WIDTH


class KVMSession(object):
    """One RFB client of a simulated device's KVM.

    :param device: the simulated device.
    :param screen: its screen.HostScreen.
    :param reader: asyncio StreamReader positioned after the 0x41 reply.
    :param writer: the matching StreamWriter.
    :param version: the version string to announce.
    """

    def __init__(self, device, screen, reader, writer,
                 version=VERSION_AMT12):
        self._device = device
        self._screen = screen
        self._reader = reader
        self._writer = writer
        self._version = version
        self._renderer = Renderer(RGB565)
        self._encodings = frozenset()
        self._sent = [None] * host_screen.ROWS
        self._request = None
        self._wake = asyncio.Event()
        self.updates = 0

    def _record(self, **entry):
        self._device.record(dict(event='kvm', **entry))

    async def _read(self, size, timeout=None):
        if timeout is None:
            return await self._reader.readexactly(size)
        return await asyncio.wait_for(self._reader.readexactly(size),
                                      timeout)

    async def serve(self):
        """Run the handshake, then serve until the client goes away."""
        self._writer.write(self._version)
        await self._writer.drain()
        if (await self._read(12, HANDSHAKE_TIMEOUT)
                not in _CLIENT_VERSIONS):
            self._record(result='unsupported RFB version')
            return
        self._writer.write(bytes([1, 1]))
        if (await self._read(1, HANDSHAKE_TIMEOUT))[0] != 1:
            reason = b'security type not offered'
            self._writer.write(struct.pack('!II', 1, len(reason)) + reason)
            await self._writer.drain()
            self._record(result='bad security type')
            return
        self._writer.write(struct.pack('!I', 0))
        await self._read(1, HANDSHAKE_TIMEOUT)  # ClientInit
        self._writer.write(
            struct.pack('!HH', host_screen.WIDTH, host_screen.HEIGHT)
            + RGB565.pack() + struct.pack('!I', len(DESKTOP_NAME))
            + DESKTOP_NAME)
        await self._writer.drain()
        self._record(result='session started')
        updater = asyncio.ensure_future(self._update_loop())
        try:
            reason = await self._message_loop()
        finally:
            updater.cancel()
        self._record(result=reason)

    async def _message_loop(self):
        while True:
            try:
                kind = (await self._read(1))[0]
            except (asyncio.IncompleteReadError, ConnectionError):
                return 'closed by the client'
            if kind == 0:
                body = await self._read(19)
                pixel_format = PixelFormat.parse(body[3:])
                if pixel_format is None:
                    return 'unsupported pixel format'
                self._renderer = Renderer(pixel_format)
                self._sent = [None] * host_screen.ROWS
            elif kind == 2:
                _pad, count = struct.unpack('!BH', await self._read(3))
                if count > MAX_ENCODINGS:
                    return 'too many encodings'
                encodings = struct.unpack('!%di' % count,
                                          await self._read(4 * count))
                if ENCODING_RAW not in encodings:
                    return 'SetEncodings without Raw'
                self._encodings = frozenset(encodings)
            elif kind == 3:
                incremental, x, y, w, h = struct.unpack(
                    '!BHHHH', await self._read(9))
                self._request = (bool(incremental), x, y, w, h)
                self._wake.set()
            elif kind == 4:
                down, keysym = struct.unpack('!B2xI', await self._read(7))
                if self._screen.key(keysym, bool(down)):
                    self._wake.set()
            elif kind == 5:
                await self._read(5)
            elif kind == 6:
                (length,) = struct.unpack('!3xI', await self._read(7))
                if length > MAX_CUT_TEXT:
                    return 'cut text too long'
                await self._read(length)
            else:
                return 'unknown message type %d' % kind

    async def _update_loop(self):
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            if self._request is None:
                continue
            incremental, x, y, w, h = self._request
            lines = self._screen.lines()
            rows = [i for i, line in enumerate(lines)
                    if not incremental or line != self._sent[i]]
            rects = self._rectangles(rows, x, y, w, h)
            if not rects:
                continue
            self._request = None
            await self._send_update(lines, rows, rects)

    @staticmethod
    def _rectangles(rows, x, y, w, h):
        """Tiles of at most TILE x TILE covering the changed text rows."""
        rects = []
        right = min(x + w, host_screen.WIDTH)
        bottom = min(y + h, host_screen.HEIGHT)
        height = font.CELL_HEIGHT
        # Consecutive changed rows are grouped into bands of TILE pixels.
        bands = []
        if rows and rows[-1] == host_screen.ROWS - 1:
            rows = rows + [host_screen.ROWS]  # the black strip below
        for row in rows:
            top = row * height
            if bands and bands[-1][1] == top and top - bands[-1][0] < TILE:
                bands[-1][1] = top + height
            else:
                bands.append([top, top + height])
        for top, end in bands:
            top, end = max(top, y), min(end, bottom)
            for left in range(x, right, TILE):
                if end > top:
                    rects.append((left, top, min(TILE, right - left),
                                  end - top))
        return rects

    async def _send_update(self, lines, rows, rects):
        rendered = {row: self._renderer.line(lines[row]) for row in rows}
        # Below the last text line (HEIGHT is not a multiple of the cell
        # height) the screen is black.
        rendered[len(lines)] = [self._renderer.blank()] * font.CELL_HEIGHT
        bpp = self._renderer.pixel_format.bpp // 8
        height = font.CELL_HEIGHT
        self._writer.write(struct.pack('!BxH', 0, len(rects)))
        for left, top, w, h in rects:
            self._writer.write(struct.pack('!HHHHi', left, top, w, h,
                                           ENCODING_RAW))
            start, end = left * bpp, (left + w) * bpp
            self._writer.write(b''.join(
                rendered[py // height][py % height][start:end]
                for py in range(top, top + h)))
            await self._writer.drain()
        for row in rows:
            self._sent[row] = lines[row]
        self.updates += 1


async def serve_kvm(device, reader, writer, timeout):
    """Serve a KVM redirection session once it is authenticated.

    Reads the 0x40 message, answers 0x41 and runs the RFB server.  The
    0x41 reply and the RFB version go out in one write, as AMT's often
    share a TCP segment (MeshCommander issue 24).  Refused (0x41 with a
    non-zero status) while KVM is disabled, needs user consent, or
    another KVM session is open.

    :param device: the simulated device.
    :param reader: the asyncio StreamReader after authentication.
    :param writer: the matching StreamWriter.
    :param timeout: seconds to wait for the 0x40 message.
    :returns: a short reason for the log.
    """
    message = await asyncio.wait_for(reader.readexactly(8), timeout)
    if message[0] != START_KVM:
        return 'command 0x%02X instead of the KVM start' % message[0]
    kvm = device.kvm
    status = 0
    if not kvm.enabled:
        status, reason = KVM_STATUS_REFUSED, 'KVM disabled'
    elif kvm.consent_required:
        status, reason = KVM_STATUS_REFUSED, 'user consent required'
    elif not kvm.acquire(writer):
        status, reason = KVM_STATUS_BUSY, 'another KVM session is open'
    if status:
        writer.write(bytes([START_KVM_REPLY, status]) + bytes(6))
        await writer.drain()
        return reason
    try:
        major = int(device.profile_info.version.split('.')[0])
        version = VERSION_AMT11 if major < 12 else VERSION_AMT12
        writer.write(bytes([START_KVM_REPLY, 0]) + bytes(6))
        session = KVMSession(device, kvm.screen, reader, writer, version)
        await session.serve()
        return 'KVM session ended'
    finally:
        kvm.release(writer)
