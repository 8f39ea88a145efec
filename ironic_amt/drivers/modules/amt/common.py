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

"""driver_info parsing and the per-endpoint WS-Man client cache."""

import hashlib
import os
import re
import threading

from ironic.common import exception
from ironic.common.i18n import _
from oslo_log import log as logging
from oslo_utils import netutils
from oslo_utils import strutils

from ironic_amt.conf import CONF
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import http
from ironic_amt.wsman import redirection
from ironic_amt.wsman import transport

LOG = logging.getLogger(__name__)

REQUIRED_PROPERTIES = {
    'amt_address': _('Host name, IPv4 or IPv6 address of the AMT interface. '
                     'Required.'),
    'amt_username': _('Username of an AMT account allowed to control power '
                      'and boot (usually "admin"). Required.'),
    'amt_password': _('Password of that AMT account. Required.'),
}
OPTIONAL_PROPERTIES = {
    'amt_protocol': _('Protocol used to talk to AMT: "http" or "https". '
                      'Optional; defaults to [amt]protocol.'),
    'amt_port': _('TCP port of the AMT interface. Optional; defaults to '
                  '16992 for http and 16993 for https.'),
    'amt_verify_ca': _('For https: "true" to verify the AMT certificate '
                       'against the system CA store (as OpenSSL finds it, '
                       'not certifi), "false" to skip verification '
                       '(insecure, logged as a warning), or the path of a '
                       'CA bundle or certificate to verify against. '
                       'Optional; defaults to [amt]verify_ca.'),
}
COMMON_PROPERTIES = {**REQUIRED_PROPERTIES, **OPTIONAL_PROPERTIES}
# Read by the console interfaces (serial and graphical).
REDIRECTION_PROPERTIES = {
    'amt_redirection_port': _('TCP port of the AMT redirection service '
                              '(Serial-over-LAN and KVM). Optional; '
                              'defaults to 16994 for http and 16995 for '
                              'https.'),
}

# RFC 1123 host names: dot-separated labels of letters, digits and hyphens.
_HOSTNAME_RE = re.compile(
    r'^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)'
    r'(\.([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?))*\.?$', re.IGNORECASE)


# Characters HTTP cannot carry in a header or request line.
_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')


def _invalid(node, key, value, why):
    return exception.InvalidParameterValue(
        _('Invalid value "%(value)s" in driver_info/%(key)s of node '
          '%(node)s: %(why)s') %
        {'value': http.quote_device_text(str(value)), 'key': key,
         'node': node.uuid, 'why': why})


def _invalid_secret(node, key, why):
    # Never echo the value: it may be the password.
    return exception.InvalidParameterValue(
        _('Invalid value in driver_info/%(key)s of node %(node)s: '
          '%(why)s') % {'key': key, 'node': node.uuid, 'why': why})


