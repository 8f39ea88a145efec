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

"""AMTInspect over real sockets against the simulator's inventory."""

from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager
from ironic import objects

from ironic_amt.testing import driver_case as base

GIB = 1024 ** 3
MEMORY_MODULE = {'BankLabel': 'BANK 0', 'Capacity': 8 * GIB,
                 'CreationClassName': 'CIM_PhysicalMemory',
                 'FormFactor': 13, 'MemoryType': 26}
WIRELESS_ONLY = [{
    'ElementName': 'Intel(r) AMT Ethernet Port Settings',
    'InstanceID': 'Intel(r) AMT Ethernet Port Settings 1',
    'LinkIsUp': True, 'MACAddress': '02-11-22-33-44-55',
    'PhysicalConnectionType': 3}]
# AMT 11/12 firmware: no PhysicalConnectionType, wireless first.
OLD_PORT_SETTINGS = [{
    'ElementName': 'Intel(r) AMT Ethernet Port Settings',
    'InstanceID': 'Intel(r) AMT Ethernet Port Settings 1',
    'LinkIsUp': False, 'MACAddress': '02-11-22-33-44-66'}, {
    'ElementName': 'Intel(r) AMT Ethernet Port Settings',
    'InstanceID': 'Intel(r) AMT Ethernet Port Settings 0',
    'LinkIsUp': True, 'MACAddress': '02-11-22-33-44-77'}]

# Device name -> (profile, inventory overrides[, more DeviceSpec fields]).
# KVM, SOL and IDE-R are enabled unless said otherwise (ENABLED).
ENABLED = {'kvm_enabled': True,
           'features': {'sol': True, 'ider': True, 'listener': True}}
DEVICES = {
    'dev': ('16.1', None),
    'amt11': ('11.8', None),
    'amt12': ('12', None),
    'amt19': ('19', None),
    # Client control mode; redirection and KVM off in MEBx; RPE off in BIOS.
    'ccm': ('19', None, {'control_mode': 4, 'kvm_enabled': False,
                         'features': {'sol': False, 'ider': False,
                                      'rpe_bios': False,
                                      'rpe_service': False}}),
    'old': ('12', {'AMT_EthernetPortSettings': OLD_PORT_SETTINGS}),
    # 40 modules: more than one Pull page of 32 instances.
    'big': ('16.1', {'CIM_PhysicalMemory': [
        dict(MEMORY_MODULE, BankLabel='BANK %d' % n) for n in range(40)]}),
    'nowired': ('16.1', {'AMT_EthernetPortSettings': WIRELESS_ONLY}),
    'nomemory': ('16.1', {'CIM_PhysicalMemory': []}),
    'odd': ('16.1', {'CIM_PhysicalMemory': {'Capacity': '16 GB'},
                     'CIM_MediaAccessDevice': {'MaxMediaSize': '1 TB'}}),
    'garbled': ('16.1', {'CIM_PhysicalMemory': [
        dict(MEMORY_MODULE, Capacity=16384)]}),
}
DEVICE_OPTIONS = {
    name: dict(ENABLED, profile=spec[0], inventory=spec[1],
               **(spec[2] if len(spec) > 2 else {}))
    for name, spec in DEVICES.items()}

ALL_ENABLED = {
    'amt_version': '16.1', 'amt_provisioning_mode': 'acm',
    'amt_user_consent': 'none', 'amt_sol': 'enabled', 'amt_ider': 'enabled',
    'amt_kvm': 'enabled', 'amt_https_boot': 'enabled', 'amt_rpe': 'enabled'}
ALL_TRAITS = ['CUSTOM_AMT_ACM', 'CUSTOM_AMT_HTTPS_BOOT', 'CUSTOM_AMT_KVM',
              'CUSTOM_AMT_RPE', 'CUSTOM_AMT_SOL']


def capabilities(text):
    return dict(item.split(':', 1) for item in text.split(','))


