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

"""KVM settings of one device, its KVM session holder and its screen.

What WS-Man sees (IPS_KVMRedirectionSettingData, CIM_KVMRedirectionSAP,
AMT_SetupAndConfigurationService) and what the KVM channel of the
redirection port obeys (notes: amt-redirection.md sections 2 to 4):

- ``EnabledByMEBx`` false (spec ``kvm_in_mebx``) means KVM cannot be
  enabled by any means: RequestStateChange(2) returns 1 (Not Supported);
- the SAP starts disabled (3), as provisioning tools leave it, unless the
  spec says ``kvm_enabled``; enabled it reads 6 (enabled but offline,
  the recorded idle value) and 2 while a session is open;
- one KVM session at a time;
- user consent (model.consent): in client control mode (spec
  ``control_mode`` 4) AMT always requires it, in admin control mode when
  OptInRequired is 1 or 4294967295.  A KVM session is refused while
  consent is required and not given (IPS_OptInService.SendOptInCode
  with the code the screen would show gives it);
- IPS_KVMRedirectionSettingData is Put-validated like firmware (see
  settings.SettingInstance and put_settings).
"""

from ironic_amt.simulator.model import consent as consent_model
from ironic_amt.simulator.model import screen
from ironic_amt.simulator.model import settings
from ironic_amt.simulator.model import values

SAP_ENABLED = 2
SAP_DISABLED = 3
SAP_ENABLED_OFFLINE = 6
SAP_NAME = 'KVM Redirection Service Access Point'
SETTINGS_ID = 'Intel(r) KVM Redirection Settings'

# RequestStateChange return values (CIM_EnabledLogicalElement).
RSC_COMPLETED = 0
RSC_NOT_SUPPORTED = 1
RSC_INVALID_PARAMETER = 5

# IPS_OptInService.OptInRequired values that cover KVM.
OPT_IN_FOR_KVM = frozenset([1, 4294967295])

# IPS_KVMRedirectionSettingData as recorded (GWM
# ips/kvmredirection/settings/get.xml), in firmware order.
SETTINGS_DEFAULTS = (
    ('BackToBackFbMode', False), ('DefaultScreen', 0),
    ('ElementName', SETTINGS_ID), ('EnabledByMEBx', True),
    ('InitialDecimationModeForLowRes', 0),
    ('InstanceID', SETTINGS_ID), ('Is5900PortEnabled', False),
    ('OptInPolicy', True), ('OptInPolicyTimeout', 300),
    ('RFBPassword', ''), ('SessionTimeout', 0),
)
SETTINGS_READ_ONLY = frozenset(['EnabledByMEBx', 'InstanceID'])
# RFBPassword is write-only: a Get returns it empty (SDK class reference).
SETTINGS_WRITE_ONLY = frozenset(['RFBPassword'])
RFB_PASSWORD_LENGTH = 8
_SPECIALS = frozenset('!@#$%^&*()-_=+[]{};:\'",.<>/?\\|`~ ')


def check_rfb_password(password):
    """Check an RFB (port 5900) password as firmware does.

    Exactly 8 characters (MeshCommander checks the length; VNC
    authentication uses 8 bytes) with a lower case letter, an upper case
    letter, a digit and a special character (a community guide; the
    character classes are unconfirmed in the SDK, so this may be
    stricter than firmware).

    :param password: the password.
    :raises: settings.Refused naming the rule it breaks.
    """
    if len(password) != RFB_PASSWORD_LENGTH:
        raise settings.Refused('RFBPassword must be exactly %d characters'
                               % RFB_PASSWORD_LENGTH)
    classes = (any(c.islower() for c in password),
               any(c.isupper() for c in password),
               any(c.isdigit() for c in password),
               any(c in _SPECIALS for c in password))
    if not all(classes):
        raise settings.Refused('RFBPassword needs a lower case letter, an '
                               'upper case letter, a digit and a special '
                               'character')


