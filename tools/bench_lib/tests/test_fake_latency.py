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

"""The latency of fake-hardware's power read, as the bench sets it."""

import os
from unittest import mock

import fixtures
import testtools

from bench_lib import conductor
from bench_lib import fake_latency


class LatencyTestCase(testtools.TestCase):
    """The launcher reads what set_fake_latency wrote, at most 0.1 s late."""

    def setUp(self):
        super().setUp()
        self.workdir = self.useFixture(fixtures.TempDir()).path
        self.latency = fake_latency._Latency(
            os.path.join(self.workdir, 'fake-power-latency'))

    def test_no_file_is_no_latency(self):
        self.assertEqual(0.0, self.latency.current())

    @mock.patch.object(fake_latency.time, 'monotonic', autospec=True)
    def test_read_again_once_the_reading_is_old(self, monotonic):
        conductor.set_fake_latency(self.workdir, 0.03, settle=False)
        monotonic.return_value = 100.0
        self.assertEqual(0.03, self.latency.current())
        conductor.set_fake_latency(self.workdir, 0.0, settle=False)
        monotonic.return_value = 100.05
        self.assertEqual(0.03, self.latency.current())
        monotonic.return_value = 100.15
        self.assertEqual(0.0, self.latency.current())

    def test_power_read_sleeps_the_latency(self):
        conductor.set_fake_latency(self.workdir, 0.25, settle=False)
        read = mock.Mock(return_value='power on')
        with mock.patch.object(fake_latency.time, 'sleep',
                               autospec=True) as sleep:
            patched = fake_latency._with_latency(read, self.latency)
            self.assertEqual('power on', patched('driver', 'task'))
        sleep.assert_called_once_with(0.25)
        read.assert_called_once_with('driver', 'task')
