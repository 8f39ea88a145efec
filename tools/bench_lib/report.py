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

"""Tables, the issue's target ratios, results.json and the chart."""

import json
import os

from bench_lib import conductor
from bench_lib import contenders

COLOURS = {contenders.OURS: '#1f77b4', contenders.BASELINE: '#ff7f0e',
           contenders.PYPI_AMT: '#2ca02c', conductor.AMT_HTTPS: '#1f77b4',
           conductor.AMT_HTTP: '#9467bd', conductor.FAKE: '#7f7f7f'}
CAPTION = ('Every AMT device is simulated (ironic-amt-simulator) on '
           'loopback on the same machine; no real AMT firmware or network '
           'is involved.')
# Targets of issue 21 item 4.
STEADY_VS_FAKE = 1.3
LATENCY_VS_FLOOR = 1.25
HTTPS_VS_HTTP_CPU = 1.5
RESUMED_SHARE = 0.90
RSS_KIB_PER_NODE = 64


def call_table(rows):
    """The per-call table as text, one block per (latency, scheme, mode)."""
    head = ('  %-17s %5s %8s %8s %9s %6s %5s %5s %5s %5s %10s %4s'
            % ('client', 'calls', 'p50 ms', 'p95 ms', 'CPU ms', 'exch',
               '401', 'TCP', 'TLS', 'resum', 'ours/this', 'fail'))
    by = {(r['latency_ms'], r['scheme'], r['mode'], r['client']): r
          for r in rows}
    lines = []
    current = None
    for row in rows:
        key = (row['latency_ms'], row['scheme'], row['mode'])
        if key != current:
            current = key
            lines += ['', '%s, %s, simulated latency %d ms per exchange'
                      % (row['scheme'], row['mode'], row['latency_ms']),
                      head]
        ours = by.get(key + (contenders.OURS,))
        ratio = ''
        if ours and row['client'] != contenders.OURS:
            ratio = '%.2f' % (ours['p50_ms'] / row['p50_ms'])
        lines.append('  %-17s %5d %8.2f %8.2f %9.3f %6.2f %5.2f %5.2f %5.2f '
                     '%5.2f %10s %4d' % (
                         row['client'], row['calls'], row['p50_ms'],
                         row['p95_ms'], row['cpu_ms'],
                         row.get('exchanges', 0), row.get('challenges', 0),
                         row.get('connects', 0), row.get('handshakes', 0),
                         row.get('resumed', 0), ratio, row['failures']))
    return '\n'.join(lines)


def model_floor(p):
    """N x latency / workers: the pass if only the devices' latency cost."""
    return p['nodes'] * p['latency_ms'] / 1000.0 / p['workers']


def sync_table(passes):
    """The conductor sync pass table as text."""
    lines = ['%-14s %6s %4s %4s %-16s %7s %11s %7s %7s %7s %8s %9s %6s '
             '%6s %5s %5s %5s %5s' % (
                 'nodes of', 'nodes', 'lat', 'wrk', 'pass', 'wall s',
                 'range s', 'floor s', 'CPU s', 'sim CPU', 'RSS MiB',
                 'KiB/node', 'calls', 'exch', '401', 'TCP', 'TLS', 'resum')]
    for p in passes:
        floor = '%7.2f' % model_floor(p) if p['latency_ms'] else '      -'
        growth = ('%9.1f' % p['rss_growth_kib_per_node']
                  if p['pass_kind'] in ('first contact',
                                        conductor.FIRST_NEW_NODES)
                  else '        -')
        spread = '%11s' % ('%.2f-%.2f' % (p['seconds_min'],
                                          p['seconds_max'])
                           if p.get('samples', 1) > 1 else '-')
        lines.append('%-14s %6d %4d %4d %-16s %7.2f %s %s %7.2f %7.2f %8.0f '
                     '%s %6d %6d %5d %5d %5d %5d' % (
                         p['node_kind'], p['nodes'], p['latency_ms'],
                         p['workers'], p['pass_kind'], p['seconds'], spread,
                         floor,
                         p['cpu_seconds'], p.get('sim_cpu_seconds', 0.0),
                         p['rss_mib'], growth, p['calls'],
                         p['exchanges'], p['challenges'], p['connects'],
                         p['handshakes'], p['resumed']))
    lines.append('CPU s = the conductor\'s; sim CPU = the simulator '
                 'process\'s (all devices, one asyncio loop) during the '
                 'pass, on the same 2 cores.')
    lines.append('lat = simulated latency ms per HTTP exchange '
                 '(fake-hardware: a sleep as long in each power read); wrk = '
                 'sync_power_state_workers; floor = nodes x latency / '
                 'workers; KiB/node = conductor RSS growth over the first '
                 'pass / nodes; resum = resumed TLS handshakes; first '
                 'contact = the first pass of a conductor started again '
                 '(new clients, digest challenges, TLS handshakes); first, '
                 'new nodes = the first pass after the nodes were '
                 'enrolled, where Ironic also records each node\'s first '
                 'power state (fake-hardware reports none, so skips it); '
                 'second = the pass after the first, which may still '
                 'reconnect to devices that closed an idle connection '
                 'during a long first pass; steady = the passes after it. '
                 'Each row is the pass of median wall time of its phase '
                 'over all rounds (a new conductor per kind and round, '
                 'kinds in rotating order) and all steady passes of a '
                 'round, its CPU s the median CPU of the same passes; '
                 'range = the fastest and slowest of them; the targets '
                 'use the medians.')
    return '\n'.join(lines)


