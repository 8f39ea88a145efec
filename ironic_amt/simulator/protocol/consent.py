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

"""WS-Man class of user consent.

IPS_OptInService (Get, StartOptIn, CancelOptIn, SendOptInCode); the state
is model.consent. Field names and values follow Intel's recorded replies
(go-wsman-messages ``ips/optin``). The provisioning mode
(AMT_SetupAndConfigurationService) is served by protocol.kvm.
"""

from ironic_amt.simulator.model import values
from ironic_amt.simulator.protocol import registry

OPT_IN_SERVICE_NAME = 'Intel(r) AMT OptIn Service'


@registry.resource('IPS_OptInService')
def _opt_in_service(device):
    return [{'CanModifyOptInPolicy': 1,
             'CreationClassName': 'IPS_OptInService',
             'ElementName': OPT_IN_SERVICE_NAME, 'EnabledState': 5,
             'Name': OPT_IN_SERVICE_NAME, 'OptInCodeTimeout': 120,
             'OptInDisplayTimeout': 300,
             'OptInRequired': device.consent.required,
             'OptInState': device.consent.opt_in_state,
             'RequestedState': 12,
             'SystemCreationClassName': 'CIM_ComputerSystem',
             'SystemName': values.AMT_SYSTEM_NAME}]


@registry.method('IPS_OptInService', 'StartOptIn')
def _start_opt_in(call, args):
    return call.device.consent.start()


@registry.method('IPS_OptInService', 'CancelOptIn')
def _cancel_opt_in(call, args):
    return call.device.consent.cancel()


@registry.method('IPS_OptInService', 'SendOptInCode')
def _send_opt_in_code(call, args):
    # The code is a secret for as long as it is valid: never logged.
    return call.device.consent.send_code(args.get('OptInCode', ''))
