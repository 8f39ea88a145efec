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

"""``ironic-amt-sol``: a node's serial console over AMT Serial-over-LAN.

Like ``ipmitool sol activate``: connects stdin and stdout to the serial
port of the host, with the terminal in raw mode so a pty does not echo
locally.  It first enables SOL and the redirection listener over WS-Man
when they are off.  The password comes from the ``AMT_PASSWORD``
environment variable or ``--password-file``, never from the command line,
which other users can read.  Type ``~.`` at the start of a line to quit.
Exit status: 0 after a normal end, 1 when the session could not be
opened or broke, 2 for a usage error.
"""

import argparse
import contextlib
import errno
import os
import select
import signal
import sys
import termios
import time
import tty

from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import redirection
from ironic_amt.wsman import redirection_service
from ironic_amt.wsman import transport

PASSWORD_ENV = 'AMT_PASSWORD'
# Largest password file read.
MAX_PASSWORD_FILE = 4096
READ_SIZE = 4096
ESCAPE = b'~.'


def _parser():
    parser = argparse.ArgumentParser(
        prog='ironic-amt-sol',
        description='Serial-over-LAN console of an Intel AMT machine. The '
                    'password is read from $%s or --password-file.'
                    % PASSWORD_ENV)
    parser.add_argument('--address', required=True,
                        help='host name or IP address of the AMT interface')
    parser.add_argument('--protocol', choices=('http', 'https'),
                        default='https',
                        help='http (ports 16992/16994) or https (TLS, '
                             '16993/16995; the default)')
    parser.add_argument('--wsman-port', type=int,
                        help='WS-Man port (default 16992/16993 by '
                             'protocol)')
    parser.add_argument('--redirection-port', type=int,
                        help='redirection port (default 16994/16995 by '
                             'protocol)')
    parser.add_argument('--username', required=True,
                        help='the AMT account, usually admin')
    parser.add_argument('--password-file',
                        help='read the password from this file instead of '
                             '$%s' % PASSWORD_ENV)
    verify = parser.add_mutually_exclusive_group()
    verify.add_argument('--ca-file',
                        help='verify the AMT certificate against this CA '
                             'bundle (default: the system CA store)')
    verify.add_argument('--insecure', action='store_true',
                        help='do not verify the AMT certificate')
    parser.add_argument('--legacy-tls', action='store_true',
                        help='allow TLS 1.0/1.1 and plain-RSA ciphers '
                             '(AMT 11 and older)')
    parser.add_argument('--no-enable', action='store_true',
                        help='do not enable SOL and the listener over '
                             'WS-Man first')
    parser.add_argument('--timeout', type=float, default=30.0,
                        help='seconds for connecting and each answer '
                             'during set-up (default 30)')
    return parser


def read_password(args, environ):
    """The password, from the environment or a file.

    :param args: the parsed arguments.
    :param environ: the environment mapping.
    :returns: the password.
    :raises: ValueError when there is none or the file cannot be read.
    """
    if args.password_file:
        try:
            with open(args.password_file, 'rb') as f:
                data = f.read(MAX_PASSWORD_FILE + 1)
        except OSError as e:
            raise ValueError('cannot read the password file: %s'
                             % e.strerror)
        if len(data) > MAX_PASSWORD_FILE:
            raise ValueError('the password file is too large')
        return data.decode('utf-8').rstrip('\r\n')
    password = environ.get(PASSWORD_ENV)
    if not password:
        raise ValueError('no password: set $%s or use --password-file'
                         % PASSWORD_ENV)
    return password


@contextlib.contextmanager
def raw_terminal(fd):
    """Put a terminal in raw mode (no local echo) for the block.

    :param fd: the file descriptor; nothing happens unless it is a tty.
    """
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_input(fd):
    try:
        return os.read(fd, READ_SIZE)
    except OSError as e:
        if e.errno == errno.EIO:
            return b''    # the pty was hung up: like end of file
        raise


class EscapeDetector(object):
    """Finds ``~.`` typed at the start of a line."""

    def __init__(self):
        self._line_start = True
        self._tilde = False

    def feed(self, data):
        """Scan typed bytes.

        :param data: the bytes.
        :returns: (bytes to send, whether the escape was typed).
        """
        out = bytearray()
        for byte in data:
            if self._tilde:
                self._tilde = False
                if byte == ord('.'):
                    return bytes(out), True
                out.append(ord('~'))
            elif self._line_start and byte == ord('~'):
                self._tilde = True
                self._line_start = False
                continue
            out.append(byte)
            self._line_start = byte in (0x0D, 0x0A)
        return bytes(out), False


def relay(session, in_fd, out_fd):
    """Copy bytes between a started SOL session and two descriptors.

    :param session: a started :class:`redirection.SOLSession`.
    :param in_fd: where typed input comes from.
    :param out_fd: where the host's output goes.
    :returns: when the input ends, ``~.`` is typed or the device ends SOL.
    :raises: RedirectionError when the session breaks.
    """
    escape = EscapeDetector()
    while True:
        if session.pending():
            readable = [session]
        else:
            readable, _w, _x = select.select(
                [session, in_fd], [], [],
                max(0.01, session.seconds_to_heartbeat()))
        if session in readable:
            try:
                output = session.read(0.05)
            except exceptions.RedirectionClosed:
                return
            if output:
                _write_all(out_fd, output)
        if in_fd in readable:
            typed = _read_input(in_fd)
            if not typed:
                return
            typed, quit_ = escape.feed(typed)
            if typed:
                session.write(typed)
            if quit_:
                return
        session.keep_alive()


def _terminate(_signum, _frame):
    raise SystemExit(0)


def run(args, password, in_fd, out_fd, err):
    """Enable SOL, open the session and relay until it ends.

    :param args: the parsed arguments.
    :param password: the AMT password.
    :param in_fd: input descriptor.
    :param out_fd: output descriptor.
    :param err: a text stream for messages.
    :returns: the exit status.
    """
    verify = False if args.insecure else (args.ca_file or True)
    try:
        if not args.no_enable:
            with wsman.Client(args.address, args.username, password,
                              protocol=args.protocol, port=args.wsman_port,
                              verify=verify, connect_timeout=args.timeout,
                              read_timeout=args.timeout, attempts=1,
                              legacy_tls=args.legacy_tls) as client:
                redirection_service.enable_sol(client)
        session = redirection.SOLSession(
            args.address, args.username, password, protocol=args.protocol,
            port=args.redirection_port, verify=verify,
            connect_timeout=args.timeout, read_timeout=args.timeout,
            legacy_tls=args.legacy_tls)
        start = time.monotonic()
        # Raw before the banner: what is typed once it shows is not held
        # by the pty's line discipline.
        with session, raw_terminal(in_fd):
            session.open()
            session.start()
            print('[SOL session to %s open in %.2f s; ~. to quit]\r'
                  % (session.endpoint, time.monotonic() - start), file=err,
                  flush=True)
            relay(session, in_fd, out_fd)
    except (exceptions.WSManError, ValueError) as e:
        print('ironic-amt-sol: %s' % e, file=err, flush=True)
        return 1
    return 0


def main(argv=None):
    """Entry point of ``ironic-amt-sol``.

    :param argv: the arguments (default: sys.argv[1:]).
    :returns: the exit status.
    """
    args = _parser().parse_args(argv)
    try:
        password = read_password(args, os.environ)
        transport.endpoint_url(args.address, args.protocol, args.wsman_port)
    except ValueError as e:
        print('ironic-amt-sol: %s' % e, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    return run(args, password, sys.stdin.fileno(), sys.stdout.fileno(),
               sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
