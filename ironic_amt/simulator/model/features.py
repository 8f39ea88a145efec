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

"""Platform features of one device: SOL/IDE-R redirection, OCR and RPE.

What each firmware profile offers (PROFILE_FEATURES) and what the device
spec's ``features`` dict changes (FEATURE_KEYS), then the state:

* AMT_RedirectionService: SOL/IDE-R EnabledState (32768-32771) and
  ListenerEnabled (amt-redirection.md section 3);
* CIM_BootService: on One-Click Recovery firmware (CSME 15+) its
  EnabledState is 32768 + 1 (OCR on) + 2 (RPE on); older firmware reports
  2 (section 5.2);
* the BIOS-owned, read-only AMT_BootSettingData flags UEFIHTTPSBootEnabled
  and RPEEnabled, and AMT_BootCapabilities.PlatformErase (section 6);
* Remote Platform Erase: a Put with PlatformErase=true is checked as
  firmware does (RPE on in the BIOS and the boot service, over TLS, one
  TLV with a device mask the firmware advertises), and the erase happens
  at the next boot if that boot is a power cycle or a power-on: a warm
  reset keeps the ME power rails up and BIOS never runs it (Intel console
  ``wsman/rpe.go``).  What was erased is recorded in ``erase_history``.
"""

import struct

from ironic_amt.simulator.model import boot
from ironic_amt.simulator.model import tlv

# AMT_BootCapabilities.PlatformErase bits (section 6).
ERASE_SUPPORTED = 1 << 0
ERASE_BITS = {
    1: 'pyrite_revert', 2: 'ssd_erase', 3: 'verify_storage_erase',
    6: 'tpm_clear', 16: 'oem_action', 25: 'bios_nvm_clear',
    26: 'bios_golden_config', 31: 'csme_unconfigure',
}


def _mask(*bits):
    return sum(1 << bit for bit in bits)


# Per profile: the PlatformErase bits. OCR follows Profile.ocr (CSME
# 15+); RPE needs CSME 16+.  The erase bits are simulator values within
# what the SDK defines.  (KVM: model.kvm.)
PROFILE_ERASE_BITS = {
    '11.8': 0,
    '12': 0,
    '16.1': _mask(0, 2, 3, 6, 25),
    '19': _mask(0, 1, 2, 3, 6, 16, 25, 26),
}

# DeviceSpec.features keys -> type.
FEATURE_KEYS = {
    'user_consent': str,        # 'none', 'kvm' or 'all' (CCM: always all)
    'sol': bool, 'ider': bool,  # AMT_RedirectionService state
    'listener': bool,           # AMT_RedirectionService.ListenerEnabled
    'redirection_mebx': bool,   # SOL/Storage Redirection allowed in MEBx
    'https_boot_bios': bool,    # UEFIHTTPSBootEnabled (BIOS)
    'rpe_bios': bool,           # RPEEnabled (BIOS)
    'ocr_service': bool,        # CIM_BootService OCR bit
    'rpe_service': bool,        # CIM_BootService RPE bit
    'platform_erase': int,      # AMT_BootCapabilities.PlatformErase
}

REDIRECTION_BASE = 32768
IDER_BIT = 1
SOL_BIT = 2
BOOT_SERVICE_BASE = 32768
BOOT_SERVICE_LEGACY = 2
OCR_BIT = 1
RPE_BIT = 2

# CIM RequestStateChange return values.
COMPLETED = 0
NOT_SUPPORTED = 1
INVALID_PARAMETER = 5

RPE_DEVICE_MASK = 1
# RPE TLV types -> (maximum length, exact length); section 5.3 layout.
_RPE_TLV_LIMITS = {1: (4, None), 10: (64, None), 20: (64, None),
                   30: (500, None)}
# Boots that run the erase: power cycle, power-on from off or hibernate.
ERASE_BOOTS = frozenset([2, 5])


class FeatureRefused(boot.SettingsRefused):
    """A change of AMT_BootSettingData the firmware refuses."""


