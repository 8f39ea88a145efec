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

"""Fidelity of the simulator to recorded AMT replies.

Shapes come from replies recorded on real firmware (Intel's
go-wsman-messages fixtures, see doc/source/simulator.rst); requests are
written here from the protocol notes, independently of the driver.
"""

import socket

from ironic_amt.tests.functional import test_simulator as base

IPS = 'http://intel.com/wbem/wscim/1/ips-schema/1/'
TRANSFER = base.TRANSFER
ENUMERATION = base.ENUMERATION
NS = base.NS


def uri(class_name):
    if class_name.startswith('IPS_'):
        return IPS + class_name
    return base.class_uri(class_name)


def instance_body(class_name, fields):
    inner = ''.join('<h:%s>%s</h:%s>' % (k, v, k) for k, v in fields)
    return '<h:%s xmlns:h="%s">%s</h:%s>' % (class_name, uri(class_name),
                                             inner, class_name)


class FidelityTestCase(base.SimulatorTestCase):

    def request(self, action, class_name, body='', selectors=None,
                expect=200):
        response = self.post(base.envelope(action, uri(class_name), body,
                                           selectors))
        self.assertEqual(expect, response.status_code, response.text)
        return response

    def get_element(self, class_name, selectors=None):
        response = self.request(TRANSFER + 'Get', class_name,
                                selectors=selectors)
        return base.parse(response.content).find('s:Body', NS)[0]

    def get_fields(self, class_name):
        return base.fields_of(self.get_element(class_name))

    def put(self, class_name, fields, expect=200):
        return self.request(TRANSFER + 'Put', class_name,
                            instance_body(class_name, fields),
                            expect=expect)

    def put_back(self, class_name, expect=200, drop=(), **changes):
        """Put what a Get returned, with changes (the TWM way)."""
        fields = [(k, v) for k, v in self.get_fields(class_name).items()
                  if k not in drop and not isinstance(v, list)]
        fields = [(k, changes.pop(k, v)) for k, v in fields]
        return self.put(class_name, fields + list(changes.items()), expect)

    def invoke_method(self, class_name, method, inner):
        body = ('<h:%s_INPUT xmlns:h="%s">%s</h:%s_INPUT>'
                % (method, uri(class_name), inner, method))
        response = self.request(uri(class_name) + '/' + method, class_name,
                                body)
        value = base.parse(response.content).find(
            './/{%s}ReturnValue' % uri(class_name))
        return int(value.text)

    def enumerate_all(self, class_name):
        response = self.request(ENUMERATION + 'Enumerate', class_name,
                                '<Enumerate xmlns="%s"/>' % NS['wsen'])
        context = base.parse(response.content).find(
            './/wsen:EnumerationContext', NS).text
        response = self.request(
            ENUMERATION + 'Pull', class_name,
            '<Pull xmlns="%s"><EnumerationContext>%s</EnumerationContext>'
            '<MaxElements>99</MaxElements></Pull>' % (NS['wsen'], context))
        return list(base.parse(response.content).find('.//wsen:Items', NS))


def local(element):
    return element.tag.rsplit('}', 1)[-1]


def reference(element):
    """(Address, ResourceURI, [(selector name, value)]) of an EPR field."""
    address = element.find('wsa:Address', NS).text
    params = element.find('wsa:ReferenceParameters', NS)
    return (address, params.find('wsman:ResourceURI', NS).text,
            [(s.get('Name'), s.text) for s in params.findall(
                'wsman:SelectorSet/wsman:Selector', NS)])


class ReferenceTestCase(FidelityTestCase):

    def test_association_references_serialise_as_recorded(self):
        # GWM cim/associatedpower/managementservice/get.xml.
        element = self.get_element('CIM_AssociatedPowerManagementService')
        provided = element.find('{%s}ServiceProvided'
                                % uri('CIM_AssociatedPowerManagementService'))
        self.assertEqual(
            (NS['wsa'] + '/role/anonymous',
             uri('CIM_PowerManagementService'),
             [('CreationClassName', 'CIM_PowerManagementService'),
              ('Name', 'Intel(r) AMT Power Management Service'),
              ('SystemCreationClassName', 'CIM_ComputerSystem'),
              ('SystemName', 'Intel(r) AMT')]),
            reference(provided))
        # One element per reference, not one per tuple member.
        self.assertEqual(1, len(element.findall(
            '{%s}ServiceProvided'
            % uri('CIM_AssociatedPowerManagementService'))))

    def test_system_package_references(self):
        # GWM cim/computer/systempackage/get.xml.
        element = self.get_element('CIM_ComputerSystemPackage')
        ns = uri('CIM_ComputerSystemPackage')
        self.assertEqual(
            (NS['wsa'] + '/role/anonymous', uri('CIM_Chassis'),
             [('CreationClassName', 'CIM_Chassis'),
              ('Tag', 'CIM_Chassis')]),
            reference(element.find('{%s}Antecedent' % ns)))
        self.assertEqual(
            [('CreationClassName', 'CIM_ComputerSystem'),
             ('Name', 'ManagedSystem')],
            reference(element.find('{%s}Dependent' % ns))[2])


