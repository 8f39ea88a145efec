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

Digest-authenticated POSTs over kept-alive connections
(:mod:`ironic_amt.wsman.http`, bounded in bytes and time), with
pre-emptive ``Authorization`` headers from :mod:`ironic_amt.wsman.digest`
so that a steady-state call is one HTTP exchange.  TLS contexts are
shared per setting (:mod:`ironic_amt.wsman.tls`) and the TLS session of
the device is resumed on every new connection.

One attempt (:meth:`Transport.post`: connect, send, whole answer, and a
digest challenge round if the device asks for one) has one deadline,
``connect_timeout + read_timeout`` after it starts.  Proxies, ``.netrc``
and redirects play no part: nothing in the environment or in an answer can
send the credentials elsewhere.
"""

import collections
import logging
import threading
import time

from ironic_amt.wsman import digest
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import http
from ironic_amt.wsman import tls

LOG = logging.getLogger(__name__)

DEFAULT_PORTS = {'http': 16992, 'https': 16993}
WSMAN_PATH = '/wsman'
CONTENT_TYPE = 'application/soap+xml;charset=UTF-8'
# The cap of a decoded answer when the caller gives none: the
# MaxEnvelopeSize we ask for (envelope.MAX_ENVELOPE_SIZE, 51200) with room
# for a device that counts it loosely.
DEFAULT_MAX_RESPONSE_SIZE = 65536
# Challenges answered for one request: the first, and stale re-challenges.
_MAX_CHALLENGES = 3
# Idle connections kept per endpoint.
MAX_IDLE = 4

Stats = collections.namedtuple('Stats', [
    'connections', 'tls_resumed', 'exchanges', 'bytes_read'])
Stats.__doc__ = """Counters of a transport, for tests and tools.

