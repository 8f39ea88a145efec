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

"""Install a Debian package the tests need, with bounded apt-get.

The installed package's own service is not started: the tests start their
own instance of it, on loopback, and stop it by pid.
"""

import glob
import os
import subprocess

from ironic_amt.testing import harness

APT_TIMEOUT = 600


def _apt_get(*args):
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    cmd = ['apt-get'] + list(args)
    result = subprocess.run(cmd, env=env, capture_output=True, text=True,
                            timeout=APT_TIMEOUT, stdin=subprocess.DEVNULL)
    if result.returncode:
        raise harness.HarnessError('%s failed (%d): %s'
                                   % (' '.join(cmd), result.returncode,
                                      result.stderr[-2000:]))


def ensure_installed(package, pattern):
    """Return the paths matching a glob, installing a package if none does.

    :param package: the Debian package that provides the paths.
    :param pattern: a glob of a file the package installs, e.g.
        '/usr/lib/postgresql/*/bin/pg_ctl'.
    :returns: the sorted matching paths (at least one).
    :raises: HarnessError if nothing matches and the package cannot be
        installed (installing needs root).
    """
    found = sorted(glob.glob(pattern))
    if not found and os.geteuid() == 0:
        _apt_get('update')
        _apt_get('install', '-y', '--no-install-recommends', package)
        found = sorted(glob.glob(pattern))
    if not found:
        raise harness.HarnessError('%s not found; install the Debian '
                                   'package "%s"' % (pattern, package))
    return found
