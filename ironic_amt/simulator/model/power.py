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

"""The host's power state machine (CIM_PowerManagementService).

A RequestPowerStateChange is accepted or refused with a CIM return
value, then applies after the device's power delay; a change that resets
or starts the host makes it boot (Device.boot_host).
"""

import time

POWER_ON = 2
POWER_SLEEP = 4
POWER_HIBERNATE = 7
POWER_OFF = 8

# Power states a device may be put in by hand: on, sleep, hibernate, off.
SETTABLE_STATES = (POWER_ON, POWER_SLEEP, POWER_HIBERNATE, POWER_OFF)

# Requested PowerState -> resulting PowerState (None: no change, NMI).
_RESULT_STATE = {2: POWER_ON, 4: POWER_SLEEP, 5: POWER_ON, 7: POWER_HIBERNATE,
                 8: POWER_OFF, 10: POWER_ON, 11: None, 12: POWER_OFF,
                 14: POWER_ON}

# Requests that reset the host, so it boots: power cycle, master bus reset
# and graceful reset.  2 boots only from off or hibernate.
_RESETS = frozenset([5, 10, 14])
_COLD_STATES = frozenset([POWER_OFF, POWER_HIBERNATE])

# Current PowerState -> AvailableRequestedPowerStates, in AMT's order;
# the second tuple needs LMS running in the host OS.
_AVAILABLE = {
    POWER_ON: ((10, 8, 5, 11), (4, 7, 14, 12)),
    POWER_SLEEP: ((2, 10, 8, 5), ()),
    POWER_HIBERNATE: ((2, 8), ()),
    POWER_OFF: ((2,), ()),
}

# CIM_PowerManagementService.RequestPowerStateChange return values.
RPSC_COMPLETED = 0
RPSC_UNKNOWN = 2
RPSC_INVALID_PARAMETER = 5
RPSC_BUSY = 4099

# Off and power-cycle states AMT rejects while a SOL, IDE-R or KVM
# redirection session is open (SDK, changesystempowerstate).
REDIRECTION_BLOCKED = frozenset([5, 6, 8, 9, 12, 13, 15, 16])


class PowerModel(object):
    """The power state of one device; guarded by the device lock."""

    def __init__(self, device):
        """Create the model from the device spec.

        :param device: the owning device.Device.
        """
        self._device = device
        self._lock = device.lock
        self._state = device.spec.power_state
        self._pending = None
        self.delay = device.spec.power_delay
        self.lms = device.spec.lms

    def settle(self):
        """Apply a pending power change whose delay has passed."""
        with self._lock:
            if self._pending and time.monotonic() >= self._pending[1]:
                target = self._pending[0]
                self._pending = None
                self._apply(target)

    @property
    def state(self):
        """The current PowerState (2 on, 8 off, 4 sleep, 7 hibernate)."""
        with self._lock:
            self.settle()
            return self._state

    @property
    def pending(self):
        """Whether an accepted change has not applied yet."""
        with self._lock:
            self.settle()
            return self._pending is not None

    def available(self):
        """AvailableRequestedPowerStates for the current state.

        :returns: a list of PowerState values valid from here.
        """
        with self._lock:
            always, with_lms = _AVAILABLE[self.state]
            states = always + (with_lms if self.lms else ())
            supported = self._device.profile_info.power_states
            return [s for s in states if s in supported]

    def request_change(self, state):
        """RequestPowerStateChange.

        The change applies after ``delay`` seconds.  While an accepted
        change is pending, further requests are refused with 4099 (Busy):
        AMT asks clients to wait for the first change, and a distinct
        code lets tests tell this from an invalid transition.

        :param state: the requested PowerState.
        :returns: 0 when accepted, 2 when the state is not available from
            the current one (on->on and off->off included), 4099 while a
            previous change is pending.
        """
        with self._lock:
            self.settle()
            if self._pending is not None:
                return RPSC_BUSY
            if state not in self.available():
                return RPSC_UNKNOWN
            if self.delay <= 0:
                self._apply(state)
            else:
                self._pending = (state, time.monotonic() + self.delay)
                # A little late, so the timer never fires early.
                self._device.schedule(self.delay + 0.005, self.settle)
            return RPSC_COMPLETED

    def force(self, value):
        """Set the power state as a person at the machine would.

        Cancels a pending change.  Turning an off or hibernating machine
        on is a boot, so an armed override applies.

        :param value: 2, 4, 7 or 8.
        :raises: ValueError for another value.
        """
        value = int(value)
        if value not in SETTABLE_STATES:
            raise ValueError('power state must be one of %s'
                             % (SETTABLE_STATES,))
        with self._lock:
            self._pending = None
            self._apply(value)

    def _apply(self, requested):
        previous = self._state
        result = _RESULT_STATE[requested]
        if result is None:
            return
        self._state = result
        if requested in _RESETS or (requested == POWER_ON
                                    and previous in _COLD_STATES):
            self._device.boot_host(requested)

    def snapshot(self):
        """The state worth keeping across restarts (a JSON-able dict)."""
        with self._lock:
            self.settle()
            return {'power_state': self._state}

    def restore(self, state):
        """Load a snapshot() taken by an earlier run.

        :param state: the dict snapshot() returned.
        """
        with self._lock:
            self._state = state['power_state']
