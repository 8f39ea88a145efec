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

"""A small bitmap font of our own for the simulated KVM screen.

Printable ASCII in a 5x8 grid (7 rows plus a descender row), drawn at
twice the size in 12x16 cells, like a firmware text console.  Each glyph
is eight hex bytes, one per row, bit 4 being the leftmost pixel.
"""

GRID_WIDTH = 5
GRID_HEIGHT = 8
SCALE = 2
CELL_WIDTH = 12
CELL_HEIGHT = GRID_HEIGHT * SCALE
# Left margin of a glyph in its cell, in pixels.
MARGIN = 1
FIRST = 0x20
_GLYPHS = (
    '0000000000000000', '0404040404000400', '0A0A000000000000',  # space ! "
    '0A0A1F0A1F0A0A00', '040F140E051E0400', '1819020408130300',  # # $ %
    '0C12140815120D00', '0404000000000000', '0204080808040200',  # & ' (
    '0804020202040800', '0004150E15040000', '0004041F04040000',  # ) * +
    '000000000C040800', '0000001F00000000', '00000000000C0C00',  # , - .
    '0001020408100000', '0E11131519110E00', '040C040404040E00',  # / 0 1
    '0E11010204081F00', '1F02040201110E00', '02060A121F020200',  # 2 3 4
    '1F101E0101110E00', '0608101E11110E00', '1F01020408080800',  # 5 6 7
    '0E11110E11110E00', '0E11110F01020C00', '000C0C000C0C0000',  # 8 9 :
    '000C0C000C040800', '0204081008040200', '00001F001F000000',  # ; < =
    '0804020102040800', '0E11010204000400', '0E11010D15150E00',  # > ? @
    '0E1111111F111100', '1E11111E11111E00', '0E11101010110E00',  # A B C
    '1C12111111121C00', '1F10101E10101F00', '1F10101E10101000',  # D E F
    '0E11101711110F00', '1111111F11111100', '0E04040404040E00',  # G H I
    '0702020202120C00', '1112141814121100', '1010101010101F00',  # J K L
    '111B151511111100', '1111191513111100', '0E11111111110E00',  # M N O
    '1E11111E10101000', '0E11111115120D00', '1E11111E14121100',  # P Q R
    '0F10100E01011E00', '1F04040404040400', '1111111111110E00',  # S T U
    '11111111110A0400', '1111111515150A00', '11110A040A111100',  # V W X
    '1111110A04040400', '1F01020408101F00', '0E08080808080E00',  # Y Z [
    '0010080402010000', '0E02020202020E00', '040A110000000000',  # \\ ] ^
    '0000000000001F00', '0804000000000000', '00000E010F110F00',  # _ ` a
    '1010161911111E00', '00000E1010110E00', '01010D1311110F00',  # b c d
    '00000E111F100E00', '0609081C08080800', '00000F11110F010E',  # e f g
    '1010161911111100', '04000C0404040E00', '020006020202120C',  # h i j
    '1010121418141200', '0C04040404040E00', '00001A1515111100',  # k l m
    '0000161911111100', '00000E1111110E00', '00001E11111E1010',  # n o p
    '00000F11110F0101', '0000161910101000', '00000E100E011E00',  # q r s
    '08081C0808090600', '0000111111130D00', '00001111110A0400',  # t u v
    '0000111115150A00', '0000110A040A1100', '00001111110F010E',  # w x y
    '00001F0204081F00', '0204040804040200', '0404040404040400',  # z { |
    '0804040204040800', '0000081502000000',  # } ~
)


def glyph_rows(char):
    """The 5-bit rows of a character's glyph.

    :param char: a one-character string; characters outside printable
        ASCII are drawn as '?'.
    :returns: a tuple of GRID_HEIGHT ints.
    """
    code = ord(char) - FIRST if len(char) == 1 else -1
    if not 0 <= code < len(_GLYPHS):
        code = ord('?') - FIRST
    text = _GLYPHS[code]
    return tuple(int(text[i:i + 2], 16) for i in range(0, len(text), 2))


def cell_mask(char):
    """Which pixels of a character cell are lit.

    :param char: a one-character string.
    :returns: CELL_HEIGHT tuples of CELL_WIDTH booleans.
    """
    mask = []
    for bits in glyph_rows(char):
        row = [False] * CELL_WIDTH
        for column in range(GRID_WIDTH):
            if bits & (1 << (GRID_WIDTH - 1 - column)):
                for dx in range(SCALE):
                    row[MARGIN + column * SCALE + dx] = True
        mask.extend([tuple(row)] * SCALE)
    return tuple(mask)
