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

"""Generated hardware inventory, deterministic from the device name.

Instances are ordered dicts of field name to value (see values for the
value types).  Values follow the shapes seen in recorded AMT
replies: the PlatformGUID is the SMBIOS UUID with its first three groups
byte-swapped, memory capacity is in bytes, MaxMediaSize in kilobytes and
MAC addresses are written ``aa-bb-cc-dd-ee-ff``.
"""

import collections
import copy
import hashlib
import uuid

from ironic_amt.simulator.model import values

CHASSIS_EPR = values.EPR(values.CIM + 'CIM_Chassis', [
    ('CreationClassName', 'CIM_Chassis'), ('Tag', 'CIM_Chassis')])

# (model, CPU version, clock MHz, max MHz, family, stepping), picked by hash.
_PLATFORMS = (
    ('NUC9V7QNX', 'Intel(R) Core(TM) i7-9850H CPU @ 2.60GHz',
     2600, 4600, 198, '13'),
    ('NUC11TNHv5', 'Intel(R) Core(TM) i5-1145G7 @ 2.60GHz',
     2600, 4400, 205, '1'),
    ('OptiPlex 7090', 'Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz',
     2900, 4800, 198, '5'),
)


def _digest(name, purpose):
    return hashlib.sha256(('%s/%s' % (name, purpose)).encode()).digest()


def _mac(name, purpose):
    raw = _digest(name, purpose)[:6]
    octets = bytes([(raw[0] & 0xfc) | 0x02]) + raw[1:]   # local, unicast
    return '-'.join('%02x' % b for b in octets)


def _serial(name, purpose, length=10):
    return _digest(name, purpose).hex()[:length].upper()


def system_uuid(name):
    """The SMBIOS system UUID of a device.

    :param name: the device name.
    :returns: a uuid.UUID derived from the name.
    """
    return uuid.UUID(bytes=_digest(name, 'uuid')[:16], version=4)


def platform_guid(system):
    """AMT's PlatformGUID for a system UUID.

    :param system: a uuid.UUID.
    :returns: 32 upper-case hex digits, the first three groups
        byte-swapped (e.g. 4c4c4544-004b-... -> 44454C4C4B00...).
    """
    return system.bytes_le.hex().upper()


def mac_addresses(name):
    """The wired and wireless MAC addresses of a device.

    :param name: the device name.
    :returns: (wired, wireless), each as 'aa-bb-cc-dd-ee-ff'.
    """
    return _mac(name, 'wired'), _mac(name, 'wireless')


def _software_identity(profile):
    major_minor_patch, _, build = profile.version.rpartition('.')
    entries = (
        ('Flash', major_minor_patch), ('Netstack', major_minor_patch),
        ('AMTApps', major_minor_patch), ('AMT', major_minor_patch),
        ('Sku', '16392'), ('VendorID', '8086'), ('Build Number', build),
        ('Recovery Version', major_minor_patch),
        ('Recovery Build Num', build), ('Legacy Mode', 'False'),
        ('AMT FW Core Version', major_minor_patch),
    )
    return [{'InstanceID': key, 'IsEntity': True, 'VersionString': value}
            for key, value in entries]


def _boot_capabilities(profile):
    # Field names and order of a recorded AMT_BootCapabilities Get (GWM
    # amt/boot/capabilities/get.xml); the One-Click Recovery fields exist
    # from CSME 15 on, under the XML names of Intel's own decoder
    # (ForceUEFIPBABoot, not the Go field name ForceUEFILocalPBABoot).
    caps = collections.OrderedDict([
        ('BIOSPause', False), ('BIOSReflash', True),
        ('BIOSSecureBoot', True), ('BIOSSetup', True),
        ('ConfigurationDataReset', False),
        ('ElementName', 'Intel(r) AMT: Boot Capabilities'),
        ('ForceCDorDVDBoot', True), ('ForceDiagnosticBoot', False),
        ('ForceHardDriveBoot', True), ('ForceHardDriveSafeModeBoot', False),
        ('ForcePXEBoot', True), ('ForcedProgressEvents', True),
        ('IDER', True), ('InstanceID', 'Intel(r) AMT:BootCapabilities 0'),
        ('KeyboardLock', True), ('PowerButtonLock', False),
        ('ResetButtonLock', False), ('SOL', True), ('SecureErase', False),
        ('SleepButtonLock', False), ('UserPasswordBypass', True),
        ('VerbosityQuiet', False), ('VerbosityScreenBlank', False),
        ('VerbosityVerbose', False),
    ])
    if profile.ocr:
        caps.update([('ForceUEFIHTTPSBoot', True), ('ForceUEFIPBABoot', True),
                     ('ForceWinREBoot', False),
                     ('AMTSecureBootControl', True),
                     ('UEFIWiFiCoExistenceAndProfileShare', False),
                     ('PlatformErase', 0)])
    return [caps]


