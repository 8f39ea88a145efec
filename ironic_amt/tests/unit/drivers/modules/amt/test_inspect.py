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

import copy
import os
from unittest import mock

from defusedxml import ElementTree
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager
from ironic.drivers.modules import inspector
from ironic.drivers.modules import noop
from ironic import objects
from ironic.tests.unit.objects import utils as obj_utils
from oslo_utils import uuidutils
import stevedore

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import inspect
from ironic_amt.tests.unit.drivers.modules.amt import utils
from ironic_amt.wsman import envelope
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import parsing
from ironic_amt.wsman import resource_uris

ENDPOINT = 'http://192.0.2.10:16992/wsman'
RESPONSES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))), 'responses')

WIRED_MAC = '00:be:43:d8:22:a4'
WIRELESS_MAC = '04:d3:b0:9e:4e:11'

# Instances as wsman.Client returns them: every leaf a str, a repeated
# field a list, an EPR a nested dict. Values from recorded AMT 12-16
# replies (amt-protocol.md section 4).
INVENTORY = {
    'CIM_ComputerSystemPackage': [{
        'Antecedent': {
            'Address': 'http://schemas.xmlsoap.org/ws/2004/08/addressing/'
                       'role/anonymous',
            'ReferenceParameters': {
                'ResourceURI': resource_uris.CIM_Chassis,
                'SelectorSet': {'CreationClassName': 'CIM_Chassis',
                                'Tag': 'CIM_Chassis'}}},
        'PlatformGUID': '44454C4C4B0010428033B6C04F504633',
    }],
    'CIM_Chassis': [{
        'ChassisPackageType': '0', 'CreationClassName': 'CIM_Chassis',
        'ElementName': 'Managed System Chassis',
        'Manufacturer': 'Intel Corporation', 'Model': 'NUC9V7QNX',
        'OperationalStatus': '0', 'PackageType': '3',
        'SerialNumber': 'G6QN0123456A', 'Tag': 'CIM_Chassis',
        'Version': '2.0',
    }],
    'CIM_Processor': [{
        'CPUStatus': '1', 'CreationClassName': 'CIM_Processor',
        'CurrentClockSpeed': '2600', 'DeviceID': 'CPU 0',
        'ElementName': 'Managed System CPU', 'EnabledState': '2',
        'ExternalBusClockSpeed': '100', 'Family': '198',
        'HealthState': '0', 'MaxClockSpeed': '4600',
        'OperationalStatus': '0', 'RequestedState': '12',
        'Role': 'Central Processor', 'Stepping': '13',
        'UpgradeMethod': '1',
    }],
    'CIM_PhysicalMemory': [{
        'BankLabel': 'BANK %d' % slot, 'Capacity': '17179869184',
        'CreationClassName': 'CIM_PhysicalMemory', 'FormFactor': '13',
        'Manufacturer': '859B', 'MemoryType': '26',
        'PartNumber': 'CT16G4SFRA266.C8FE ', 'SerialNumber': 'E0B8A7D%d'
        % slot, 'Speed': '0', 'Tag': '9876543210 %d' % slot,
    } for slot in (0, 1)],
    'CIM_MediaAccessDevice': [{
        'Capabilities': ['4', '10'],
        'CreationClassName': 'CIM_MediaAccessDevice',
        'DeviceID': 'MEDIA DEV 0', 'EnabledDefault': '2',
        'EnabledState': '0', 'MaxMediaSize': '960197124',
        'OperationalStatus': '0', 'RequestedState': '12', 'Security': '2',
    }],
    'AMT_EthernetPortSettings': [{
        'DHCPEnabled': 'true',
        'ElementName': 'Intel(r) AMT Ethernet Port Settings',
        'InstanceID': 'Intel(r) AMT Ethernet Port Settings 0',
        'IpSyncEnabled': 'true', 'LinkIsUp': 'true',
        'LinkPolicy': ['1', '14'], 'MACAddress': '00-be-43-d8-22-a4',
        'PhysicalConnectionType': '0', 'SharedDynamicIP': 'true',
        'SharedMAC': 'true', 'SharedStaticIp': 'false',
    }, {
        'DHCPEnabled': 'true',
        'ElementName': 'Intel(r) AMT Ethernet Port Settings',
        'InstanceID': 'Intel(r) AMT Ethernet Port Settings 1',
        'LinkIsUp': 'false', 'LinkPolicy': ['1', '14', '16'],
        'MACAddress': '04-d3-b0-9e-4e-11', 'PhysicalConnectionType': '3',
        'SharedMAC': 'true', 'WLANLinkProtectionLevel': '1',
    }],
    'CIM_SoftwareIdentity': [
        {'InstanceID': key, 'IsEntity': 'true', 'VersionString': value}
        for key, value in (
            ('Flash', '16.1.25'), ('Netstack', '16.1.25'),
            ('AMTApps', '16.1.25'), ('AMT', '16.1.25'), ('Sku', '16392'),
            ('VendorID', '8086'), ('Build Number', '2049'),
            ('Recovery Version', '16.1.25'), ('Legacy Mode', 'False'))],
    # Feature classes (amt-redirection.md 3-6): an ACM device without
    # consent, SOL+IDE-R and KVM on, OCR and RPE supported and enabled.
    'AMT_SetupAndConfigurationService': [{
        'ElementName': 'Intel(r) AMT Setup and Configuration Service',
        'ProvisioningMode': '1', 'ProvisioningState': '2'}],
    'IPS_OptInService': [{
        'CanModifyOptInPolicy': '1', 'OptInCodeTimeout': '120',
        'OptInDisplayTimeout': '300', 'OptInRequired': '0',
        'OptInState': '0'}],
    'AMT_RedirectionService': [{
        'EnabledState': '32771', 'ListenerEnabled': 'true',
        'Name': 'Intel(r) AMT Redirection Service'}],
    'CIM_KVMRedirectionSAP': [{
        'EnabledState': '6', 'KVMProtocol': '4', 'RequestedState': '2'}],
    'AMT_BootCapabilities': [{
        'ForceUEFIHTTPSBoot': 'true', 'IDER': 'true',
        'PlatformErase': str(1 | 4 | 64), 'SOL': 'true'}],
    'AMT_BootSettingData': [{
        'RPEEnabled': 'true', 'UEFIHTTPSBootEnabled': 'true'}],
    'CIM_BootService': [{
        'EnabledState': '32771', 'Name': 'Intel(r) AMT Boot Service'}],
}

