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

"""One-Click Recovery HTTPS boot for a node: support, trust, parameters.

What the ``amt-https`` boot interface and the management interface's
arming need from a device: whether it can boot from an HTTPS URL (asked
once per conductor and cached), the image server's CA stored among its
trusted roots, the boot parameters of the next boot, and what the BIOS
reported about it.
"""

import hashlib
import os
import threading
import time

from ironic.common import exception
from ironic.common.i18n import _
from oslo_log import log as logging

from ironic_amt.conf import CONF
from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.wsman import ocr

LOG = logging.getLogger(__name__)

# driver_internal_info: the URL of the image the next HTTPS boot loads.
URL_KEY = 'amt_https_boot_url'
# driver_internal_info: the ramdisk is booted over HTTPS and the BIOS
# status of that boot has not been seen yet.
WATCH_KEY = 'amt_https_boot_watch'

PROPERTIES = {
    'amt_https_boot_ca': _('Path, on the conductor, of the PEM file of the '
                           'CA that signed the certificate of the HTTPS '
                           'image server. It is added to the trusted root '
                           'certificates of AMT, which the BIOS verifies '
                           'the server with. Optional; defaults to '
                           '[amt]https_boot_ca. Without either, the roots '
                           'already stored on the device are used.'),
}


class HttpsBootUnsupported(exception.UnsupportedHardwareFeature):
    _msg_fmt = _('Node %(node)s cannot boot from an HTTPS URL through AMT '
                 'One-Click Recovery: %(reason)s')


class HttpsBootFailed(exception.IronicException):
    _msg_fmt = _('The AMT One-Click Recovery HTTPS boot of node %(node)s '
                 'from %(url)s failed: %(reason)s')


def ca_path(node):
    """The CA file to install for a node, if any.

    :param node: an Ironic node.
    :returns: the path, or None.
    """
    info = node.driver_info or {}
    return info.get('amt_https_boot_ca') or CONF.amt.https_boot_ca or None


def load_ca(node):
    """Read and decode the CA certificate configured for a node.

    :param node: an Ironic node.
    :returns: the DER bytes, or None when no CA is configured.
    :raises: InvalidParameterValue naming the node and the source of the
        path when the file is missing or holds no PEM certificate.
    """
    path = ca_path(node)
    if path is None:
        return None
    where = ('driver_info/amt_https_boot_ca'
             if (node.driver_info or {}).get('amt_https_boot_ca')
             else '[amt]https_boot_ca')
    try:
        if os.path.getsize(path) > 1024 * 1024:
            raise ValueError(_('the file is larger than 1 MiB'))
        with open(path, encoding='ascii', errors='replace') as f:
            return ocr.der_from_pem(f.read())
    except (OSError, ValueError) as e:
        raise exception.InvalidParameterValue(
            _('Invalid CA certificate %(path)s in %(where)s of node '
              '%(node)s: %(error)s') %
            {'path': path, 'where': where, 'node': node.uuid,
             'error': getattr(e, 'strerror', None) or e})


class _SupportCache(object):
    """HTTPS boot support per AMT endpoint, asked once per conductor.

    An entry expires after ``[amt]https_boot_support_ttl`` seconds and is
    dropped when the device refuses an HTTPS boot, so a BIOS setting
    changed since is noticed.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = {}

    def get(self, client):
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(client.endpoint)
        if entry and now - entry[0] < CONF.amt.https_boot_support_ttl:
            return entry[1]
        support = ocr.read_support(client)
        self.put(client, support)
        return support

    def put(self, client, support):
        with self._lock:
            self._entries[client.endpoint] = (time.monotonic(), support)

    def forget(self, client):
        with self._lock:
            self._entries.pop(client.endpoint, None)


class _TrustCache(object):
    """(endpoint, certificate digest) pairs known to be stored on AMT."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stored = set()

    def known(self, client, digest):
        with self._lock:
            return (client.endpoint, digest) in self._stored

    def remember(self, client, digest):
        with self._lock:
            self._stored.add((client.endpoint, digest))

    def forget(self, client):
        with self._lock:
            self._stored = {e for e in self._stored
                            if e[0] != client.endpoint}


_SUPPORT = _SupportCache()
_TRUST = _TrustCache()


def unsupported_reason(support):
    """Why a device cannot boot from HTTPS, or None when it can.

    OCR switched off in the boot service is no reason: arming switches it
    on.

    :param support: an :class:`ocr.HttpsBootSupport`.
    :returns: a message or None.
    """
    if not support.source:
        return _('the firmware offers no One-Click Recovery HTTPS boot '
                 'source (it needs Intel AMT 16 / CSME 15 or newer with '
                 'One-Click Recovery)')
    if not support.capability:
        return _('AMT_BootCapabilities does not report ForceUEFIHTTPSBoot')
    if not support.bios_enabled:
        return _('UEFI HTTPS boot is disabled in the BIOS; enable '
                 'One-Click Recovery and UEFI HTTPS boot in the BIOS setup')
    return None