class ConsoleClassesTestCase(FidelityTestCase):

    spec = {'power_state': 2}

    def test_abstract_classes_enumerate_their_subclasses(self):
        # GWM cim/physical and cim/system: the Pull items are the
        # concrete subclasses.
        items = self.enumerate_all('CIM_PhysicalPackage')
        self.assertEqual(['CIM_Card', 'CIM_Chassis'],
                         [local(i) for i in items])
        self.assertEqual(uri('CIM_Card'), items[0].tag[1:].split('}')[0])
        items = self.enumerate_all('CIM_SystemPackaging')
        self.assertEqual(['CIM_ComputerSystemPackage'],
                         [local(i) for i in items])

    def test_setup_and_configuration_service(self):
        fields = self.get_fields('AMT_SetupAndConfigurationService')
        self.assertEqual(('1', '2', 'Intel(r) AMT Setup and Configuration '
                          'Service'),
                         (fields['ProvisioningMode'],
                          fields['ProvisioningState'], fields['Name']))

    def test_ips_power_management_service(self):
        fields = self.get_fields('IPS_PowerManagementService')
        self.assertEqual('2', fields['OSPowerSavingState'])
        self.dev.set_power_state(8)
        self.assertNotIn('OSPowerSavingState',
                         self.get_fields('IPS_PowerManagementService'))

    def test_classes_missing_from_a_device_are_unreachable(self):
        response = self.request(TRANSFER + 'Get', 'IPS_HostBasedSetupNope',
                                expect=400)
        self.assertEqual('DestinationUnreachable',
                         base.fault_subcode(response.content))


class BootSettingPutTestCase(FidelityTestCase):

    def test_read_back_like_firmware(self):
        fields = self.get_fields('AMT_BootSettingData')
        # GWM amt/boot/settingdata/get.xml: RSEPassword is present and
        # empty, the empty parameter array is left out.
        self.assertEqual('', fields['RSEPassword'])
        self.assertNotIn('UefiBootParametersArray', fields)
        self.assertEqual(['2', '0'], fields['BIOSLastStatus'])

    def test_unknown_field_is_refused(self):
        response = self.put_back('AMT_BootSettingData', expect=400,
                                 ForceUEFILocalPBABoot='true')
        self.assertEqual('InvalidRepresentation',
                         base.fault_subcode(response.content))

    def test_changed_read_only_field_is_refused_and_kept(self):
        current = self.get_fields('AMT_BootSettingData')
        for name in ('OptionsCleared', 'UEFIHTTPSBootEnabled',
                     'RPEEnabled'):
            flipped = 'false' if current[name] == 'true' else 'true'
            response = self.put_back('AMT_BootSettingData', expect=400,
                                     **{name: flipped})
            self.assertEqual('InvalidRepresentation',
                             base.fault_subcode(response.content))
            self.assertIn(name, response.text)
        self.assertEqual('true',
                         self.get_fields('AMT_BootSettingData')[
                             'UEFIHTTPSBootEnabled'])

    def test_echoed_read_only_fields_and_secrets(self):
        self.put_back('AMT_BootSettingData', BIOSPause='true',
                      RSEPassword='Ssd-Secret1')
        self.assertEqual({'BIOSPause': True, 'RSEPassword': '***'},
                         self.last_request()['args'])
        self.assertEqual('Ssd-Secret1',
                         self.dev.boot.settings['RSEPassword'])
        fields = self.get_fields('AMT_BootSettingData')
        self.assertEqual(('true', ''), (fields['BIOSPause'],
                                        fields['RSEPassword']))
        # The empty string read back keeps the stored password.
        self.put_back('AMT_BootSettingData')
        self.assertEqual('Ssd-Secret1',
                         self.dev.boot.settings['RSEPassword'])

    def test_only_changed_fields_put(self):
        self.put('AMT_BootSettingData', [('BIOSSetup', 'true')])
        self.assertTrue(self.dev.boot.settings['BIOSSetup'])
        self.assertEqual({'BIOSSetup': True}, self.last_request()['args'])


