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

"""Reading a serial console stream in tests, the demo and benchmarks."""

import os
import select
import socket
import urllib.parse

from ironic_amt.testing import harness
from ironic_amt.testing import packages
from ironic_amt.testing import waiting

# What ironic-amt-sol prints once the SOL session is started.
SESSION_BANNER = '~. to quit]'


class StreamReader(object):
    """Accumulates what a console prints; waits for text in it.

    :param read: fn(timeout) returning the bytes available within
        ``timeout`` seconds (b'' when none), e.g. SOLSession.read.
    """

    def __init__(self, read):
        self._read = read
        self.output = bytearray()
        self.mark = 0

    def wait_for(self, text, timeout=10.0):
        """Read until ``text`` appears after the mark, then move the mark.

        :param text: bytes (or str, UTF-8) to wait for.
        :param timeout: seconds.
        :returns: the output from the old mark to the end of ``text``.
        :raises: waiting.WaitTimeout with the output seen.
        """
        if isinstance(text, str):
            text = text.encode()

        def found():
            index = self.output.find(text, self.mark)
            if index < 0:
                self.output += self._read(0.1)
                index = self.output.find(text, self.mark)
            return index + 1 if index >= 0 else None

        try:
            index = waiting.wait_until(found, timeout, 0, 'console %r'
                                       % text) - 1
        except waiting.WaitTimeout:
            raise waiting.WaitTimeout('%r not printed within %.1f s; '
                                      'output after the mark: %r'
                                      % (text, timeout,
                                         bytes(self.output[self.mark:])))
        chunk = bytes(self.output[self.mark:index + len(text)])
        self.mark = index + len(text)
        return chunk


def fd_reader(fd):
    """A read function for StreamReader over a file descriptor.

    :param fd: a readable descriptor (a pty master, a socket's fileno).
    :returns: fn(timeout) -> bytes; b'' at end of file too.
    """
    def read(timeout):
        ready, _w, _x = select.select([fd], [], [], timeout)
        if not ready:
            return b''
        try:
            return os.read(fd, 65536)
        except OSError:
            return b''
    return read


def ironic_console_options(address='127.0.0.1', ports=10):
    """ironic.conf options enabling amt-socat; installs socat if missing.

    :param address: the address socat listens on.
    :param ports: how many ports [console]port_range spans.
    :returns: {section: {option: value}} for harness.Stack's
        extra_options.
    :raises: HarnessError when socat cannot be installed.
    """
    packages.ensure_commands({'socat': 'socat'})
    start = harness.free_port()
    return {
        'DEFAULT': {'enabled_console_interfaces': 'amt-socat,no-console'},
        'console': {'port_range': '%d:%d' % (start, start + ports),
                    'socat_address': address},
    }


def open_console(ironic, name, timeout=30.0):
    """Enable a node's amt-socat console and connect to it.

    :param ironic: a harness.Ironic.
    :param name: the node name.
    :param timeout: seconds for each step.
    :returns: (socket, StreamReader) once the SOL session is started.
    """
    ironic.cli('node', 'set', name, '--console-interface', 'amt-socat',
               parse=False)
    ironic.cli('node', 'console', 'enable', name, parse=False)
    ironic.wait_for_node(name, timeout, console_enabled=True)
    url = ironic.cli('node', 'console', 'show', name)['console_info']['url']
    parsed = urllib.parse.urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout)
    reader = StreamReader(fd_reader(sock.fileno()))
    reader.wait_for(SESSION_BANNER, timeout)
    return sock, reader