:ivar connections: connections opened.
:ivar tls_resumed: TLS connections whose handshake resumed a session.
:ivar exchanges: HTTP exchanges.
:ivar bytes_read: bytes received from the device.
"""


def endpoint_url(address, protocol, port):
    """Build the WS-Management URL of a device.

    :param address: host name, IPv4 or IPv6 literal.
    :param protocol: 'http' or 'https'.
    :param port: the TCP port; None for the protocol's default.
    :returns: the URL, e.g. ``https://[::1]:16993/wsman``.
    :raises: ValueError on an unknown protocol or an empty address.
    """
    return '%s://%s%s' % (protocol, _authority(*_target(address, protocol,
                                                        port)), WSMAN_PATH)


def _target(address, protocol, port):
    if protocol not in DEFAULT_PORTS:
        raise ValueError('Unsupported protocol %r, expected one of %s'
                         % (protocol, ', '.join(sorted(DEFAULT_PORTS))))
    host = (address or '').strip().strip('[]')
    if not host:
        raise ValueError('An AMT address is required')
    if port is None:
        port = DEFAULT_PORTS[protocol]
    return host.replace('%25', '%'), int(port)


def _authority(host, port):
    if ':' in host:
        # IPv6 literal; a zone index must be percent-encoded (RFC 6874).
        host = '[%s]' % host.replace('%', '%25')
    return '%s:%d' % (host, port)


class Transport(object):
    """Digest-authenticated POSTs to one WS-Management endpoint.

    Thread-safe: each request borrows an idle connection (or opens one)
    and gives it back if the device keeps it open.

    :param address: host name, IPv4 or IPv6 literal of the device.
    :param protocol: 'https' or 'http'.
    :param port: the TCP port; None for the protocol's default.
    :param username: the digest user name.
    :param password: the digest password; never logged nor shown.
    :param verify: True (system trust store), False or the path of a CA
        bundle file or directory.
    :param connect_timeout: the longest wait for the TCP connection, and
        again for the TLS handshake.
    :param read_timeout: the longest wait for data from the device.
    :param legacy_tls: allow TLS 1.0+ and plain-RSA ciphers (AMT <= 11).
    :param max_response_size: the cap of a decoded answer in bytes.
    :raises: ValueError on an unknown protocol, an empty address or a
        user name that cannot be sent in an HTTP header.
    """

    def __init__(self, address, protocol, port, username, password,
                 verify=True, connect_timeout=10.0, read_timeout=30.0,
                 legacy_tls=False,
                 max_response_size=DEFAULT_MAX_RESPONSE_SIZE):
        self._host, self._port = _target(address, protocol, port)
        self.endpoint = endpoint_url(address, protocol, port)
        self._digest = digest.DigestState(username, password)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_response_size = max_response_size
        self._tls_context = None
        if protocol == 'https':
            self._tls_context = tls.context_for(verify, legacy_tls)
        self._tls_session = None
        self._lock = threading.Lock()
        self._idle = []
        self._counters = collections.Counter()
        self._head = ('POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n'
                      'Accept-Encoding: identity\r\n'
                      % (WSMAN_PATH, _authority(self._host, self._port),
                         CONTENT_TYPE)).encode('ascii')
        try:
            username.encode('latin-1')
        except UnicodeEncodeError:
            raise ValueError('The user name cannot be sent in an HTTP '
                             'header (characters outside Latin-1)')

    @property
    def stats(self):
        """A :class:`Stats` snapshot."""
        with self._lock:
            return Stats(*(self._counters[name] for name in Stats._fields))

    def close(self):
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def post(self, payload, idempotent=False):
        """POST with digest authentication, within one deadline.

        The request borrows an idle nonce from the digest state (none: it
        goes without ``Authorization`` and gets a challenge).  A 401 to a
        pre-emptive header, or any 401 saying ``stale="true"``, is answered
        with the new challenge (at most _MAX_CHALLENGES times); a plain 401
        to a challenge we have just answered means the credentials are
        wrong.  The nonce in use goes back to the pool once the device has
        answered with anything but 401, or when the exchange failed.

        :param payload: the request envelope as bytes.
        :param idempotent: True for a request the device may get twice
            (a Get): a kept-alive connection is then used without first
            checking that the device has not closed it, and a request the
            device closed such a connection on without answering a byte
            is sent again at once on a new one. Otherwise the check comes
            first (one system call, each of which lets another thread of
            a busy conductor take the GIL).
        :returns: the :class:`http.Response`.
        :raises: WSManError or a subclass.
        """
        deadline = (time.monotonic() + self._connect_timeout
                    + self._read_timeout)
        challenge = self._digest.acquire()
        answered_fresh = False
        for attempt in range(_MAX_CHALLENGES + 1):
            try:
                response = self._exchange(payload, challenge, deadline,
                                          idempotent)
            except exceptions.WSManError:
                self._digest.release(challenge)
                raise
            if response.status != 401:
                self._digest.release(challenge)
                return response
            if attempt == _MAX_CHALLENGES:
                break
            try:
                fresh = self._digest.update(
                    response.headers.get('www-authenticate'))
            except ValueError as e:
                # The message may quote the device's header: sanitised.
                raise exceptions.WSManAuthError(
                    self.endpoint, http.quote_device_text(str(e), 200))
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
            'realm %s' % http.quote_device_text(fresh.realm))

    def _request(self, payload, challenge):
        head = self._head
        if challenge is not None:
            value = challenge.authorization('POST', WSMAN_PATH)
            head += b'Authorization: ' + value.encode('latin-1') + b'\r\n'
        return b'%sContent-Length: %d\r\n\r\n%s' % (
            head, len(payload), payload)

    def _exchange(self, payload, challenge, deadline, idempotent=False):
        request = self._request(payload, challenge)
        conn = self._borrow(deadline, check_idle=not idempotent)
        try:
            response = conn.exchange(request, self._max_response_size,
                                     deadline)
        except exceptions.WSManConnectionError as e:
            unanswered = (conn.exchanges > 1 and not conn.bytes_read
                          and not isinstance(e, exceptions.WSManTimeoutError))
            self._count(conn)
            conn.close()
            if not (idempotent and unanswered):
                raise
            # The device had closed the kept-alive connection while it
            # was idle: it never saw the request.
            LOG.debug('%(endpoint)s closed an idle connection, resending '
                      'on a new one', {'endpoint': self.endpoint})
            return self._exchange(payload, challenge, deadline)
        except BaseException:
            self._count(conn)
            conn.close()
            raise
        self._count(conn)
        if (conn.exchanges == 1 and self._tls_context is not None
                and not conn.tls_resumed):
            # A TLS 1.3 ticket arrives after the handshake: keep the
            # session once an answer has been read. A resumed handshake
            # kept the session we have (and reading it back costs about
            # as much CPU as the resumed handshake: the ssl module copies
            # it through its DER form).
            self._tls_session = conn.tls_session
        if response.reusable:
            self._give_back(conn)
        else:
            conn.close()
        return response

    def _count(self, conn):
        with self._lock:
            self._counters['exchanges'] += 1
            self._counters['bytes_read'] += conn.bytes_read
        conn.bytes_read = 0

    def _borrow(self, deadline, check_idle=True):
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if not check_idle or not conn.is_dropped():
                return conn
            conn.close()
        conn = http.Connection.open(
            self.endpoint, self._host, self._port, self._connect_timeout,
            self._read_timeout, deadline, tls_context=self._tls_context,
            server_hostname=self._host, tls_session=self._tls_session)
        with self._lock:
            self._counters['connections'] += 1
            self._counters['tls_resumed'] += conn.tls_resumed
        return conn

    def _give_back(self, conn):
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()
