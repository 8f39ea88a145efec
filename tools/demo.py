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

"""Deploy simulated Intel AMT machines with a real Ironic 39 and pxe_amt.

Starts the AMT simulator with several devices and an all-in-one Ironic on
127.0.0.1, enrolls one pxe_amt node per device with the ``baremetal`` CLI,
deploys them all (ramdisk deploy; PXE boot, or with ``--boot amt-https``
One-Click Recovery HTTPS boot from an HTTPS image server with its own CA
and no PXE configuration at all), prints what each device was told and
did and what the first node's serial console (amt-socat, over
Serial-over-LAN) showed while it booted, then shuts everything down,
also on Ctrl-C or an error.
"""

import argparse
import secrets
import signal
import sys
import time

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import profiles
from ironic_amt.testing import harness
from ironic_amt.testing import request_log
from ironic_amt.testing import sol
from ironic_amt.testing import waiting

DEFAULT_NODES = 3
DEPLOY_TIMEOUT = 120.0
BOOT_INTERFACES = ('pxe', 'amt-https')
# Realistic timing adds seconds to every power change and boot.
REALISTIC_DEPLOY_TIMEOUT = 300.0
COLUMNS = ('node', 'power', 'armed', 'booted from', 'provision', 'seconds')
CONSOLE_TIMEOUT = 30.0


def _parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nodes', type=int, default=DEFAULT_NODES,
                        choices=range(1, 33), metavar='N',
                        help='number of simulated machines (1-32, default '
                             '%d)' % DEFAULT_NODES)
    parser.add_argument('--timeout', type=float, default=DEPLOY_TIMEOUT,
                        help='seconds allowed for all deploys (default '
                             '%.0f)' % DEPLOY_TIMEOUT)
    parser.add_argument('--boot', choices=BOOT_INTERFACES, default='pxe',
                        help='boot interface of the nodes (default pxe)')
    parser.add_argument('--timing', default='fast',
                        choices=sorted(profiles.TIMINGS),
                        help='simulated machine timing: fast (default) or '
                             'realistic (power changes and POST take '
                             'seconds, TLS handshakes cost time)')
    parser.add_argument('--keep', action='store_true',
                        help="keep Ironic's scratch directory (config, "
                             'logs, database) and print its path')
    return parser.parse_args(argv)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt()


def _say(text):
    print(text, flush=True)


def _enroll(stack, names, boot):
    extra = {}
    if boot == 'amt-https':
        extra['amt_https_boot_ca'] = stack.ironic.image_ca_path
    for index, name in enumerate(names):
        stack.create_node(name, stack.sim.device(name), index=index,
                          boot_interface=boot, **extra)
        stack.make_available(name)
        stack.set_ramdisk_image(name)


def _deploy(stack, names, timeout):
    """Start every deploy, then poll all nodes.

    Seconds run from the ``baremetal node deploy`` command to active.
    """
    ironic = stack.ironic
    started = {}
    for name in names:
        started[name] = time.monotonic()
        ironic.cli('node', 'deploy', name, parse=False)
    seconds = {}

    def all_finished():
        for name in names:
            if name in seconds:
                continue
            state = ironic.node(name)['provision_state']
            if state == 'active' or state in harness.FAILED_PROVISION_STATES:
                seconds[name] = time.monotonic() - started[name]
        return len(seconds) == len(names)

    try:
        waiting.wait_until(all_finished, timeout, harness.POLL_INTERVAL,
                           'the deploys')
    except waiting.WaitTimeout:
        raise harness.HarnessError('deploys not finished in %.0f s'
                                   % timeout)
    return seconds


def _show_console(stack, name, sock, console):
    """Print what the node's console showed, then disable the console."""
    try:
        console.wait_for('%s login: ' % name, CONSOLE_TIMEOUT)
    except waiting.WaitTimeout:
        _say('(no login prompt on the console of %s)' % name)
    _say('Serial console of %s (baremetal node console show, then SOL):'
         % name)
    text = console.output.decode('utf-8', 'replace')
    for line in text.replace('\r', '').split('\n'):
        if line.strip():
            _say('  | %s' % line)
    sock.close()
    stack.ironic.cli('node', 'console', 'disable', name, parse=False)


def _row(stack, name, seconds):
    node = stack.ironic.node(name)
    device = stack.sim.device(name)
    boots = request_log.power_boots(device.request_log)
    armed = request_log.armed_device(boots[-1]['armed']) if boots else None
    return (name, node['power_state'] or '-', armed or '-',
            device.last_boot_source or '-', node['provision_state'],
            '%.2f' % seconds)


def _table(rows):
    widths = [max(len(str(r[i])) for r in rows + [COLUMNS])
              for i in range(len(COLUMNS))]
    lines = []
    for row in [COLUMNS] + rows:
        lines.append('  '.join(str(v).ljust(w) for v, w in zip(row, widths)))
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def run(args):
    """Run the demo.

    :param args: the parsed command line.
    :returns: the exit code: 0 when every node reached active.
    """
    names = ['amt-%02d' % (i + 1) for i in range(args.nodes)]
    try:
        options = sol.ironic_console_options()
    except harness.HarnessError as e:
        _say('Demo failed: %s' % e)
        return 1
    if args.timing == 'realistic' and args.timeout == DEPLOY_TIMEOUT:
        args.timeout = REALISTIC_DEPLOY_TIMEOUT
    stack = harness.Stack([DeviceSpec(name, password=secrets.token_urlsafe(12),
                                      timing=args.timing)
                           for name in names], boot_interfaces=(args.boot,),
                          extra_options=options)
    try:
        _say('Starting the AMT simulator (%d devices) and Ironic ...'
             % len(names))
        stack.start()
        _say('Ironic API %s answered after %.1f s'
             % (stack.ironic.url, stack.ironic.start_seconds))
        began = time.monotonic()
        _enroll(stack, names, args.boot)
        _say('Enrolled %d pxe_amt nodes (create, manage, provide) in %.1f s'
             % (len(names), time.monotonic() - began))
        sock, console = sol.open_console(stack.ironic, names[0],
                                         CONSOLE_TIMEOUT)
        _say('Console of %s enabled and connected' % names[0])
        _say('Deploying (ramdisk deploy, %s boot) ...'
             % ('PXE' if args.boot == 'pxe' else 'HTTPS'))
        seconds = _deploy(stack, names, args.timeout)
        _show_console(stack, names[0], sock, console)
        rows = [_row(stack, name, seconds[name]) for name in names]
        _say(_table(rows))
        failed = [r[0] for r in rows if r[4] != 'active']
        for name in failed:
            _say('%s: %s' % (name, stack.ironic.node(name)['last_error']))
        return 1 if failed else 0
    except (harness.HarnessError, waiting.WaitTimeout) as e:
        _say('Demo failed: %s' % e)
        return 1
    except KeyboardInterrupt:
        _say('Interrupted.')
        return 130
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _say('Stopping Ironic and the simulator ...')
        stack.stop(remove=not args.keep)
        if args.keep:
            _say('Ironic files kept in %s' % stack.ironic.workdir)


def main(argv=None):
    """Entry point.

    :param argv: the arguments, sys.argv[1:] if None.
    :returns: the exit code.
    """
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