class KVMTestCase(FidelityTestCase):

    spec = {'power_state': 2}

    def test_kvm_sap_states(self):
        fields = self.get_fields('CIM_KVMRedirectionSAP')
        self.assertEqual(('3', '4'), (fields['EnabledState'],
                                      fields['KVMProtocol']))
        self.assertEqual(0, self.invoke_method(
            'CIM_KVMRedirectionSAP', 'RequestStateChange',
            '<h:RequestedState>2</h:RequestedState>'))
        # Enabled and idle reads 6 with RequestedState 2, as recorded.
        fields = self.get_fields('CIM_KVMRedirectionSAP')
        self.assertEqual(('6', '2'), (fields['EnabledState'],
                                      fields['RequestedState']))
        holder = object()
        self.assertTrue(self.dev.kvm.acquire(holder))
        self.addCleanup(self.dev.kvm.release, holder)
        self.assertEqual('2', self.get_fields('CIM_KVMRedirectionSAP')[
            'EnabledState'])
        # An open KVM session refuses power off and power cycles (SDK).
        self.assertEqual(2, self.power(8))
        self.assertEqual(2, self.power(5))
        self.dev.kvm.release(holder)
        self.power_and_wait(8, 8)

    def test_kvm_settings_put(self):
        fields = self.get_fields('IPS_KVMRedirectionSettingData')
        self.assertEqual(('', 'true', 'false'),
                         (fields['RFBPassword'], fields['EnabledByMEBx'],
                          fields['Is5900PortEnabled']))
        self.put_back('IPS_KVMRedirectionSettingData', expect=400,
                      Is5900PortEnabled='true')
        for bad in ('Sh0rt!', 'nouppercase1!', 'NoDigits!', 'N0Special'):
            self.put_back('IPS_KVMRedirectionSettingData', expect=400,
                          Is5900PortEnabled='true', RFBPassword=bad)
        self.put_back('IPS_KVMRedirectionSettingData',
                      Is5900PortEnabled='true', RFBPassword='Rfb-P4ss')
        self.assertEqual({'Is5900PortEnabled': True, 'RFBPassword': '***'},
                         self.last_request()['args'])
        self.assertEqual('', self.get_fields(
            'IPS_KVMRedirectionSettingData')['RFBPassword'])
        response = self.put_back('IPS_KVMRedirectionSettingData',
                                 expect=400, EnabledByMEBx='false')
        self.assertEqual('InvalidRepresentation',
                         base.fault_subcode(response.content))


class PersistenceTestCase(FidelityTestCase):

    def test_settings_survive_a_restart(self):
        self.put_back('IPS_KVMRedirectionSettingData',
                      Is5900PortEnabled='true', RFBPassword='Rfb-P4ss')
        self.put_back('AMT_BootSettingData', RSEPassword='Ssd-Secret1')
        snapshot = self.dev.snapshot()
        self.dev.kvm.settings.reset()
        self.dev.boot.data.reset()
        self.dev.restore(snapshot)
        self.assertEqual(('Rfb-P4ss', 'Ssd-Secret1'),
                         (self.dev.kvm.settings.values['RFBPassword'],
                          self.dev.boot.settings['RSEPassword']))


HTTPS_SOURCE = 'Intel(r) AMT: Force OCR UEFI HTTPS Boot'


class OldFirmwareOcrTestCase(FidelityTestCase):

    spec = {'profile': '12'}

    def test_no_ocr_sources_nor_capabilities(self):
        caps = self.get_fields('AMT_BootCapabilities')
        self.assertNotIn('ForceUEFIHTTPSBoot', caps)
        self.assertEqual('false', self.get_fields('AMT_BootSettingData')[
            'UEFIHTTPSBootEnabled'])
        self.assertNotIn(HTTPS_SOURCE, self.dev.boot_sources)


class BootCapabilitiesTestCase(FidelityTestCase):

    def test_field_names_of_recorded_firmware(self):
        caps = self.get_fields('AMT_BootCapabilities')
        # GWM amt/boot/capabilities/get.xml plus the OCR fields.
        for name in ('VerbosityQuiet', 'VerbosityScreenBlank',
                     'VerbosityVerbose', 'ForceUEFIPBABoot',
                     'ForceUEFIHTTPSBoot', 'ForceWinREBoot',
                     'AMTSecureBootControl', 'PlatformErase'):
            self.assertIn(name, caps)
        self.assertNotIn('ForceUEFILocalPBABoot', caps)


class HttpErrorTestCase(FidelityTestCase):

    def exchange(self, data):
        """Send raw bytes; read until the device closes (bounded)."""
        sock = socket.create_connection(('127.0.0.1', self.dev.http_port),
                                        timeout=base.WAIT)
        self.addCleanup(sock.close)
        sock.sendall(data)
        received = b''
        for _ in range(64):
            chunk = sock.recv(4096)
            if not chunk:
                return received, True
            received += chunk
        return received, False

    def test_malformed_requests_get_an_html_page_and_close(self):
        for data in (b'GARBAGE\r\n\r\n',
                     b'POST /wsman HTTP/1.1\r\nNo colon here\r\n\r\n',
                     b'POST /wsman HTTP/1.1\r\nContent-Length: x\r\n\r\n',
                     b'POST /wsman HTTP/1.1\r\nTransfer-Encoding: chunked'
                     b'\r\n\r\nzz\r\n'):
            answer, closed = self.exchange(data)
            head, _, body = answer.partition(b'\r\n\r\n')
            lines = head.decode('latin-1').split('\r\n')
            self.assertEqual('HTTP/1.1 400 Bad Request', lines[0])
            headers = dict(line.split(': ', 1) for line in lines[1:])
            self.assertEqual('text/html', headers['Content-Type'])
            self.assertEqual('close', headers['Connection'])
            self.assertTrue(headers['Server'].startswith(
                'Intel(R) Active Management Technology'))
            self.assertIn(b'<html>', body)
            self.assertTrue(closed)