def _verdict(ok):
    return 'MET' if ok else 'NOT MET'


def _per_start(https, http):
    """The https/http CPU ratio of each conductor start, if both have one.

    The first-contact passes of a round's https and http conductors ran
    minutes apart at most: their ratios show how far one start's verdict
    may stray from the median's on this machine.
    """
    each = https.get('cpu_seconds_each'), http.get('cpu_seconds_each')
    if not all(each) or len(each[0]) != len(each[1]) or len(each[0]) < 2:
        return ''
    return '; conductor start by start: %s' % ', '.join(
        '%.2fx' % _cpu_ratio(secure, plain) for secure, plain in zip(*each))


def _cpu_ratio(https_cpu, http_cpu):
    """HTTPS over HTTP CPU seconds (an HTTP pass of no CPU counts 0.01 s)."""
    return https_cpu / max(http_cpu, 0.01)


def _pick(passes, **want):
    for p in passes:
        if all(p.get(k) == v for k, v in want.items()):
            return p
    return None


def targets(rows, passes):
    """The target ratios of issue 21 item 4, as text lines.

    :param rows: per-call rows.
    :param passes: sync pass dicts.
    :returns: list of lines, each with MET / NOT MET (or why not
        measured).
    """
    lines = []
    nodes = max([p['nodes'] for p in passes] or [0])
    workers = min([p['workers'] for p in passes] or [0])
    fake = _pick(passes, node_kind=conductor.FAKE, nodes=nodes,
                 latency_ms=0, pass_kind='steady', workers=workers)
    for kind in (conductor.AMT_HTTP, conductor.AMT_HTTPS):
        ours = _pick(passes, node_kind=kind, nodes=nodes, latency_ms=0,
                     pass_kind='steady', workers=workers)
        if ours and fake:
            ratio = ours['seconds'] / fake['seconds']
            lines.append(
                'steady %d-node sync pass at %d workers, %s: %.2f s vs '
                'fake-hardware %.2f s = %.2fx (target <= %.2fx): %s' % (
                    nodes, workers, kind, ours['seconds'], fake['seconds'],
                    ratio, STEADY_VS_FAKE,
                    _verdict(ratio <= STEADY_VS_FAKE)))
    for p in passes:
        if (p['nodes'] == nodes and p['latency_ms']
                and p['pass_kind'] == 'steady' and p['workers'] == workers):
            ratio = p['seconds'] / model_floor(p)
            line = ('steady %d-node pass, %s, %d ms latency: %.2f s vs '
                    'model floor %.2f s = %.2fx' % (
                        nodes, p['node_kind'], p['latency_ms'],
                        p['seconds'], model_floor(p), ratio))
            if p['node_kind'] == conductor.FAKE:
                line += (' (Ironic\'s own floor with this latency, for '
                         'reference)')
            else:
                own = _pick(passes, node_kind=conductor.FAKE, nodes=nodes,
                            latency_ms=p['latency_ms'], pass_kind='steady',
                            workers=workers)
                if own:
                    line += (', %.2fx fake-hardware with the latency'
                             % (p['seconds'] / own['seconds']))
                line += ' (target <= %.2fx): %s' % (
                    LATENCY_VS_FLOOR, _verdict(ratio <= LATENCY_VS_FLOOR))
            lines.append(line)
    first = {kind: _pick(passes, node_kind=kind, nodes=nodes, latency_ms=0,
                         pass_kind='first contact', workers=workers)
             for kind in (conductor.AMT_HTTP, conductor.AMT_HTTPS)}
    https, http = first[conductor.AMT_HTTPS], first[conductor.AMT_HTTP]
    fake_first = _pick(passes, node_kind=conductor.FAKE, nodes=nodes,
                       latency_ms=0, pass_kind='first contact',
                       workers=workers)
    if https and http:
        ratio = _cpu_ratio(https['cpu_seconds'], http['cpu_seconds'])
        # Per node, what TLS adds and what the driver adds over http.
        added = ', per node https adds %.2f ms to http' % (
            1000.0 * (https['cpu_seconds'] - http['cpu_seconds']) / nodes)
        if fake_first:
            added += ', which adds %.2f ms to fake-hardware' % (
                1000.0 * (http['cpu_seconds'] - fake_first['cpu_seconds'])
                / nodes)
        added += _per_start(https, http)
        lines.append(
            'first-contact %d-node pass conductor CPU, https (trust-store-'
            'sized CA bundle) %.2f s vs http %.2f s = %.2fx%s (target <= '
            '%.2fx): %s' % (nodes, https['cpu_seconds'],
                            http['cpu_seconds'], ratio, added,
                            HTTPS_VS_HTTP_CPU,
                            _verdict(ratio <= HTTPS_VS_HTTP_CPU)))
    if https:
        repeat = https['repeat_handshakes']
        share = https['repeat_resumed'] / repeat if repeat else 0.0
        lines.append(
            'repeat TLS connections resumed (%d-node https run, its first '
            'three passes): %d of %d = %.0f%% (target >= %.0f%%): %s'
            % (nodes, https['repeat_resumed'], repeat, 100 * share,
               100 * RESUMED_SHARE,
               _verdict(repeat > 0 and share >= RESUMED_SHARE)))
        growth = https['rss_growth_kib_per_node']
        ironic_own = ('not measured' if not fake_first else
                      '%.1f KiB, so %.1f KiB net of it' % (
                          fake_first['rss_growth_kib_per_node'],
                          growth - fake_first['rss_growth_kib_per_node']))
        lines.append(
            'conductor RSS growth over the first-contact pass, https: '
            '%.1f KiB per node (fake-hardware: %s) (target <= %d KiB): %s'
            % (growth, ironic_own, RSS_KIB_PER_NODE,
               _verdict(growth <= RSS_KIB_PER_NODE)))
    slower = []
    by = {(r['latency_ms'], r['scheme'], r['mode'], r['client']): r
          for r in rows}
    compared = 0
    for (latency, scheme, mode, client), row in sorted(by.items()):
        if client != contenders.OURS:
            continue
        base = by.get((latency, scheme, mode, contenders.BASELINE))
        if not base:
            continue
        compared += 1
        for field in ('p50_ms', 'cpu_ms'):
            if row[field] > base[field]:
                slower.append('%s %s %d ms %s: %.3f vs %.3f' % (
                    scheme, mode, latency, field, row[field], base[field]))
    if compared:
        lines.append(
            'never slower than the careful baseline (p50 latency and CPU '
            'per call, %d rows): %s%s' % (
                compared, _verdict(not slower),
                ''.join('\n    slower: %s' % s for s in slower)))
    return lines or ['(no target measurable from this run)']


