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

"""One-Click Recovery HTTPS boot as the firmware does it.

Two jobs, kept here so OCR logic lives in one place:

* :func:`decode_parameters` checks ``UefiBootParametersArray`` and
  ``UefiBootNumberOfParams`` the way firmware does (vendor, known types,
  maximum and fixed lengths, value ranges, the count): TLV layout and
  limits from ``amt-redirection.md`` section 5.3.
* :func:`https_boot` is what the BIOS does at the boot: fetch the URL over
  HTTPS with the requested checks (AMT's trusted roots with type 20, a
  certificate pin with type 23, a server name with types 21/22, a timeout
  with type 30), bounded in time and bytes, only from loopback, and report
  the result as ``BIOSLastStatus`` words (section 7). Which detail word
  firmware reports for which failure is unconfirmed; we report 2
  (authentication failure) for a server that cannot be verified and 1
  (general failure) for anything else, so a driver can tell them apart.
"""

import hashlib
import http.client
import ipaddress
import socket
import ssl
import struct
import time
import urllib.parse

from ironic_amt.simulator import bootimage
from ironic_amt.simulator.model import tlv

URI = 1
FILE_DEVICE_PATH = 2
DEVICE_PATH_LEN = 3
SYNC_ROOT_CA = 20
SERVER_NAME = 21
SERVER_NAME_VERIFY = 22
CERT_SHA256 = 23
CERT_SHA384 = 24
CERT_SHA512 = 25
REQUEST_TIMEOUT = 30

# Type -> (maximum length, exact length or None).
LIMITS = {
    URI: (300, None), FILE_DEVICE_PATH: (300, None),
    DEVICE_PATH_LEN: (2, 2),
    4: (32, 32), 5: (48, 48), 6: (64, 64),
    10: (50, None),
    SYNC_ROOT_CA: (1, 1), SERVER_NAME: (256, None),
    SERVER_NAME_VERIFY: (2, 2),
    CERT_SHA256: (32, 32), CERT_SHA384: (48, 48), CERT_SHA512: (64, 64),
    REQUEST_TIMEOUT: (2, 2),
    40: (16, None), 41: (16, None),
}
_PIN_HASHES = {CERT_SHA256: 'sha256', CERT_SHA384: 'sha384',
               CERT_SHA512: 'sha512'}
VERIFY_FULL_NAME = 1
VERIFY_DOMAIN_SUFFIX = 2
VERIFY_OTHER = 3

# BIOSLastStatus words.
STATUS_SUCCESS = [0, 0]
STATUS_IN_PROGRESS = [1, 0]
STATUS_NOT_UPDATED = [2, 0]
FAILED = 0xFFFF
DETAIL_GENERAL = 1
DETAIL_AUTHENTICATION = 2

DEFAULT_TIMEOUT = 10.0
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_BOOT_SECONDS = 60.0
_CHUNK = 64 * 1024


class InvalidParameters(ValueError):
    """Boot parameters the firmware refuses."""


def decode_parameters(array_text, count):
    """Decode and check the UEFI boot parameters of a Put.

    :param array_text: the base64 ``UefiBootParametersArray`` ('' none).
    :param count: the ``UefiBootNumberOfParams`` integer.
    :returns: a dict of TLV type to value bytes.
    :raises: InvalidParameters with the reason.
    """
    try:
        params = tlv.parse(array_text, count, LIMITS)
    except ValueError as exc:
        raise InvalidParameters(str(exc))
    if SYNC_ROOT_CA in params and params[SYNC_ROOT_CA] not in (b'\0', b'\1'):
        raise InvalidParameters('parameter 20 must be 0 or 1')
    if SERVER_NAME_VERIFY in params:
        method = struct.unpack('<H', params[SERVER_NAME_VERIFY])[0]
        if method not in (VERIFY_FULL_NAME, VERIFY_DOMAIN_SUFFIX,
                          VERIFY_OTHER):
            raise InvalidParameters('parameter 22 must be 1, 2 or 3')
    if URI in params:
        try:
            uri = params[URI].decode('ascii')
        except UnicodeDecodeError:
            raise InvalidParameters('parameter 1 is not an ASCII URI')
        if not uri.isprintable() or ' ' in uri:
            raise InvalidParameters('parameter 1 is not a URI')
    return params


def https_source_problem(params):
    """Why the HTTPS boot source cannot be chosen with these parameters.

    :param params: decoded parameters (see decode_parameters).
    :returns: a reason, or None.
    """
    if URI not in params:
        return 'no boot URI (parameter 1) was set'
    return None


def _failure(reason, detail, **extra):
    result = {'result': 'failed', 'reason': reason,
              'bios_status': [FAILED, detail]}
    result.update(extra)
    return result


def _loopback(host):
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _context(params, trusted_roots):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    pinned = any(k in params for k in _PIN_HASHES)
    if params.get(SYNC_ROOT_CA) == b'\1' and trusted_roots:
        context.load_verify_locations(cadata=b''.join(trusted_roots))
    elif pinned:
        # A pin alone is the trust anchor.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # Otherwise the BIOS has no trust anchor: verification fails.
    if SERVER_NAME in params and context.verify_mode != ssl.CERT_NONE:
        method = struct.unpack(
            '<H', params.get(SERVER_NAME_VERIFY, b'\1\0'))[0]
        if method != VERIFY_FULL_NAME:
            context.check_hostname = False
    return context


