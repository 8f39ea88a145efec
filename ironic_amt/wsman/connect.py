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

"""A TCP connection to a device, name lookup included, within one time-out.

``socket.create_connection`` bounds each connect attempt but not the name
lookup before it, which the system resolver may stretch to tens of
seconds (a time-out per name server, per attempt, per address family).
Here an IP literal is used as it is, and a host name is looked up on a
small pool of threads while the caller waits at most what is left of its
time-out; a lookup that overruns it ends in ``socket.timeout`` (the
thread finishes on its own, and at most :data:`LOOKUP_THREADS` of them
ever wait on a stuck resolver).
"""

from concurrent import futures
import socket
import threading
import time

# Threads that may wait on the system resolver at once.
LOOKUP_THREADS = 4

_POOL_LOCK = threading.Lock()
_POOL = None


def _lookup_pool():
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = futures.ThreadPoolExecutor(
                LOOKUP_THREADS, thread_name_prefix='amt-name-lookup')
        return _POOL


def _addresses(host, port, timeout):
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                  flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass  # not an IP literal: a name to look up
    lookup = _lookup_pool().submit(socket.getaddrinfo, host, port,
                                   type=socket.SOCK_STREAM)
    try:
        return lookup.result(max(timeout, 0))
    except futures.TimeoutError:
        lookup.cancel()
        raise socket.timeout('no address for the host name within %.1f '
                             'seconds' % timeout)


def tcp_connection(host, port, timeout):
    """Connect to host:port; the lookup and the connect share the time-out.

    :param host: a host name or an IP literal (no brackets).
    :param port: the TCP port.
    :param timeout: seconds for the whole of it.
    :returns: a connected, blocking socket with the time-out left set.
    :raises: socket.timeout when the time-out passes; OSError (such as
        socket.gaierror or ConnectionRefusedError) when it fails.
    """
    deadline = time.monotonic() + timeout
    error = None
    for family, kind, proto, _name, address in _addresses(host, port,
                                                          timeout):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout('no TCP connection within %.1f seconds'
                                 % timeout)
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(remaining)
            sock.connect(address)
            return sock
        except socket.timeout:
            sock.close()
            raise socket.timeout('no TCP connection within %.1f seconds'
                                 % timeout)
        except OSError as e:
            sock.close()
            error = e
    raise error or OSError('no address for the host name')
