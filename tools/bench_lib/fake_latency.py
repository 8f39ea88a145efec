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
in LATENCY_FILE (read again once the last reading is
:data:`READ_INTERVAL` seconds old; missing or empty: no latency) before
it answers, so that one conductor runs its passes first without and then
with a latency, as a pxe_amt conductor does when the simulated devices
are given one.  A sleep releases the GIL as the wait for a device's
answer does.  Nothing else of Ironic changes.
"""

import sys
import time

# How old the latency read from the file may be, in seconds.
READ_INTERVAL = 0.1


def _read_latency(path):
    """The latency in seconds written in a file; 0.0 if none."""
    try:
        with open(path) as f:
            return max(float(f.read().strip() or 0), 0.0)
    except (OSError, ValueError):
        return 0.0


class _Latency(object):
    """The latency in a file, read again when older than READ_INTERVAL.

    Two workers may both read the file at once; either value is right.
    """

    def __init__(self, path):
        self.path = path
        self.seconds = 0.0
        self.read_at = float('-inf')

    def current(self):
        now = time.monotonic()
        if now - self.read_at >= READ_INTERVAL:
            self.seconds = _read_latency(self.path)
            self.read_at = now
        return self.seconds


def _with_latency(get_power_state, latency):
    def get_power_state_after_latency(self, task):
        seconds = latency.current()
        if seconds:
            time.sleep(seconds)
        return get_power_state(self, task)
    return get_power_state_after_latency


def main():
    # Imported here, ironic.command first: it selects oslo.service's
    # threading backend for the whole process (importing the fake driver
    # first selects eventlet), which only the launched Ironic may do.
    from ironic.command import singleprocess
    from ironic.drivers.modules import fake

    latency = _Latency(sys.argv.pop(1))
    fake.FakePower.get_power_state = _with_latency(
        fake.FakePower.get_power_state, latency)
    return singleprocess.main()


if __name__ == '__main__':
    sys.exit(main())