GET_CLASSES = ('CIM_ComputerSystemPackage', 'CIM_Chassis',
               'AMT_SetupAndConfigurationService', 'IPS_OptInService',
               'AMT_RedirectionService', 'CIM_KVMRedirectionSAP',
               'AMT_BootCapabilities', 'AMT_BootSettingData',
               'CIM_BootService')
ALL_CAPABILITIES = {
    'amt_version': '16.1', 'amt_provisioning_mode': 'acm',
    'amt_user_consent': 'none', 'amt_sol': 'enabled',
    'amt_ider': 'enabled', 'amt_kvm': 'enabled',
    'amt_https_boot': 'enabled', 'amt_rpe': 'enabled'}
ALL_TRAITS = ['CUSTOM_AMT_ACM', 'CUSTOM_AMT_HTTPS_BOOT', 'CUSTOM_AMT_KVM',
              'CUSTOM_AMT_RPE', 'CUSTOM_AMT_SOL']
ALL_FEATURES = {name: {'supported': True, 'enabled': True}
                for name in ('sol', 'ider', 'kvm', 'https_boot', 'rpe')}


def capabilities(text):
    return dict(item.split(':', 1) for item in text.split(','))


class InspectBase(utils.AMTTestCase):

    def setUp(self):
        super().setUp()
        self.config(enabled_inspect_interfaces=['amt', 'no-inspect'])
        self.node.inspect_interface = 'amt'
        self.node.provision_state = states.INSPECTING
        self.node.properties = {'capabilities': 'boot_mode:uefi'}
        self.node.save()
        self.inventory = copy.deepcopy(INVENTORY)
        self.client = self.mock_client()
        self.client.get.side_effect = self._get
        self.client.enumerate.side_effect = self._enumerate
        patcher = mock.patch.object(inspect.LOG, 'warning', autospec=True)
        self.warning = patcher.start()
        self.addCleanup(patcher.stop)

    def _lookup(self, resource_uri):
        value = self.inventory[resource_uri.rpartition('/')[2]]
        if isinstance(value, Exception):
            raise value
        return copy.deepcopy(value)

    def _get(self, resource_uri, selectors=None):
        name = resource_uri.rpartition('/')[2]
        if name not in GET_CLASSES:
            raise AssertionError('unexpected Get of %s' % name)
        return self._lookup(resource_uri)[0]

    def _enumerate(self, resource_uri, max_elements=32):
        return self._lookup(resource_uri)

    def _inspect(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            return task.driver.inspect.inspect_hardware(task)

    def _inspection_data(self):
        stored = objects.NodeInventory.get_by_node_id(self.context,
                                                      self.node.id)
        return stored.inventory_data, stored.plugin_data

    def _ports(self):
        return {port.address: port for port in
                objects.Port.list_by_node_id(self.context, self.node.id)}

    def _traits(self):
        return sorted(objects.TraitList.get_by_node_id(
            self.context, self.node.id).get_trait_names())

    def _warnings(self):
        return ' '.join(call.args[0] % call.args[1]
                        for call in self.warning.call_args_list)


class AMTInspectTestCase(InspectBase):

    def test_properties_and_validate(self):
        iface = inspect.AMTInspect()
        self.assertEqual(common.COMMON_PROPERTIES, iface.get_properties())
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertIsInstance(task.driver.inspect, inspect.AMTInspect)
            task.driver.inspect.validate(task)
        self.client.get.assert_not_called()
        self.client.enumerate.assert_not_called()

    def test_validate_missing_password(self):
        self.node.driver_info = {'amt_address': '192.0.2.10',
                                 'amt_username': 'admin'}
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.MissingParameterValue,
                                      task.driver.inspect.validate, task)
        self.assertIn('amt_password', str(error))

    def test_inspect_hardware(self):
        self.assertEqual(states.MANAGEABLE, self._inspect())

        self.node.refresh()
        properties = dict(self.node.properties)
        self.assertEqual(dict(ALL_CAPABILITIES, boot_mode='uefi'),
                         capabilities(properties.pop('capabilities')))
        # 2 x 16 GiB; 960197124 kB = 894.3 GiB -> 893 by Ironic's rule.
        self.assertEqual({'cpu_arch': 'x86_64', 'cpus': 1,
                          'memory_mb': 32768, 'local_gb': 893},
                         properties)
        self.assertEqual(ALL_TRAITS, self._traits())
        inventory, plugin_data = self._inspection_data()
        self.assertEqual({
            'cpu': {'count': 1, 'architecture': 'x86_64',
                    'frequency': 4600},
            'memory': {'total': 34359738368, 'physical_mb': 32768},
            'disks': [{'name': 'MEDIA DEV 0', 'size': 960197124000}],
            'interfaces': [
                {'name': 'wired0', 'mac_address': WIRED_MAC,
                 'has_carrier': True, 'kind': 'wired'},
                {'name': 'wireless0', 'mac_address': WIRELESS_MAC,
                 'has_carrier': False, 'kind': 'wireless'}],
            'system_vendor': {
                'manufacturer': 'Intel Corporation',
                'product_name': 'NUC9V7QNX',
                'serial_number': 'G6QN0123456A',
                # The MPS test pair: first three groups byte-swapped.
                'system_uuid': '4c4c4544-004b-4210-8033-b6c04f504633'},
            'boot': {'pxe_interface': WIRED_MAC},
        }, inventory)
        self.assertEqual({'amt': {
            'firmware_version': '16.1.25', 'firmware_build': '2049',
            'sku': '16392', 'wired_macs': [WIRED_MAC],
            'wireless_macs': [WIRELESS_MAC], 'provisioning_mode': 'acm',
            'user_consent': 'none', 'features': ALL_FEATURES,
            'traits': ALL_TRAITS}}, plugin_data)

        ports = self._ports()
        self.assertEqual([WIRED_MAC], list(ports))
        self.assertTrue(ports[WIRED_MAC].pxe_enabled)
        self.warning.assert_not_called()
        self.assertEqual(
            sorted(name for name in INVENTORY if name not in GET_CLASSES),
            sorted(call.args[0].rpartition('/')[2]
                   for call in self.client.enumerate.call_args_list))

    def test_inspect_keeps_existing_port(self):
        port = obj_utils.create_test_port(self.context, node_id=self.node.id,
                                          address=WIRED_MAC,
                                          pxe_enabled=False)
        self._inspect()
        ports = self._ports()
        self.assertEqual([WIRED_MAC], list(ports))
        self.assertEqual(port.uuid, ports[WIRED_MAC].uuid)

    def test_inspect_twice_replaces_inventory(self):
        self._inspect()
        self.inventory['CIM_PhysicalMemory'].pop()
        self._inspect()
        inventory, _plugin_data = self._inspection_data()
        self.assertEqual(16384, inventory['memory']['physical_mb'])
        self.node.refresh()
        self.assertEqual(16384, self.node.properties['memory_mb'])
        self.assertEqual(1, len(self._ports()))

    def test_memory_from_recorded_pull(self):
        # The instances the client builds from a recorded AMT Pull page.
        with open(os.path.join(RESPONSES,
                               'pull_physical_memory_1.xml'), 'rb') as f:
            root = ElementTree.fromstring(f.read())
        items = root.find('.//{%s}Items' % envelope.NS_ENUMERATION)
        self.inventory['CIM_PhysicalMemory'] = [
            parsing.element_to_value(item) for item in items]
        self._inspect()
        self.node.refresh()
        self.assertEqual(32768, self.node.properties['memory_mb'])

    def test_no_memory_records_fails(self):
        self.inventory['CIM_PhysicalMemory'] = []
        error = self.assertRaises(exception.HardwareInspectionFailure,
                                  self._inspect)
        self.assertIn(self.node.uuid, str(error))
        self.assertIn('memory_mb', str(error))
        self.node.refresh()
        self.assertEqual({'capabilities': 'boot_mode:uefi'},
                         self.node.properties)
        self.assertEqual({}, self._ports())
        # What was found is kept for the operator to look at.
        inventory, _plugin_data = self._inspection_data()
        self.assertNotIn('memory', inventory)

    def test_no_memory_records_keeps_current_value(self):
        self.node.properties = {'memory_mb': 8192}
        self.node.save()
        self.inventory['CIM_PhysicalMemory'] = []
        self.assertEqual(states.MANAGEABLE, self._inspect())
        self.node.refresh()
        self.assertEqual(8192, self.node.properties['memory_mb'])
        self.assertEqual(893, self.node.properties['local_gb'])
        self.assertIn('keeping the current values', self._warnings())
        # Properties the inspection does not set are kept too.
        self.assertEqual(ALL_CAPABILITIES, capabilities(
            self.node.properties['capabilities']))

    def test_memory_in_odd_units_is_skipped(self):
        modules = self.inventory['CIM_PhysicalMemory']
        modules[0]['Capacity'] = '16 GB'
        modules[1]['Capacity'] = '16384'    # MB, not bytes
        error = self.assertRaises(exception.HardwareInspectionFailure,
                                  self._inspect)
        self.assertIn(self.node.uuid, str(error))
        warnings = self._warnings()
        self.assertIn('"16 GB"', warnings)
        self.assertIn('below 1 MiB', warnings)

    def test_one_bad_memory_module_gives_partial_result(self):
        self.inventory['CIM_PhysicalMemory'][1]['Capacity'] = ''
        self.inventory['CIM_PhysicalMemory'][0]['Capacity'] = '-1'
        self.inventory['CIM_PhysicalMemory'].append(
            dict(INVENTORY['CIM_PhysicalMemory'][0]))
        self._inspect()
        self.node.refresh()
        self.assertEqual(16384, self.node.properties['memory_mb'])
        self.assertIn('"-1"', self._warnings())

    def test_no_wired_nic_is_partial(self):
        self.inventory['AMT_EthernetPortSettings'] = [
            INVENTORY['AMT_EthernetPortSettings'][1]]
        self.assertEqual(states.MANAGEABLE, self._inspect())
        inventory, plugin_data = self._inspection_data()
        self.assertNotIn('boot', inventory)
        self.assertEqual([], plugin_data['amt']['wired_macs'])
        self.assertEqual([WIRELESS_MAC], plugin_data['amt']['wireless_macs'])
        self.assertEqual({}, self._ports())
        self.assertIn('no wired NIC', self._warnings())

    def test_bad_macs_and_unknown_connection_skipped(self):
        wired, wireless = self.inventory['AMT_EthernetPortSettings']
        wireless['MACAddress'] = '00-00-00-00-00-00'
        self.inventory['AMT_EthernetPortSettings'].extend([
            dict(wired, MACAddress='not-a-mac'),
            dict(wired, MACAddress=''),
            dict(wired, MACAddress='02-00-00-00-00-01',
                 PhysicalConnectionType='7')])
        self._inspect()
        _inventory, plugin_data = self._inspection_data()
        self.assertEqual([WIRED_MAC], plugin_data['amt']['wired_macs'])
        self.assertEqual([], plugin_data['amt']['wireless_macs'])
        self.assertEqual(4, self.warning.call_count)

    def test_old_firmware_without_connection_type(self):
        # AMT 11 and older: "Settings 0" wired, "Settings 1" wireless.
        for settings in self.inventory['AMT_EthernetPortSettings']:
            del settings['PhysicalConnectionType']
        self.inventory['AMT_EthernetPortSettings'].reverse()
        self._inspect()
        _inventory, plugin_data = self._inspection_data()
        self.assertEqual([WIRED_MAC], plugin_data['amt']['wired_macs'])
        self.assertEqual([WIRELESS_MAC], plugin_data['amt']['wireless_macs'])

    def test_second_wired_nic_gets_a_port(self):
        self.inventory['AMT_EthernetPortSettings'].append(dict(
            INVENTORY['AMT_EthernetPortSettings'][0],
            InstanceID='Intel(r) AMT Ethernet Port Settings 2',
            MACAddress='A0-36-9F-00-00-01', PhysicalConnectionType='2'))
        self._inspect()
        inventory, _plugin_data = self._inspection_data()
        self.assertEqual(['wired0', 'wireless0', 'wired1'],
                         [iface['name'] for iface in inventory['interfaces']])
        self.assertEqual({'pxe_interface': WIRED_MAC}, inventory['boot'])
        self.assertEqual({WIRED_MAC, 'a0:36:9f:00:00:01'},
                         set(self._ports()))

    def test_platform_guid_unset_or_garbage(self):
        for guid in ('0' * 32, 'F' * 32, 'not a guid', '44454C4C4B00'):
            self.inventory['CIM_ComputerSystemPackage'][0][
                'PlatformGUID'] = guid
            self._inspect()
            inventory, _plugin_data = self._inspection_data()
            self.assertNotIn('system_uuid', inventory['system_vendor'])
            self.assertEqual('NUC9V7QNX',
                             inventory['system_vendor']['product_name'])
        self.assertEqual(4, self.warning.call_count)

    def test_platform_guid_with_dashes(self):
        self.inventory['CIM_ComputerSystemPackage'][0]['PlatformGUID'] = (
            '44454c4c-4b00-1042-8033-b6c04f504633')
        self._inspect()
        inventory, _plugin_data = self._inspection_data()
        self.assertEqual('4c4c4544-004b-4210-8033-b6c04f504633',
                         inventory['system_vendor']['system_uuid'])

    def test_empty_chassis_fields(self):
        self.inventory['CIM_Chassis'][0].update(
            Manufacturer='', Model='', SerialNumber=' ')
        self._inspect()
        inventory, _plugin_data = self._inspection_data()
        self.assertEqual(
            {'system_uuid': '4c4c4544-004b-4210-8033-b6c04f504633'},
            inventory['system_vendor'])

    def test_disks(self):
        media = INVENTORY['CIM_MediaAccessDevice'][0]
        self.inventory['CIM_MediaAccessDevice'] = [
            dict(media, DeviceID='MEDIA DEV 0', MaxMediaSize='256060514'),
            dict(media, DeviceID='MEDIA DEV 1', MaxMediaSize='2000398934'),
            dict(media, DeviceID='MEDIA DEV 2', MaxMediaSize='0'),
            dict(media, DeviceID='MEDIA DEV 3', MaxMediaSize='1.5 TB')]
        self._inspect()
        self.node.refresh()
        # 2000398934 kB = 1863.0 GiB.
        self.assertEqual(1862, self.node.properties['local_gb'])
        inventory, _plugin_data = self._inspection_data()
        self.assertEqual(['MEDIA DEV 0', 'MEDIA DEV 1'],
                         [disk['name'] for disk in inventory['disks']])
        self.assertIn('"1.5 TB"', self._warnings())

    def test_small_or_no_disk_is_diskless(self):
        for media in ([], [dict(INVENTORY['CIM_MediaAccessDevice'][0],
                                MaxMediaSize='3900000')]):
            self.inventory['CIM_MediaAccessDevice'] = media
            self.assertEqual(states.MANAGEABLE, self._inspect())
            self.node.refresh()
            self.assertEqual(0, self.node.properties['local_gb'])
        self.assertIn('disk-less', self._warnings())

    def test_no_processor(self):
        self.inventory['CIM_Processor'] = []
        self._inspect()
        self.node.refresh()
        self.assertNotIn('cpus', self.node.properties)
        self.assertEqual('x86_64', self.node.properties['cpu_arch'])
        inventory, _plugin_data = self._inspection_data()
        self.assertEqual({'count': 0, 'architecture': 'x86_64'},
                         inventory['cpu'])

    def test_fault_on_one_class_is_partial(self):
        self.inventory['CIM_SoftwareIdentity'] = wsman_exc.WSManFault(
            ENDPOINT, 'ActionNotSupported', 'not supported')
        self.inventory['CIM_Chassis'] = wsman_exc.WSManFault(
            ENDPOINT, 'DestinationUnreachable', 'no such instance')
        self.assertEqual(states.MANAGEABLE, self._inspect())
        inventory, plugin_data = self._inspection_data()
        self.assertEqual(
            {'system_uuid': '4c4c4544-004b-4210-8033-b6c04f504633'},
            inventory['system_vendor'])
        self.assertNotIn('firmware_version', plugin_data['amt'])
        warnings = self._warnings()
        self.assertIn('CIM_SoftwareIdentity', warnings)
        self.assertIn('CIM_Chassis', warnings)

    def test_access_denied_on_memory_fails(self):
        self.inventory['CIM_PhysicalMemory'] = wsman_exc.WSManFault(
            ENDPOINT, 'AccessDenied', 'access denied')
        error = self.assertRaises(exception.HardwareInspectionFailure,
                                  self._inspect)
        self.assertIn(self.node.uuid, str(error))
        self.assertIn('AccessDenied', self._warnings())

    def test_connection_error(self):
        self.inventory['CIM_Processor'] = wsman_exc.WSManConnectionError(
            ENDPOINT, 'connection refused')
        error = self.assertRaises(errors.AMTConnectionFailure, self._inspect)
        self.assertIn(self.node.uuid, str(error))
        self.assertNotIn(utils.PASSWORD, str(error))
        self.node.refresh()
        self.assertEqual({'capabilities': 'boot_mode:uefi'},
                         self.node.properties)
        self.assertRaises(exception.NodeInventoryNotFound,
                          objects.NodeInventory.get_by_node_id,
                          self.context, self.node.id)

    def test_auth_error(self):
        self.client.get.side_effect = wsman_exc.WSManAuthError(
            ENDPOINT, 'digest authentication failed')
        error = self.assertRaises(errors.AMTAuthenticationFailure,
                                  self._inspect)
        self.assertIn(self.node.uuid, str(error))

    def test_data_backend_none(self):
        self.config(data_backend='none', group='inventory')
        self.assertEqual(states.MANAGEABLE, self._inspect())
        self.node.refresh()
        self.assertEqual(32768, self.node.properties['memory_mb'])
        self.assertEqual([WIRED_MAC], list(self._ports()))


