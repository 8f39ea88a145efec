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

"""Injected faults: what can go wrong on a device, and when it does.

A fault is armed with ``count`` (apply to the next N matching events, then
disarm), ``probability`` (apply each time with that chance) or neither
(apply every time until cleared).  What a matching event is depends on the
fault:

- every HTTP request, before authentication: ``latency`` (sleep
  ``seconds``), ``drop`` (close without answering), ``unresponsive``
  (hold the connection ``seconds`` without answering, then close);
- every TLS handshake: ``tls_delay`` (sleep ``seconds`` before the first
  reply on a new TLS connection, which is when the client sees the
  handshake finish);
- every authenticated request: ``http_500``, ``reset`` (send the headers
  and ``fraction`` of the body, then abort), ``garbage_xml`` (200 with a
  body that is not XML), ``truncated_xml`` (200 with the envelope cut in
  half), ``nonce_reset`` (forget every nonce, so the request and the ones
  already in flight get 401 stale="true"; without count or probability it
  fires once);
- power and boot methods (Invoke, and Put on AMT_BootSettingData):
  ``busy`` (the method returns its Busy code) and ``access_denied``
  (a wsman:AccessDenied fault, as when user consent is missing);
- boots with an armed override: ``override_ignored`` (the BIOS does not
  take it: the default source boots, the options are cleared and
  BIOSLastStatus reads [``status``, ``detail``], by default [65535, 3]:
  failed, unsupported; amt-redirection.md section 7);
- power-off and power-cycle requests: ``redirection`` (a SOL, IDE-R or
  KVM session is open; AMT rejects those changes, answered here with
  ReturnValue 2 like any transition it will not make).
"""

import random
import threading

# Fault name -> default parameters.
FAULT_DEFAULTS = {
    'latency': {'seconds': 1.0},
    'tls_delay': {'seconds': 1.0},
    'drop': {},
    'reset': {'fraction': 0.5},
    'http_500': {},
    'busy': {},
    'garbage_xml': {},
    'truncated_xml': {},
    'nonce_reset': {},
    'unresponsive': {'seconds': 60.0},
    'access_denied': {},
    'redirection': {},
    'override_ignored': {'status': 65535, 'detail': 3},
}

# Faults that fire once when armed without count or probability.
_ONE_SHOT_BY_DEFAULT = frozenset(['nonce_reset'])


class FaultSet(object):
    """The faults armed on one device; safe to use from any thread."""

    def __init__(self):
        """Create an empty set."""
        self._armed = {}
        self._lock = threading.Lock()
        self._random = random.Random()
        self.generation = 0

    def inject(self, fault, count=None, probability=None, **params):
        """Arm a fault, replacing an armed fault of the same name.

        :param fault: a key of FAULT_DEFAULTS.
        :param count: apply to the next ``count`` matching events only.
        :param probability: apply with this probability (0..1).
        :param params: fault parameters, e.g. seconds=2.
        :raises: ValueError for an unknown fault, parameter or a bad
            count or probability.
        """
        if fault not in FAULT_DEFAULTS:
            raise ValueError('Unknown fault %r; known: %s'
                             % (fault, ', '.join(sorted(FAULT_DEFAULTS))))
        unknown = set(params) - set(FAULT_DEFAULTS[fault])
        if unknown:
            raise ValueError('Unknown parameter(s) for fault %s: %s'
                             % (fault, ', '.join(sorted(unknown))))
        if count is not None and (int(count) != count or count < 1):
            raise ValueError('count must be a positive integer')
        if probability is not None and not 0 <= probability <= 1:
            raise ValueError('probability must be between 0 and 1')
        if (count is None and probability is None
                and fault in _ONE_SHOT_BY_DEFAULT):
            count = 1
        merged = dict(FAULT_DEFAULTS[fault])
        merged.update({k: float(v) for k, v in params.items()})
        with self._lock:
            self._armed[fault] = {'count': count,
                                  'probability': probability,
                                  'params': merged}

    def clear(self):
        """Disarm every fault."""
        with self._lock:
            self._armed.clear()
            self.generation += 1

    def take(self, fault):
        """Decide whether a fault applies to this event, counting it down.

        :param fault: the fault name.
        :returns: its parameters (a dict) when it applies, else None.
        """
        with self._lock:
            armed = self._armed.get(fault)
            if armed is None:
                return None
            if (armed['probability'] is not None
                    and self._random.random() >= armed['probability']):
                return None
            if armed['count'] is not None:
                armed['count'] -= 1
                if armed['count'] <= 0:
                    del self._armed[fault]
            return dict(armed['params'])

    def describe(self):
        """The armed faults, for the control API.

        :returns: a list of dicts with fault, count, probability, params.
        """
        with self._lock:
            return [dict(fault=name, count=a['count'],
                         probability=a['probability'],
                         params=dict(a['params']))
                    for name, a in sorted(self._armed.items())]