def parse_features(profile, features):
    """Validate DeviceSpec.features and fill in the profile's defaults.

    :param profile: a profiles.Profile.
    :param features: the spec's dict, or None.
    :returns: a complete dict with every FEATURE_KEYS key.
    :raises: ValueError naming an unknown key or a bad value.
    """
    erase = PROFILE_ERASE_BITS[profile.name]
    # Provisioning tools leave SOL, IDE-R and the listener off.
    result = {'user_consent': 'none',
              'sol': False, 'ider': False, 'listener': False,
              'redirection_mebx': True,
              'https_boot_bios': profile.ocr, 'rpe_bios': bool(erase),
              'ocr_service': profile.ocr, 'rpe_service': bool(erase),
              'platform_erase': erase}
    for key, value in (features or {}).items():
        kind = FEATURE_KEYS.get(key)
        if kind is None:
            raise ValueError('Unknown feature %r; known: %s'
                             % (key, ', '.join(sorted(FEATURE_KEYS))))
        if type(value) is not kind:
            raise ValueError('Feature %s must be a %s' % (key,
                                                          kind.__name__))
        result[key] = value
    if result['user_consent'] not in ('none', 'kvm', 'all'):
        raise ValueError('user_consent must be none, kvm or all')
    if not profile.ocr and (result['ocr_service'] or result['rpe_service']
                            or result['https_boot_bios']):
        raise ValueError('profile %s has no One-Click Recovery or RPE'
                         % profile.name)
    return result


def erase_names(mask):
    """Names of the erase actions in a device mask.

    :param mask: a PlatformErase bitmask.
    :returns: sorted list of names (unknown bits as 'bit<N>').
    """
    return sorted(ERASE_BITS.get(bit, 'bit%d' % bit)
                  for bit in range(32) if mask & (1 << bit) and bit)


def parse_rpe_parameters(text, count):
    """Decode the UefiBootParametersArray of an erase request.

    :param text: the base64 text.
    :param count: UefiBootNumberOfParams.
    :returns: the device mask.
    :raises: FeatureRefused for anything firmware would refuse.
    """
    try:
        found = tlv.parse(text, count, _RPE_TLV_LIMITS)
    except ValueError as exc:
        raise FeatureRefused(str(exc))
    mask = found.get(RPE_DEVICE_MASK)
    if mask is None or len(mask) != 4:
        raise FeatureRefused('the device mask parameter (type 1, 4 bytes) '
                             'is mandatory')
    return struct.unpack('<I', mask)[0]


