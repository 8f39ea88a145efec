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

import struct

import testtools

from ironic_amt.wsman import rfb

# The 32 bpp little-endian true-colour format noVNC asks for.
NOVNC = rfb.PixelFormat(32, 24, False, True, (255, 255, 255), (0, 8, 16))
BGR233 = rfb.PixelFormat(8, 8, False, True, (7, 7, 3), (0, 3, 6))
RGB565_BE = rfb.PixelFormat(16, 16, True, True, (31, 63, 31), (11, 5, 0))


def rgb565(r, g, b):
    return struct.pack('<H', r << 11 | g << 5 | b)


class PixelFormatTestCase(testtools.TestCase):

    def test_round_trip(self):
        self.assertEqual(NOVNC, rfb.PixelFormat.unpack(NOVNC.pack()))
        self.assertEqual(16, len(NOVNC.pack()))

    def test_check_refuses_what_cannot_be_produced(self):
        for bad in (rfb.PixelFormat(24, 24, False, True, (255,) * 3,
                                    (0, 8, 16)),
                    rfb.PixelFormat(8, 8, False, False, (7, 7, 3),
                                    (0, 3, 6)),
                    rfb.PixelFormat(16, 16, False, True, (31, 63, 30),
                                    (11, 5, 0)),
                    rfb.PixelFormat(16, 16, False, True, (31, 63, 31),
                                    (12, 5, 0))):
            self.assertRaises(rfb.RFBError, bad.check)
        NOVNC.check()
        BGR233.check()


class PixelConverterTestCase(testtools.TestCase):

    def test_identity(self):
        converter = rfb.PixelConverter(rfb.RGB565, rfb.RGB565)
        self.assertTrue(converter.identity)
        self.assertEqual(b'\x01\x02', converter.convert(b'\x01\x02'))

    def test_rgb565_to_novnc(self):
        converter = rfb.PixelConverter(rfb.RGB565, NOVNC)
        data = rgb565(31, 0, 0) + rgb565(0, 63, 0) + rgb565(0, 0, 31) + (
            rgb565(16, 32, 16))
        out = converter.convert(data)
        # Little-endian 32 bpp: red, green, blue, padding.
        self.assertEqual(b'\xff\x00\x00\x00' b'\x00\xff\x00\x00'
                         b'\x00\x00\xff\x00' b'\x84\x82\x84\x00', out)

    def test_rgb565_to_bgr233(self):
        converter = rfb.PixelConverter(rfb.RGB565, BGR233)
        out = converter.convert(rgb565(31, 0, 0) + rgb565(0, 0, 31)
                                + rgb565(31, 63, 31))
        self.assertEqual(bytes([0x07, 0xc0, 0xff]), out)

    def test_big_endian_target(self):
        converter = rfb.PixelConverter(rfb.RGB565, RGB565_BE)
        self.assertEqual(b'\xf8\x00', converter.convert(rgb565(31, 0, 0)))

    def test_32bpp_source_refused(self):
        self.assertRaises(rfb.RFBError, rfb.PixelConverter, NOVNC,
                          rfb.RGB565)


class HextileTestCase(testtools.TestCase):

    def test_flat_and_raw_tiles(self):
        # 20x2 pixels: tile 1 (16 wide) flat red, tile 2 red and blue.
        red, blue = rgb565(31, 0, 0), rgb565(0, 0, 31)
        row = red * 16 + red + blue + red + blue
        out = rfb.hextile_band(row * 2, 20, 2,
                               rfb.PixelConverter(rfb.RGB565, BGR233))
        self.assertEqual(bytes([rfb.HEXTILE_BACKGROUND, 0x07,
                                rfb.HEXTILE_RAW]) + bytes([7, 0xc0] * 4),
                         out)


class ReaderTestCase(testtools.TestCase):

    def test_reads_exactly_and_keeps_the_rest(self):
        chunks = [b'RFB 003', b'.008\nXY', b'']

        class Sock(object):
            def recv(self, size):
                return chunks.pop(0)

        reader = rfb.Reader(Sock())
        self.assertEqual(rfb.VERSION_3_8, reader.read(12, 1))
        self.assertEqual(b'XY', reader.drain())
        self.assertRaisesRegex(rfb.RFBError, 'closed', reader.read, 1, 1)

    def test_skip_is_bounded(self):
        reader = rfb.Reader(object())
        self.assertRaises(rfb.RFBError, reader.skip, 10, 1, 5)
