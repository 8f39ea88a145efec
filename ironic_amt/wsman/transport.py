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
"""HTTP transport to one Intel AMT WS-Management endpoint.

One requests.Session per endpoint (keep-alive), HTTP Digest done by
:mod:`ironic_amt.wsman.digest` with pre-emptive ``Authorization``
headers so that a steady-state call is one HTTP exchange.  Transport
failures become typed :mod:`ironic_amt.wsman.exceptions`.
"""

import logging
import ssl

import requests
from requests import adapters
from urllib3.util import ssl_ as urllib3_ssl

from ironic_amt.wsman import digest
from ironic_amt.wsman import exceptions

LOG = logging.getLogger(__name__)

DEFAULT_PORTS = {'http': 16992, 'https': 16993}
WSMAN_PATH = '/wsman'
CONTENT_TYPE = 'application/soap+xml;charset=UTF-8'
# Challenges answered for one request: the first, and stale re-challenges.
_MAX_CHALLENGES = 3
# Ciphers for AMT 11 and older (plain RSA key exchange, TLS 1.0/1.1).
LEGACY_CIPHERS = 'DEFAULT:@SECLEVEL=0'


def create_legacy_ssl_context():
    """Create an SSL context for AMT 11 and older firmware.

    It accepts TLS 1.0 and later and the plain-RSA cipher suites of old
    firmware.  Certificate verification is left to requests/urllib3, which
    set the verification mode and check the host name per connection.

    :returns: an ``ssl.SSLContext``.
    """
    context = urllib3_ssl.create_urllib3_context(ciphers=LEGACY_CIPHERS)
    context.check_hostname = False
    context.minimum_version = ssl.TLSVersion.TLSv1
    return context


class LegacyTLSAdapter(adapters.HTTPAdapter):
    """HTTPS adapter using :func:`create_legacy_ssl_context`."""

    def init_poolmanager(self, *args, **kwargs):
        kwargs['ssl_context'] = create_legacy_ssl_context()
        return super().init_poolmanager(*args, **kwargs)


def endpoint_url(address, protocol, port):
    """Build the WS-Management URL of a device.

    :param address: host name, IPv4 or IPv6 literal.
    :param protocol: 'http' or 'https'.
    :param port: the TCP port; None for the protocol's default.
    :returns: the URL, e.g. ``https://[::1]:16993/wsman``.
    :raises: ValueError on an unknown protocol or an empty address.
    """
    if protocol not in DEFAULT_PORTS:
        raise ValueError('Unsupported protocol %r, expected one of %s'
                         % (protocol, ', '.join(sorted(DEFAULT_PORTS))))
    host = (address or '').strip().strip('[]')
    if not host:
        raise ValueError('An AMT address is required')
    if ':' in host:
        # IPv6 literal; a zone index must be percent-encoded (RFC 6874).
        host = '[%s]' % host.replace('%25', '%').replace('%', '%25')
    if port is None:
        port = DEFAULT_PORTS[protocol]
    return '%s://%s:%d%s' % (protocol, host, int(port), WSMAN_PATH)


class Transport(object):
    """Digest-authenticated POSTs to one WS-Management endpoint.

    Thread-safe.  The session ignores proxy and ``.netrc`` settings from
    the environment, so neither can redirect nor override the credentials.

    :param endpoint: the endpoint URL (see :func:`endpoint_url`).
    :param username: the digest user name.
    :param password: the digest password; never logged nor shown.
    :param verify: True, False or the path of a CA bundle.
    :param connect_timeout: TCP connect timeout in seconds.
    :param read_timeout: response read timeout in seconds.
    :param legacy_tls: allow TLS 1.0+ and plain-RSA ciphers (AMT <= 11).
    """

    def __init__(self, endpoint, username, password, verify=True,
                 connect_timeout=10.0, read_timeout=30.0, legacy_tls=False):
        self.endpoint = endpoint
        self._digest = digest.DigestState(username, password)
        self._timeout = (connect_timeout, read_timeout)
        self._verify = verify
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.verify = verify
        if legacy_tls:
            self._session.mount('https://', LegacyTLSAdapter())

    def close(self):
        """Close the pooled connections."""
        self._session.close()

    def post(self, payload):
        """POST with digest authentication.

        The request borrows an idle nonce from the digest state (none: it
        goes without ``Authorization`` and gets a challenge).  A 401 to a
        pre-emptive header, or any 401 saying ``stale="true"``, is answered
        with the new challenge (at most _MAX_CHALLENGES times); a plain 401
        to a challenge we have just answered means the credentials are
        wrong.  The nonce in use goes back to the pool once the device has
        answered with anything but 401, or when the connection failed.

        :param payload: the request envelope as bytes.
        :returns: the ``requests.Response``.
        :raises: WSManError or a subclass.
        """
        challenge = self._digest.acquire()
        answered_fresh = False
        for attempt in range(_MAX_CHALLENGES + 1):
            try:
                response = self._send(payload, challenge)
            except exceptions.WSManError:
                self._digest.release(challenge)
                raise
            if response.status_code != 401:
                self._digest.release(challenge)
                return response
            if attempt == _MAX_CHALLENGES:
                break
            try:
                fresh = self._digest.update(
                    response.headers.get('WWW-Authenticate'))
            except ValueError as e:
                raise exceptions.WSManAuthError(self.endpoint, str(e))
            if answered_fresh and not fresh.stale:
                break
            LOG.debug('Digest authorization to %(endpoint)s answered with '
                      'a challenge (stale nonce: %(stale)s), resending',
                      {'endpoint': self.endpoint, 'stale': fresh.stale})
            challenge = fresh
            answered_fresh = True
        if fresh.stale:
            raise exceptions.WSManStaleNonceError(
                self.endpoint, '%d challenges in a row' % _MAX_CHALLENGES)
        raise exceptions.WSManAuthError(
            self.endpoint, 'digest authentication failed for user and '
            'realm %s' % fresh.realm)

    def _send(self, payload, challenge):
        headers = {'Content-Type': CONTENT_TYPE}
        if challenge is not None:
            headers['Authorization'] = challenge.authorization(
                'POST', WSMAN_PATH)
        try:
            return self._session.post(
                self.endpoint, data=payload, headers=headers,
                timeout=self._timeout, verify=self._verify,
                allow_redirects=False)
        except requests.exceptions.SSLError as e:
            raise exceptions.WSManTLSError(self.endpoint, str(e))
        except requests.exceptions.Timeout as e:
            raise exceptions.WSManTimeoutError(self.endpoint, str(e))
        except (requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError) as e:
            raise exceptions.WSManConnectionError(self.endpoint, str(e))
        except requests.exceptions.RequestException as e:
            raise exceptions.WSManError(self.endpoint, str(e))
