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
value, then applies in the steps of the device's timing profile
(profiles.TIMINGS): ``fast`` changes to the final state after
``power_delay``; ``realistic`` passes through intermediate states (a
power cycle through off) over seconds.  A change that resets or starts
the host makes it boot (Device.boot_host), after the profile's POST time.
"""

import collections
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
        # Steps of the change in progress: (due, PowerState or None,
        # requested PowerState, whether it is the last step).
        self._steps = collections.deque()
        self._origin = None
        self._boot_due = None
        self.delay = device.spec.power_delay
        self.lms = device.spec.lms
        self.timing = device.timing

    def settle(self):
        """Apply the steps and the boot whose time has come."""
        with self._lock:
            now = time.monotonic()
            while self._steps and self._steps[0][0] <= now:
                _due, state, requested, last = self._steps.popleft()
                if state is not None:
                    self._state = state
                if last:
                    self._finish(requested)
            if self._boot_due is not None and self._boot_due[0] <= now:
                via = self._boot_due[1]
                self._boot_due = None
                self._device.boot_host(via)

    def _finish(self, requested):
        if not (requested in _RESETS or (requested == POWER_ON
                                         and self._origin in _COLD_STATES)):
            return
        if self.timing.post <= 0:
            self._device.boot_host(requested)
            return
        # A reset during POST restarts it: one boot, the last one.
        self._boot_due = (time.monotonic() + self.timing.post, requested)
        self._device.schedule(self.timing.post + 0.005, self.settle)

    def _plan(self, requested):
        transitions = self.timing.transitions
        if transitions is not None and requested in transitions:
            return transitions[requested]
        return ((self.delay, _RESULT_STATE[requested]),)

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
            return bool(self._steps)

    @property
    def booting(self):
        """Whether the host is in POST and has not taken the override."""
        with self._lock:
            self.settle()
            return self._boot_due is not None

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

        The change applies in the steps of the timing profile.  While an
        accepted change is pending, further requests are refused with
        4099 (Busy): AMT asks clients to wait for the first change, and a
        distinct code lets tests tell this from an invalid transition.

        :param state: the requested PowerState.
        :returns: 0 when accepted, 2 when the state is not available from
            the current one (on->on and off->off included) or is an off or
            power cycle while a redirection session is open, 4099 while a
            previous change is pending.
        """
        with self._lock:
            self.settle()
            if self._steps:
                return RPSC_BUSY
            if state not in self.available():
                return RPSC_UNKNOWN
            if (state in REDIRECTION_BLOCKED
                    and (self._device.redirection.session_open
                         or self._device.kvm.session_open)):
                return RPSC_UNKNOWN
            self._origin = self._state
            due = time.monotonic()
            plan = self._plan(state)
            for index, (seconds, target) in enumerate(plan):
                due += seconds
                self._steps.append((due, target, state,
                                    index == len(plan) - 1))
                # A little late, so the timer never fires early.
                self._device.schedule(due - time.monotonic() + 0.005,
                                      self.settle)
            self.settle()
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
            self._steps.clear()
            self._boot_due = None
            previous, self._state = self._state, value
            if value == POWER_ON and previous in _COLD_STATES:
                self._device.boot_host(value)

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
