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

"""One-Click Recovery (OCR) HTTPS boot on the wire (AMT 16 / CSME 15+).

The boot source, the UEFI boot parameter TLVs, the boot service state that
switches OCR on, the trusted root certificate store the firmware verifies
the image server with, and the BIOS status of the last boot. Sources:
``amt-redirection.md`` sections 5 and 7 (Intel AMT SDK boot configuration
pages; Intel's Device Management Toolkit and MeshCommander).
"""

import base64
import binascii
import collections
import hashlib
import struct

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import resource_uris

HTTPS_BOOT_SOURCE = 'Intel(r) AMT: Force OCR UEFI HTTPS Boot'
BOOT_SERVICE_SELECTORS = {'Name': 'Intel(r) AMT Boot Service'}
BOOT_SETTING_DATA_SELECTORS = {'InstanceID': 'Intel(r) AMT:BootSettingData 0'}

# UEFI boot parameter TLV: u16 vendor, u16 type, u32 length, value (LE).
VENDOR_INTEL = 0x8086
_TLV_HEADER = struct.Struct('<HHI')

# TLV types used for HTTPS boot -> maximum value length in bytes.
NETWORK_DEVICE_PATH = 1      # the https:// URI of the image, mandatory
SYNC_ROOT_CA = 20            # 1 byte bool: BIOS takes AMT's trusted roots
SERVER_CERT_HASH_SHA256 = 23  # pin of the server certificate (DER)
REQUEST_TIMEOUT = 30         # u16 seconds, 0 = firmware default
TLV_MAX_LENGTH = {
    NETWORK_DEVICE_PATH: 300,
    SYNC_ROOT_CA: 1,
    SERVER_CERT_HASH_SHA256: 32,
    REQUEST_TIMEOUT: 2,
}

# CIM_BootService EnabledState / RequestStateChange values: bit 0 is OCR,
# bit 1 Remote Platform Erase, on top of 32768.
OCR_STATE_BASE = 32768
OCR_BIT = 1
RPE_BIT = 2

# AMT_BootSettingData.BIOSLastStatus, word 0 (general) and word 1 (detail).
BIOS_STATUS_SUCCESS = 0
BIOS_STATUS_IN_PROGRESS = 1
BIOS_STATUS_NOT_UPDATED = 2
BIOS_STATUS_FAILED = 0xFFFF
BIOS_DETAIL = {
    0: 'no further detail',
    1: 'general boot failure',
    2: 'authentication failure',
    3: 'feature not supported',
}

HttpsBootSupport = collections.namedtuple('HttpsBootSupport', [
    'source',         # the HTTPS CIM_BootSourceSetting instance exists
    'capability',     # AMT_BootCapabilities.ForceUEFIHTTPSBoot
    'bios_enabled',   # AMT_BootSettingData.UEFIHTTPSBootEnabled
    'ocr_state',      # CIM_BootService.EnabledState (int or None)
])
BootStatus = collections.namedtuple('BootStatus', [
    'options_cleared',  # the BIOS has taken (cleared) the boot options
    'general',          # BIOSLastStatus word 0, or None
    'detail',           # BIOSLastStatus word 1, or None
])


def _truthy(value):
    return str(value).strip().lower() in ('true', '1')


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_list(value):
    if value is None or value == '':
        return []
    return value if isinstance(value, list) else [value]


def encode_parameters(url, sync_root_ca=True, server_cert_sha256=None,
                      request_timeout=0):
    """Encode the UEFI boot parameters of an HTTPS boot.

    :param url: the https:// URL of the boot image.
    :param sync_root_ca: let the BIOS verify the server with AMT's trusted
        root certificates (type 20).
    :param server_cert_sha256: optional 32-byte SHA-256 of the server
        certificate (DER) to pin (type 23).
    :param request_timeout: seconds the firmware waits for the server
        (type 30); 0 leaves the firmware default and sends nothing.
    :returns: (base64 text for UefiBootParametersArray, number of TLVs).
    :raises: ValueError for a URL that is not https or is too long, or a
        pin that is not 32 bytes.
    """
    if not url.lower().startswith('https://'):
        raise ValueError('the boot image URL must be an https:// URL')
    entries = [(NETWORK_DEVICE_PATH, url.encode('utf-8'))]
    if sync_root_ca:
        entries.append((SYNC_ROOT_CA, b'\x01'))
    if server_cert_sha256 is not None:
        entries.append((SERVER_CERT_HASH_SHA256, bytes(server_cert_sha256)))
    if request_timeout:
        entries.append((REQUEST_TIMEOUT, struct.pack('<H', request_timeout)))
    blob = b''
    for kind, value in entries:
        limit = TLV_MAX_LENGTH[kind]
        if len(value) > limit or (kind == SERVER_CERT_HASH_SHA256
                                  and len(value) != limit):
            raise ValueError('boot parameter %d is %d bytes long; the limit '
                             'is %d' % (kind, len(value), limit))
        blob += _TLV_HEADER.pack(VENDOR_INTEL, kind, len(value)) + value
    return base64.b64encode(blob).decode('ascii'), len(entries)


