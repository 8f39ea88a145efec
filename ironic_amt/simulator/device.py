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

"""One simulated AMT device: its power and boot state machine and logs.

Every public method is safe to call from any thread (one lock per device);
the asyncio endpoint and the Python/control APIs share it.
"""

import collections
import threading
import time

from ironic_amt.simulator import config
from ironic_amt.simulator import digest
from ironic_amt.simulator import enumeration
from ironic_amt.simulator import faults
from ironic_amt.simulator import inventory
from ironic_amt.simulator import profiles

POWER_ON = 2
POWER_SLEEP = 4
POWER_HIBERNATE = 7
POWER_OFF = 8

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
# Off and power-cycle states AMT rejects while a SOL, IDE-R or KVM
# redirection session is open (SDK, changesystempowerstate).
REDIRECTION_BLOCKED = frozenset([5, 6, 8, 9, 12, 13, 15, 16])
RPSC_BUSY = 4099

# CIM_BootConfigSetting / CIM_BootService method return values.
BOOT_COMPLETED = 0
BOOT_BUSY = 3
BOOT_INVALID_REFERENCE = 4
BOOT_INVALID_PARAMETER = 5

ROLE_IS_NEXT_SINGLE_USE = 1
ROLE_IS_NOT_NEXT = 32768
BOOT_ROLES = (ROLE_IS_NEXT_SINGLE_USE, ROLE_IS_NOT_NEXT)

# CIM_BootSourceSetting InstanceID -> boot source name.
FORCE_SOURCES = collections.OrderedDict([
    ('Intel(r) AMT: Force Hard-drive Boot', 'disk'),
    ('Intel(r) AMT: Force PXE Boot', 'pxe'),
    ('Intel(r) AMT: Force CD/DVD Boot', 'cdrom'),
])
OCR_SOURCES = collections.OrderedDict(
    [('Intel(r) AMT: Force OCR UEFI HTTPS Boot', 'https')]
    + [('Intel(r) AMT: Force OCR UEFI Boot Option %d' % i, 'uefi')
       for i in range(1, 11)])

BOOT_SETTING_ID = 'Intel(r) AMT:BootSettingData 0'

# AMT_BootSettingData after a boot (and at start), in AMT's field order.
_SETTING_DEFAULTS = collections.OrderedDict([
    ('BIOSLastStatus', [2, 0]), ('BIOSPause', False), ('BIOSSetup', False),
    ('BootMediaIndex', 0), ('BootguardStatus', 127),
    ('ConfigurationDataReset', False),
    ('ElementName', 'Intel(r) AMT Boot Configuration Settings'),
    ('EnforceSecureBoot', False), ('FirmwareVerbosity', 0),
    ('ForcedProgressEvents', False), ('IDERBootDevice', 0),
    ('InstanceID', BOOT_SETTING_ID), ('LockKeyboard', False),
    ('LockPowerButton', False), ('LockResetButton', False),
    ('LockSleepButton', False), ('OptionsCleared', True),
    ('OwningEntity', 'Intel(r) AMT'), ('PlatformErase', False),
    ('RPEEnabled', False), ('RSEPassword', ''), ('ReflashBIOS', False),
    ('SecureBootControlEnabled', False), ('SecureErase', False),
    ('UEFIHTTPSBootEnabled', False), ('UEFILocalPBABootEnabled', False),
    ('UefiBootNumberOfParams', 0), ('UefiBootParametersArray', ''),
    ('UseIDER', False), ('UseSOL', False), ('UseSafeMode', False),
    ('UserPasswordBypass', False), ('WinREBootEnabled', False),
])
_READ_ONLY_SETTINGS = frozenset([
    'BIOSLastStatus', 'BootguardStatus', 'InstanceID', 'OptionsCleared',
    'SecureBootControlEnabled', 'UEFIHTTPSBootEnabled',
    'UEFILocalPBABootEnabled', 'WinREBootEnabled'])
# Settings never echoed back nor logged.
SECRET_SETTINGS = frozenset(['RSEPassword'])


class SettingsRefused(ValueError):
    """A Put on AMT_BootSettingData the firmware refuses."""


