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

"""Ironic all-in-one whose fake power read waits like a device (bench only).

Ironic's own floor with a latency: ``[fake]power_delay`` takes whole
seconds, so it cannot model a device that answers in 30 ms.  Run in place
of the ``ironic`` command (``fake_latency.py LATENCY_FILE --config-file
...``), this makes ``FakePower.get_power_state`` sleep the seconds written
in LATENCY_FILE (read again every :data:`WATCH_INTERVAL` seconds; missing
or empty: no latency) before it answers, so that one conductor runs its
passes first without and then with a latency, as a pxe_amt conductor
does when the simulated devices are given one.  A sleep releases the GIL
as the wait for a device's answer does.  Nothing else of Ironic changes.
"""

import functools
import os
import sys
import threading
import time

from ironic.command import singleprocess
from ironic.drivers.modules import fake

WATCH_INTERVAL = 0.1

_latency = 0.0


def _read_latency(path):
    """The latency in seconds written in a file; 0.0 if none."""
    try:
        with open(path) as f:
            return max(float(f.read().strip() or 0), 0.0)
    except (OSError, ValueError):
        return 0.0


def _watch(path):
    global _latency
    while True:
        _latency = _read_latency(path)
        time.sleep(WATCH_INTERVAL)


def _with_latency(get_power_state):
    def get_power_state_after_latency(self, task):
        if _latency:
            time.sleep(_latency)
        return get_power_state(self, task)
    return get_power_state_after_latency


def _start_watching(path):
    threading.Thread(target=_watch, args=(path,), daemon=True,
                     name='bench-fake-latency').start()


def main():
    latency_file = sys.argv.pop(1)
    fake.FakePower.get_power_state = _with_latency(
        fake.FakePower.get_power_state)
    _start_watching(latency_file)
    # The service runs in a forked worker, which has no copy of the thread.
    os.register_at_fork(
        after_in_child=functools.partial(_start_watching, latency_file))
    return singleprocess.main()


if __name__ == '__main__':
    sys.exit(main())
