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

"""Thread-safe HTTP Digest state (RFC 7616, MD5, qop=auth) for AMT.

requests' ``HTTPDigestAuth`` keeps its state per thread, so every thread
pays a 401 round trip.  Here one :class:`DigestState` is shared by all the
threads using a client: after the first challenge every request carries a
pre-emptive ``Authorization`` header for a known nonce with a rising
nonce count, which AMT explicitly allows.

AMT wants the nonce count of a nonce to rise from one request to the next
*as it receives them*.  Requests of several threads travel on several
connections and may arrive in any order, so a nonce is lent to one request
at a time (:meth:`DigestState.acquire` / :meth:`DigestState.release`):
concurrent requests use different nonces, each nonce's count rises in
arrival order, and the pool holds as many nonces as requests were ever in
flight at once (one 401 each, once).
"""

import collections
import hashlib
import itertools
import os
import re
import secrets
import threading

# Hash functions by the challenge's ``algorithm`` parameter; AMT sends none,
# which means MD5.
_ALGORITHMS = {'MD5': hashlib.md5}


def _new_cnonce_key():
    global _CNONCE_KEY, _CNONCE_COUNTER
    _CNONCE_KEY = secrets.token_bytes(32)
    _CNONCE_COUNTER = itertools.count()


_new_cnonce_key()
# A forked process (a conductor worker) draws its own key.
os.register_at_fork(after_in_child=_new_cnonce_key)


def _cnonce():
    """A client nonce the device cannot predict, without a system call.

    A keyed BLAKE2s of a counter, under a key drawn once per process: as
    unpredictable as ``secrets.token_hex(8)`` to anyone without the key.
    """
    count = next(_CNONCE_COUNTER).to_bytes(8, 'big')
    return hashlib.blake2s(count, key=_CNONCE_KEY,
                           digest_size=8).hexdigest()


_SCHEME_RE = re.compile(r'(?:^|[\s,])Digest\s+', re.IGNORECASE)
_PARAM_RE = re.compile(
    r'\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def _unquote(value):
    return re.sub(r'\\(.)', r'\1', value)


def _quote(value):
    return value.replace('\\', '\\\\').replace('"', '\\"')


def parse_challenge(header):
    """Parse the Digest challenge of a ``WWW-Authenticate`` header.

    :param header: the header value, e.g.
        ``Digest realm="Digest:34BF...", nonce="bQal...", qop="auth"``.
    :returns: dict of lower-cased parameter names to unquoted values.
    :raises: ValueError if the header holds no usable Digest challenge.
    """
    match = _SCHEME_RE.search(header or '')
    if not match:
        raise ValueError('no Digest challenge offered')
    params = {}
    for name, quoted, token in _PARAM_RE.findall(header[match.end():]):
        name = name.lower()
        if name in params:
            # Start of a following challenge of another scheme.
            break
        params[name] = _unquote(quoted) if quoted else token
    if 'realm' not in params or 'nonce' not in params:
        raise ValueError('Digest challenge without realm or nonce')
    algorithm = params.get('algorithm', 'MD5').upper()
    if algorithm not in _ALGORITHMS:
        raise ValueError('unsupported Digest algorithm %s' % algorithm)
    qops = [q.strip() for q in params.get('qop', '').split(',')
            if q.strip()]
    if qops and 'auth' not in qops:
        raise ValueError('unsupported Digest qop %s' % params['qop'])
    return params


class Challenge(object):
    """One server nonce and its thread-safe nonce count.

    :param username: the user name.
    :param password: the password; kept only to compute digests.
    :param params: the parsed challenge from :func:`parse_challenge`.
    """

    def __init__(self, username, password, params):
        self._username = username
        self._params = params
        self._hash = _ALGORITHMS[params.get('algorithm', 'MD5').upper()]
        self._qop = 'auth' if 'qop' in params else None
        self._ha1 = self._digest('%s:%s:%s' % (username, params['realm'],
                                               password))
        self._nc = 0
        self._lock = threading.Lock()

    def __repr__(self):
        return '<Challenge realm=%s>' % self._params['realm']

    @property
    def realm(self):
        """The realm of the challenge."""
        return self._params['realm']

    @property
    def stale(self):
        """Whether the server flagged the previous nonce as stale."""
        return self._params.get('stale', '').lower() == 'true'

    def _digest(self, text):
        return self._hash(text.encode('utf-8'),
                          usedforsecurity=False).hexdigest()

    def _next_nc(self):
        with self._lock:
            self._nc += 1
            return self._nc

    def authorization(self, method, uri):
        """Build an ``Authorization`` header value for one request.

        Every call uses a new nonce count, so two calls never produce the
        same header.

        :param method: the HTTP method, e.g. ``POST``.
        :param uri: the request path, e.g. ``/wsman``.
        :returns: the header value.
        """
        nonce = self._params['nonce']
        ha2 = self._digest('%s:%s' % (method, uri))
        fields = [('username', _quote(self._username), True),
                  ('realm', _quote(self.realm), True),
                  ('nonce', _quote(nonce), True),
                  ('uri', _quote(uri), True)]
        if self._qop:
            nc = '%08x' % self._next_nc()
            cnonce = _cnonce()
            response = self._digest(':'.join(
                [self._ha1, nonce, nc, cnonce, self._qop, ha2]))
            fields += [('qop', self._qop, False), ('nc', nc, False),
                       ('cnonce', cnonce, True)]
        else:
            response = self._digest(':'.join([self._ha1, nonce, ha2]))
        fields.append(('response', response, True))
        if 'opaque' in self._params:
            fields.append(('opaque', _quote(self._params['opaque']), True))
        if 'algorithm' in self._params:
            fields.append(('algorithm', self._params['algorithm'], False))
        return 'Digest ' + ', '.join(
            '%s="%s"' % (name, value) if quoted else '%s=%s' % (name, value)
            for name, value, quoted in fields)


class DigestState(object):
    """The digest state shared by all threads using one client.

    A pool of idle challenges (nonces): a request borrows one with
    :meth:`acquire` and gives it back with :meth:`release` once answered,
    so no two requests in flight share a nonce.

    :param username: the user name.
    :param password: the password; never logged nor shown.
    """

    # Idle nonces kept at most; more are forgotten.
    MAX_IDLE = 32

    def __init__(self, username, password):
        self._username = username
        self._password = password
        self._idle = collections.deque()
        self._lock = threading.Lock()

    def __repr__(self):
        return '<DigestState username=%s>' % self._username

    def acquire(self):
        """Borrow the most recently used idle challenge.

        :returns: a :class:`Challenge`, or None when none is idle (the
            request is then sent without ``Authorization`` and its 401
            brings a new nonce).
        """
        with self._lock:
            return self._idle.pop() if self._idle else None

    def release(self, challenge):
        """Give a challenge back after its request got a non-401 answer.

        :param challenge: a :class:`Challenge` from :meth:`acquire` or
            :meth:`update`; None is ignored.
        """
        if challenge is None:
            return
        with self._lock:
            if len(self._idle) < self.MAX_IDLE:
                self._idle.append(challenge)

    def update(self, header):
        """Build a new challenge from a 401 response.

        The challenge belongs to the caller until :meth:`release`.

        :param header: the ``WWW-Authenticate`` header value.
        :returns: the new :class:`Challenge`.
        :raises: ValueError if the header holds no usable Digest challenge.
        """
        return Challenge(self._username, self._password,
                         parse_challenge(header))
