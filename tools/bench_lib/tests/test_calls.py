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

"""Reducing per-call samples, request-log entries and sync passes to rows."""

import testtools

from bench_lib import calls
from bench_lib import conductor
from bench_lib import logstats


def _request(**fields):
    entry = {'event': 'request', 'auth': 'ok', 'status': 200,
             'new_connection': False, 'tls_handshake': False,
             'tls_resumed': False, 'action': 'Get',
             'resource': 'CIM_AssociatedPowerManagementService'}
    entry.update(fields)
    return entry


class CountTestCase(testtools.TestCase):
    """logstats.count over the log entries of one first contact."""

    def test_first_contact_over_tls(self):
        counts = logstats.count([
            _request(auth='challenge', status=401, new_connection=True,
                     tls_handshake=True),
            {'event': 'boot', 'source': 'pxe'},
            _request(new_connection=True, tls_handshake=True,
                     tls_resumed=True),
            _request(method='RequestPowerStateChange',
                     args={'PowerState': '2'}),
        ])
        self.assertEqual(
            logstats.Counts(calls=2, exchanges=3, challenges=1, connects=2,
                            handshakes=2, resumed=1,
                            sequence=('Get(CIM_AssociatedPowerManagement'
                                      'Service)', 'RPSC(2)')),
            counts)

    def test_refused_credentials_are_no_call(self):
        counts = logstats.count([_request(auth='bad', status=401),
                                 _request(auth='stale', status=401)])
        self.assertEqual((0, 2, 2), counts[:3])


class SummariseTestCase(testtools.TestCase):
    """calls.summarise: percentiles, CPU and wire counts per call."""

    def test_row(self):
        row = calls.Row()
        row.seconds = [0.001 * n for n in range(20, 0, -1)]
        row.cpu = 0.010
        row.failures = 1
        row.last_error = 'WSManTimeoutError: no data'
        row.counts = [(10, logstats.count([_request()] * 20)),
                      (10, logstats.count([_request(new_connection=True)]
                                          * 10))]
        summary = calls.summarise(row, 'ironic-amt', 'http', calls.FIRST,
                                  0.03)
        self.assertEqual(30, summary['latency_ms'])
        self.assertEqual(20, summary['calls'])
        # The nearest-rank percentiles of 1..20 ms.
        self.assertAlmostEqual(10.0, summary['p50_ms'])
        self.assertAlmostEqual(19.0, summary['p95_ms'])
        self.assertAlmostEqual(0.5, summary['cpu_ms'])
        self.assertEqual(1.5, summary['exchanges'])
        self.assertEqual(0.5, summary['connects'])
        self.assertEqual(0.0, summary['challenges'])
        self.assertEqual(1, summary['failures'])

    def test_percentile_of_one_sample(self):
        self.assertEqual(7, calls._percentile([7], 0.5))
        self.assertEqual(7, calls._percentile([7], 0.95))


class MedianPassTestCase(testtools.TestCase):
    """conductor.combine: the pass of median wall time, median CPU."""

    def _record(self, seconds, cpu_seconds):
        record = {field: 0 for field in conductor.SyncPass._fields}
        record.update(seconds=seconds, cpu_seconds=cpu_seconds,
                      pass_kind='steady', nodes=1000, workers=8)
        return record

    def test_combine(self):
        combined = conductor.combine([
            self._record(2.3, 4.0), self._record(2.1, 3.0),
            self._record(2.9, 3.5), self._record(2.2, 5.0)])
        # Of an even count, the lower middle pass.
        self.assertEqual(2.2, combined.seconds)
        self.assertEqual(3.75, combined.cpu_seconds)
        self.assertEqual((4, 2.1, 2.9), (combined.samples,
                                         combined.seconds_min,
                                         combined.seconds_max))
        # Every pass's CPU, in the order given (rounds, for first contact).
        self.assertEqual([4.0, 3.0, 3.5, 5.0], combined.cpu_seconds_each)
