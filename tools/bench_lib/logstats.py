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

"""Counting what an operation cost on the wire, from the request log."""

import collections

Counts = collections.namedtuple('Counts', [
    'calls', 'exchanges', 'challenges', 'connects', 'handshakes',
    'resumed', 'sequence'])
"""Per operation: WS-Man calls (authenticated exchanges that reached
WS-Man), HTTP exchanges (401s included), 401 answers, new TCP connections,
TLS handshakes, resumed TLS handshakes, and the calls in order as short
names."""


def call_name(entry):
    """A short name of a logged WS-Man call, e.g. ``Get(CIM_Chassis)``.

    :param entry: a request log entry.
    :returns: the name.
    """
    args = entry.get('args') or {}
    if entry.get('method'):
        name = entry['method']
        if name == 'ChangeBootOrder':
            name += '(%s)' % ('source' if args.get('Source') else 'clear')
        elif name == 'RequestPowerStateChange':
            name = 'RPSC(%s)' % args.get('PowerState')
        return name
    return '%s(%s)' % (entry.get('action'), entry.get('resource'))


def count(entries):
    """Summarise the request log entries of one operation.

    :param entries: request log entries (boot events are ignored).
    :returns: a :class:`Counts`.
    """
    requests = [e for e in entries if e.get('event') == 'request']
    calls = [e for e in requests if e.get('auth') not in (
        'challenge', 'stale', 'bad', None)]
    return Counts(
        calls=len(calls),
        exchanges=len(requests),
        challenges=sum(1 for e in requests if e.get('status') == 401),
        connects=sum(1 for e in requests if e.get('new_connection')),
        handshakes=sum(1 for e in requests if e.get('tls_handshake')),
        resumed=sum(1 for e in requests if e.get('tls_resumed')),
        sequence=tuple(call_name(e) for e in calls))