def _name_matches(cert, params):
    """Check the server name of types 21/22 against the certificate."""
    if SERVER_NAME not in params:
        return True
    wanted = params[SERVER_NAME].decode('ascii', 'replace').lower()
    method = struct.unpack('<H', params.get(SERVER_NAME_VERIFY, b'\1\0'))[0]
    names = [v.lower() for k, v in (cert or {}).get('subjectAltName', ())
             if k in ('DNS', 'IP Address')]
    if method == VERIFY_DOMAIN_SUFFIX:
        return any(n == wanted or n.endswith('.' + wanted.lstrip('.'))
                   for n in names)
    return wanted in names


def _verified_name(params, host):
    """The name the firmware checks the certificate against."""
    if SERVER_NAME in params:
        method = struct.unpack(
            '<H', params.get(SERVER_NAME_VERIFY, b'\1\0'))[0]
        if method == VERIFY_FULL_NAME:
            return params[SERVER_NAME].decode('ascii', 'replace')
    return host


def _peer_problem(sock, params):
    """Why the verified peer is still refused (pin, name), or None."""
    der = sock.getpeercert(binary_form=True)
    for kind, algorithm in _PIN_HASHES.items():
        if kind in params and hashlib.new(algorithm, der).digest() != (
                params[kind]):
            return ('untrusted-certificate: the server certificate does '
                    'not match the pin')
    if not _name_matches(sock.getpeercert(), params):
        return ('untrusted-certificate: the server name does not match '
                'parameter 21')
    return None


def _download(connection, parts, max_bytes, deadline):
    """GET the image; returns (bytes, None) or (None, failure reason)."""
    path = (parts.path or '/') + ('?' + parts.query if parts.query else '')
    connection.request('GET', path, headers={'User-Agent': 'UefiHttpBoot'})
    response = connection.getresponse()
    if response.status != 200:
        kind = 'not-found' if response.status == 404 else 'http-error'
        return None, '%s: HTTP %d' % (kind, response.status)
    image = bytearray()
    while True:
        chunk = response.read(_CHUNK)
        if not chunk:
            return bytes(image), None
        image += chunk
        if len(image) > max_bytes:
            return None, 'image-too-large'
        if time.monotonic() > deadline:
            return None, 'unreachable: the download took too long'


def https_boot(params, trusted_roots, max_bytes=MAX_IMAGE_BYTES):
    """Fetch and 'boot' the image of an OCR HTTPS boot.

    :param params: decoded parameters (see decode_parameters).
    :param trusted_roots: DER certificates in AMT's trusted root store.
    :param max_bytes: the largest image accepted.
    :returns: a dict: result ('booted' or 'failed'), reason (on failure),
        bios_status (the BIOSLastStatus words), url, and on success
        bytes, sha256 and kernel_params (None when no GRUB menu is found).
    """
    url = params.get(URI, b'').decode('ascii', 'replace')
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or 443
    except ValueError:
        return _failure('bad-url: invalid port', DETAIL_GENERAL, url=url)
    if parts.scheme != 'https' or not parts.hostname:
        return _failure('bad-url: not an https URL', DETAIL_GENERAL, url=url)
    if not _loopback(parts.hostname):
        return _failure('bad-url: the simulator fetches from loopback only',
                        DETAIL_GENERAL, url=url)
    timeout = DEFAULT_TIMEOUT
    if REQUEST_TIMEOUT in params:
        timeout = struct.unpack('<H', params[REQUEST_TIMEOUT])[0] or timeout
    context = _context(params, trusted_roots)
    connection = http.client.HTTPConnection(parts.hostname, port,
                                            timeout=timeout)
    try:
        raw = socket.create_connection((parts.hostname, port), timeout)
        try:
            connection.sock = context.wrap_socket(
                raw, server_hostname=_verified_name(params, parts.hostname))
        except BaseException:
            raw.close()
            raise
        problem = _peer_problem(connection.sock, params)
        if problem:
            return _failure(problem, DETAIL_AUTHENTICATION, url=url)
        image, problem = _download(connection, parts, max_bytes,
                                   time.monotonic() + MAX_BOOT_SECONDS)
    except ssl.SSLCertVerificationError as e:
        return _failure('untrusted-certificate: %s' % e.verify_message,
                        DETAIL_AUTHENTICATION, url=url)
    except ssl.SSLError as e:
        return _failure('tls-error: %s' % (e.reason or 'handshake failed'),
                        DETAIL_GENERAL, url=url)
    except (OSError, http.client.HTTPException) as e:
        return _failure('unreachable: %s' % type(e).__name__,
                        DETAIL_GENERAL, url=url)
    finally:
        connection.close()
    if problem:
        return _failure(problem, DETAIL_GENERAL, url=url)
    try:
        kernel_params = bootimage.kernel_parameters(image)
    except bootimage.BadImage:
        kernel_params = None
    return {'result': 'booted', 'reason': None,
            'bios_status': list(STATUS_SUCCESS), 'url': url,
            'bytes': len(image),
            'sha256': hashlib.sha256(image).hexdigest(),
            'kernel_params': kernel_params}
