
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
