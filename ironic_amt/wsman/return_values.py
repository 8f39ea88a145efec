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

"""ReturnValue tables of the AMT methods the client invokes.

Module-level maps of protocol values: what each code means and which
codes mean "busy, try again later".
"""

from ironic_amt.wsman import resource_uris

# ReturnValue meanings of CIM_PowerManagementService.RequestPowerStateChange
# (DSP1027; AMT SDK changesystempowerstate).
POWER_CHANGE_RETURN_VALUES = {
    0: 'Completed with No Error',
    1: 'Not Supported',
    2: 'Unknown or Unspecified Error',
    3: 'Cannot complete within Timeout',
    4: 'Failed',
    5: 'Invalid Parameter',
    6: 'In Use',
    4096: 'Job Started',
    4097: 'Invalid State Transition',
    4099: 'Busy',
}

# ReturnValue meanings of CIM_BootConfigSetting.ChangeBootOrder and
# CIM_BootService.SetBootConfigRole (AMT SDK class reference).
BOOT_RETURN_VALUES = {
    0: 'Completed with No Error',
    1: 'Not Supported',
    2: 'Unknown or Unspecified Error',
    3: 'Busy',
    4: 'Invalid Reference',
    5: 'Invalid Parameter',
    6: 'Access Denied',
}

# ReturnValue meanings of RequestStateChange of AMT_RedirectionService and
# CIM_KVMRedirectionSAP
# (DMTF CIM_EnabledLogicalElement; AMT SDK class reference).
STATE_CHANGE_RETURN_VALUES = {
    0: 'Completed with No Error',
    1: 'Not Supported',
    2: 'Unknown or Unspecified Error',
    3: 'Cannot complete within Timeout Period',
    4: 'Failed',
    5: 'Invalid Parameter',
    6: 'In Use',
    4096: 'Method Parameters Checked - Job Started',
    4097: 'Invalid State Transition',
    4098: 'Use of Timeout Parameter Not Supported',
    4099: 'Busy',
}

# (resource URI, method) -> ReturnValue descriptions.
RETURN_VALUE_DESCRIPTIONS = {
    (resource_uris.CIM_PowerManagementService, 'RequestPowerStateChange'):
        POWER_CHANGE_RETURN_VALUES,
    (resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder'):
        BOOT_RETURN_VALUES,
    (resource_uris.CIM_BootService, 'SetBootConfigRole'):
        BOOT_RETURN_VALUES,
    (resource_uris.AMT_RedirectionService, 'RequestStateChange'):
        STATE_CHANGE_RETURN_VALUES,
    (resource_uris.CIM_KVMRedirectionSAP, 'RequestStateChange'):
        STATE_CHANGE_RETURN_VALUES,
}

# (resource URI, method) -> ReturnValues meaning "busy, try again later":
# nothing was done.
BUSY_RETURN_VALUES = {
    (resource_uris.CIM_PowerManagementService, 'RequestPowerStateChange'):
        frozenset([6, 4099]),
    (resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder'):
        frozenset([3]),
    (resource_uris.CIM_BootService, 'SetBootConfigRole'):
        frozenset([3]),
    (resource_uris.AMT_RedirectionService, 'RequestStateChange'):
        frozenset([6, 4099]),
    (resource_uris.CIM_KVMRedirectionSAP, 'RequestStateChange'):
        frozenset([6, 4099]),
}

# (resource URI, method) -> ReturnValues meaning "this account may not".
ACCESS_DENIED_RETURN_VALUES = {
    (resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder'):
        frozenset([6]),
    (resource_uris.CIM_BootService, 'SetBootConfigRole'):
        frozenset([6]),
}
