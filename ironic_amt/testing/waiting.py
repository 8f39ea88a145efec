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

"""The one bounded wait of the tests and tools."""

import time


class WaitTimeout(AssertionError):
    """A condition did not hold within its time bound."""


def wait_until(predicate, timeout, interval=0.05, what='the condition'):
    """Call a predicate until it returns a true value, bounded in time.

    :param predicate: a callable without arguments.
    :param timeout: seconds to wait at most.
    :param interval: seconds between two calls.
    :param what: what is awaited, for the error message.
    :returns: the first true value the predicate returned.
    :raises: WaitTimeout when the time is up; the message carries the
        last value returned.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout('%s not reached within %.1f s (last: %r)'
                              % (what, timeout, value))
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def wait_for_boots(device, count, since=0, timeout=10.0):
    """Wait (bounded) until a simulated device has booted count times.

    A reset leaves the power state on, so the driver (or Ironic) may report
    success before the simulated machine has actually restarted.

    :param device: a simulator device.
    :param count: the number of boots to wait for.
    :param since: how many entries of ``boot_history`` to skip (a mark
        taken earlier).
    :param timeout: seconds to wait at most.
    :returns: the boots since the mark, oldest first, however many there
        are when the wait ends (the caller asserts the count).
    """
    try:
        wait_until(lambda: len(device.boot_history) - since >= count,
                   timeout, interval=0.02,
                   what='%d boot(s) of %s' % (count, device.name))
    except WaitTimeout:
        pass
    return list(device.boot_history[since:])
