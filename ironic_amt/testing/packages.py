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

"""Commands and npm packages the tests need, installed when missing.

A fresh machine has neither socat nor Node nor websockify; tests call
these helpers instead of skipping.  Debian packages come through
:mod:`ironic_amt.testing.debian` (bounded apt-get); npm packages are
installed under the virtualenv (gitignored), bounded in time.
"""

import json
import os
import shutil
import subprocess
import sys
import threading

from ironic_amt.testing import debian
from ironic_amt.testing import harness

# Seconds for one npm command.
NPM_TIMEOUT = 300
# Where npm packages are installed: inside the virtualenv (gitignored).
NPM_PREFIX = os.path.join(sys.prefix, 'npm')

_LOCK = threading.Lock()


def ensure_commands(commands):
    """Make sure commands exist, installing their Debian packages.

    :param commands: dict of command name to Debian package.
    :returns: dict of command name to its path.
    :raises: HarnessError when one cannot be installed.
    """
    paths = {}
    for command, package in commands.items():
        paths[command] = shutil.which(command) or debian.ensure_installed(
            package, os.path.join('/usr/bin', command))[0]
    return paths


def ensure_npm_package(name, version):
    """Install an npm package (and Node, if missing) under NPM_PREFIX.

    :param name: the package name, e.g. '@scope/pkg'.
    :param version: the exact version.
    :returns: the package directory.
    :raises: HarnessError when it cannot be installed.
    """
    npm = ensure_commands({'node': 'nodejs', 'npm': 'npm'})['npm']
    directory = os.path.join(NPM_PREFIX, 'node_modules', *name.split('/'))
    manifest = os.path.join(directory, 'package.json')
    with _LOCK:
        if os.path.exists(manifest):
            with open(manifest, encoding='utf-8') as f:
                if json.load(f).get('version') == version:
                    return directory
        os.makedirs(NPM_PREFIX, exist_ok=True)
        cmd = [npm, 'install', '--prefix', NPM_PREFIX, '--no-audit',
               '--no-fund', '--ignore-scripts', '%s@%s' % (name, version)]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True,
                                    timeout=NPM_TIMEOUT,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise harness.HarnessError('npm install %s did not finish '
                                       'within %d s' % (name, NPM_TIMEOUT))
        if result.returncode:
            raise harness.HarnessError('npm install %s failed (%d): %s' % (
                name, result.returncode, result.stderr[-2000:]))
    return directory
