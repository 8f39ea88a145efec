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

"""UefiBootParametersArray: the TLVs of OCR boots and platform erase.

Each entry is ``u16 vendor (0x8086) | u16 type | u32 length | value``,
little-endian; the array is base64 in AMT_BootSettingData and
UefiBootNumberOfParams counts the entries (``amt-redirection.md`` 5.3).
What a type means depends on the request (an HTTPS boot, model.ocr, or
an erase, model.features), so callers pass the types they accept.
"""

import base64
import binascii
import struct

VENDOR_INTEL = 0x8086
HEADER = struct.Struct('<HHI')


def parse(text, count, limits):
    """Decode and check a UefiBootParametersArray as firmware does.

    :param text: the base64 array ('' or None: no entries).
    :param count: UefiBootNumberOfParams.
    :param limits: type -> (maximum length, exact length or None).
    :returns: dict of type to value bytes.
    :raises: ValueError naming what firmware would refuse: not base64, a
        truncated entry, a vendor other than Intel, a type not in
        ``limits``, a bad length, a type given twice, or a count that is
        not the number of entries.
    """
    try:
        data = base64.b64decode(text or '', validate=True)
    except (binascii.Error, ValueError):
        raise ValueError('UefiBootParametersArray is not base64')
    found = {}
    offset = 0
    while offset < len(data):
        if len(data) - offset < HEADER.size:
            raise ValueError('truncated parameter header')
        vendor, kind, length = HEADER.unpack_from(data, offset)
        offset += HEADER.size
        if vendor != VENDOR_INTEL:
            raise ValueError('parameter vendor %#06x is not Intel' % vendor)
        if kind not in limits:
            raise ValueError('unknown parameter type %d' % kind)
        maximum, exact = limits[kind]
        if length > maximum or (exact is not None and length != exact):
            raise ValueError('parameter %d has length %d' % (kind, length))
        if offset + length > len(data):
            raise ValueError('truncated parameter %d' % kind)
        if kind in found:
            raise ValueError('parameter %d given twice' % kind)
        found[kind] = data[offset:offset + length]
        offset += length
    if count != len(found):
        raise ValueError('UefiBootNumberOfParams is %s but the array holds '
                         '%d parameters' % (count, len(found)))
    return found