def generate(name, profile, realm, power_states):
    """Generate the inventory of one device.

    :param name: the device name (the seed).
    :param profile: its profiles.Profile.
    :param realm: its digest realm (AMT_GeneralSettings.DigestRealm).
    :param power_states: RequestedPowerStatesSupported, as a list.
    :returns: dict of class name to a list of instances (dicts).
    """
    pick = _digest(name, 'platform')[0] % len(_PLATFORMS)
    model, cpu, clock, max_clock, family, stepping = _PLATFORMS[pick]
    wired, wireless = mac_addresses(name)
    memory_part = 'M471A2K43CB1-CTD'
    return {
        'CIM_ComputerSystemPackage': [{
            'Antecedent': CHASSIS_EPR, 'Dependent': values.SYSTEM_EPR,
            'PlatformGUID': platform_guid(system_uuid(name))}],
        'CIM_Chassis': [{
            'ChassisPackageType': 0, 'CreationClassName': 'CIM_Chassis',
            'ElementName': 'Managed System Chassis',
            'Manufacturer': 'Intel Corporation', 'Model': model,
            'OperationalStatus': 0, 'PackageType': 3,
            'SerialNumber': _serial(name, 'chassis'), 'Tag': 'CIM_Chassis',
            'Version': '2.0'}],
        'CIM_Card': [{
            'CanBeFRUed': True, 'CreationClassName': 'CIM_Card',
            'ElementName': 'Managed System Base Board',
            'Manufacturer': 'Intel Corporation', 'Model': model + 'B',
            'OperationalStatus': 0, 'PackageType': 9,
            'SerialNumber': _serial(name, 'board', 12),
            'Tag': 'CIM_Card', 'Version': 'K49245-402'}],
        'CIM_BIOSElement': [{
            'ElementName': 'Primary BIOS', 'Manufacturer': 'Intel Corp.',
            'Name': 'Primary BIOS', 'OperationalStatus': 0,
            'PrimaryBIOS': True,
            'ReleaseDate': values.Datetime('2020-08-10T00:00:00Z'),
            'SoftwareElementID': 'QNCFLX70.0059.2020.0810.1531',
            'SoftwareElementState': 2, 'TargetOperatingSystem': 66,
            'Version': 'QNCFLX70.0059.2020.0810.1531'}],
        'CIM_Processor': [{
            'CPUStatus': 1, 'CreationClassName': 'CIM_Processor',
            'CurrentClockSpeed': clock, 'DeviceID': 'CPU 0',
            'ElementName': 'Managed System CPU', 'EnabledState': 2,
            'ExternalBusClockSpeed': 100, 'Family': family,
            'HealthState': 0, 'MaxClockSpeed': max_clock,
            'OperationalStatus': 0, 'RequestedState': 12,
            'Role': 'Central Processor', 'Stepping': stepping,
            'SystemCreationClassName': 'CIM_ComputerSystem',
            'SystemName': 'ManagedSystem', 'UpgradeMethod': 1}],
        'CIM_Chip': [{
            'CanBeFRUed': True, 'CreationClassName': 'CIM_Chip',
            'ElementName': 'Managed System Processor Chip',
            'Manufacturer': 'Intel(R) Corporation', 'OperationalStatus': 0,
            'Tag': 'CPU 0', 'Version': cpu}],
        'CIM_PhysicalMemory': [{
            'BankLabel': 'BANK %d' % slot, 'Capacity': 17179869184,
            'ConfiguredMemoryClockSpeed': 2667,
            'CreationClassName': 'CIM_PhysicalMemory',
            'ElementName': 'Managed System Memory Chip', 'FormFactor': 13,
            'IsSpeedInMhz': True, 'Manufacturer': '859B',
            'MaxMemorySpeed': 2667, 'MemoryType': 26,
            'PartNumber': memory_part,
            'SerialNumber': _serial(name, 'dimm%d' % slot, 8),
            'Speed': 0, 'Tag': '9876543210 %d' % slot}
            for slot in (0, 1)],
        'CIM_MediaAccessDevice': [{
            'Capabilities': [4, 10], 'CreationClassName':
            'CIM_MediaAccessDevice', 'DeviceID': 'MEDIA DEV 0',
            'ElementName': 'Managed System Media Access Device',
            'EnabledDefault': 2, 'EnabledState': 0,
            'MaxMediaSize': 960197124, 'OperationalStatus': 0,
            'RequestedState': 12, 'Security': 2,
            'SystemCreationClassName': 'CIM_ComputerSystem',
            'SystemName': 'ManagedSystem'}],
        'AMT_EthernetPortSettings': [{
            'DHCPEnabled': True,
            'ElementName': 'Intel(r) AMT Ethernet Port Settings',
            'InstanceID': 'Intel(r) AMT Ethernet Port Settings 0',
            'IpSyncEnabled': True, 'LinkIsUp': True, 'LinkPolicy': [1, 14],
            'MACAddress': wired, 'PhysicalConnectionType': 0,
            'SharedDynamicIP': True, 'SharedMAC': True,
            'SharedStaticIp': False}, {
            'DHCPEnabled': True,
            'ElementName': 'Intel(r) AMT Ethernet Port Settings',
            'InstanceID': 'Intel(r) AMT Ethernet Port Settings 1',
            'LinkIsUp': False, 'LinkPolicy': [1, 14, 16],
            'MACAddress': wireless, 'PhysicalConnectionType': 3,
            'SharedMAC': True, 'WLANLinkProtectionLevel': 1}],
        'CIM_SoftwareIdentity': _software_identity(profile),
        'AMT_GeneralSettings': [{
            'AMTNetworkEnabled': 1, 'DDNSPeriodicUpdateInterval': 1440,
            'DDNSTTL': 900, 'DDNSUpdateByDHCPServerEnabled': True,
            'DDNSUpdateEnabled': False, 'DigestRealm': realm,
            'DomainName': 'example.test',
            'ElementName': 'Intel(r) AMT: General Settings',
            'HostName': name, 'HostOSFQDN': name + '.example.test',
            'IdleWakeTimeout': 65535,
            'InstanceID': 'Intel(r) AMT: General Settings',
            'NetworkInterfaceEnabled': True, 'PingResponseEnabled': True,
            'PowerSource': 0, 'PreferredAddressFamily': 0,
            'PresenceNotificationInterval': 0, 'PrivacyLevel': 0,
            'RmcpPingResponseEnabled': True, 'SharedFQDN': True,
            'WsmanOnlyMode': False}],
        'AMT_BootCapabilities': _boot_capabilities(profile),
        'CIM_PowerManagementCapabilities': [{
            'ElementName': 'Power Management Capabilities',
            'InstanceID': 'Intel(r) AMT:PowerManagementCapabilities 0',
            'PowerChangeCapabilities': [3, 4, 8],
            'PowerStatesSupported': list(power_states),
            'RequestedPowerStatesSupported': list(power_states)}],
    }


def apply_overrides(inventory, overrides):
    """Merge operator overrides into a generated inventory.

    :param inventory: the generated inventory (modified in place).
    :param overrides: dict of class name to a dict (merged into the first
        instance) or a list of dicts (replacing all instances).
    :returns: the inventory.
    :raises: ValueError for an override that is neither.
    """
    for class_name, value in (overrides or {}).items():
        if isinstance(value, dict):
            instances = inventory.setdefault(class_name, [{}])
            instances[0].update(copy.deepcopy(value))
        elif isinstance(value, list):
            inventory[class_name] = copy.deepcopy(value)
        else:
            raise ValueError('Inventory override for %s must be a dict or '
                             'a list of dicts' % class_name)
    return inventory
