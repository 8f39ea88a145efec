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

"""WS-Man classes enabling SOL/IDE-R redirection, OCR and RPE.

AMT_RedirectionService (Get, Put of ListenerEnabled, RequestStateChange)
and CIM_BootService.RequestStateChange (OCR/RPE on or off); KVM is
protocol.kvm.
The state is model.features; values from amt-redirection.md sections 3
and 5.2 (go-wsman-messages recorded replies, Intel console).
"""

from ironic_amt.simulator.model import values
from ironic_amt.simulator.protocol import registry
from ironic_amt.simulator.protocol import soap

REDIRECTION_SERVICE_NAME = 'Intel(r) AMT Redirection Service'


@registry.resource('AMT_RedirectionService')
def _redirection_service(device):
    return [{'CreationClassName': 'AMT_RedirectionService',
             'ElementName': REDIRECTION_SERVICE_NAME,
             'EnabledState': device.features.redirection,
             'ListenerEnabled': device.features.listener,
             'Name': REDIRECTION_SERVICE_NAME,
             'SystemCreationClassName': 'CIM_ComputerSystem',
             'SystemName': values.AMT_SYSTEM_NAME}]


@registry.put('AMT_RedirectionService')
def _put_redirection_service(call, fields):
    listener = str(fields.get('ListenerEnabled', '')).strip().lower()
    if listener not in ('true', 'false'):
        raise soap.WsmanFault('InvalidRepresentation',
                              'ListenerEnabled must be a boolean')
    with call.device.lock:
        call.device.features.listener = listener == 'true'
    call.note(ListenerEnabled=listener == 'true')
    return _redirection_service(call.device)[0]


@registry.method('AMT_RedirectionService', 'RequestStateChange')
def _redirection_state_change(call, args):
    state = soap.int_or_none(args.get('RequestedState'))
    call.note(RequestedState=state)
    return call.device.features.set_redirection(state or 0)


@registry.method('CIM_BootService', 'RequestStateChange')
def _boot_service_state_change(call, args):
    state = soap.int_or_none(args.get('RequestedState'))
    call.note(RequestedState=state)
    return call.device.features.set_boot_service(state or 0)