def write_json(path, data):
    """Write the results as JSON."""
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1, sort_keys=True)


def _bars(axis, rows, latency, value, title, ylabel):
    groups = []
    for row in rows:
        key = (row['scheme'], row['mode'])
        if row['latency_ms'] == latency and key not in groups:
            groups.append(key)
    by = {(r['scheme'], r['mode'], r['client']): r for r in rows
          if r['latency_ms'] == latency}
    width = 0.8 / len(contenders.ORDER)
    for index, client in enumerate(contenders.ORDER):
        xs, ys = [], []
        for position, key in enumerate(groups):
            row = by.get(key + (client,))
            xs.append(position + (index - 1) * width)
            ys.append(row[value] if row else 0.0)
        bars = axis.bar(xs, ys, width, label=client, color=COLOURS[client])
        axis.bar_label(bars, fmt='%.1f', fontsize=6, padding=1)
    axis.set_xticks(range(len(groups)))
    axis.set_xticklabels(['%s\n%s' % (scheme, mode.replace(', ', ',\n'))
                          for scheme, mode in groups], fontsize=7)
    axis.set_title(title, fontsize=10)
    axis.set_ylabel(ylabel)
    axis.grid(axis='y', alpha=0.3)
    axis.legend(fontsize=7)


def _sync_bars(axis, passes):
    # The second pass (settling after a long first one) and the first
    # pass over new nodes (Ironic recording their power state) are in the
    # table.
    passes = [p for p in passes
              if p['pass_kind'] not in ('second', conductor.FIRST_NEW_NODES)]
    groups = []
    for p in passes:
        key = (p['nodes'], p['latency_ms'], p['pass_kind'])
        if key not in groups:
            groups.append(key)
    kinds = [k for k in conductor.KINDS if any(p['node_kind'] == k
                                               for p in passes)]
    width = 0.8 / max(len(kinds), 1)
    for index, kind in enumerate(kinds):
        xs, ys, below, above = [], [], [], []
        for position, (nodes, latency, pass_kind) in enumerate(groups):
            p = _pick(passes, node_kind=kind, nodes=nodes,
                      latency_ms=latency, pass_kind=pass_kind)
            xs.append(position + (index - (len(kinds) - 1) / 2) * width)
            ys.append(p['seconds'] if p else 0.0)
            # A steady bar is a median: its whisker spans the passes.
            spread = p and p.get('samples', 1) > 1
            below.append(p['seconds'] - p['seconds_min'] if spread else 0)
            above.append(p['seconds_max'] - p['seconds'] if spread else 0)
        label = kind
        if kind == conductor.FAKE:
            label += ' (no device; the latency is a sleep in its power read)'
        bars = axis.bar(xs, ys, width, label=label, color=COLOURS[kind])
        whiskers = [i for i, (b, a) in enumerate(zip(below, above))
                    if b or a]
        if whiskers:
            axis.errorbar([xs[i] for i in whiskers],
                          [ys[i] for i in whiskers],
                          yerr=[[below[i] for i in whiskers],
                                [above[i] for i in whiskers]],
                          fmt='none', ecolor='black', elinewidth=0.8,
                          capsize=2)
        axis.bar_label(bars, fmt='%.1f', fontsize=6, padding=1)
    for position, (nodes, latency, pass_kind) in enumerate(groups):
        p = _pick(passes, nodes=nodes, latency_ms=latency,
                  pass_kind=pass_kind)
        if latency and p:
            floor = model_floor(p)
            axis.hlines(floor, position - 0.45, position + 0.45,
                        colors='black', linestyles='dashed',
                        label='model floor N x latency / workers'
                        if position == next(
                            i for i, g in enumerate(groups) if g[1]) else
                        None)
    axis.set_xticks(range(len(groups)))
    axis.set_xticklabels(['%d nodes\n%d ms lat.\n%s' % g for g in groups],
                         fontsize=7)
    axis.set_title('Conductor power-state sync pass (wall time; a steady '
                   'bar is the median pass, its whisker the fastest to '
                   'slowest)', fontsize=10)
    axis.set_ylabel('seconds')
    axis.grid(axis='y', alpha=0.3)
    axis.legend(fontsize=7)


