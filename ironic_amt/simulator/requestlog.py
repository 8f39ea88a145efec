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

"""The request log of one device: requests and device events, in order.

Entries are dicts numbered by ``seq`` and stamped with ``time`` and
``device``; the newest ``limit`` stay in memory, and every entry is also
handed to a sink (the simulator's JSON-lines log file).
"""

import collections
import threading
import time


class RequestLog(object):
    """A bounded, numbered log; safe to use from any thread."""

    def __init__(self, device_name, limit, sink=None):
        """Create an empty log.

        :param device_name: written into every entry.
        :param limit: entries kept in memory.
        :param sink: called with every entry after it is recorded.
        """
        self._name = device_name
        self._entries = collections.deque(maxlen=limit)
        self._sink = sink
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, entry):
        """Add an entry, numbering and stamping it.

        :param entry: a dict with at least ``event``.
        :returns: the recorded entry.
        """
        with self._lock:
            self._seq += 1
            full = {'seq': self._seq, 'time': time.time(),
                    'device': self._name}
            full.update(entry)
            self._entries.append(full)
            if self._sink is not None:
                self._sink(full)
        return full

    def entries(self, since=0):
        """Entries with a sequence number above ``since``, oldest first.

        :param since: the last sequence number already seen.
        :returns: a list of entries.
        """
        with self._lock:
            return [e for e in self._entries if e['seq'] > since]

    def clear(self):
        """Empty the in-memory log (numbering continues)."""
        with self._lock:
            self._entries.clear()
