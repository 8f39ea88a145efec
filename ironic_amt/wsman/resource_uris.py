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

"""Resource URIs of the CIM, AMT and IPS classes used by the AMT driver."""

CIM_BASE = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
AMT_BASE = 'http://intel.com/wbem/wscim/1/amt-schema/1/'
IPS_BASE = 'http://intel.com/wbem/wscim/1/ips-schema/1/'

# Power
CIM_AssociatedPowerManagementService = (
    CIM_BASE + 'CIM_AssociatedPowerManagementService')
CIM_PowerManagementService = CIM_BASE + 'CIM_PowerManagementService'
CIM_PowerManagementCapabilities = (
    CIM_BASE + 'CIM_PowerManagementCapabilities')
CIM_ComputerSystem = CIM_BASE + 'CIM_ComputerSystem'

# Boot
CIM_BootService = CIM_BASE + 'CIM_BootService'
CIM_BootConfigSetting = CIM_BASE + 'CIM_BootConfigSetting'
CIM_BootSourceSetting = CIM_BASE + 'CIM_BootSourceSetting'
AMT_BootSettingData = AMT_BASE + 'AMT_BootSettingData'
AMT_BootCapabilities = AMT_BASE + 'AMT_BootCapabilities'
CIM_ElementSettingData = CIM_BASE + 'CIM_ElementSettingData'
IPS_HostBootReason = IPS_BASE + 'IPS_HostBootReason'

# Certificate store (One-Click Recovery HTTPS boot trust)
AMT_PublicKeyCertificate = AMT_BASE + 'AMT_PublicKeyCertificate'
AMT_PublicKeyManagementService = (
    AMT_BASE + 'AMT_PublicKeyManagementService')

# Inventory
CIM_ComputerSystemPackage = CIM_BASE + 'CIM_ComputerSystemPackage'
CIM_Chassis = CIM_BASE + 'CIM_Chassis'
CIM_Processor = CIM_BASE + 'CIM_Processor'
CIM_PhysicalMemory = CIM_BASE + 'CIM_PhysicalMemory'
CIM_MediaAccessDevice = CIM_BASE + 'CIM_MediaAccessDevice'
AMT_EthernetPortSettings = AMT_BASE + 'AMT_EthernetPortSettings'
CIM_SoftwareIdentity = CIM_BASE + 'CIM_SoftwareIdentity'
AMT_GeneralSettings = AMT_BASE + 'AMT_GeneralSettings'

# Redirection (SOL, IDE-R, KVM) and user consent
AMT_RedirectionService = AMT_BASE + 'AMT_RedirectionService'
IPS_OptInService = IPS_BASE + 'IPS_OptInService'
IPS_KVMRedirectionSettingData = IPS_BASE + 'IPS_KVMRedirectionSettingData'
CIM_KVMRedirectionSAP = CIM_BASE + 'CIM_KVMRedirectionSAP'
AMT_SetupAndConfigurationService = (
    AMT_BASE + 'AMT_SetupAndConfigurationService')