def read_support(client):
    """Ask the device whether it can boot from an HTTPS URL now.

    :param client: a :class:`wsman.Client`.
    :returns: a :class:`HttpsBootSupport`.
    :raises: WSManError from the client.
    """
    sources = client.enumerate(resource_uris.CIM_BootSourceSetting)
    source = any(s.get('InstanceID') == HTTPS_BOOT_SOURCE for s in sources)
    caps = client.get(resource_uris.AMT_BootCapabilities)
    setting = client.get(resource_uris.AMT_BootSettingData,
                         selectors=BOOT_SETTING_DATA_SELECTORS)
    service = client.get(resource_uris.CIM_BootService,
                         selectors=BOOT_SERVICE_SELECTORS)
    return HttpsBootSupport(
        source=source,
        capability=_truthy(caps.get('ForceUEFIHTTPSBoot')),
        bios_enabled=_truthy(setting.get('UEFIHTTPSBootEnabled')),
        ocr_state=_int_or_none(service.get('EnabledState')))


def ocr_enabled(state):
    """Whether a CIM_BootService EnabledState has OCR switched on.

    :param state: the EnabledState (int or None).
    :returns: bool.
    """
    return (state is not None and state >= OCR_STATE_BASE
            and bool(state & OCR_BIT))


def enable_ocr(client, state):
    """Switch OCR on, keeping Remote Platform Erase as it is.

    :param client: a :class:`wsman.Client`.
    :param state: the current CIM_BootService EnabledState.
    :returns: the requested (new) state.
    :raises: WSManError from the client (a non-zero ReturnValue when the
        BIOS has the feature off).
    """
    rpe = (state & RPE_BIT if state is not None and state >= OCR_STATE_BASE
           else 0)
    wanted = OCR_STATE_BASE | rpe | OCR_BIT
    client.invoke(resource_uris.CIM_BootService, 'RequestStateChange',
                  arguments=[('RequestedState', wanted)],
                  selectors=BOOT_SERVICE_SELECTORS)
    return wanted


def der_from_pem(text):
    """Decode the first certificate of a PEM text.

    :param text: PEM text.
    :returns: the DER bytes.
    :raises: ValueError when the text holds no decodable certificate.
    """
    begin = '-----BEGIN CERTIFICATE-----'
    end = '-----END CERTIFICATE-----'
    start = text.find(begin)
    stop = text.find(end, start + 1)
    if start < 0 or stop < 0:
        raise ValueError('no PEM certificate found')
    body = ''.join(text[start + len(begin):stop].split())
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError('the PEM certificate is not valid base64')
    if not der:
        raise ValueError('the PEM certificate is empty')
    return der


def trusted_root_digests(client):
    """SHA-256 digests of the trusted root certificates stored on AMT.

    :param client: a :class:`wsman.Client`.
    :returns: a set of hex digests of the DER certificates.
    :raises: WSManError from the client.
    """
    digests = set()
    for cert in client.enumerate(resource_uris.AMT_PublicKeyCertificate):
        # AMT spells the property without the second "i".
        if not _truthy(cert.get('TrustedRootCertficate')):
            continue
        try:
            der = base64.b64decode(cert.get('X509Certificate') or '',
                                   validate=True)
        except (binascii.Error, ValueError):
            continue
        digests.add(hashlib.sha256(der).hexdigest())
    return digests


def add_trusted_root(client, der):
    """Store a trusted root certificate on AMT.

    :param client: a :class:`wsman.Client`.
    :param der: the certificate, DER bytes.
    :returns: the InstanceID of the created AMT_PublicKeyCertificate, or
        None if the device did not name it.
    :raises: WSManError from the client.
    """
    result = client.invoke(
        resource_uris.AMT_PublicKeyManagementService,
        'AddTrustedRootCertificate',
        arguments=[('CertificateBlob', base64.b64encode(der).decode())])
    created = result.get('CreatedCertificate')
    if isinstance(created, dict):
        selectors = (created.get('ReferenceParameters') or {}).get(
            'SelectorSet')
        if isinstance(selectors, dict):
            return selectors.get('InstanceID')
    return None


def read_boot_status(client):
    """Read what the BIOS reported about the last boot.

    :param client: a :class:`wsman.Client`.
    :returns: a :class:`BootStatus`.
    :raises: WSManProtocolError when BIOSLastStatus is not a list of
        integers.
    :raises: WSManError from the client.
    """
    setting = client.get(resource_uris.AMT_BootSettingData,
                         selectors=BOOT_SETTING_DATA_SELECTORS)
    words = [_int_or_none(w) for w in _as_list(setting.get('BIOSLastStatus'))]
    if any(w is None for w in words):
        raise exceptions.WSManProtocolError(
            client.endpoint, 'AMT_BootSettingData.BIOSLastStatus is not a '
            'list of integers')
    words += [None, None]
    return BootStatus(
        options_cleared=_truthy(setting.get('OptionsCleared')),
        general=words[0], detail=words[1])
