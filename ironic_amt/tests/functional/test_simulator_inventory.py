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

"""Inventory classes, firmware profiles and configuration."""

import json
import os
import re
import socket
import ssl
import tempfile
import uuid

import requests
import testtools

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.tests.functional import test_simulator as base


class InventoryTestCase(base.SimulatorTestCase):

    spec = {'inventory': {'CIM_Chassis': {'Model': 'Custom 1'}}}

    def pull_all(self, class_name):
        response = self.call(base.ENUMERATION + 'Enumerate', class_name,
                             '<Enumerate xmlns="%s"/>' % base.NS['wsen'])
        context = base.parse(response.content).find(
            './/wsen:EnumerationContext', base.NS).text
        response = self.call(
            base.ENUMERATION + 'Pull', class_name,
            '<Pull xmlns="%s"><EnumerationContext>%s</EnumerationContext>'
            '<MaxElements>999</MaxElements></Pull>'
            % (base.NS['wsen'], context))
        self.assertIn('xmlns:h="%s"' % base.class_uri(class_name),
                      response.text)
        return [base.fields_of(item) for item in base.parse(
            response.content).find('.//wsen:Items', base.NS)]

    def test_platform_guid_is_byte_swapped_uuid(self):
        fields = self.get('CIM_ComputerSystemPackage')
        system = uuid.UUID(self.dev.system_uuid)
        self.assertEqual(system.bytes_le.hex().upper(),
                         fields['PlatformGUID'])
        self.assertEqual(system.hex[6:8].upper(),
                         fields['PlatformGUID'][:2])

    def test_hardware_classes(self):
        self.assertEqual('Custom 1', self.get('CIM_Chassis')['Model'])
        self.assertIn('Model', self.get('CIM_Card'))
        bios = base.parse(self.call(base.TRANSFER + 'Get',
                                    'CIM_BIOSElement').content)
        self.assertRegex(bios.find('.//common:Datetime', base.NS).text,
                         r'^\d{4}-\d\d-\d\dT')
        self.assertEqual('CPU 0',
                         self.pull_all('CIM_Processor')[0]['DeviceID'])
        self.assertEqual('CPU 0', self.pull_all('CIM_Chip')[0]['Tag'])
        memory = self.pull_all('CIM_PhysicalMemory')
        self.assertEqual(['17179869184'] * 2, [m['Capacity'] for m in memory])
        disks = self.pull_all('CIM_MediaAccessDevice')
        self.assertEqual('960197124', disks[0]['MaxMediaSize'])

    def test_ethernet_ports(self):
        ports = self.pull_all('AMT_EthernetPortSettings')
        self.assertEqual(['0', '3'],
                         [p['PhysicalConnectionType'] for p in ports])
        macs = [p['MACAddress'] for p in ports]
        for mac in macs:
            self.assertRegex(mac, r'^([0-9a-f]{2}-){5}[0-9a-f]{2}$')
        self.assertEqual(self.dev.mac_addresses, macs)

    def test_software_identity_and_settings(self):
        versions = {i['InstanceID']: i['VersionString']
                    for i in self.pull_all('CIM_SoftwareIdentity')}
        self.assertEqual('16.1.25', versions['AMT'])
        self.assertEqual('8086', versions['VendorID'])
        self.assertEqual(self.dev.realm,
                         self.get('AMT_GeneralSettings')['DigestRealm'])
        self.assertEqual('true',
                         self.get('AMT_BootCapabilities')['ForcePXEBoot'])
        caps = self.get('CIM_PowerManagementCapabilities')
        self.assertIn('8', caps['RequestedPowerStatesSupported'])

    def test_inventory_is_deterministic_per_name(self):
        other = Simulator([DeviceSpec('node-1', password='x')])
        self.assertEqual(other.device('node-1').inventory['CIM_Card'],
                         self.dev.inventory['CIM_Card'])
        self.assertEqual(other.device('node-1').mac_addresses,
                         self.dev.mac_addresses)
        third = Simulator([DeviceSpec('node-2', password='x')])
        self.assertNotEqual(third.device('node-2').mac_addresses,
                            self.dev.mac_addresses)


