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

"""The e2e harness itself: a broken Ironic must fail fast and clearly."""

import os
import time

import fixtures
import testtools

from ironic_amt.testing import harness

TEST_TIMEOUT = 60
# A crash-looping worker is seen within seconds; the API deadline is longer.
FAIL_FAST_BOUND = 25.0


class HarnessTest(testtools.TestCase):
    """Start-up failure handling of :class:`harness.Ironic`."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(TEST_TIMEOUT, gentle=True))

    def test_driver_load_failure_fails_fast(self):
        ironic = harness.Ironic(extra_options={
            'DEFAULT': {'enabled_deploy_interfaces': 'no-such-deploy'}})
        self.addCleanup(ironic.stop)
        started = time.monotonic()
        error = self.assertRaises(harness.HarnessError, ironic.start,
                                  timeout=FAIL_FAST_BOUND * 2)
        self.assertLess(time.monotonic() - started, FAIL_FAST_BOUND)
        self.assertIn('no-such-deploy', str(error))
        ironic.stop()
        self.assertFalse(os.path.exists(ironic.workdir))
