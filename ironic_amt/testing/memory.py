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

"""Peak memory of a group of processes: summed PSS, sampled.

PSS (proportional set size) shares each shared page among the processes
mapping it, so the sum over processes is what they use together.
"""

import os
import threading

INTERVAL = 1.0


def process_pss_kib(pid):
    """Return the proportional set size of a process, in KiB.

    :param pid: the process id.
    :returns: the Pss from /proc/<pid>/smaps_rollup, 0 if it is gone.
    """
    try:
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Pss:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _processes():
    """Yield (pid, ppid, session id) of every process."""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rpartition(')')[2].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp, session, ...
        if len(fields) > 3:
            yield int(entry), int(fields[1]), int(fields[3])


def session_pids(sids):
    """Return the pids of some sessions' processes and their descendants.

    Descendants count even in sessions of their own: PostgreSQL's
    backends, for one, each start a new session.

    :param sids: session ids (the pids of session leaders).
    :returns: a set of pids.
    """
    table = list(_processes())
    pids = {pid for pid, _ppid, sid in table if sid in sids}
    children = {}
    for pid, ppid, _sid in table:
        children.setdefault(ppid, []).append(pid)
    pending = list(pids)
    while pending:
        for child in children.get(pending.pop(), ()):
            if child not in pids:
                pids.add(child)
                pending.append(child)
    return pids


class MemorySampler(object):
    """Samples the summed PSS of the stack's processes; keeps the peak."""

    def __init__(self, sids):
        """Prepare the sampler.

        :param sids: a callable returning the session ids to sum (with
            their descendants and this process).
        """
        self._sids = sids
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='memory-sampler')

    def sample(self):
        """Take one sample now.

        :returns: the summed PSS in KiB.
        """
        pids = session_pids(set(self._sids())) | {os.getpid()}
        total = sum(process_pss_kib(pid) for pid in pids)
        self.peak_kib = max(self.peak_kib, total)
        return total

    def _run(self):
        while not self._stop.wait(INTERVAL):
            self.sample()

    def start(self):
        """Sample in a background thread."""
        self._thread.start()

    def stop(self):
        """Stop sampling (bounded join)."""
        self._stop.set()
        self._thread.join(5)
