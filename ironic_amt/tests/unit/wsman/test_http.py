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

"""One bounded HTTP/1.1 exchange, over a socket pair."""

import gzip
import socket
import threading
import time
import zlib

from oslotest import base

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import http

ENDPOINT = 'http://192.0.2.1:16992/wsman'
REQUEST = b'POST /wsman HTTP/1.1\r\nContent-Length: 0\r\n\r\n'


class ExchangeTestCase(base.BaseTestCase):

    def exchange(self, answer, max_body=1024, timeout=2.0, close=True,
                 read_timeout=1.0):
        """Answer the request with bytes; returns the Response."""
        ours, theirs = socket.socketpair()
        self.addCleanup(theirs.close)
        ours.setblocking(False)
        self.conn = http.Connection(ENDPOINT, ours, read_timeout)
        self.addCleanup(self.conn.close)

        def device():
            received = b''
            while not received.endswith(b'\r\n\r\n'):
                received += theirs.recv(4096)
            self.received = received
            theirs.sendall(answer)
            if close:
                theirs.shutdown(socket.SHUT_WR)

        thread = threading.Thread(target=device)
        thread.start()
        self.addCleanup(thread.join, 5)
        return self.conn.exchange(REQUEST, max_body,
                                  time.monotonic() + timeout)

    def test_content_length_keep_alive(self):
        response = self.exchange(
            b'HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\n'
            b'Content-Length: 5\r\n\r\nhello', close=False)
        self.assertEqual(REQUEST, self.received)
        self.assertEqual((200, b'hello', True),
                         (response.status, response.body,
                          response.reusable))
        self.assertEqual('application/soap+xml',
                         response.headers['content-type'])

    def test_chunked_with_extensions_and_trailers(self):
        response = self.exchange(
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
            b'3;name=value\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n',
            close=False)
        self.assertEqual((b'abcde', True), (response.body,
                                            response.reusable))

    def test_not_reusable(self):
        for head in (b'HTTP/1.1 200 OK\r\nConnection: close\r\n',
                     b'HTTP/1.0 200 OK\r\n',
                     b'HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n'):
            response = self.exchange(head + b'Content-Length: 2\r\n\r\nok')
            self.assertEqual(b'ok', response.body)
            self.assertFalse(response.reusable, head)
        # Bytes after the answer: the stream is out of step.
        response = self.exchange(
            b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA')
        self.assertFalse(response.reusable)

    def test_body_until_close(self):
        response = self.exchange(b'HTTP/1.1 200 OK\r\n\r\nuntil close')
        self.assertEqual((b'until close', False),
                         (response.body, response.reusable))

    def test_decoded_bodies(self):
        text = b'<a>' + b'x' * 500 + b'</a>'
        for name, data in (('gzip', gzip.compress(text)),
                           ('deflate', zlib.compress(text))):
            response = self.exchange(
                b'HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n'
                b'Content-Length: %d\r\n\r\n%s' % (name.encode(), len(data),
                                                   data))
            self.assertEqual(text, response.body, name)

    def test_caps(self):
        cases = [
            b'HTTP/1.1 200 OK\r\nContent-Length: 1025\r\n\r\n',
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
            b'401\r\n' + b'x' * 1025 + b'\r\n0\r\n\r\n',
            b'HTTP/1.1 200 OK\r\n\r\n' + b'x' * 1025,
            b'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n'
            + gzip.compress(b'\0' * 100000),
            b'HTTP/1.1 200 OK\r\nX-Long: ' + b'a' * 20000 + b'\r\n\r\n',
            b'HTTP/1.1 200 OK\r\n' + b'X-Many: 1\r\n' * 100 + b'\r\n',
        ]
        for answer in cases:
            self.assertRaises(exceptions.WSManResponseTooLarge,
                              self.exchange, answer)
            self.assertLessEqual(self.conn.bytes_read,
                                 1024 + http.READ_SIZE
                                 + http.MAX_HEADER_BYTES)

    def test_malformed(self):
        cases = [b'SSH-2.0-OpenSSH\r\n\r\n',
                 b'HTTP/1.1 2000 OK\r\n\r\n',
                 b'HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n',
                 b'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
                 b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
                 b'zz\r\n',
                 b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
                 b'2\r\nabc\r\n0\r\n\r\n',
                 b'HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n',
                 b'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n'
                 b'Content-Length: 4\r\n\r\nnope']
        for answer in cases:
            error = self.assertRaises(exceptions.WSManProtocolError,
                                      self.exchange, answer)
            self.assertIn(ENDPOINT, str(error))

    def test_device_text_is_sanitised(self):
        error = self.assertRaises(
            exceptions.WSManProtocolError, self.exchange,
            b'EVIL\x1b[31m\r\nAuthorization: Digest x\r\n\r\n')
        self.assertNotIn('\x1b', str(error))
        self.assertIn('EVIL?[31m', str(error))

    def test_interim_and_no_body_answers(self):
        response = self.exchange(
            b'HTTP/1.1 100 Continue\r\n\r\n'
            b'HTTP/1.1 204 No Content\r\n\r\n', close=False)
        self.assertEqual((204, b'', True), (response.status, response.body,
                                            response.reusable))

    def test_truncated_is_a_connection_error(self):
        error = self.assertRaises(
            exceptions.WSManConnectionError, self.exchange,
            b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort')
        self.assertIn('closed the connection', str(error))

    def test_silence_is_a_read_timeout(self):
        start = time.monotonic()
        error = self.assertRaises(exceptions.WSManTimeoutError,
                                  self.exchange, b'HTTP/1.1 200 OK\r\n',
                                  close=False, read_timeout=0.2)
        self.assertNotIsInstance(error, exceptions.WSManDeadlineError)
        self.assertLess(time.monotonic() - start, 1.5)

    def test_deadline_bounds_the_exchange(self):
        start = time.monotonic()
        self.assertRaises(exceptions.WSManDeadlineError, self.exchange,
                          b'HTTP/1.1 200 OK\r\n', close=False, timeout=0.3)
        self.assertLess(time.monotonic() - start, 1.0)

    def test_quote_device_text(self):
        self.assertEqual('abc?d', http.quote_device_text(b'abc\x00d'))
        self.assertEqual('x' * 64 + '...', http.quote_device_text('x' * 70))
