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

"""WS-Man classes telling what happened to the boot override.

CIM_ElementSettingData links the managed system to its settings; the
instance whose SettingData is the boot configuration has IsNext 3
(IsNextSingleUse) while an override is armed and 2 (IsNotNext) once a
boot consumed it (amt-redirection.md section 7, SDK
``getthebootconfigurationforthenextboot.htm``). AMT leaves IsDefault and
IsCurrent out of its Boot profile, so they are not served.
IPS_HostBootReason says why the host last booted (model.bootreason).
"""

from ironic_amt.simulator.model import boot
from ironic_amt.simulator.model import values
from ironic_amt.simulator.protocol import boot as boot_protocol
from ironic_amt.simulator.protocol import registry

IS_NEXT = 3          # IsNextSingleUse
IS_NOT_NEXT = 2

BOOT_CONFIG_EPR = values.EPR(values.class_uri('CIM_BootConfigSetting'), [
    ('InstanceID', boot_protocol.BOOT_CONFIG_ID)])
# Another setting of the managed system, so a client must pick the right
# instance rather than the first.
GENERAL_SETTINGS_EPR = values.EPR(values.class_uri('AMT_GeneralSettings'), [
    ('InstanceID', 'Intel(r) AMT: General Settings')])


@registry.resource('CIM_ElementSettingData')
def _element_setting_data(device):
    armed = device.boot.role == boot.ROLE_IS_NEXT_SINGLE_USE
    return [{'IsCurrent': 1, 'ManagedElement': values.SYSTEM_EPR,
             'SettingData': GENERAL_SETTINGS_EPR},
            {'IsNext': IS_NEXT if armed else IS_NOT_NEXT,
             'ManagedElement': values.SYSTEM_EPR,
             'SettingData': BOOT_CONFIG_EPR}]


@registry.resource('IPS_HostBootReason')
def _host_boot_reason(device):
    return [device.boot_reason.instance()]
