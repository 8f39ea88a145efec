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

"""WS-Man classes of KVM.

IPS_KVMRedirectionSettingData (Get, Put), CIM_KVMRedirectionSAP (Get,
RequestStateChange 2/3) and AMT_SetupAndConfigurationService (Get, for
the provisioning mode).  Sources: GWM ``ips/kvmredirection``,
``cim/kvm``, ``amt/setupandconfiguration`` and their recorded responses
(notes: amt-redirection.md sections 2 to 4).
"""

from ironic_amt.simulator.protocol import registry
from ironic_amt.simulator.protocol import soap

# RequestStateChange return value while the 'busy' fault is armed.
RSC_BUSY = 4099


@registry.resource('IPS_KVMRedirectionSettingData')
def _kvm_settings(device):
    return [device.kvm.settings_fields()]


@registry.put('IPS_KVMRedirectionSettingData')
def _put_kvm_settings(call, fields):
    call.note(**call.device.kvm.put_settings(fields))
    return call.device.kvm.settings_fields()


@registry.resource('CIM_KVMRedirectionSAP')
def _kvm_sap(device):
    return [device.kvm.sap_fields()]


@registry.method('CIM_KVMRedirectionSAP', 'RequestStateChange',
                 busy=RSC_BUSY)
def _kvm_request_state_change(call, args):
    state = soap.int_or_none(args.get('RequestedState'))
    call.note(RequestedState=state)
    if call.busy is not None:
        return call.busy
    return call.device.kvm.request_state_change(state)


@registry.resource('AMT_SetupAndConfigurationService')
def _setup_and_configuration(device):
    return [device.kvm.setup_fields()]