class FeatureModel(object):
    """The platform features of one device; guarded by the device lock."""

    def __init__(self, device):
        """Create the model from the device spec and profile.

        :param device: the owning device.Device.
        :raises: ValueError for bad spec features.
        """
        self._device = device
        self._lock = device.lock
        self.settings = parse_features(device.profile_info,
                                       getattr(device.spec, 'features',
                                               None))
        s = self.settings
        self.redirection = (REDIRECTION_BASE + IDER_BIT * s['ider']
                            + SOL_BIT * s['sol'])
        self.listener = s['listener']
        self.boot_service = BOOT_SERVICE_BASE + (
            OCR_BIT * s['ocr_service'] + RPE_BIT * s['rpe_service'])
        self.erase_history = []
        caps = device.inventory.get('AMT_BootCapabilities')
        if caps and device.profile_info.ocr and 'PlatformErase' in caps[0]:
            caps[0]['PlatformErase'] = s['platform_erase']
        device.boot_hooks.append(self._on_boot)

    @property
    def ocr_firmware(self):
        """Whether the firmware has One-Click Recovery (CSME 15+)."""
        return self._device.profile_info.ocr

    @property
    def platform_erase(self):
        """AMT_BootCapabilities.PlatformErase as served (0 without)."""
        caps = self._device.inventory.get('AMT_BootCapabilities') or [{}]
        try:
            return int(caps[0].get('PlatformErase') or 0)
        except (TypeError, ValueError):
            return 0

    def bios_settings(self):
        """The BIOS-owned AMT_BootSettingData fields.

        :returns: dict of field name to value.
        """
        return {'UEFIHTTPSBootEnabled': self.settings['https_boot_bios'],
                'RPEEnabled': self.settings['rpe_bios']}

    # AMT_RedirectionService -----------------------------------------------

    def set_redirection(self, state):
        """AMT_RedirectionService.RequestStateChange.

        :param state: 32768-32771.
        :returns: 0; 1 when it would enable SOL or IDE-R while MEBx
            disables redirection; 5 for another value.
        """
        with self._lock:
            if not REDIRECTION_BASE <= state <= REDIRECTION_BASE + 3:
                return INVALID_PARAMETER
            if (state != REDIRECTION_BASE
                    and not self.settings['redirection_mebx']):
                return NOT_SUPPORTED
            self.redirection = state
            return COMPLETED

    @property
    def sol_enabled(self):
        """Whether AMT_RedirectionService lets SOL sessions start."""
        with self._lock:
            return bool((self.redirection - REDIRECTION_BASE) & SOL_BIT
                        and self.listener)

    # CIM_BootService ------------------------------------------------------

    @property
    def boot_service_state(self):
        """CIM_BootService.EnabledState."""
        with self._lock:
            if not self.ocr_firmware:
                return BOOT_SERVICE_LEGACY
            return self.boot_service

    def set_boot_service(self, state):
        """CIM_BootService.RequestStateChange: OCR and RPE on or off.

        A feature the BIOS has off cannot be turned on (MeshCommander's
        error text for this call).

        :param state: 32768-32771.
        :returns: 0; 1 on firmware without OCR or when the BIOS has the
            feature off; 5 for another value.
        """
        with self._lock:
            if not self.ocr_firmware:
                return NOT_SUPPORTED
            bits = state - BOOT_SERVICE_BASE
            if not 0 <= bits <= OCR_BIT + RPE_BIT:
                return INVALID_PARAMETER
            if ((bits & OCR_BIT and not self.settings['https_boot_bios'])
                    or (bits & RPE_BIT and not self.settings['rpe_bios'])):
                return NOT_SUPPORTED
            self.boot_service = state
            return COMPLETED

    # Remote Platform Erase ------------------------------------------------

    def check_settings(self, new, scheme):
        """Check an AMT_BootSettingData Put the way firmware does.

        :param new: the settings the Put would store.
        :param scheme: 'http' or 'https', how the Put came in.
        :raises: FeatureRefused when firmware refuses it.
        """
        if not new.get('PlatformErase'):
            return
        with self._lock:
            if not self.platform_erase & ERASE_SUPPORTED:
                raise FeatureRefused('PlatformErase is not supported')
            if not (self.settings['rpe_bios']
                    and self.boot_service - BOOT_SERVICE_BASE & RPE_BIT):
                raise FeatureRefused('Remote Platform Erase is disabled')
            if scheme != 'https':
                raise FeatureRefused('PlatformErase needs TLS')
            mask = parse_rpe_parameters(new.get('UefiBootParametersArray'),
                                        new.get('UefiBootNumberOfParams'))
            wanted = mask & ~ERASE_SUPPORTED
            if not wanted or wanted & ~self.platform_erase:
                raise FeatureRefused('device mask %#x is not within the '
                                     'advertised %#x'
                                     % (mask, self.platform_erase))

    def _on_boot(self, entry, settings):
        if not (settings.get('PlatformErase')
                and self._device.boot.armed_at_boot):
            return
        mask = parse_rpe_parameters(settings['UefiBootParametersArray'],
                                    settings['UefiBootNumberOfParams'])
        done = entry.get('via') in ERASE_BOOTS
        if done:
            # The BIOS reports success (word 0 = 0) of the operation.
            self._device.boot.settings['BIOSLastStatus'] = [0, 0]
        event = self._device.record({
            'event': 'platform_erase', 'mask': mask,
            'devices': erase_names(mask), 'performed': done,
            'via': entry.get('via')})
        self.erase_history.append(event)

    def describe(self):
        """The feature state, for the control API.

        :returns: a JSON-serialisable dict.
        """
        with self._lock:
            return {'redirection_state': self.redirection,
                    'listener': self.listener,
                    'boot_service_state': self.boot_service_state,
                    'platform_erase': self.platform_erase,
                    'erase_history': list(self.erase_history)}

    def snapshot(self):
        """The state worth keeping across restarts (a JSON-able dict)."""
        with self._lock:
            return {'redirection': self.redirection,
                    'listener': self.listener,
                    'boot_service': self.boot_service,
                    'erase_history': list(self.erase_history)}

    def restore(self, state):
        """Load a snapshot() taken by an earlier run.

        :param state: the dict snapshot() returned.
        """
        with self._lock:
            self.redirection = state['redirection']
            self.listener = state['listener']
            self.boot_service = state['boot_service']
            self.erase_history = list(state['erase_history'])