def chart(path, rows, passes, machine):
    """Write the PNG (linear axes), or say how to get it.

    :param path: the PNG path.
    :param rows: per-call rows.
    :param passes: sync pass dicts.
    :param machine: a one-line description of the machine.
    :returns: a sentence saying what was written.
    """
    try:
        import matplotlib
    except ImportError:
        return ('matplotlib is not installed, so no chart: the table is in '
                'results.txt. For %s: `pip install matplotlib` (or '
                '`tox -e bench`), then `tools/bench --chart-only %s`.'
                % (os.path.basename(path),
                   os.path.join(os.path.dirname(path), 'results.json')))
    matplotlib.use('Agg')
    from matplotlib import pyplot

    latencies = sorted({r['latency_ms'] for r in rows})
    panels = len(latencies) + bool(rows) + bool(passes)
    figure, axes = pyplot.subplots(panels, 1, figsize=(13, 4.6 * panels))
    axes = list(axes) if panels > 1 else [axes]
    for axis, latency in zip(axes, latencies):
        _bars(axis, rows, latency, 'p50_ms',
              'Power-state read, p50 latency per call; simulated latency '
              '%d ms per HTTP exchange' % latency, 'ms per call')
    if rows:
        _bars(axes[len(latencies)], rows, 0, 'cpu_ms',
              'Client CPU per call (user + system), no simulated latency',
              'CPU ms per call')
    if passes:
        _sync_bars(axes[-1], passes)
    figure.text(0.5, 0.005, CAPTION + ' ' + machine, ha='center',
                fontsize=8, wrap=True)
    figure.tight_layout(rect=(0, 0.02, 1, 1))
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return 'wrote %s' % path