def check_support(node):
    """Ask the device (or the conductor's cache) whether it can HTTPS boot.

    :param node: an Ironic node.
    :raises: HttpsBootUnsupported with the reason.
    :raises: AMTOperationError, AMTConnectionFailure,
        AMTAuthenticationFailure if the device cannot be asked.
    """
    client = common.get_client(node)
    with errors.translate_errors(node, _('reading HTTPS boot support')):
        support = _SUPPORT.get(client)
    reason = unsupported_reason(support)
    if reason:
        raise HttpsBootUnsupported(node=node.uuid, reason=reason)


def _ensure_trusted(node, client, der):
    digest = hashlib.sha256(der).hexdigest()
    if _TRUST.known(client, digest):
        return
    if digest not in ocr.trusted_root_digests(client):
        ocr.add_trusted_root(client, der)
        LOG.info('Added the HTTPS boot CA %(path)s (SHA-256 %(digest)s) to '
                 'the trusted root certificates of node %(node)s',
                 {'path': ca_path(node), 'digest': digest,
                  'node': node.uuid})
    _TRUST.remember(client, digest)


def prepared_url(node):
    """The URL of the image the next HTTPS boot of a node loads.

    :param node: an Ironic node.
    :returns: the URL.
    :raises: InvalidParameterValue when the amt-https boot interface has
        prepared none.
    """
    url = (node.driver_internal_info or {}).get(URL_KEY)
    if not url:
        raise exception.InvalidParameterValue(
            _('Node %s has no HTTPS boot image prepared; the uefihttp boot '
              'device is set by the amt-https boot interface') % node.uuid)
    return url


def boot_parameters(node, client):
    """Make the device ready for an HTTPS boot and encode its parameters.

    Switches OCR on if needed and stores the configured CA among the
    device's trusted roots, then encodes the URL of the image to boot and
    the TLS parameters: the BIOS verifies the server with AMT's trusted
    roots.

    :param node: an Ironic node whose driver_internal_info has the URL.
    :param client: the node's :class:`wsman.Client`.
    :returns: (UefiBootParametersArray text, UefiBootNumberOfParams).
    :raises: InvalidParameterValue when no URL is prepared or it cannot
        be encoded, or the CA cannot be read.
    :raises: HttpsBootUnsupported when the device cannot HTTPS boot.
    :raises: WSManError from the client.
    """
    url = prepared_url(node)
    try:
        encoded = ocr.encode_parameters(
            url, sync_root_ca=True,
            request_timeout=CONF.amt.https_boot_request_timeout)
    except ValueError as e:
        raise exception.InvalidParameterValue(
            _('Cannot boot node %(node)s from %(url)s: %(error)s') %
            {'node': node.uuid, 'url': url, 'error': e})
    der = load_ca(node)
    support = _SUPPORT.get(client)
    reason = unsupported_reason(support)
    if reason:
        _SUPPORT.forget(client)
        raise HttpsBootUnsupported(node=node.uuid, reason=reason)
    if not ocr.ocr_enabled(support.ocr_state):
        state = ocr.enable_ocr(client, support.ocr_state)
        LOG.info('Switched One-Click Recovery on for node %s', node.uuid)
        _SUPPORT.put(client, support._replace(ocr_state=state))
    if der is not None:
        _ensure_trusted(node, client, der)
    return encoded


def forget_device(client):
    """Drop what the conductor remembers about a device's HTTPS boot.

    :param client: the node's :class:`wsman.Client`.
    """
    _SUPPORT.forget(client)
    _TRUST.forget(client)


def _failure_reason(status):
    if status.detail == 2:
        return _('the device could not verify the image server or '
                 'authenticate to it (BIOS status: authentication failure); '
                 'check that amt_https_boot_ca (or [amt]https_boot_ca) is '
                 'the CA that signed the certificate of the image server '
                 'and that the URL host name matches that certificate')
    if status.detail == 3:
        return _('the BIOS reported that HTTPS boot is not supported')
    return _('the device could not load the boot image (BIOS status: '
             '%s); check that the URL is reachable from the node and the '
             'image exists') % ocr.BIOS_DETAIL.get(status.detail,
                                                   _('unknown detail'))


def boot_outcome(node):
    """What the BIOS reported about the HTTPS boot being watched.

    :param node: an Ironic node.
    :returns: None while the BIOS has not taken the boot options or has
        not finished; True when it reported success or nothing (a
        firmware that does not report leaves the agent timeout in charge).
    :raises: HttpsBootFailed when the BIOS reported a failed boot.
    :raises: AMTOperationError, AMTConnectionFailure,
        AMTAuthenticationFailure if the device cannot be read.
    """
    client = common.get_client(node)
    with errors.translate_errors(node, _('reading the BIOS boot status')):
        status = ocr.read_boot_status(client)
    if not status.options_cleared:
        return None
    if status.general == ocr.BIOS_STATUS_IN_PROGRESS:
        return None
    if status.general == ocr.BIOS_STATUS_FAILED:
        forget_device(client)
        raise HttpsBootFailed(
            node=node.uuid,
            url=node.driver_internal_info.get(URL_KEY),
            reason=_failure_reason(status))
    return True
