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

"""The verdicts on issue 21's targets, from rows and passes made here."""

import testtools

from bench_lib import conductor
from bench_lib import contenders
from bench_lib import report


def _pass(kind, seconds, latency_ms=0, pass_kind='steady', nodes=1000,
          workers=8, **fields):
    record = {'node_kind': kind, 'nodes': nodes, 'workers': workers,
              'latency_ms': latency_ms, 'pass_kind': pass_kind,
              'seconds': seconds, 'cpu_seconds': seconds,
              'rss_growth_kib_per_node': 0.0, 'repeat_handshakes': 0,
              'repeat_resumed': 0}
    record.update(fields)
    return record


def _row(client, p50_ms, cpu_ms, latency_ms=0, scheme='http',
         mode='first contact'):
    return {'client': client, 'p50_ms': p50_ms, 'cpu_ms': cpu_ms,
            'latency_ms': latency_ms, 'scheme': scheme, 'mode': mode}


def _line(lines, start):
    found = [line for line in lines if line.startswith(start)]
    if len(found) != 1:
        raise AssertionError('%d lines start with %r in:\n%s'
                             % (len(found), start, '\n'.join(lines)))
    return found[0]


class SteadyTargetTestCase(testtools.TestCase):
    """Steady pass against fake-hardware's, without latency."""

    def _steady(self, http_seconds):
        return report.targets([], [
            _pass(conductor.FAKE, 2.0),
            _pass(conductor.AMT_HTTP, http_seconds),
            # Other node counts and latencies are not the comparison.
            _pass(conductor.FAKE, 0.1, nodes=100),
            _pass(conductor.FAKE, 4.0, latency_ms=30),
        ])

    def test_at_the_limit_is_met(self):
        line = _line(self._steady(2.6), 'steady 1000-node sync pass')
        self.assertIn('2.60 s vs fake-hardware 2.00 s = 1.30x', line)
        self.assertTrue(line.endswith(': MET'), line)

    def test_above_the_limit_is_not_met(self):
        line = _line(self._steady(2.62), 'steady 1000-node sync pass')
        self.assertTrue(line.endswith(': NOT MET'), line)


class LatencyTargetTestCase(testtools.TestCase):
    """Steady pass with latency against N x latency / workers."""

    def test_ratio_to_the_floor_and_to_fake_hardware(self):
        lines = report.targets([], [
            _pass(conductor.AMT_HTTPS, 4.5, latency_ms=30),
            _pass(conductor.FAKE, 4.0, latency_ms=30),
        ])
        ours = _line(lines, 'steady 1000-node pass, pxe_amt https, 30 ms')
        # 1000 x 0.03 / 8 = 3.75 s.
        self.assertIn('4.50 s vs model floor 3.75 s = 1.20x', ours)
        self.assertIn('1.12x fake-hardware with the latency', ours)
        self.assertTrue(ours.endswith(': MET'), ours)
        fake = _line(lines, 'steady 1000-node pass, fake-hardware, 30 ms')
        self.assertIn('for reference', fake)
        self.assertNotIn('MET', fake)

    def test_over_the_floor_is_not_met(self):
        lines = report.targets([], [
            _pass(conductor.AMT_HTTP, 4.7, latency_ms=30)])
        line = _line(lines, 'steady 1000-node pass, pxe_amt http, 30 ms')
        self.assertIn('= 1.25x', line)  # 1.2533, printed rounded
        self.assertTrue(line.endswith(': NOT MET'), line)
        self.assertNotIn('fake-hardware with the latency', line)


