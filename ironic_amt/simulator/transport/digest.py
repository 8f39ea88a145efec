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

"""HTTP digest authentication the way AMT does it.

AMT sends ``WWW-Authenticate: Digest realm="Digest:<32 HEX>",
nonce="<32 base64 chars>",stale="false",qop="auth"`` (no opaque, no
algorithm) and lets a client reuse a nonce with a rising nonce count.
Clients differ in how they write the count (``00000002``, ``"2"``) and
whether they quote ``qop``; all those forms are accepted here.
"""

import base64
import collections
import hashlib
import hmac
import os
import re
import threading

# Results of checking an Authorization header.
AUTH_OK = 'ok'
AUTH_STALE = 'stale'
AUTH_BAD = 'bad'
AUTH_CHALLENGE = 'challenge'

_PARAM_RE = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')

# Nonces remembered per device; older ones count as unknown (stale).
MAX_NONCES = 4096

# The HTML page AMT sends with a 401.
UNAUTHORIZED_PAGE = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" >\n'
    b'<html><head><link rel=stylesheet href=/styles.css>\n'
    b'<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
    b'<title>Intel&reg; Active Management Technology</title></head>\n'
    b'<body>\n<table class=header>\n<tr><td valign=top nowrap>\n'
    b'<p class=top1>Intel<font class=r><sup>&reg;</sup></font> Active '
    b'Management Technology\n<td valign="top"><img src="logo.gif" '
    b'align="right" alt="Intel">\n</table>\n<br />\n<h2 class=warn>Log on '
    b'failed. Incorrect user name or password, or user account temporarily '
    b'locked.</h2>\n<p>\n<form METHOD="GET" action="index.htm"><h2><input '
    b'type=submit value="Try again">\n</h2></form>\n<p>\n</body>\n</html>\n')


def parse_authorization(value):
    """Parse a Digest Authorization header value.

    :param value: the header value.
    :returns: a dict of parameter name (lower case) to unquoted value, or
        None when the scheme is not Digest.
    """
    scheme, _, rest = value.strip().partition(' ')
    if scheme.lower() != 'digest':
        return None
    params = {}
    for key, raw in _PARAM_RE.findall(rest):
        if raw.startswith('"'):
            raw = re.sub(r'\\(.)', r'\1', raw[1:-1])
        params[key.lower()] = raw
    return params


def parse_nonce_count(text):
    """Read a nonce count written as 8 hex digits or as a decimal.

    :param text: the nc value, unquoted.
    :returns: the count as an int.
    :raises: ValueError when it is neither.
    """
    if len(text) == 8:
        return int(text, 16)
    if text.isdigit():
        return int(text)
    return int(text, 16)


def _md5(text):
    return hashlib.md5(text.encode('utf-8')).hexdigest()  # nosec


class DigestAuthority(object):
    """Issues nonces and checks digest responses for one device."""

    def __init__(self, realm, username, password, qop='auth'):
        """Create the authority.

        :param realm: the device realm, 'Digest:<32 HEX>'.
        :param username: the one account's user name.
        :param password: its password (never logged).
        :param qop: the qop offer, 'auth' or 'auth-int,auth' (AMT 14+);
            responses are accepted with qop=auth only.
        """
        self.realm = realm
        self.qop = qop
        self.username = username
        self._ha1 = _md5('%s:%s:%s' % (username, realm, password))
        self._nonces = collections.OrderedDict()
        self._lock = threading.Lock()

    def challenge(self, stale=False):
        """Issue a nonce and build the WWW-Authenticate value.

        :param stale: whether to say stale="true".
        :returns: the header value.
        """
        nonce = base64.b64encode(os.urandom(24)).decode('ascii')
        with self._lock:
            self._nonces[nonce] = 0
            while len(self._nonces) > MAX_NONCES:
                self._nonces.popitem(last=False)
        return ('Digest realm="%s", nonce="%s",stale="%s",qop="%s"'
                % (self.realm, nonce, 'true' if stale else 'false',
                   self.qop))

    def expire_nonces(self):
        """Forget every nonce; the next use of one gets stale="true"."""
        with self._lock:
            self._nonces.clear()

    def check(self, header, method):
        """Check an Authorization header.

        :param header: the header value, or None.
        :param method: the HTTP method of the request.
        :returns: AUTH_CHALLENGE without a header, AUTH_OK, AUTH_STALE for a
            correct digest on an unknown nonce or a nonce count that did not
            rise, AUTH_BAD otherwise.
        """
        if not header:
            return AUTH_CHALLENGE
        params = parse_authorization(header)
        if not params:
            return AUTH_BAD
        try:
            nonce = params['nonce']
            nc_text = params['nc']
            nc = parse_nonce_count(nc_text)
            expected = _md5(':'.join([
                self._ha1, nonce, nc_text, params['cnonce'], params['qop'],
                _md5('%s:%s' % (method, params['uri']))]))
        except (KeyError, ValueError):
            return AUTH_BAD
        if (params.get('username') != self.username
                or params.get('realm') != self.realm
                or params['qop'] != 'auth'
                or not hmac.compare_digest(
                    expected, params.get('response', '').lower())):
            return AUTH_BAD
        with self._lock:
            last = self._nonces.get(nonce)
            if last is None or nc <= last:
                return AUTH_STALE
            self._nonces[nonce] = nc
        return AUTH_OK
