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

"""WS-Man classes of power control.

CIM_AssociatedPowerManagementService (also enumerated through
CIM_ServiceAvailableToElement, as on AMT), CIM_PowerManagementService
and its RequestPowerStateChange method.
"""

from ironic_amt.simulator.model import power
from ironic_amt.simulator.model import values
from ironic_amt.simulator.protocol import registry
from ironic_amt.simulator.protocol import soap

POWER_SERVICE_NAME = 'Intel(r) AMT Power Management Service'
POWER_SERVICE_EPR = values.service_epr('CIM_PowerManagementService',
                                       POWER_SERVICE_NAME)


@registry.resource('CIM_AssociatedPowerManagementService')
def _power_association(device):
    return [{'AvailableRequestedPowerStates': device.power.available(),
             'PowerState': device.power.state,
             'ServiceProvided': POWER_SERVICE_EPR,
             'UserOfService': values.SYSTEM_EPR}]


# DMT reads the power state by enumerating the abstract association.
registry.abstract('CIM_ServiceAvailableToElement',
                  ['CIM_AssociatedPowerManagementService'])


@registry.resource('CIM_PowerManagementService')
def _power_service(device):
    return [{'CreationClassName': 'CIM_PowerManagementService',
             'ElementName': POWER_SERVICE_NAME, 'EnabledState': 5,
             'Name': POWER_SERVICE_NAME, 'RequestedState': 12,
             'SystemCreationClassName': 'CIM_ComputerSystem',
             'SystemName': values.AMT_SYSTEM_NAME}]


@registry.method('CIM_PowerManagementService', 'RequestPowerStateChange',
                 busy=power.RPSC_BUSY)
def _request_power_state_change(call, args):
    state = soap.int_or_none(args.get('PowerState'))
    call.note(PowerState=state)
    if call.busy is not None:
        return call.busy
    element = args.get('ManagedElement')
    if (state is None or not isinstance(element, values.EPR)
            or element.selectors.get('Name') != 'ManagedSystem'
            or element.selectors.get('CreationClassName',
                                     'CIM_ComputerSystem')
            != 'CIM_ComputerSystem'):
        return power.RPSC_INVALID_PARAMETER
    if state in power.REDIRECTION_BLOCKED and (
            call.device.redirection.session_open
            or call.device.kvm.session_open
            or call.device.faults.take('redirection') is not None):
        # An open SOL or KVM session (or the fault standing for one)
        # blocks power-off and power cycles, as on AMT.
        return power.RPSC_UNKNOWN
    return call.device.power.request_change(state)


@registry.resource('IPS_PowerManagementService')
def _ips_power_service(device):
    # OSPowerSavingState (2 full power, 3 saving) is reported only while
    # the host is on (mps#2278); modern standby is not modelled.
    on = device.power.state == power.POWER_ON
    return [{'CreationClassName': 'IPS_PowerManagementService',
             'ElementName': POWER_SERVICE_NAME, 'EnabledState': 5,
             'Name': POWER_SERVICE_NAME, 'RequestedState': 12,
             'SystemCreationClassName': 'CIM_ComputerSystem',
             'SystemName': values.AMT_SYSTEM_NAME,
             'OSPowerSavingState': 2 if on else None}]