class FirstContactTargetTestCase(testtools.TestCase):
    """HTTPS against HTTP conductor CPU, resumption and RSS growth."""

    def _first(self, https_cpu, resumed=950, growth=48.0):
        return report.targets([], [
            _pass(conductor.AMT_HTTP, 3.0, pass_kind='first contact',
                  cpu_seconds=3.0),
            _pass(conductor.AMT_HTTPS, 4.0, pass_kind='first contact',
                  cpu_seconds=https_cpu, repeat_handshakes=1000,
                  repeat_resumed=resumed, rss_growth_kib_per_node=growth),
            _pass(conductor.FAKE, 2.0, pass_kind='first contact',
                  cpu_seconds=2.5, rss_growth_kib_per_node=6.0),
        ])

    def test_cpu_ratio_uses_the_unrounded_value(self):
        met = _line(self._first(4.5), 'first-contact 1000-node pass')
        self.assertIn('4.50 s vs http 3.00 s = 1.50x, per node https adds '
                      '1.50 ms to http, which adds 0.50 ms to fake-hardware '
                      '(target <= 1.50x)', met)
        self.assertTrue(met.endswith(': MET'), met)
        # 1.503x prints as 1.50x and is not met.
        missed = _line(self._first(4.51), 'first-contact 1000-node pass')
        self.assertIn('= 1.50x', missed)
        self.assertTrue(missed.endswith(': NOT MET'), missed)

    def test_ratio_of_each_conductor_start(self):
        lines = report.targets([], [
            _pass(conductor.AMT_HTTP, 3.0, pass_kind='first contact',
                  cpu_seconds=3.0, cpu_seconds_each=[3.0, 2.0, 4.0]),
            _pass(conductor.AMT_HTTPS, 4.0, pass_kind='first contact',
                  cpu_seconds=4.5, cpu_seconds_each=[4.5, 3.4, 5.0]),
        ])
        line = _line(lines, 'first-contact 1000-node pass')
        self.assertIn('= 1.50x, per node https adds 1.50 ms to http; '
                      'conductor start by start: 1.50x, 1.70x, 1.25x '
                      '(target <= 1.50x)', line)
        # The verdict is the medians'.
        self.assertTrue(line.endswith(': MET'), line)

    def test_no_ratio_by_start_without_pairs(self):
        lines = report.targets([], [
            _pass(conductor.AMT_HTTP, 3.0, pass_kind='first contact',
                  cpu_seconds=3.0, cpu_seconds_each=[3.0, 2.0]),
            _pass(conductor.AMT_HTTPS, 4.0, pass_kind='first contact',
                  cpu_seconds=4.5, cpu_seconds_each=[4.5]),
        ])
        line = _line(lines, 'first-contact 1000-node pass')
        self.assertNotIn('start by start', line)

    def test_resumed_share(self):
        line = _line(self._first(4.0, resumed=900), 'repeat TLS')
        self.assertIn('900 of 1000 = 90%', line)
        self.assertTrue(line.endswith(': MET'), line)
        line = _line(self._first(4.0, resumed=899), 'repeat TLS')
        self.assertTrue(line.endswith(': NOT MET'), line)

    def test_no_repeat_handshake_is_not_met(self):
        lines = report.targets([], [
            _pass(conductor.AMT_HTTPS, 4.0, pass_kind='first contact')])
        line = _line(lines, 'repeat TLS')
        self.assertIn('0 of 0', line)
        self.assertTrue(line.endswith(': NOT MET'), line)

    def test_rss_growth_net_of_ironic_own(self):
        line = _line(self._first(4.0, growth=48.0), 'conductor RSS')
        self.assertIn('48.0 KiB per node', line)
        self.assertIn('6.0 KiB, so 42.0 KiB net of it', line)
        self.assertTrue(line.endswith(': MET'), line)
        line = _line(self._first(4.0, growth=64.5), 'conductor RSS')
        self.assertTrue(line.endswith(': NOT MET'), line)


class NeverSlowerTestCase(testtools.TestCase):
    """Every row of ours against the careful baseline's, both fields."""

    def test_faster_or_equal_everywhere_is_met(self):
        lines = report.targets([
            _row(contenders.OURS, 61.4, 0.6),
            _row(contenders.BASELINE, 61.9, 0.6),
            # A slower PyPI amt row is not compared with.
            _row(contenders.PYPI_AMT, 60.0, 0.1),
            _row(contenders.OURS, 0.3, 0.15, scheme='https'),
            _row(contenders.BASELINE, 0.6, 0.44, scheme='https'),
        ], [])
        line = _line(lines, 'never slower')
        self.assertIn('2 rows', line)
        self.assertTrue(line.endswith(': MET'), line)

    def test_each_slower_field_is_named(self):
        lines = report.targets([
            _row(contenders.OURS, 62.075, 0.87, latency_ms=30),
            _row(contenders.BASELINE, 62.022, 1.18, latency_ms=30),
            _row(contenders.OURS, 0.3, 0.5, mode='steady, one thread'),
            _row(contenders.BASELINE, 0.6, 0.4, mode='steady, one thread'),
        ], [])
        text = '\n'.join(lines)
        self.assertIn('never slower than the careful baseline (p50 latency '
                      'and CPU per call, 2 rows): NOT MET', text)
        self.assertIn('slower: http first contact 30 ms p50_ms: 62.075 vs '
                      '62.022', text)
        self.assertIn('slower: http steady, one thread 0 ms cpu_ms: 0.500 '
                      'vs 0.400', text)
        self.assertNotIn('cpu_ms: 0.870', text)

    def test_row_without_baseline_is_not_compared(self):
        lines = report.targets([_row(contenders.OURS, 1.0, 1.0)], [])
        self.assertEqual(['(no target measurable from this run)'], lines)
