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

"""Tables on stdout, results.json and the chart."""

import json
import os
import statistics

from bench_lib import contenders
from bench_lib import ops

CLIENT_ORDER = (contenders.OURS, contenders.NAIVE, contenders.PYPI_AMT)
COLOURS = {contenders.OURS: '#1f77b4', contenders.NAIVE: '#ff7f0e',
           contenders.PYPI_AMT: '#2ca02c'}


def percentile(values, fraction):
    """The value below which a fraction of the values lie (nearest rank).

    :param values: non-empty list of numbers.
    :param fraction: 0..1.
    :returns: the percentile.
    """
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)
                                               + 0.5) - 1))
    return ordered[index]


def summarise(results):
    """Reduce samples to one row per (scheme, op, client).

    :param results: dict scheme -> {(op key, client): [Sample]}.
    :returns: list of row dicts.
    """
    rows = []
    for scheme, by_key in results.items():
        for op in ops.OPERATIONS:
            for client in CLIENT_ORDER:
                samples = by_key.get((op.key, client))
                if not samples:
                    continue
                seconds = [s.seconds for s in samples]

                def mean(field):
                    return statistics.mean(getattr(s.counts, field)
                                           for s in samples)
                calls = mean('calls')
                rows.append({
                    'scheme': scheme, 'op': op.key, 'title': op.title,
                    'client': client, 'reps': len(samples),
                    'p50_ms': 1000 * percentile(seconds, 0.5),
                    'p95_ms': 1000 * percentile(seconds, 0.95),
                    'calls': calls, 'exchanges': mean('exchanges'),
                    'challenges': mean('challenges'),
                    'connects': mean('connects'),
                    'handshakes': mean('handshakes'),
                    'polls': statistics.mean(ops.polls(s.counts)
                                             for s in samples),
                    'floor': op.floor, 'floor_calls': op.floor_calls,
                    'failures': sum(1 for s in samples if not s.ok),
                    'sequence': list(samples[-1].counts.sequence),
                })
    by = {(r['scheme'], r['op'], r['client']): r for r in rows}
    for row in rows:
        ours = by.get((row['scheme'], row['op'], contenders.OURS))
        row['ours_over_this'] = (ours['p50_ms'] / row['p50_ms']
                                 if ours else None)
    return rows


def _num(value):
    return '%d' % value if value == int(value) else '%.1f' % value


def client_table(rows):
    """The per-operation table as text.

    :param rows: rows from summarise().
    :returns: the text.
    """
    head = ('%-11s %7s %7s %5s %5s %4s %4s %4s %5s %6s %12s %4s'
            % ('client', 'p50 ms', 'p95 ms', 'calls', 'exch', '401', 'TCP',
               'TLS', 'polls', 'c/flr', 'ours/this', 'fail'))
    lines = []
    current = None
    for row in rows:
        key = (row['op'], row['scheme'])
        if key != current:
            current = key
            lines += ['', '%s [%s], %d reps; floor %d calls: %s'
                      % (row['title'], row['scheme'], row['reps'],
                         row['floor'], row['floor_calls']), head]
        ratio = ''
        if row['client'] != contenders.OURS and row['ours_over_this']:
            ratio = '%.2f (%.1fx)' % (row['ours_over_this'],
                                      1 / row['ours_over_this'])
        lines.append('%-11s %7.1f %7.1f %5s %5s %4s %4s %4s %5s %6.2f '
                     '%12s %4d' % (
                         row['client'], row['p50_ms'], row['p95_ms'],
                         _num(row['calls']), _num(row['exchanges']),
                         _num(row['challenges']), _num(row['connects']),
                         _num(row['handshakes']), _num(row['polls']),
                         row['calls'] / row['floor'], ratio,
                         row['failures']))
    for row in rows:
        if row['client'] == contenders.OURS and row['scheme'] == rows[0][
                'scheme']:
            lines.append('calls of ironic-amt, %s: %s'
                         % (row['op'], ', '.join(row['sequence'])))
    return '\n'.join(lines)


def sync_table(passes):
    """The conductor sync pass table as text.

    :param passes: list of dicts (SyncPass fields + 'setting').
    :returns: the text.
    """
    lines = ['%-7s %-22s %-13s %7s %7s %8s %6s %6s %5s %5s %5s' % (
        'nodes', 'workers', 'pass', 'wall s', 'CPU s', 'RSS MiB', 'calls',
        'exch', '401', 'TCP', 'TLS')]
    for p in passes:
        lines.append('%-7d %-22s %-13s %7.2f %7.2f %8.0f %6d %6d %5d %5d '
                     '%5d' % (p['nodes'], p['setting'], p['kind'],
                              p['seconds'], p['cpu_seconds'], p['rss_mib'],
                              p['calls'], p['exchanges'], p['challenges'],
                              p['connects'], p['handshakes']))
    return '\n'.join(lines)


def write_json(path, data):
    """Write the results as JSON."""
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1, sort_keys=True)


def chart(path, rows, passes):
    """Write the PNG: latency per operation and client; sync pass time.

    :param path: the PNG path.
    :param rows: rows from summarise().
    :param passes: sync pass dicts (may be empty).
    """
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    groups = []
    for row in rows:
        key = (row['op'], row['scheme'])
        if key not in groups:
            groups.append(key)
    figure, (left, right) = pyplot.subplots(
        1, 2, figsize=(16, 6.5), gridspec_kw={'width_ratios': [3, 1.2]})
    width = 0.27
    by = {(r['op'], r['scheme'], r['client']): r for r in rows}
    for index, client in enumerate(CLIENT_ORDER):
        xs, p50, err = [], [], []
        for position, (op, scheme) in enumerate(groups):
            row = by.get((op, scheme, client))
            if row is None:
                continue
            xs.append(position + (index - 1) * width)
            p50.append(row['p50_ms'])
            err.append(row['p95_ms'] - row['p50_ms'])
        left.bar(xs, p50, width, yerr=[[0] * len(err), err], capsize=2,
                 label=client, color=COLOURS[client])
    left.set_yscale('log')
    left.set_ylabel('latency ms (bar p50, whisker p95), log scale')
    left.set_xticks(range(len(groups)))
    left.set_xticklabels(['%s\n[%s]' % (op.replace('_', ' '), scheme)
                          for op, scheme in groups],
                         rotation=45, ha='right', fontsize=8)
    left.set_title('Driver operations against the simulated AMT')
    left.legend()
    left.grid(axis='y', alpha=0.3)
    if passes:
        series = {}
        for p in passes:
            series.setdefault((p['setting'], p['kind']), []).append(
                (p['nodes'], p['seconds']))
        settings = sorted({setting for setting, _kind in series})
        for (setting, kind), points in sorted(series.items()):
            points.sort()
            right.plot([n for n, _s in points], [s for _n, s in points],
                       marker='o', linestyle='-' if kind == 'steady'
                       else '--', color='C%d' % settings.index(setting),
                       label='%s workers, %s pass' % (setting, kind))
        right.set_xscale('log')
        right.set_yscale('log')
        right.set_xlabel('nodes')
        right.set_ylabel('sync pass wall time s')
        right.set_title('Conductor power-state sync pass')
        right.legend(fontsize=8)
        right.grid(alpha=0.3)
    else:
        right.axis('off')
    figure.tight_layout()
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
