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

"""Enumeration contexts for WS-Enumeration Enumerate/Pull/Release.

Contexts look like AMT's (``D3000000-0000-0000-0000-000000000000``: a
little-endian counter in the first group).  A Pull that leaves items
behind hands out a new context and retires the old one; the last Pull
(EndOfSequence) and Release retire the context too.
"""

import collections
import struct
import threading

# Open contexts kept per device; the oldest is dropped beyond this.
MAX_CONTEXTS = 64


class ContextStore(object):
    """The open enumeration contexts of one device."""

    def __init__(self):
        """Create an empty store."""
        self._contexts = collections.OrderedDict()
        self._counter = 0
        self._lock = threading.Lock()

    def _new_id(self):
        self._counter = (self._counter + 1) & 0xFFFFFFFF
        return (struct.pack('<I', self._counter).hex().upper()
                + '-0000-0000-0000-000000000000')

    def _store(self, items):
        context = self._new_id()
        self._contexts[context] = items
        while len(self._contexts) > MAX_CONTEXTS:
            self._contexts.popitem(last=False)
        return context

    def open(self, items):
        """Start an enumeration.

        :param items: the items to hand out, in order.
        :returns: the new context id.
        """
        with self._lock:
            return self._store(list(items))

    def pull(self, context, max_elements):
        """Take up to ``max_elements`` items.

        :param context: a context id from open() or a previous pull().
        :param max_elements: the page size (at least 1).
        :returns: (items, next context id or None at the end).
        :raises: KeyError for an unknown or retired context.
        """
        with self._lock:
            items = self._contexts.pop(context)
            page, rest = items[:max_elements], items[max_elements:]
            return page, (self._store(rest) if rest else None)

    def release(self, context):
        """Retire a context.

        :param context: the context id.
        :raises: KeyError for an unknown or retired context.
        """
        with self._lock:
            del self._contexts[context]