def _parse_credential(node, key, value, in_header):
    """A user name or password: a string, or digits given as a number.

    :param in_header: whether the value is sent in an HTTP header (the
        user name), so must be Latin-1.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        # "amt_password=12345678" on the command line arrives as a number.
        value = str(value)
    if not isinstance(value, str):
        raise _invalid_secret(node, key, _('expected a string (quote a '
                                           'value that looks like a '
                                           'number)'))
    if not value.strip():
        raise _invalid_secret(node, key, _('it is empty'))
    if _CONTROL_RE.search(value):
        raise _invalid_secret(node, key, _('it contains control characters '
                                           '(line breaks, tabs...)'))
    if in_header:
        try:
            value.encode('latin-1')
        except UnicodeEncodeError:
            raise _invalid_secret(node, key, _('HTTP headers can only carry '
                                               'Latin-1 characters'))
    return value


def _parse_address(node, address):
    if not isinstance(address, str) or _CONTROL_RE.search(address):
        raise _invalid(node, 'amt_address', address,
                       _('expected a host name or an IP address'))
    address = address.strip()
    bare = address[1:-1] if address.startswith('[') else address
    if (netutils.is_valid_ipv4(bare) or netutils.is_valid_ipv6(bare)
            or _HOSTNAME_RE.match(bare)):
        return bare
    raise _invalid(node, 'amt_address', address,
                   _('expected a host name or an IPv4 or IPv6 address'))


def parse_port(node, port, protocol, key='amt_port',
               defaults=transport.DEFAULT_PORTS):
    """Validate a TCP port from driver_info.

    :param node: an Ironic node object.
    :param port: the value, or None for the protocol's default.
    :param protocol: 'http' or 'https'.
    :param key: the driver_info key, for the error message.
    :param defaults: protocol -> default port.
    :returns: the port number.
    :raises: InvalidParameterValue naming the key, the value and the node.
    """
    if port is None:
        return defaults[protocol]
    number = 0
    if isinstance(port, int) and not isinstance(port, bool):
        number = port
    elif isinstance(port, str) and port.strip().isdigit():
        number = int(port.strip())
    if not 0 < number < 65536:
        raise _invalid(node, key, port,
                       _('expected a TCP port number from 1 to 65535'))
    return number


def _parse_verify_ca(node, value, key):
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return strutils.bool_from_string(value, strict=True)
        except ValueError:
            if os.path.isfile(value) or os.path.isdir(value):
                return value
    raise exception.InvalidParameterValue(
        _('Invalid value "%(value)s" in %(key)s for node %(node)s: expected '
          'true, false or the path of an existing CA bundle') %
        {'value': value, 'key': key, 'node': node.uuid})


def parse_driver_info(node):
    """Parse and validate the AMT properties of a node, offline.

    :param node: an Ironic node object.
    :returns: a dict with keys address, port, protocol, username, password
        and verify (bool or CA path).
    :raises: MissingParameterValue listing every missing required key.
    :raises: InvalidParameterValue naming the key, the value and the node.
    """
    info = node.driver_info or {}
    missing = sorted(key for key in REQUIRED_PROPERTIES
                     if info.get(key) in (None, ''))
    if missing:
        raise exception.MissingParameterValue(
            _('Missing the following AMT properties in node %(node)s '
              'driver_info: %(keys)s') % {'node': node.uuid,
                                          'keys': ', '.join(missing)})
    username = _parse_credential(node, 'amt_username', info['amt_username'],
                                 in_header=True)
    password = _parse_credential(node, 'amt_password', info['amt_password'],
                                 in_header=False)
    protocol = info.get('amt_protocol') or CONF.amt.protocol
    if protocol not in transport.DEFAULT_PORTS:
        raise _invalid(node, 'amt_protocol', protocol,
                       _('expected one of %s') %
                       ', '.join(sorted(transport.DEFAULT_PORTS)))
    if 'amt_verify_ca' in info:
        verify = _parse_verify_ca(node, info['amt_verify_ca'],
                                  'driver_info/amt_verify_ca')
    else:
        verify = _parse_verify_ca(node, CONF.amt.verify_ca,
                                  '[amt]verify_ca')
    if protocol == 'https' and verify is False:
        _warn_unverified(node, 'amt_verify_ca' in info)
    return {
        'address': _parse_address(node, info['amt_address']),
        'port': parse_port(node, info.get('amt_port'), protocol),
        'protocol': protocol,
        'username': username,
        'password': password,
        'verify': verify,
    }


_UNVERIFIED_LOCK = threading.Lock()
_UNVERIFIED_WARNED = set()


def _warn_unverified(node, per_node):
    """Warn once per node per conductor start: TLS without verification."""
    with _UNVERIFIED_LOCK:
        if node.uuid in _UNVERIFIED_WARNED:
            return
        _UNVERIFIED_WARNED.add(node.uuid)
    LOG.warning('TLS certificate verification of the AMT interface of node '
                '%(node)s is disabled (%(source)s=false): anyone on the '
                'network path can impersonate it and read its credentials. '
                'Set amt_verify_ca to true or to the path of a CA bundle.',
                {'node': node.uuid,
                 'source': ('driver_info/amt_verify_ca' if per_node
                            else '[amt]verify_ca')})


def parse_redirection_info(node):
    """Parse the driver_info of a redirection (SOL or KVM) session.

    :param node: an Ironic node object.
    :returns: the dict of :func:`parse_driver_info` plus
        redirection_port (default by protocol).
    :raises: MissingParameterValue, InvalidParameterValue naming the key.
    """
    info = parse_driver_info(node)
    info['redirection_port'] = parse_port(
        node, (node.driver_info or {}).get('amt_redirection_port'),
        info['protocol'], key='amt_redirection_port',
        defaults=redirection.DEFAULT_PORTS)
    return info


class _ClientCache:
    """One WS-Man client (one HTTP session) per AMT endpoint.

    A client is replaced when anything it was built from changes (password,
    TLS verification, timeouts, retry options), so nodes moving between
    conductors or re-enrolled with new credentials never reuse stale state.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._clients = {}

    @staticmethod
    def _fingerprint(info):
        secret = hashlib.sha256(info['password'].encode()).hexdigest()
        return (secret, str(info['verify']), CONF.amt.connect_timeout,
                CONF.amt.read_timeout, CONF.amt.max_retry,
                CONF.amt.action_wait, CONF.amt.allow_legacy_tls,
                CONF.amt.max_response_size)

    def get(self, info):
        key = (info['address'], info['port'], info['protocol'],
               info['username'])
        fingerprint = self._fingerprint(info)
        with self._lock:
            cached = self._clients.get(key)
            if cached and cached[0] == fingerprint:
                return cached[1]
            client = wsman.Client(
                info['address'], info['username'], info['password'],
                protocol=info['protocol'], port=info['port'],
                verify=info['verify'],
                connect_timeout=CONF.amt.connect_timeout,
                read_timeout=CONF.amt.read_timeout,
                attempts=CONF.amt.max_retry,
                retry_wait=CONF.amt.action_wait,
                legacy_tls=CONF.amt.allow_legacy_tls,
                max_response_size=CONF.amt.max_response_size)
            self._clients[key] = (fingerprint, client)
        if cached:
            cached[1].close()
        return client


_CLIENTS = _ClientCache()


def get_client(node):
    """Return the shared WS-Man client for the AMT endpoint of a node.

    :param node: an Ironic node object.
    :returns: an :class:`wsman.Client`.
    :raises: MissingParameterValue, InvalidParameterValue on bad driver_info.
    """
    return _CLIENTS.get(parse_driver_info(node))
