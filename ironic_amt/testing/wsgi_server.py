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

"""Serve one OpenStack WSGI application on loopback with cheroot.

Keystone, Placement, Glance and the Nova API ship only WSGI modules (an
``application`` object in e.g. ``nova.wsgi.osapi_compute``); the Nova
test stack runs each of them in its own process with::

    python -m ironic_amt.testing.wsgi_server PORT MODULE

Each application finds its configuration through its own environment
variables (``OS_NOVA_CONFIG_DIR`` and the like), set by the caller. Nova's
module passes ``sys.argv`` to oslo.config, so this runner's own arguments
are removed from ``sys.argv`` before the module is imported. SIGTERM
stops the server.
"""

import argparse
import importlib
import signal
import sys

from cheroot import wsgi

THREADS = 8
# Seconds an idle keep-alive connection is kept, and the bound of a stop.
CONNECTION_TIMEOUT = 30
SHUTDOWN_TIMEOUT = 5


def main(argv=None):
    """Import the module's ``application`` and serve it until SIGTERM.

    :param argv: the arguments (default sys.argv[1:]): port, module.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('port', type=int)
    parser.add_argument('module', help='e.g. nova.wsgi.osapi_compute')
    args = parser.parse_args(argv)
    sys.argv = sys.argv[:1]
    application = importlib.import_module(args.module).application
    server = wsgi.Server(('127.0.0.1', args.port), application,
                         numthreads=THREADS, timeout=CONNECTION_TIMEOUT,
                         shutdown_timeout=SHUTDOWN_TIMEOUT,
                         server_name=args.module)

    def _exit(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)
    try:
        server.start()
    finally:
        server.stop()


if __name__ == '__main__':
    main()
