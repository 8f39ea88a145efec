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

"""Provisioning mode and user consent (IPS_OptInService).

Facts from amt-redirection.md section 4 (SDK ``userconsent1.htm``,
``remotecontrolanduserconsent.htm``; Intel's go-wsman-messages and
MeshCommander):

* ProvisioningMode 1 is admin control mode (ACM), 4 client control mode
  (CCM). In CCM consent is always required for redirection and boot
  control, whatever the policy says; in ACM the policy (OptInRequired: 0
  none, 1 KVM only, 0xFFFFFFFF everything) decides.
* With consent required and not given, changing the boot source or the
  boot options is refused: AMT_BootSettingData Put,
  CIM_BootConfigSetting.ChangeBootOrder and
  CIM_BootService.SetBootConfigRole answer "access denied". Power
  control does not need consent.
* StartOptIn shows a six-digit code on the host screen, which needs the
  host powered on (MeshCommander powers it on first): until then the
  state stays 1 (requested). SendOptInCode with that code gives consent
  (state 3). CancelOptIn ends it. Consent that ends clears the pending
  boot option (SDK). Here consent also ends with the next host boot, so
  every override in CCM needs a new code: firmware may keep it longer
  (its session timeouts are not modelled), never shorter. A request
  still waiting for its code survives the boot that shows it.
* Method return values: 0 success, 1 internal error, 2 invalid state, 3
  blocked. What firmware returns for a wrong code is unconfirmed; 1 is
  used here and the state does not change (MeshCommander re-reads it
  after any non-zero answer).
"""

import random

CLIENT_CONTROL_MODE = 4
OPT_IN_REQUIRED = {'none': 0, 'kvm': 1, 'all': 0xFFFFFFFF}

NOT_STARTED = 0
REQUESTED = 1
DISPLAYED = 2
RECEIVED = 3
IN_SESSION = 4
GRANTED = frozenset([RECEIVED, IN_SESSION])

SUCCESS = 0
INTERNAL_ERROR = 1
INVALID_STATE = 2


class ConsentModel(object):
    """Provisioning mode and opt-in state; guarded by the device lock."""

    def __init__(self, device):
        """Create the model from the device spec and features.

        :param device: the owning device.Device (its ``features`` part
            is built first).
        """
        self._device = device
        self._lock = device.lock
        ccm = device.spec.control_mode == CLIENT_CONTROL_MODE
        policy = 'all' if ccm else device.features.settings['user_consent']
        self.required = OPT_IN_REQUIRED[policy]
        self.state = NOT_STARTED
        self.code = None
        self._random = random.SystemRandom()
        device.boot_hooks.append(self._on_boot)

    def _settle(self):
        # The code appears once the host is on to show it.
        if (self.state == REQUESTED
                and self._device.power.state == 2):
            self.state = DISPLAYED

    @property
    def opt_in_state(self):
        """IPS_OptInService.OptInState."""
        with self._lock:
            self._settle()
            return self.state

    @property
    def displayed_code(self):
        """The code on the host screen (what a person reads), or None."""
        with self._lock:
            self._settle()
            return self.code if self.state == DISPLAYED else None

    def boot_control_allowed(self):
        """Whether boot source and options may change now.

        :returns: bool.
        """
        with self._lock:
            return (self.required != OPT_IN_REQUIRED['all']
                    or self.opt_in_state in GRANTED)

    def start(self):
        """IPS_OptInService.StartOptIn.

        :returns: 0, or 2 when consent is not required or already asked.
        """
        with self._lock:
            if self.required == 0 or self.state != NOT_STARTED:
                return INVALID_STATE
            self.code = '%06d' % self._random.randrange(10 ** 6)
            self.state = REQUESTED
            self._settle()
            return SUCCESS

    def send_code(self, code):
        """IPS_OptInService.SendOptInCode.

        :param code: the code as sent (text).
        :returns: 0 and consent given; 2 when no code is displayed; 1 for
            a wrong code.
        """
        with self._lock:
            self._settle()
            if self.state != DISPLAYED:
                return INVALID_STATE
            if str(code).strip().lstrip('0') != self.code.lstrip('0'):
                return INTERNAL_ERROR
            self.state = RECEIVED
            self.code = None
            return SUCCESS

    def cancel(self):
        """IPS_OptInService.CancelOptIn: consent ends, the override too.

        :returns: 0.
        """
        with self._lock:
            self._end()
            return SUCCESS

    def _end(self):
        granted = self.state in GRANTED
        self.state = NOT_STARTED
        self.code = None
        if granted:
            self._device.boot.clear_override()

    def _on_boot(self, entry, settings):
        # A boot uses up a given consent; a pending request stays.
        if self.required == OPT_IN_REQUIRED['all'] and self.state in GRANTED:
            self.state = NOT_STARTED

    def describe(self):
        """The consent state, for the control API.

        :returns: a JSON-serialisable dict.
        """
        with self._lock:
            return {'opt_in_required': self.required,
                    'opt_in_state': self.opt_in_state,
                    'consent_code': self.displayed_code}
