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

"""Tests of the ironic-amt-sol command's helpers."""

import argparse
import os

import fixtures
from oslotest import base

from ironic_amt.cmd import sol


class ReadPasswordTestCase(base.BaseTestCase):

    def args(self, path=None):
        return argparse.Namespace(password_file=path)

    def test_environment(self):
        self.assertEqual('pw', sol.read_password(self.args(),
                                                 {'AMT_PASSWORD': 'pw'}))

    def test_missing(self):
        error = self.assertRaises(ValueError, sol.read_password,
                                  self.args(), {})
        self.assertIn('AMT_PASSWORD', str(error))

    def test_file_wins_and_newline_stripped(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'pw')
        with open(path, 'w') as f:
            f.write('from-file\n')
        self.assertEqual('from-file', sol.read_password(
            self.args(path), {'AMT_PASSWORD': 'env'}))

    def test_file_too_large_or_missing(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'pw')
        with open(path, 'w') as f:
            f.write('x' * (sol.MAX_PASSWORD_FILE + 1))
        self.assertRaises(ValueError, sol.read_password, self.args(path),
                          {})
        self.assertRaises(ValueError, sol.read_password,
                          self.args(path + '.none'), {})

    def test_password_not_an_argument(self):
        actions = {a.dest for a in sol._parser()._actions}
        self.assertNotIn('password', actions)


class EscapeTestCase(base.BaseTestCase):

    def test_escape_at_line_start(self):
        detector = sol.EscapeDetector()
        self.assertEqual((b'ls\r', False), detector.feed(b'ls\r'))
        self.assertEqual((b'', True), detector.feed(b'~.'))

    def test_escape_at_start_of_session_split_across_reads(self):
        detector = sol.EscapeDetector()
        self.assertEqual((b'', False), detector.feed(b'~'))
        self.assertEqual((b'', True), detector.feed(b'.'))

    def test_tilde_elsewhere_is_sent(self):
        detector = sol.EscapeDetector()
        self.assertEqual((b'a~.', False), detector.feed(b'a~.'))
        detector = sol.EscapeDetector()
        self.assertEqual((b'~x', False), detector.feed(b'~x'))
