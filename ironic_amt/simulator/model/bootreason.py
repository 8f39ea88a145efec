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

"""IPS_HostBootReason: why the host last booted (AMT 8+).

amt-redirection.md section 7 (SDK ``getthereasonforthelastboot.htm``):
Reason 1 is "other" (not AMT-initiated, e.g. the OS rebooted), 2 remote
control with ReasonDetails "Power Up", "Power Cycle" or "Reset";
PreviousSxState is the sleep state the host came from (0-5 = S0-S5).
Until the first boot the recorded sample applies (Reason 1, S0).  A
power change through the control API counts as remote control here.
"""

REASON_OTHER = 1
REASON_REMOTE = 2
# RequestPowerStateChange value -> (ReasonDetails, PreviousSxState).
_REMOTE = {2: ('Power Up', 5), 5: ('Power Cycle', 5), 10: ('Reset', 0),
           14: ('Reset', 0)}


class BootReasonModel(object):
    """The last boot reason; guarded by the device lock."""

    def __init__(self, device):
        """Create the model.

        :param device: the owning device.Device.
        """
        self._lock = device.lock
        self.reason = (REASON_OTHER, '', 0)
        device.boot_hooks.append(self._on_boot)

    def _on_boot(self, entry, settings):
        details = _REMOTE.get(entry.get('via'))
        with self._lock:
            if details is None:
                self.reason = (REASON_OTHER, '', 0)
            else:
                self.reason = (REASON_REMOTE,) + details

    def instance(self):
        """The IPS_HostBootReason fields.

        :returns: dict of field name to value.
        """
        with self._lock:
            reason, details, previous = self.reason
        return {'ElementName': 'Intel(r) AMT Host Boot Reason',
                'InstanceID': 'Intel(r) AMT:Host Boot Reason',
                'PreviousSxState': previous, 'Reason': reason,
                'ReasonDetails': details}

    def snapshot(self):
        """The state worth keeping across restarts (a JSON-able dict)."""
        with self._lock:
            return {'reason': list(self.reason)}

    def restore(self, state):
        """Load a snapshot() taken by an earlier run.

        :param state: the dict snapshot() returned.
        """
        with self._lock:
            self.reason = tuple(state['reason'])