class KVMModel(object):
    """KVM settings and session holder; guarded by the device lock."""

    def __init__(self, device):
        """Create the model from the device spec.

        :param device: the owning device.Device.
        """
        spec = device.spec
        self._device = device
        self._lock = device.lock
        self.settings = settings.SettingInstance(
            SETTINGS_DEFAULTS, SETTINGS_READ_ONLY, SETTINGS_WRITE_ONLY)
        self.settings.values['EnabledByMEBx'] = bool(spec.kvm_in_mebx)
        self._enabled = bool(spec.kvm_enabled) and self.enabled_by_mebx
        self.provisioning_mode = int(spec.control_mode)
        self.screen = screen.HostScreen(device)
        self._session = None

    @property
    def enabled(self):
        """Whether the KVM SAP is enabled."""
        with self._lock:
            return self._enabled

    @property
    def enabled_by_mebx(self):
        """Whether KVM is enabled in MEBx (else nothing can enable it)."""
        with self._lock:
            return self.settings.values['EnabledByMEBx']

    @enabled_by_mebx.setter
    def enabled_by_mebx(self, enabled):
        # What a person sets in MEBx; WS-Man can only read it.
        with self._lock:
            self.settings.values['EnabledByMEBx'] = bool(enabled)

    @property
    def consent_required(self):
        """Whether a KVM session needs user consent not given yet.

        The consent model (model.consent) makes client control mode
        require consent for everything.
        """
        consent = self._device.consent
        return (consent.required in OPT_IN_FOR_KVM
                and consent.opt_in_state not in consent_model.GRANTED)

    def request_state_change(self, state):
        """CIM_KVMRedirectionSAP.RequestStateChange.

        :param state: 2 (enable) or 3 (disable).
        :returns: the ReturnValue.
        """
        if state not in (SAP_ENABLED, SAP_DISABLED):
            return RSC_INVALID_PARAMETER
        with self._lock:
            if state == SAP_ENABLED and not self.enabled_by_mebx:
                return RSC_NOT_SUPPORTED
            self._enabled = state == SAP_ENABLED
            return RSC_COMPLETED

    def acquire(self, holder):
        """Take the device's only KVM session.

        :param holder: the session object.
        :returns: True when taken; False when another holds it.
        """
        with self._lock:
            if self._session is not None:
                return False
            self._session = holder
            return True

    def release(self, holder):
        """Give the KVM session back (no-op for a non-holder)."""
        with self._lock:
            if self._session is holder:
                self._session = None

    @property
    def session_open(self):
        with self._lock:
            return self._session is not None

    def sap_fields(self):
        """The CIM_KVMRedirectionSAP instance."""
        with self._lock:
            if not self._enabled:
                state = SAP_DISABLED
            elif self._session is not None:
                state = SAP_ENABLED
            else:
                state = SAP_ENABLED_OFFLINE
        return {'CreationClassName': 'CIM_KVMRedirectionSAP',
                'ElementName': SAP_NAME, 'EnabledState': state,
                'KVMProtocol': 4, 'Name': SAP_NAME,
                'RequestedState': SAP_ENABLED if state != SAP_DISABLED
                else SAP_DISABLED,
                'SystemCreationClassName': 'CIM_ComputerSystem',
                'SystemName': values.AMT_SYSTEM_NAME}

    def settings_fields(self):
        """The IPS_KVMRedirectionSettingData instance (no password)."""
        with self._lock:
            return self.settings.fields()

    def put_settings(self, values):
        """Put IPS_KVMRedirectionSettingData.

        Is5900PortEnabled=true needs an RFB password, stored before or
        sent in the same Put (SDK, workingwithport5900).

        :param values: dict of field name to request text.
        :returns: dict of the fields that changed (password masked).
        :raises: settings.Refused for a refused change.
        """
        with self._lock:
            new = self.settings.validate(values)
            if values.get('RFBPassword'):
                check_rfb_password(new['RFBPassword'])
            if new['Is5900PortEnabled'] and not new['RFBPassword']:
                raise settings.Refused('Is5900PortEnabled needs an '
                                       'RFBPassword')
            changed = self.settings.changes(new)
            self.settings.values = new
            return changed

    def setup_fields(self):
        """The AMT_SetupAndConfigurationService instance."""
        return {'CreationClassName': 'AMT_SetupAndConfigurationService',
                'ElementName': 'Intel(r) AMT Setup and Configuration '
                               'Service',
                'EnabledState': 5, 'Name': 'Intel(r) AMT Setup and '
                                           'Configuration Service',
                'ProvisioningMode': self.provisioning_mode,
                'ProvisioningState': 2,
                'SystemCreationClassName': 'CIM_ComputerSystem',
                'SystemName': values.AMT_SYSTEM_NAME}

    def snapshot(self):
        """The state worth keeping across restarts (a JSON-able dict)."""
        with self._lock:
            return {'kvm_enabled': self._enabled,
                    'settings': dict(self.settings.values)}

    def restore(self, state):
        """Load a snapshot() taken by an earlier run."""
        with self._lock:
            self._enabled = bool(state['kvm_enabled'])
            self.settings.values.update(state.get('settings', {}))