class AMTInspectSelectionTestCase(utils.AMTTestCase):

    def test_entry_point(self):
        manager = stevedore.DriverManager('ironic.hardware.interfaces.inspect',
                                          'amt')
        self.assertIs(inspect.AMTInspect, manager.driver)

    def test_default_unchanged_when_amt_not_enabled(self):
        # Ironic's default enabled list does not name amt.
        node = obj_utils.create_test_node(
            self.context, driver='pxe_amt', boot_interface='pxe',
            uuid=uuidutils.generate_uuid(), driver_info=dict(utils.INFO))
        with task_manager.acquire(self.context, node.id) as task:
            self.assertIsInstance(task.driver.inspect, noop.NoInspect)

    def test_default_when_enabled(self):
        self.config(enabled_inspect_interfaces=['agent', 'amt',
                                                'no-inspect'])
        node = obj_utils.create_test_node(
            self.context, driver='pxe_amt', boot_interface='pxe',
            uuid=uuidutils.generate_uuid(), driver_info=dict(utils.INFO))
        with task_manager.acquire(self.context, node.id) as task:
            self.assertIsInstance(task.driver.inspect, inspect.AMTInspect)

    def test_agent_still_supported(self):
        self.config(enabled_inspect_interfaces=['agent', 'amt'])
        node = obj_utils.create_test_node(
            self.context, driver='pxe_amt', boot_interface='pxe',
            inspect_interface='agent', uuid=uuidutils.generate_uuid(),
            driver_info=dict(utils.INFO))
        with task_manager.acquire(self.context, node.id) as task:
            self.assertIsInstance(task.driver.inspect,
                                  inspector.AgentInspect)