class InspectTestCase(base.SimulatorTestCase):

    DEVICES = tuple(DEVICES)
    DEVICE_OPTIONS = DEVICE_OPTIONS

    def setUp(self):
        super().setUp()
        self.config(enabled_inspect_interfaces=['amt', 'no-inspect'])

    def _node(self, name, protocol='http'):
        node = self.make_node(name, protocol)
        node.inspect_interface = 'amt'
        node.provision_state = states.INSPECTING
        node.properties = {}
        node.save()
        return node

    def _inspect(self, name='dev', protocol='http'):
        node = self._node(name, protocol)
        with task_manager.acquire(self.context, node.uuid) as task:
            self.assertEqual(states.MANAGEABLE,
                             task.driver.inspect.inspect_hardware(task))
        node.refresh()
        return node

    def _stored(self, node):
        stored = objects.NodeInventory.get_by_node_id(self.context, node.id)
        return stored.inventory_data, stored.plugin_data

    def _ports(self, node):
        return {port.address: port.pxe_enabled for port in
                objects.Port.list_by_node_id(self.context, node.id)}

    def _fails(self, name):
        node = self._node(name)
        with task_manager.acquire(self.context, node.uuid) as task:
            error = self.assertRaises(exception.HardwareInspectionFailure,
                                      task.driver.inspect.inspect_hardware,
                                      task)
        self.assertIn(node.uuid, str(error))
        return node, error

    def test_inspect_http_and_https(self):
        device = self.device()
        wired, wireless = (mac.replace('-', ':')
                           for mac in device.mac_addresses)
        for protocol in ('http', 'https'):
            node = self._inspect(protocol=protocol)
            # 2 x 16 GiB, a 960197124 kB disk.
            properties = dict(node.properties)
            self.assertEqual(ALL_ENABLED,
                             capabilities(properties.pop('capabilities')))
            self.assertEqual({'cpu_arch': 'x86_64', 'cpus': 1,
                              'memory_mb': 32768, 'local_gb': 893},
                             properties)
            inventory, plugin_data = self._stored(node)
            self.assertEqual(device.system_uuid,
                             inventory['system_vendor']['system_uuid'])
            self.assertEqual('Intel Corporation',
                             inventory['system_vendor']['manufacturer'])
            self.assertIn('product_name', inventory['system_vendor'])
            self.assertIn('serial_number', inventory['system_vendor'])
            self.assertEqual({'pxe_interface': wired}, inventory['boot'])
            features = {name: {'supported': True, 'enabled': True}
                        for name in ('sol', 'ider', 'kvm', 'https_boot',
                                     'rpe')}
            self.assertEqual({
                'firmware_version': '16.1.25', 'firmware_build': '2124',
                'sku': '16392', 'wired_macs': [wired],
                'wireless_macs': [wireless], 'provisioning_mode': 'acm',
                'user_consent': 'none', 'traits': ALL_TRAITS,
                'features': features}, plugin_data['amt'])
            self.assertNotEqual(
                [], self.requests(scheme=protocol, action='Pull'))
        # The port belongs to the first node inspected.
        ports = objects.Port.list(self.context)
        self.assertEqual([(wired, True)],
                         [(port.address, port.pxe_enabled) for port in ports])
        # Inventory is read while the host is off, without powering it on.
        self.assertEqual(8, device.power_state)
        self.assertEqual([], self.requests(action='Invoke'))
        self.assertEqual([], device.boot_history)

    def test_port_of_another_node_is_not_duplicated(self):
        first = self._inspect()
        second = self._inspect()
        self.assertEqual(1, len(self._ports(first)))
        self.assertEqual({}, self._ports(second))

    def test_old_firmware_without_connection_type(self):
        node = self._inspect('old')
        _inventory, plugin_data = self._stored(node)
        self.assertEqual(['02:11:22:33:44:77'],
                         plugin_data['amt']['wired_macs'])
        self.assertEqual(['02:11:22:33:44:66'],
                         plugin_data['amt']['wireless_macs'])
        self.assertEqual('12.0.67', plugin_data['amt']['firmware_version'])
        self.assertEqual({'02:11:22:33:44:77': True}, self._ports(node))

    def test_memory_over_several_pull_pages(self):
        node = self._inspect('big')
        self.assertEqual(40 * 8 * 1024, node.properties['memory_mb'])
        pulls = self.requests('big', action='Pull',
                              resource='CIM_PhysicalMemory')
        self.assertEqual(2, len(pulls))

    def test_no_wired_nic_is_partial(self):
        node = self._inspect('nowired')
        self.assertEqual(16384 * 2, node.properties['memory_mb'])
        inventory, plugin_data = self._stored(node)
        self.assertNotIn('boot', inventory)
        self.assertEqual(['02:11:22:33:44:55'],
                         plugin_data['amt']['wireless_macs'])
        self.assertEqual({}, self._ports(node))

    def test_no_memory_records_fail(self):
        node, error = self._fails('nomemory')
        self.assertIn('memory_mb', str(error))
        node.refresh()
        self.assertEqual({}, self._ports(node))

    def test_odd_units_are_skipped(self):
        # One of the two modules says "16 GB": the other one is counted;
        # the only disk says "1 TB": a disk-less node.
        node = self._inspect('odd')
        self.assertEqual(16384, node.properties['memory_mb'])
        self.assertEqual(0, node.properties['local_gb'])

    def test_memory_in_megabytes_fails(self):
        node, error = self._fails('garbled')
        self.assertIn('memory_mb', str(error))

    def _traits(self, node):
        return sorted(objects.TraitList.get_by_node_id(
            self.context, node.id).get_trait_names())

    def test_features_per_profile(self):
        # Profile -> (version, features that are not enabled, traits).
        expected = {
            'amt11': ('11.8', {'amt_https_boot': 'unsupported',
                               'amt_rpe': 'unsupported'},
                      ['CUSTOM_AMT_ACM', 'CUSTOM_AMT_KVM',
                       'CUSTOM_AMT_SOL']),
            'amt12': ('12.0', {'amt_https_boot': 'unsupported',
                               'amt_rpe': 'unsupported'},
                      ['CUSTOM_AMT_ACM', 'CUSTOM_AMT_KVM',
                       'CUSTOM_AMT_SOL']),
            'dev': ('16.1', {}, ALL_TRAITS),
            'amt19': ('19.0', {}, ALL_TRAITS),
        }
        for name, (version, off, traits) in expected.items():
            # AMT 19 serves TLS only.
            node = self._inspect(name, 'https' if name == 'amt19' else 'http')
            wanted = dict(ALL_ENABLED, amt_version=version, **off)
            self.assertEqual(wanted, capabilities(
                node.properties['capabilities']), name)
            self.assertEqual(traits, self._traits(node), name)

    def test_client_control_mode_and_disabled_features(self):
        node = self._inspect('ccm', 'https')
        self.assertEqual(dict(
            ALL_ENABLED, amt_version='19.0', amt_provisioning_mode='ccm',
            amt_user_consent='all', amt_sol='disabled',
            amt_ider='disabled', amt_kvm='disabled', amt_rpe='disabled'),
            capabilities(node.properties['capabilities']))
        self.assertEqual(['CUSTOM_AMT_CCM', 'CUSTOM_AMT_HTTPS_BOOT'],
                         self._traits(node))
        # Out of band and read-only: nothing was changed on the device.
        self.assertEqual([], self.requests('ccm', action='Invoke'))
        self.assertEqual([], self.requests('ccm', action='Put'))
