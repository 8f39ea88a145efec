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

"""The one-shot boot override: boot order, role and AMT_BootSettingData.

ChangeBootOrder picks a CIM_BootSourceSetting, SetBootConfigRole(1) arms
it for the next boot only, and AMT_BootSettingData holds the options.
At the next boot the override applies if armed, then the role reverts to
IsNotNext, the order clears and the options reset (OptionsCleared).
"""

import collections

from ironic_amt.simulator.model import settings as settings_mod

# CIM_BootConfigSetting / CIM_BootService method return values.
BOOT_COMPLETED = 0
BOOT_BUSY = 3
BOOT_INVALID_REFERENCE = 4
BOOT_INVALID_PARAMETER = 5
BOOT_ACCESS_DENIED = 6

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

# AMT_BootSettingData after a boot (and at start), in AMT's field order
# (GWM amt/boot/settingdata/get.xml, a recorded Get).
SETTING_DEFAULTS = (
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
)
# Fields BIOS and firmware own: the ones Intel's console leaves out of its
# Put (GWM amt/boot/settingdata.go) and the protocol notes (5.1) list.
READ_ONLY_SETTINGS = frozenset([
    'BIOSLastStatus', 'BootguardStatus', 'InstanceID', 'OptionsCleared',
    'RPEEnabled', 'SecureBootControlEnabled', 'UEFIHTTPSBootEnabled',
    'UEFILocalPBABootEnabled', 'WinREBootEnabled'])
# RSEPassword is write-only: a Get returns an empty element (recorded Get,
# GWM types.go).  The OCR/RPE parameters may carry an HTTP password (TLV
# 41), so they are never read back; the recorded Get leaves the empty
# array out.
WRITE_ONLY_SETTINGS = frozenset(['RSEPassword'])
HIDDEN_SETTINGS = frozenset(['UefiBootParametersArray'])

SettingsRefused = settings_mod.Refused


class BootModel(object):
    """The boot override of one device; guarded by the device lock."""

    def __init__(self, device):
        """Create the model.

        :param device: the owning device.Device.
        """
        self._device = device
        self._lock = device.lock
        self.sources = collections.OrderedDict(FORCE_SOURCES)
        if device.profile_info.ocr:
            self.sources.update(OCR_SOURCES)
        self.source_id = None
        self.role = ROLE_IS_NOT_NEXT
        defaults = collections.OrderedDict(SETTING_DEFAULTS)
        defaults.update(device.features.bios_settings())
        self.data = settings_mod.SettingInstance(
            defaults.items(), READ_ONLY_SETTINGS, WRITE_ONLY_SETTINGS,
            HIDDEN_SETTINGS)
        # Whether the last boot took an armed override (consume()).
        self.armed_at_boot = False

    @property
    def settings(self):
        """The stored AMT_BootSettingData values (secrets included)."""
        return self.data.values

    @property
    def armed(self):
        """Whether the next boot uses the override."""
        with self._lock:
            return self.role == ROLE_IS_NEXT_SINGLE_USE and (
                self.source_id is not None or self.settings['BIOSSetup']
                or self.settings['PlatformErase'])

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
            if instance_id is None:
                self.source_id = None
                return BOOT_COMPLETED, False
            if instance_id not in self.sources:
                return BOOT_INVALID_REFERENCE, False
            if self.source_id is not None:
                return BOOT_COMPLETED, True
            if (self.sources[instance_id] == 'https'
                    and self._device.ocr.source_problem(self.settings)):
                # Firmware refuses an HTTPS boot it cannot make; the code
                # it uses is unconfirmed (model.ocr).
                return BOOT_INVALID_PARAMETER, False
            self.source_id = instance_id
            return BOOT_COMPLETED, False

    def set_role(self, role):
        """CIM_BootService.SetBootConfigRole.

        :param role: 1 (IsNextSingleUse) or 32768 (IsNotNext).
        :returns: 0, or 5 (Invalid Parameter) for any other role.
        """
        with self._lock:
            if role not in BOOT_ROLES:
                return BOOT_INVALID_PARAMETER
            self.role = role
            return BOOT_COMPLETED

    def setting_data(self):
        """The AMT_BootSettingData instance as a Get returns it.

        :returns: an ordered dict of fields (write-only ones empty, the
            parameter array left out).
        """
        with self._lock:
            return self.data.fields()

    def put_setting_data(self, values, check=None):
        """Put AMT_BootSettingData (see settings.SettingInstance).

        Unknown fields and changed read-only fields are refused.  UseSOL
        or UseIDER may not be set while a boot source is chosen (SDK).  A
        stored change clears OptionsCleared.

        :param values: dict of field name to text from the request.
        :param check: called with the new settings before they are
            stored; raises SettingsRefused to refuse them.
        :returns: dict of the fields that changed (secrets masked).
        :raises: SettingsRefused for an unknown field, a changed read-only
            field, a bad value or a refused combination.
        """
        with self._lock:
            new = self.data.validate(values)
            if self.source_id is not None and (
                    new['UseSOL'] or new['UseIDER']):
                raise SettingsRefused('UseSOL/UseIDER cannot be set while '
                                      'a boot source is chosen')
            if check is not None:
                check(new)
            changed = self.data.changes(new)
            new['OptionsCleared'] = False
            self.data.values = new
            return changed

    def set_firmware_setting(self, name, value):
        """Change a field the firmware manages (BIOSLastStatus, ...).

        :param name: a field of AMT_BootSettingData.
        :param value: its new value.
        """
        with self._lock:
            self.settings[name] = value

    def consume(self):
        """Take the override for a boot that starts now.

        One-shot: the role reverts, the order and the options clear.

        :returns: (source name or None without an override, the settings
            the boot used).
        """
        with self._lock:
            settings = self.settings
            ignored = self.armed and self._device.faults.take(
                'override_ignored')
            self.armed_at_boot = self.armed and not ignored
            if not self.armed_at_boot:
                source = None
            elif settings['BIOSSetup']:
                source = 'bios'
            else:
                # None for an erase request alone: the default boots.
                source = self.sources.get(self.source_id)
            self.clear_override()
            if ignored:
                self.settings['BIOSLastStatus'] = [
                    int(ignored['status']), int(ignored['detail'])]
            return source, settings

    def clear_override(self):
        """Drop the override: role IsNotNext, no order, options reset."""
        with self._lock:
            self.role = ROLE_IS_NOT_NEXT
            self.source_id = None
            self.data.reset()

    def describe(self):
        """What is armed for the next boot (Device.boot_override)."""
        with self._lock:
            s = self.settings
            return {
                'source': self.sources.get(self.source_id),
                'instance_id': self.source_id,
                'role': self.role,
                'armed': self.armed,
                'bios_setup': s['BIOSSetup'], 'bios_pause': s['BIOSPause'],
                'use_sol': s['UseSOL'], 'use_ider': s['UseIDER'],
                'boot_media_index': s['BootMediaIndex'],
                'options_cleared': s['OptionsCleared'],
            }

    def snapshot(self):
        """The state worth keeping across restarts (a JSON-able dict)."""
        with self._lock:
            return {'boot_source_id': self.source_id, 'role': self.role,
                    'settings': dict(self.settings)}

    def restore(self, state):
        """Load a snapshot() taken by an earlier run.

        :param state: the dict snapshot() returned.
        """
        with self._lock:
            self.source_id = state['boot_source_id']
            self.role = state['role']
            self.data.values.update(state['settings'])