class AMTInspectFeaturesTestCase(InspectBase):
    """Version, provisioning, consent and features as capabilities/traits."""

    def _capabilities(self):
        self.node.refresh()
        return capabilities(self.node.properties['capabilities'])

    def test_client_control_mode_replaces_stale_traits(self):
        self._inspect()
        objects.Trait(self.context, node_id=self.node.id,
                      trait='CUSTOM_GPU').create()
        # Re-provisioned in CCM: consent is then always required.
        self.inventory['AMT_SetupAndConfigurationService'][0][
            'ProvisioningMode'] = '4'
        self.inventory['CIM_KVMRedirectionSAP'][0]['EnabledState'] = '3'
        self._inspect()
        found = self._capabilities()
        self.assertEqual('ccm', found['amt_provisioning_mode'])
        self.assertEqual('all', found['amt_user_consent'])
        self.assertEqual('disabled', found['amt_kvm'])
        self.assertEqual(['CUSTOM_AMT_CCM', 'CUSTOM_AMT_HTTPS_BOOT',
                          'CUSTOM_AMT_RPE', 'CUSTOM_AMT_SOL', 'CUSTOM_GPU'],
                         self._traits())

    def test_old_firmware_lacks_features(self):
        # AMT 11.8: no KVM SAP served, no OCR/RPE fields, redirection off.
        self.inventory['CIM_KVMRedirectionSAP'] = wsman_exc.WSManFault(
            ENDPOINT, 'DestinationUnreachable', 'no such class')
        self.inventory['AMT_BootCapabilities'] = [{'IDER': 'true',
                                                   'SOL': 'true'}]
        self.inventory['AMT_BootSettingData'] = [{}]
        self.inventory['CIM_BootService'] = [{'EnabledState': '2'}]
        self.inventory['AMT_RedirectionService'][0]['EnabledState'] = (
            '32768')
        for identity in self.inventory['CIM_SoftwareIdentity']:
            identity['VersionString'] = '11.8.50'
        self._inspect()
        self.assertEqual({
            'amt_version': '11.8', 'amt_provisioning_mode': 'acm',
            'amt_user_consent': 'none', 'amt_sol': 'disabled',
            'amt_ider': 'disabled', 'amt_kvm': 'unsupported',
            'amt_https_boot': 'unsupported', 'amt_rpe': 'unsupported',
            'boot_mode': 'uefi'}, self._capabilities())
        self.assertEqual(['CUSTOM_AMT_ACM'], self._traits())
        _inventory, plugin_data = self._inspection_data()
        self.assertEqual({'supported': False, 'enabled': False},
                         plugin_data['amt']['features']['kvm'])

    def test_listener_off_disables_redirection(self):
        self.inventory['AMT_RedirectionService'][0]['ListenerEnabled'] = (
            'false')
        self._inspect()
        found = self._capabilities()
        self.assertEqual(('disabled', 'disabled', 'disabled'),
                         (found['amt_sol'], found['amt_ider'],
                          found['amt_kvm']))
        self.assertNotIn('CUSTOM_AMT_SOL', self._traits())
        self.assertNotIn('CUSTOM_AMT_KVM', self._traits())

    def test_bios_or_boot_service_disables_ocr_and_rpe(self):
        self.inventory['AMT_BootSettingData'][0]['RPEEnabled'] = 'false'
        self.inventory['CIM_BootService'][0]['EnabledState'] = '32770'
        self._inspect()
        found = self._capabilities()
        self.assertEqual('disabled', found['amt_rpe'])
        self.assertEqual('disabled', found['amt_https_boot'])
        self.assertEqual(['CUSTOM_AMT_ACM', 'CUSTOM_AMT_KVM',
                          'CUSTOM_AMT_SOL'], self._traits())

    def test_unknown_values_are_left_out(self):
        self.inventory['AMT_SetupAndConfigurationService'][0][
            'ProvisioningMode'] = '<b>7</b>'
        self.inventory['IPS_OptInService'] = wsman_exc.WSManFault(
            ENDPOINT, 'AccessDenied', 'denied')
        for identity in self.inventory['CIM_SoftwareIdentity']:
            identity['VersionString'] = 'x,y:z'
        self._inspect()
        found = self._capabilities()
        for key in ('amt_version', 'amt_provisioning_mode',
                    'amt_user_consent'):
            self.assertNotIn(key, found)
        self.assertNotIn('CUSTOM_AMT_ACM', self._traits())
        self.assertNotIn('CUSTOM_AMT_CCM', self._traits())

    def test_malformed_capabilities_fail_clearly(self):
        self.node.properties = {'capabilities': 'boot_mode'}
        self.node.save()
        error = self.assertRaises(exception.HardwareInspectionFailure,
                                  self._inspect)
        self.assertIn(self.node.uuid, str(error))
        self.assertIn('capabilities', str(error))
