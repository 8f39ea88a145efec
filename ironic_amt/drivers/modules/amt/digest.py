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
pre-emptive ``Authorization`` header for the same nonce with a rising
nonce count, which AMT explicitly allows.
"""

import hashlib
import re
import secrets
import threading

# Hash functions by the challenge's ``algorithm`` parameter; AMT sends none,
# which means MD5.
_ALGORITHMS = {'MD5': hashlib.md5}

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
            cnonce = secrets.token_hex(8)
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

    :param username: the user name.
    :param password: the password; never logged nor shown.
    """

    def __init__(self, username, password):
        self._username = username
        self._password = password
        self._challenge = None
        self._lock = threading.Lock()

    def __repr__(self):
        return '<DigestState username=%s>' % self._username

    @property
    def challenge(self):
        """The current :class:`Challenge`, or None before the first 401."""
        with self._lock:
            return self._challenge

    def update(self, header):
        """Take a new challenge from a 401 response.

        :param header: the ``WWW-Authenticate`` header value.
        :returns: the new :class:`Challenge`, which the caller should use to
            resend its request (another thread may replace the shared one
            in the meantime).
        :raises: ValueError if the header holds no usable Digest challenge.
        """
        challenge = Challenge(self._username, self._password,
                              parse_challenge(header))
        with self._lock:
            self._challenge = challenge
        return challenge
