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

"""The ``ironic-amt-simulator`` console script.

When every socket listens it prints one JSON line (and writes it to
``--ready-file``): the control URL, the CA certificate path and each
device's name, address, ports, username, realm and profile (never the
password).  It then serves until SIGTERM or SIGINT and exits 0.
"""

import argparse
import ipaddress
import json
import os
import signal
import sys
import threading

from ironic_amt.simulator import config
from ironic_amt.simulator import profiles
from ironic_amt.simulator import simulator
from ironic_amt.simulator.transport import control

DEFAULT_HTTP_PORT = 16992
DEFAULT_HTTPS_PORT = 16993
DEFAULT_REDIRECTION_PORT = 16994
DEFAULT_REDIRECTION_TLS_PORT = 16995


def _parser():
    parser = argparse.ArgumentParser(
        prog='ironic-amt-simulator',
        description='Simulate Intel AMT devices speaking WS-Management.')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--config', help='JSON (or YAML) configuration file')
    source.add_argument('--devices', type=int,
                        help='number of devices to simulate')
    parser.add_argument('--name-prefix', default='amt-',
                        help='device names are <prefix><index>')
    parser.add_argument('--username', default='admin')
    parser.add_argument('--password', default='P@ssw0rd')
    parser.add_argument('--profile', default='16.1',
                        help='firmware profile (11.8, 12, 16.1, 19)')
    parser.add_argument('--first-address',
                        help='give device i the address first+i, listening '
                             'on 16992/16993 unless --base-port is given, '
                             'and on 16994/16995 for redirection')
    parser.add_argument('--address', default='127.0.0.1',
                        help='the address shared by all devices')
    parser.add_argument('--base-port', type=int,
                        help='device i listens on P+2i (http) and P+2i+1 '
                             '(https); default: any free port')
    parser.add_argument('--sol-enabled', action='store_true',
                        help='start with SOL and the redirection listener '
                             'enabled (default: disabled, as after '
                             'provisioning)')
    parser.add_argument('--power-state', type=int, default=8,
                        help='initial power state (2 on, 8 off)')
    parser.add_argument('--power-delay', type=float, default=0.2,
                        help='seconds before a power change applies')
    parser.add_argument('--timing', default='fast',
                        choices=sorted(profiles.TIMINGS),
                        help='fast (power_delay, then the new state) or '
                             'realistic (seconds, intermediate states, '
                             'POST, TLS handshake cost)')
    parser.add_argument('--control-port', type=int, default=0,
                        help='control API port on 127.0.0.1 (0: any)')
    parser.add_argument('--log-file', help='append the request log here '
                                           '(JSON lines)')
    parser.add_argument('--state-dir', help='keep the CA and device state '
                                            'here across runs')
    parser.add_argument('--ready-file', help='also write the ready line '
                                             'here')
    return parser


def _generated_specs(args):
    specs = []
    for i in range(args.devices):
        redirection = redirection_tls = 0
        if args.first_address:
            address = str(ipaddress.ip_address(args.first_address) + i)
            http, https = DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT
            redirection = DEFAULT_REDIRECTION_PORT
            redirection_tls = DEFAULT_REDIRECTION_TLS_PORT
        else:
            address = args.address
            http = https = 0
        if args.base_port:
            http, https = args.base_port + 2 * i, args.base_port + 2 * i + 1
        specs.append(config.DeviceSpec(
            name='%s%d' % (args.name_prefix, i), username=args.username,
            password=args.password, address=address, http_port=http,
            https_port=https, profile=args.profile,
            power_state=args.power_state, power_delay=args.power_delay,
            redirection_port=redirection,
            redirection_tls_port=redirection_tls,
            features=({'sol': True, 'listener': True}
                      if args.sol_enabled else None),
            timing=args.timing))
    return specs


def build_simulator(args):
    """Build the Simulator the command line describes.

    :param args: the parsed arguments.
    :returns: a Simulator, not started.
    :raises: ValueError for an invalid configuration.
    """
    if args.config:
        kwargs = config.load_config(args.config)
    else:
        kwargs = {'devices': _generated_specs(args)}
    if args.control_port or 'control_port' not in kwargs:
        kwargs['control_port'] = args.control_port
    if args.log_file:
        kwargs['log_path'] = args.log_file
    if args.state_dir:
        kwargs['state_dir'] = args.state_dir
    return simulator.Simulator(**kwargs)


def ready_line(sim):
    """The JSON line announcing a started simulator.

    :param sim: a started Simulator.
    :returns: the line, without a newline.
    """
    return json.dumps({'control_url': sim.control_url,
                       'ca_cert': sim.ca_cert_path,
                       'devices': [control.summary(d) for d in sim.devices]})


def main(argv=None):
    """Run the simulator until SIGTERM or SIGINT.

    :param argv: the arguments (default: sys.argv[1:]).
    :returns: the exit code.
    """
    args = _parser().parse_args(argv)
    try:
        sim = build_simulator(args)
    except (ValueError, OSError) as exc:
        print('ironic-amt-simulator: %s' % exc, file=sys.stderr)
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stopping.set())
    try:
        sim.start()
    except OSError as exc:
        print('ironic-amt-simulator: cannot listen: %s' % exc,
              file=sys.stderr)
        return 1
    try:
        line = ready_line(sim)
        if args.ready_file:
            tmp = args.ready_file + '.tmp'
            with open(tmp, 'w', encoding='utf-8') as f:
                f.write(line + '\n')
            os.replace(tmp, args.ready_file)
        print(line, flush=True)
        while not stopping.wait(1):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