def _coerce_setting(name, text):
    default = _SETTING_DEFAULTS[name]
    if isinstance(default, bool):
        lowered = str(text).strip().lower()
        if lowered not in ('true', 'false', '1', '0'):
            raise SettingsRefused('%s must be a boolean' % name)
        return lowered in ('true', '1')
    if isinstance(default, int):
        try:
            return int(text)
        except (TypeError, ValueError):
            raise SettingsRefused('%s must be an integer' % name)
    return '' if text is None else str(text)


class Device(object):
    """A simulated AMT device (see the module docstring)."""

    def __init__(self, spec, sink=None, scheduler=None):
        """Create the device from its spec.

        :param spec: a config.DeviceSpec.
        :param sink: called with every log entry (dict) after it is
            recorded, e.g. to append it to the log file.
        :param scheduler: called as scheduler(delay, fn) to run fn later;
            without one, pending power changes apply when next looked at.
        """
        self.spec = spec
        self.name = spec.name
        self.address = spec.address
        self.http_port = spec.http_port
        self.https_port = spec.https_port
        self.username = spec.username
        self.password = spec.password
        self.realm = spec.realm or digest.random_realm()
        self.profile = spec.profile
        self.profile_info = profiles.get_profile(spec.profile)
        self.lms = spec.lms
        self.power_delay = spec.power_delay
        self.default_boot = spec.default_boot
        self.faults = faults.FaultSet()
        self.digest = digest.DigestAuthority(self.realm, spec.username,
                                             spec.password,
                                             self.profile_info.qop)
        self.enumerations = enumeration.ContextStore()
        self.boot_sources = collections.OrderedDict(FORCE_SOURCES)
        if self.profile_info.ocr:
            self.boot_sources.update(OCR_SOURCES)
        self.system_uuid = str(inventory.system_uuid(self.name))
        self.mac_addresses = list(inventory.mac_addresses(self.name))
        self.inventory = inventory.apply_overrides(
            inventory.generate(self.name, self.profile_info, self.realm,
                               self.profile_info.power_states),
            spec.inventory)
        self._sink = sink
        self._scheduler = scheduler
        self._lock = threading.RLock()
        self._power_state = spec.power_state
        self._pending = None
        self._boot_source_id = None
        self._role = ROLE_IS_NOT_NEXT
        self._settings = self._default_settings()
        self._boot_history = []
        self._log = collections.deque(maxlen=spec.log_limit)
        self._seq = 0
        self._message_id = 0

    def _default_settings(self):
        settings = collections.OrderedDict(_SETTING_DEFAULTS)
        settings['BIOSLastStatus'] = list(settings['BIOSLastStatus'])
        settings['UEFIHTTPSBootEnabled'] = self.profile_info.ocr
        return settings

    # Logging --------------------------------------------------------------

    def record(self, entry):
        """Add an entry to the request log, numbering and stamping it.

        :param entry: a dict with at least ``event``.
        :returns: the recorded entry.
        """
        with self._lock:
            self._seq += 1
            full = {'seq': self._seq, 'time': time.time(),
                    'device': self.name}
            full.update(entry)
            self._log.append(full)
            if self._sink is not None:
                self._sink(full)
        return full

    @property
    def request_log(self):
        """The request log: requests and boot events, oldest first."""
        self.settle()
        with self._lock:
            return list(self._log)

    def log_since(self, seq):
        """Log entries with a sequence number above ``seq``.

        :param seq: the last sequence number already seen.
        :returns: a list of entries.
        """
        return [e for e in self.request_log if e['seq'] > seq]

    def clear_log(self):
        """Empty the in-memory request log (numbering continues)."""
        with self._lock:
            self._log.clear()

    def next_message_id(self):
        """The MessageID of the next reply.

        :returns: 'uuid:00000000-8086-8086-8086-<12 hex digits>'.
        """
        with self._lock:
            self._message_id += 1
            return 'uuid:00000000-8086-8086-8086-%012X' % self._message_id

    # Faults ---------------------------------------------------------------

    def inject(self, fault, count=None, probability=None, **params):
        """Arm a fault (see faults.FaultSet.inject).

        :param fault: the fault name.
        :param count: apply to the next N matching events only.
        :param probability: apply with this probability.
        :param params: fault parameters, e.g. seconds=2.
        :raises: ValueError for an unknown fault or parameter.
        """
        self.faults.inject(fault, count=count, probability=probability,
                           **params)

    def clear_faults(self):
        """Disarm every fault."""
        self.faults.clear()

    # Power ----------------------------------------------------------------

    def settle(self):
        """Apply a pending power change whose delay has passed."""
        with self._lock:
            if self._pending and time.monotonic() >= self._pending[1]:
                target = self._pending[0]
                self._pending = None
                self._apply_power(target, target)

    @property
    def power_state(self):
        """The current PowerState (2 on, 8 off, 4 sleep, 7 hibernate)."""
        self.settle()
        with self._lock:
            return self._power_state

    @property
    def power_change_pending(self):
        """Whether an accepted RequestPowerStateChange has not applied."""
        self.settle()
        with self._lock:
            return self._pending is not None

    def available_power_states(self):
        """AvailableRequestedPowerStates for the current state.

        :returns: a list of PowerState values valid from here.
        """
        with self._lock:
            always, with_lms = _AVAILABLE[self.power_state]
            states = always + (with_lms if self.lms else ())
            supported = self.profile_info.power_states
            return [s for s in states if s in supported]

    def request_power_state_change(self, state):
        """RequestPowerStateChange.

        The change applies after ``power_delay`` seconds.  While an
        accepted change is pending, further requests are refused with
        4099 (Busy): AMT asks clients to wait for the first change, and a
        distinct code lets tests tell this from an invalid transition.

        :param state: the requested PowerState.
        :returns: 0 when accepted, 2 when the state is not available from
            the current one (on->on and off->off included), 4099 while a
            previous change is pending.
        """
        with self._lock:
            self.settle()
            if self._pending is not None:
                return RPSC_BUSY
            if state not in self.available_power_states():
                return RPSC_UNKNOWN
            if self.power_delay <= 0:
                self._apply_power(state, state)
            else:
                self._pending = (state,
                                 time.monotonic() + self.power_delay)
                if self._scheduler is not None:
                    # A little late, so the timer never fires early.
                    self._scheduler(self.power_delay + 0.005, self.settle)
            return RPSC_COMPLETED

    def set_power_state(self, value):
        """Force the power state, as a person at the machine would.

        Cancels a pending change.  Turning an off or hibernating machine
        on is a boot (``via`` is the value), so an armed override applies.

        :param value: 2, 4, 7 or 8.
        :raises: ValueError for another value.
        """
        value = int(value)
        if value not in config.INITIAL_POWER_STATES:
            raise ValueError('power state must be one of %s'
                             % (config.INITIAL_POWER_STATES,))
        with self._lock:
            self._pending = None
            self._apply_power(value, value)

    def _apply_power(self, requested, via):
        previous = self._power_state
        result = _RESULT_STATE[requested]
        if result is None:
            return
        self._power_state = result
        if requested in _RESETS or (requested == POWER_ON
                                    and previous in _COLD_STATES):
            self._boot(via)

    # Boot -----------------------------------------------------------------

    def os_boot(self):
        """Simulate a reboot initiated by the host OS.

        :returns: the boot event.
        :raises: ValueError when the host is not on.
        """
        with self._lock:
            if self.power_state != POWER_ON:
                raise ValueError('%s is not powered on' % self.name)
            return self._boot('os')

    def _boot(self, via):
        settings = self._settings
        override = self._role == ROLE_IS_NEXT_SINGLE_USE and (
            self._boot_source_id is not None or settings['BIOSSetup'])
        if not override:
            source = self.default_boot
        elif settings['BIOSSetup']:
            source = 'bios'
        else:
            source = self.boot_sources[self._boot_source_id]
        # One-shot: the role reverts, the order and the options clear.
        self._role = ROLE_IS_NOT_NEXT
        self._boot_source_id = None
        self._settings = self._default_settings()
        entry = self.record({'event': 'boot', 'source': source,
                             'override': bool(override), 'via': via})
        self._boot_history.append(entry)
        return entry

    @property
    def boot_history(self):
        """Boot events, oldest first (dicts as in the request log)."""
        self.settle()
        with self._lock:
            return list(self._boot_history)

    @property
    def last_boot_source(self):
        """Source of the last boot ('pxe', 'disk', ...), or None."""
        history = self.boot_history
        return history[-1]['source'] if history else None

    @property
    def boot_override(self):
        """What is armed for the next boot.

        :returns: dict with source (name or None), instance_id, role,
            armed (whether the next boot will use it), bios_setup,
            bios_pause, use_sol, use_ider, boot_media_index and
            options_cleared.
        """
        self.settle()
        with self._lock:
            s = self._settings
            return {
                'source': self.boot_sources.get(self._boot_source_id),
                'instance_id': self._boot_source_id,
                'role': self._role,
                'armed': self._role == ROLE_IS_NEXT_SINGLE_USE and (
                    self._boot_source_id is not None or s['BIOSSetup']),
                'bios_setup': s['BIOSSetup'], 'bios_pause': s['BIOSPause'],
                'use_sol': s['UseSOL'], 'use_ider': s['UseIDER'],
                'boot_media_index': s['BootMediaIndex'],
                'options_cleared': s['OptionsCleared'],
            }

    def change_boot_order(self, instance_id):
        """CIM_BootConfigSetting.ChangeBootOrder.

        The quirk modelled here: while a source is set, another
        ChangeBootOrder(source) is answered 0 but ignored; only an empty
        call (or a boot) clears the order.

        :param instance_id: a CIM_BootSourceSetting InstanceID, or None for
            the empty (clearing) call.
        :returns: (return value, ignored); 4 (Invalid Reference) for an
            unknown InstanceID.
        """
        with self._lock:
            self.settle()
            if instance_id is None:
                self._boot_source_id = None
                return BOOT_COMPLETED, False
            if instance_id not in self.boot_sources:
                return BOOT_INVALID_REFERENCE, False
            if self._boot_source_id is not None:
                return BOOT_COMPLETED, True
            self._boot_source_id = instance_id
            return BOOT_COMPLETED, False

    def set_boot_config_role(self, role):
        """CIM_BootService.SetBootConfigRole.

        :param role: 1 (IsNextSingleUse) or 32768 (IsNotNext).
        :returns: 0, or 5 (Invalid Parameter) for any other role.
        """
        with self._lock:
            if role not in BOOT_ROLES:
                return BOOT_INVALID_PARAMETER
            self._role = role
            return BOOT_COMPLETED

    def boot_setting_data(self):
        """The AMT_BootSettingData instance.

        :returns: an ordered dict of fields (secrets left out).
        """
        self.settle()
        with self._lock:
            return collections.OrderedDict(
                (k, v) for k, v in self._settings.items()
                if k not in SECRET_SETTINGS)

    def put_boot_setting_data(self, values):
        """Put AMT_BootSettingData: store writable fields.

        Read-only and unknown fields are ignored.  UseSOL or UseIDER may
        not be set while a boot source is chosen.

        :param values: dict of field name to text from the request.
        :returns: dict of the fields that changed (secrets masked).
        :raises: SettingsRefused for a bad value or a refused combination.
        """
        with self._lock:
            self.settle()
            new = collections.OrderedDict(self._settings)
            for name, text in values.items():
                if name in _SETTING_DEFAULTS and (
                        name not in _READ_ONLY_SETTINGS):
                    new[name] = _coerce_setting(name, text)
            if self._boot_source_id is not None and (
                    new['UseSOL'] or new['UseIDER']):
                raise SettingsRefused('UseSOL/UseIDER cannot be set while '
                                      'a boot source is chosen')
            changed = {k: ('***' if k in SECRET_SETTINGS else v)
                       for k, v in new.items() if self._settings[k] != v}
            new['OptionsCleared'] = False
            self._settings = new
            return changed

    # Persistence ----------------------------------------------------------

    def snapshot(self):
        """The state worth keeping across simulator restarts.

        :returns: a JSON-serialisable dict.
        """
        self.settle()
        with self._lock:
            return {'power_state': self._power_state,
                    'boot_source_id': self._boot_source_id,
                    'role': self._role,
                    'settings': dict(self._settings),
                    'boot_history': list(self._boot_history)}

    def restore(self, state):
        """Load a snapshot() taken by an earlier run.

        :param state: the dict snapshot() returned.
        """
        with self._lock:
            self._power_state = state['power_state']
            self._boot_source_id = state['boot_source_id']
            self._role = state['role']
            self._settings.update(state['settings'])
            self._boot_history = list(state['boot_history'])
