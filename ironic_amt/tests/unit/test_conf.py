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

"""The ``[amt]`` options read from real configuration files."""

import os
import tempfile
from unittest import mock

import fixtures
from oslo_config import cfg
import testtools

from ironic_amt import conf


class DeprecatedOptionsTestCase(testtools.TestCase):
    """Options of the old in-tree and staging drivers still apply."""

    def _load(self, text):
        """Parse a configuration file holding text.

        :returns: the ``[amt]`` group of a fresh ConfigOpts.
        """
        fd, path = tempfile.mkstemp(suffix='.conf')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as config_file:
            config_file.write(text)
        options = cfg.ConfigOpts()
        conf.register_opts(options)
        options(args=[], default_config_files=[path])
        self.addCleanup(options.reset)
        return options.amt

    def test_defaults(self):
        amt = self._load('')
        self.assertEqual(3, amt.max_retry)
        self.assertEqual('http', amt.protocol)
        self.assertEqual(10.0, amt.action_wait)
        self.assertIsNone(amt.power_state_timeout)

    def test_in_tree_max_attempts(self):
        # oslo.config reports the old name and the one to use instead
        # (oslo.log logs each such message once per process).
        report = self.useFixture(fixtures.MockPatchObject(
            cfg, '_report_deprecation', autospec=True)).mock
        self.assertEqual(5, self._load('[amt]\nmax_attempts = 5\n').max_retry)
        report.assert_called_once_with(mock.ANY, {
            'dep_option': 'max_attempts', 'dep_group': 'amt',
            'option': 'max_retry', 'group': 'amt'})

    def test_staging_max_attempts(self):
        amt = self._load('[amt_driver]\nmax_attempts = 4\n')
        self.assertEqual(4, amt.max_retry)

    def test_staging_protocol(self):
        amt = self._load('[amt_driver]\nprotocol = https\n')
        self.assertEqual('https', amt.protocol)

    def test_staging_action_wait(self):
        amt = self._load('[amt_driver]\naction_wait = 2.5\n')
        self.assertEqual(2.5, amt.action_wait)

    def test_new_name_wins(self):
        amt = self._load('[amt]\nmax_retry = 2\nmax_attempts = 7\n'
                         '[amt_driver]\nmax_attempts = 9\nprotocol = https\n'
                         '[amt]\nprotocol = http\n')
        self.assertEqual(2, amt.max_retry)
        self.assertEqual('http', amt.protocol)

    def test_aliases_still_validated(self):
        amt = self._load('[amt_driver]\nmax_attempts = 0\n')
        self.assertRaises(ValueError, getattr, amt, 'max_retry')

    def test_deprecated_power_state_timeout(self):
        amt = self._load('[amt]\npower_state_timeout = 90\n')
        self.assertEqual(90, amt.power_state_timeout)
        opt = {o.dest: o for o in conf.opts}['power_state_timeout']
        self.assertTrue(opt.deprecated_for_removal)
        self.assertIn('power_state_change_timeout', opt.deprecated_reason)
