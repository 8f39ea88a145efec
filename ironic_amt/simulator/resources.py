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

"""The WS-Man classes a device serves and their instances.

Power and boot classes are built from the device state on every request;
inventory classes come from the device's generated inventory.
"""

from ironic_amt.simulator import device as device_mod
from ironic_amt.simulator import inventory
from ironic_amt.simulator import soap

CIM = inventory.CIM
AMT = 'http://intel.com/wbem/wscim/1/amt-schema/1/'
IPS = 'http://intel.com/wbem/wscim/1/ips-schema/1/'

POWER_SERVICE_NAME = 'Intel(r) AMT Power Management Service'
BOOT_SERVICE_NAME = 'Intel(r) AMT Boot Service'
BOOT_CONFIG_ID = 'Intel(r) AMT: Boot Configuration 0'

POWER_SERVICE_EPR = soap.EPR(CIM + 'CIM_PowerManagementService', [
    ('CreationClassName', 'CIM_PowerManagementService'),
    ('Name', POWER_SERVICE_NAME),
    ('SystemCreationClassName', 'CIM_ComputerSystem'),
    ('SystemName', 'Intel(r) AMT')])

# CIM_BootSourceSetting.StructuredBootString by source name.
_STRUCTURED_BOOT_STRINGS = {
    'disk': 'CIM:Hard-Disk:1', 'pxe': 'CIM:Network:1',
    'cdrom': 'CIM:CD/DVD:1', 'https': 'Intel(r)AMT:OCR-UEFI-HTTPS:1',
}

# Classes served from the device state (the rest come from inventory).
_STATE_CLASSES = (
    'CIM_AssociatedPowerManagementService', 'CIM_ServiceAvailableToElement',
    'CIM_PowerManagementService', 'CIM_BootService',
    'CIM_BootConfigSetting', 'CIM_BootSourceSetting', 'AMT_BootSettingData',
)


def class_from_uri(resource_uri):
    """Split a ResourceURI into its class name.

    :param resource_uri: e.g. '.../cim-schema/2/CIM_Chassis'.
    :returns: the class name, or None when the URI is not under the CIM,
        AMT or IPS schema bases.
    """
    for base in (CIM, AMT, IPS):
        if resource_uri and resource_uri.startswith(base):
            return resource_uri[len(base):]
    return None


def class_uri(class_name):
    """The ResourceURI (and XML namespace) of a class.

    :param class_name: e.g. 'AMT_BootSettingData'.
    :returns: the URI.
    """
    base = {'CIM': CIM, 'AMT': AMT, 'IPS': IPS}[class_name.split('_')[0]]
    return base + class_name


def serves(device, class_name):
    """Whether the device implements a class.

    :param device: a device.Device.
    :param class_name: the class name.
    :returns: bool.
    """
    return class_name in _STATE_CLASSES or class_name in device.inventory


def _power_association(device):
    return {'AvailableRequestedPowerStates': device.available_power_states(),
            'PowerState': device.power_state,
            'ServiceProvided': POWER_SERVICE_EPR,
            'UserOfService': inventory.SYSTEM_EPR}


def _boot_sources(device):
    result = []
    for instance_id, source in device.boot_sources.items():
        structured = _STRUCTURED_BOOT_STRINGS.get(
            source, 'Intel(r)AMT:OCR-UEFI-Boot-Option-%s:1'
            % instance_id.rsplit(' ', 1)[-1])
        result.append({'ElementName': 'Intel(r) AMT: Boot Source',
                       'FailThroughSupported': 2,
                       'InstanceID': instance_id,
                       'StructuredBootString': structured})
    return result


def instances(device, class_name):
    """The instances of a class, as (class name, fields) pairs.

    Enumerating CIM_ServiceAvailableToElement yields its subclass
    CIM_AssociatedPowerManagementService, as on AMT.

    :param device: a device.Device.
    :param class_name: a class the device serves.
    :returns: a list of (class name, ordered dict of fields).
    """
    if class_name in ('CIM_AssociatedPowerManagementService',
                      'CIM_ServiceAvailableToElement'):
        return [('CIM_AssociatedPowerManagementService',
                 _power_association(device))]
    if class_name == 'CIM_PowerManagementService':
        fields = {'CreationClassName': 'CIM_PowerManagementService',
                  'ElementName': POWER_SERVICE_NAME, 'EnabledState': 5,
                  'Name': POWER_SERVICE_NAME, 'RequestedState': 12,
                  'SystemCreationClassName': 'CIM_ComputerSystem',
                  'SystemName': 'Intel(r) AMT'}
    elif class_name == 'CIM_BootService':
        fields = {'CreationClassName': 'CIM_BootService',
                  'ElementName': BOOT_SERVICE_NAME, 'EnabledState': 2,
                  'Name': BOOT_SERVICE_NAME, 'OperationalStatus': 0,
                  'RequestedState': 12,
                  'SystemCreationClassName': 'CIM_ComputerSystem',
                  'SystemName': 'Intel(r) AMT'}
    elif class_name == 'CIM_BootConfigSetting':
        fields = {'ElementName': 'Intel(r) AMT: Boot Configuration',
                  'InstanceID': BOOT_CONFIG_ID}
    elif class_name == 'CIM_BootSourceSetting':
        return [(class_name, f) for f in _boot_sources(device)]
    elif class_name == 'AMT_BootSettingData':
        fields = device.boot_setting_data()
    else:
        return [(class_name, f) for f in device.inventory[class_name]]
    return [(class_name, fields)]


def select(candidates, selectors):
    """Pick the instance a Get addresses.

    :param candidates: (class name, fields) pairs.
    :param selectors: dict of selector name to value (may be empty).
    :returns: the first pair whose fields match every selector (the first
        pair when there are no selectors), or None.
    """
    for pair in candidates:
        fields = pair[1]
        if all(name in fields and not isinstance(fields[name], soap.EPR)
               and soap.text_value(fields[name]) == value
               for name, value in selectors.items()):
            return pair
    return None


# Methods by (class, method name).
METHODS = frozenset([
    ('CIM_PowerManagementService', 'RequestPowerStateChange'),
    ('CIM_BootConfigSetting', 'ChangeBootOrder'),
    ('CIM_BootService', 'SetBootConfigRole'),
])

# Classes that accept Put.
PUTTABLE = frozenset(['AMT_BootSettingData'])

# Return value of each method while the 'busy' fault is armed.
BUSY_CODES = {
    'RequestPowerStateChange': device_mod.RPSC_BUSY,
    'ChangeBootOrder': device_mod.BOOT_BUSY,
    'SetBootConfigRole': device_mod.BOOT_BUSY,
}
