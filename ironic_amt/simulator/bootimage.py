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

"""What a booted ISO would run: the kernel command line of its GRUB menu.

A simulated machine that boots an ISO over HTTPS does what its boot loader
would: it reads the GRUB configuration on the ISO 9660 file system and
takes the kernel parameters of the first ``linux`` line (Ironic writes the
agent's parameters there, ``ironic/common/grub_conf.template``). Reading is
bounded: directory depth, entries per directory and bytes per file.
"""

import shlex
import struct

SECTOR = 2048
_PVD_SECTOR = 16
_MAX_DEPTH = 8
_MAX_ENTRIES = 4096
_MAX_FILE = 64 * 1024
_DIRECTORY_FLAG = 0x02

# Where GRUB configurations live on UEFI ISOs (Ironic's [DEFAULT]
# grub_config_path default first).
GRUB_PATHS = ('EFI/BOOT/GRUB.CFG', 'BOOT/GRUB/GRUB.CFG')


class BadImage(ValueError):
    """The image is not a readable ISO 9660 file system."""


def _records(image, extent, length):
    """Yield (name, extent, length, is_dir) of a directory's entries."""
    data = image[extent * SECTOR:extent * SECTOR + length]
    offset = 0
    count = 0
    while offset < len(data) and count < _MAX_ENTRIES:
        size = data[offset]
        if size == 0:
            # Records never cross a sector boundary: skip to the next one.
            offset = (offset // SECTOR + 1) * SECTOR
            continue
        record = data[offset:offset + size]
        if len(record) < 34:
            raise BadImage('truncated directory record')
        child_extent = struct.unpack_from('<I', record, 2)[0]
        child_length = struct.unpack_from('<I', record, 10)[0]
        name_length = record[32]
        name = record[33:33 + name_length]
        offset += size
        count += 1
        if name in (b'\x00', b'\x01'):
            continue
        text = name.decode('ascii', 'replace').split(';', 1)[0].rstrip('.')
        yield (text.upper(), child_extent, child_length,
               bool(record[25] & _DIRECTORY_FLAG))


def read_file(image, path):
    """Read a file of an ISO 9660 image by path (case-insensitive).

    :param image: the image bytes.
    :param path: e.g. 'EFI/BOOT/GRUB.CFG'.
    :returns: the file bytes (at most 64 KiB), or None if absent.
    :raises: BadImage when the image is not ISO 9660.
    """
    pvd = image[_PVD_SECTOR * SECTOR:_PVD_SECTOR * SECTOR + SECTOR]
    if len(pvd) < 190 or pvd[0] != 1 or pvd[1:6] != b'CD001':
        raise BadImage('no ISO 9660 primary volume descriptor')
    extent = struct.unpack_from('<I', pvd, 156 + 2)[0]
    length = struct.unpack_from('<I', pvd, 156 + 10)[0]
    parts = [p.upper() for p in path.strip('/').split('/')]
    if len(parts) > _MAX_DEPTH:
        return None
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        for name, child_extent, child_length, is_dir in _records(
                image, extent, length):
            if name == part and is_dir != last:
                extent, length = child_extent, child_length
                break
        else:
            return None
    return image[extent * SECTOR:extent * SECTOR + min(length, _MAX_FILE)]


def kernel_parameters(image):
    """The kernel parameters of the first GRUB ``linux`` line of an ISO.

    :param image: the image bytes.
    :returns: a dict of parameter name to value ('' for a bare flag), or
        None when the image has no GRUB configuration.
    :raises: BadImage when the image is not ISO 9660.
    """
    for path in GRUB_PATHS:
        config = read_file(image, path)
        if config is not None:
            break
    else:
        return None
    for line in config.decode('utf-8', 'replace').splitlines():
        words = line.strip().split(None, 2)
        if len(words) >= 2 and words[0] in ('linux', 'linuxefi'):
            try:
                tokens = shlex.split(words[2] if len(words) > 2 else '')
            except ValueError:
                tokens = (words[2] if len(words) > 2 else '').split()
            params = {}
            for token in tokens:
                if token == '--':
                    break
                key, _sep, value = token.partition('=')
                params[key] = value
            return params
    return {}
