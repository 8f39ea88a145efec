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

"""Tests of the shared HTTP Digest state of the AMT WS-Man client."""

import hashlib
import os
import threading
from unittest import mock
import urllib.request

from oslotest import base

from ironic_amt.wsman import digest

# Verbatim from a real AMT 15 401 response.
AMT_CHALLENGE = ('Digest realm="Digest:34BF4B5A0561F95248F58509A406E046", '
                 'nonce="bQali2IAAAAAAAAAn0xaWCOcxNsRcEHX",stale="false",'
                 'qop="auth"')
PASSWORD = 'P@ssw0rd-s3cret'


def md5(text):
    return hashlib.md5(text.encode('utf-8')).hexdigest()


def parse_authorization(value):
    scheme, _sep, rest = value.partition(' ')
    assert scheme == 'Digest', value
    return urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest))


def expected_response(fields, password, method='POST'):
    ha1 = md5('%s:%s:%s' % (fields['username'], fields['realm'], password))
    ha2 = md5('%s:%s' % (method, fields['uri']))
    if 'qop' not in fields:
        return md5('%s:%s:%s' % (ha1, fields['nonce'], ha2))
    return md5(':'.join([ha1, fields['nonce'], fields['nc'],
                         fields['cnonce'], fields['qop'], ha2]))


class ParseChallengeTestCase(base.BaseTestCase):

    def test_amt_challenge(self):
        params = digest.parse_challenge(AMT_CHALLENGE)
        self.assertEqual({'realm': 'Digest:34BF4B5A0561F95248F58509A406E046',
                          'nonce': 'bQali2IAAAAAAAAAn0xaWCOcxNsRcEHX',
                          'stale': 'false', 'qop': 'auth'}, params)

    def test_unquoted_values_and_qop_list(self):
        params = digest.parse_challenge(
            'digest realm="Digest:00", nonce=abc+/==, stale=TRUE, '
            'qop="auth-int,auth", algorithm=MD5')
        self.assertEqual('abc+/==', params['nonce'])
        self.assertEqual('TRUE', params['stale'])
        self.assertEqual('auth-int,auth', params['qop'])

    def test_escaped_quote(self):
        params = digest.parse_challenge(
            r'Digest realm="a\"b", nonce="n"')
        self.assertEqual('a"b', params['realm'])

    def test_digest_after_other_scheme(self):
        params = digest.parse_challenge(
            'Negotiate, Digest realm="Digest:01", nonce="n", qop="auth"')
        self.assertEqual('Digest:01', params['realm'])

    def test_invalid(self):
        for header in (None, '', 'Basic realm="x"',
                       'Digest realm="Digest:01"',
                       'Digest nonce="n"',
                       'Digest realm="r", nonce="n", algorithm=SHA-256',
                       'Digest realm="r", nonce="n", qop="auth-int"'):
            self.assertRaises(ValueError, digest.parse_challenge, header)


class ChallengeTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.challenge = digest.Challenge(
            'admin', PASSWORD, digest.parse_challenge(AMT_CHALLENGE))

    def test_authorization_is_valid(self):
        fields = parse_authorization(
            self.challenge.authorization('POST', '/wsman'))
        self.assertEqual('admin', fields['username'])
        self.assertEqual('Digest:34BF4B5A0561F95248F58509A406E046',
                         fields['realm'])
        self.assertEqual('bQali2IAAAAAAAAAn0xaWCOcxNsRcEHX', fields['nonce'])
        self.assertEqual('/wsman', fields['uri'])
        self.assertEqual('auth', fields['qop'])
        self.assertEqual('00000001', fields['nc'])
        self.assertNotIn('algorithm', fields)
        self.assertNotIn('opaque', fields)
        self.assertEqual(expected_response(fields, PASSWORD),
                         fields['response'])

    def test_nc_rises_and_cnonce_changes(self):
        first = parse_authorization(
            self.challenge.authorization('POST', '/wsman'))
        second = parse_authorization(
            self.challenge.authorization('POST', '/wsman'))
        self.assertEqual('00000001', first['nc'])
        self.assertEqual('00000002', second['nc'])
        self.assertNotEqual(first['cnonce'], second['cnonce'])
        self.assertEqual(expected_response(second, PASSWORD),
                         second['response'])

    def test_cnonce_is_unpredictable_hex_without_a_system_call(self):
        with mock.patch.object(os, 'urandom', autospec=True) as urandom:
            cnonces = [parse_authorization(self.challenge.authorization(
                'POST', '/wsman'))['cnonce'] for _i in range(3)]
        urandom.assert_not_called()
        self.assertEqual(3, len(set(cnonces)))
        for cnonce in cnonces:
            self.assertRegex(cnonce, '^[0-9a-f]{16}$')
        # A forked conductor worker draws its own key: the same counter
        # values give other client nonces.
        digest._new_cnonce_key()
        self.assertNotEqual(cnonces[0], digest._cnonce())

    def test_password_not_in_header_or_repr(self):
        header = self.challenge.authorization('POST', '/wsman')
        self.assertNotIn(PASSWORD, header)
        self.assertNotIn(PASSWORD, repr(self.challenge))

    def test_no_qop(self):
        challenge = digest.Challenge('admin', PASSWORD, digest.parse_challenge(
            'Digest realm="Digest:01", nonce="abc"'))
        fields = parse_authorization(challenge.authorization('POST',
                                                             '/wsman'))
        self.assertNotIn('nc', fields)
        self.assertNotIn('cnonce', fields)
        self.assertEqual(expected_response(fields, PASSWORD),
                         fields['response'])

    def test_opaque_and_algorithm_echoed(self):
        challenge = digest.Challenge('admin', PASSWORD, digest.parse_challenge(
            'Digest realm="r", nonce="n", opaque="o1", algorithm=md5, '
            'qop=auth'))
        fields = parse_authorization(challenge.authorization('POST',
                                                             '/wsman'))
        self.assertEqual('o1', fields['opaque'])
        self.assertEqual('md5', fields['algorithm'])
        self.assertEqual(expected_response(fields, PASSWORD),
                         fields['response'])

    def test_username_quoted(self):
        challenge = digest.Challenge('ad"min', PASSWORD,
                                     digest.parse_challenge(AMT_CHALLENGE))
        header = challenge.authorization('POST', '/wsman')
        self.assertIn(r'username="ad\"min"', header)

    def test_stale(self):
        self.assertFalse(self.challenge.stale)
        stale = digest.Challenge('admin', PASSWORD, digest.parse_challenge(
            AMT_CHALLENGE.replace('stale="false"', 'stale="true"')))
        self.assertTrue(stale.stale)

    def test_nc_thread_safe(self):
        threads_count, per_thread = 8, 200
        seen = []
        seen_lock = threading.Lock()

        def worker():
            local = [parse_authorization(
                self.challenge.authorization('POST', '/wsman'))['nc']
                for _i in range(per_thread)]
            with seen_lock:
                seen.extend(local)

        threads = [threading.Thread(target=worker)
                   for _i in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
            self.assertFalse(thread.is_alive())
        expected = {'%08x' % n
                    for n in range(1, threads_count * per_thread + 1)}
        self.assertEqual(threads_count * per_thread, len(seen))
        self.assertEqual(expected, set(seen))


class DigestStateTestCase(base.BaseTestCase):

    def test_update_is_private_until_released(self):
        state = digest.DigestState('admin', PASSWORD)
        self.assertIsNone(state.acquire())
        first = state.update(AMT_CHALLENGE)
        self.assertIsNone(state.acquire())
        first.authorization('POST', '/wsman')
        state.release(first)
        self.assertIs(first, state.acquire())
        second = state.update(AMT_CHALLENGE.replace('bQal', 'XXXX'))
        fields = parse_authorization(second.authorization('POST', '/wsman'))
        self.assertEqual('XXXXi2IAAAAAAAAAn0xaWCOcxNsRcEHX', fields['nonce'])
        self.assertEqual('00000001', fields['nc'])

    def test_one_borrower_per_nonce(self):
        state = digest.DigestState('admin', PASSWORD)
        first = state.update(AMT_CHALLENGE)
        second = state.update(AMT_CHALLENGE.replace('bQal', 'XXXX'))
        state.release(first)
        state.release(second)
        state.release(None)
        borrowed = [state.acquire(), state.acquire()]
        self.assertCountEqual([first, second], borrowed)
        self.assertIsNone(state.acquire())

    def test_idle_pool_bounded(self):
        state = digest.DigestState('admin', PASSWORD)
        for _i in range(state.MAX_IDLE + 5):
            state.release(state.update(AMT_CHALLENGE))
        borrowed = [state.acquire() for _i in range(state.MAX_IDLE + 5)]
        self.assertEqual(state.MAX_IDLE,
                         len([c for c in borrowed if c is not None]))

    def test_update_invalid(self):
        state = digest.DigestState('admin', PASSWORD)
        self.assertRaises(ValueError, state.update, 'Basic realm="x"')
        self.assertIsNone(state.acquire())

    def test_repr_hides_password(self):
        self.assertNotIn(PASSWORD, repr(digest.DigestState('admin',
                                                           PASSWORD)))