class LegacyProfileTestCase(base.SimulatorTestCase):

    spec = {'profile': '11.8', 'inventory': {
        'CIM_PhysicalMemory': [{'BankLabel': 'ONLY', 'Capacity': 1024}]}}

    def test_server_header_sources_and_inventory_override(self):
        response = requests.post(self.url(), timeout=base.WAIT)
        self.assertEqual('Intel(R) Active Management Technology '
                         '11.8.50.3425', response.headers['Server'])
        self.assertEqual(base.DISK, self.get('CIM_BootSourceSetting')[
            'InstanceID'])
        self.assertEqual(3, len(self.dev.boot_sources))
        self.assertEqual([{'BankLabel': 'ONLY', 'Capacity': 1024}],
                         self.dev.inventory['CIM_PhysicalMemory'])

    def _handshake(self, context):
        with socket.create_connection(('127.0.0.1', self.dev.https_port),
                                      timeout=base.WAIT) as sock:
            with context.wrap_socket(sock, server_hostname='127.0.0.1') as t:
                return t.cipher()[0]

    def test_only_plain_rsa_suites(self):
        strict = ssl.create_default_context(cafile=self.sim.ca_cert_path)
        strict.set_ciphers('ECDHE+AESGCM')
        self.assertRaises(ssl.SSLError, self._handshake, strict)
        legacy = ssl.create_default_context(cafile=self.sim.ca_cert_path)
        legacy.set_ciphers('AES128-SHA:AES256-SHA:@SECLEVEL=0')
        self.assertRegex(self._handshake(legacy), r'^AES(128|256)-SHA$')


class HttpsOnlyProfileTestCase(testtools.TestCase):

    def test_profile_19_has_no_http_listener(self):
        sim = Simulator([DeviceSpec('n', password=base.PASSWORD,
                                    profile='19')])
        sim.start()
        self.addCleanup(sim.stop)
        device = sim.device('n')
        self.assertIsNone(device.http_port)
        session = requests.Session()
        self.addCleanup(session.close)
        session.auth = requests.auth.HTTPDigestAuth('admin', base.PASSWORD)
        response = session.post(
            'https://127.0.0.1:%d/wsman' % device.https_port,
            data=base.envelope(base.TRANSFER + 'Get',
                               base.class_uri('CIM_SoftwareIdentity'),
                               selectors={'InstanceID': 'AMT'}),
            verify=sim.ca_cert_path, timeout=base.WAIT)
        self.assertIn('<g:VersionString>19.0.5</g:VersionString>',
                      response.text)


class ConfigTestCase(testtools.TestCase):

    def test_from_config_dict_and_validation(self):
        sim = Simulator.from_config({
            'defaults': {'password': 'p'}, 'control_port': 0,
            'devices': [{'name': 'a'}, {'name': 'b', 'profile': '12',
                                        'realm': 'Digest:' + 'A' * 32}]})
        self.assertEqual(['a', 'b'], [d.name for d in sim.devices])
        self.assertEqual('Digest:' + 'A' * 32, sim.device('b').realm)
        self.assertTrue(re.match(r'^Digest:[0-9A-F]{32}$',
                                 sim.device('a').realm))
        for bad in ({'devices': [{'name': 'a', 'profile': '1.0'}]},
                    {'devices': [{'name': 'a', 'power_state': 3}]},
                    {'devices': [{'name': 'a', 'realm': 'Digest:x'}]},
                    {'devices': [{'name': 'a', 'colour': 'red'}]},
                    {'devices': [{'name': 'a'}, {'name': 'a'}]},
                    {'devices': [], 'extra': 1},
                    {'no_devices': []}):
            self.assertRaises(ValueError, Simulator.from_config, bad)

    def test_state_dir_keeps_ca_and_state(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(lambda: [os.remove(os.path.join(tmp, f))
                                 for f in os.listdir(tmp)]
                        and os.rmdir(tmp))
        path = os.path.join(tmp, 'sim.json')
        with open(path, 'w') as f:
            json.dump({'state_dir': tmp,
                       'devices': [{'name': 'a', 'password': 'p'}]}, f)
        sim = Simulator.from_config(path)
        sim.start()
        with open(sim.ca_cert_path) as f:
            ca = f.read()
        sim.device('a').set_power_state(2)
        sim.stop()
        again = Simulator.from_config(path)
        again.start()
        self.addCleanup(again.stop)
        with open(again.ca_cert_path) as f:
            self.assertEqual(ca, f.read())
        self.assertEqual(2, again.device('a').power_state)
        self.assertEqual(['disk'], [b['source']
                                    for b in again.device('a').boot_history])

    def test_port_in_use(self):
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.bind(('127.0.0.1', 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        sim = Simulator([DeviceSpec('a', password='p', http_port=port)])
        self.assertRaises(OSError, sim.start)
        sim.stop()
