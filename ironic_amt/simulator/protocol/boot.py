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

"""WS-Man classes of the boot override.

CIM_BootService (SetBootConfigRole), CIM_BootConfigSetting
(ChangeBootOrder), CIM_BootSourceSetting and AMT_BootSettingData (Get
and Put).
"""

from ironic_amt.simulator.model import boot
from ironic_amt.simulator.model import values
from ironic_amt.simulator.protocol import registry
from ironic_amt.simulator.protocol import soap

BOOT_SERVICE_NAME = 'Intel(r) AMT Boot Service'
BOOT_CONFIG_ID = 'Intel(r) AMT: Boot Configuration 0'

# CIM_BootSourceSetting.StructuredBootString by source name.
_STRUCTURED_BOOT_STRINGS = {
    'disk': 'CIM:Hard-Disk:1', 'pxe': 'CIM:Network:1',
    'cdrom': 'CIM:CD/DVD:1', 'https': 'Intel(r)AMT:OCR-UEFI-HTTPS:1',
}


@registry.resource('CIM_BootService')
def _boot_service(device):
    return [{'CreationClassName': 'CIM_BootService',
             'ElementName': BOOT_SERVICE_NAME,
             'EnabledState': device.features.boot_service_state,
             'Name': BOOT_SERVICE_NAME, 'OperationalStatus': 0,
             'RequestedState': 12,
             'SystemCreationClassName': 'CIM_ComputerSystem',
             'SystemName': values.AMT_SYSTEM_NAME}]


@registry.resource('CIM_BootConfigSetting')
def _boot_config_setting(device):
    return [{'ElementName': 'Intel(r) AMT: Boot Configuration',
             'InstanceID': BOOT_CONFIG_ID}]


@registry.resource('CIM_BootSourceSetting')
def _boot_sources(device):
    result = []
    for instance_id, source in device.boot.sources.items():
        structured = _STRUCTURED_BOOT_STRINGS.get(
            source, 'Intel(r)AMT:OCR-UEFI-Boot-Option-%s:1'
            % instance_id.rsplit(' ', 1)[-1])
        result.append({'ElementName': 'Intel(r) AMT: Boot Source',
                       'FailThroughSupported': 2,
                       'InstanceID': instance_id,
                       'StructuredBootString': structured})
    return result


def _check_consent(call):
    # Boot options need user consent when it is required and not given
    # (amt-redirection.md sections 3-4): "access denied".
    if not call.device.consent.boot_control_allowed():
        raise soap.WsmanFault('AccessDenied',
                              'user consent is required')


@registry.resource('AMT_BootSettingData')
def _boot_setting_data(device):
    return [device.boot.setting_data()]


def _check_settings(call, new):
    # Erase parameters (model.features) or boot parameters (model.ocr).
    call.device.features.check_settings(new, call.scheme)
    call.device.ocr.check_settings(new)


@registry.put('AMT_BootSettingData')
def _put_boot_setting_data(call, fields):
    key = call.request.selectors.get('InstanceID', fields.get('InstanceID'))
    if key is not None and key != boot.BOOT_SETTING_ID:
        raise soap.WsmanFault('InvalidSelectors')
    _check_consent(call)
    try:
        call.note(**call.device.boot.put_setting_data(
            fields, check=lambda new: _check_settings(call, new)))
    except boot.SettingsRefused as exc:
        raise soap.WsmanFault('InvalidRepresentation', str(exc))
    return call.device.boot.setting_data()


@registry.method('CIM_BootConfigSetting', 'ChangeBootOrder',
                 busy=boot.BOOT_BUSY)
def _change_boot_order(call, args):
    source = args.get('Source')
    instance_id = None
    if isinstance(source, values.EPR):
        instance_id = source.selectors.get('InstanceID')
    call.note(Source=instance_id)
    if call.busy is not None:
        return call.busy
    if not call.device.consent.boot_control_allowed():
        return boot.BOOT_ACCESS_DENIED
    if 'Source' in args and (
            not isinstance(source, values.EPR) or instance_id is None
            or soap.class_from_uri(source.resource_uri)
            != 'CIM_BootSourceSetting'):
        return boot.BOOT_INVALID_PARAMETER
    return_value, ignored = call.device.boot.change_boot_order(instance_id)
    call.info['ignored'] = ignored
    return return_value


@registry.method('CIM_BootService', 'SetBootConfigRole',
                 busy=boot.BOOT_BUSY)
def _set_boot_config_role(call, args):
    role = soap.int_or_none(args.get('Role'))
    call.note(Role=role)
    if call.busy is not None:
        return call.busy
    if not call.device.consent.boot_control_allowed():
        return boot.BOOT_ACCESS_DENIED
    setting = args.get('BootConfigSetting')
    if role is None or not isinstance(setting, values.EPR):
        return boot.BOOT_INVALID_PARAMETER
    if setting.selectors.get('InstanceID') != BOOT_CONFIG_ID:
        return boot.BOOT_INVALID_REFERENCE
    return call.device.boot.set_role(role)
