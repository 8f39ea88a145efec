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

"""The simulator's consent, redirection, OCR/RPE and boot-state classes.

Driven over real sockets with the package's WS-Man client (which shares
no code with the simulator).
"""

import base64
import struct

import testtools

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import resource_uris as uris

PASSWORD = 'Feat-Passw0rd!'
BOOT_CONFIG = {'InstanceID': 'Intel(r) AMT: Boot Configuration 0'}
BOOT_SERVICE = {'Name': 'Intel(r) AMT Boot Service'}
SETTINGS = {'InstanceID': 'Intel(r) AMT:BootSettingData 0'}
PXE = 'Intel(r) AMT: Force PXE Boot'
SSD_ERASE = 1 << 2
TPM_CLEAR = 1 << 6


def rpe_parameters(mask):
    """The one-TLV UefiBootParametersArray of an erase request."""
    return base64.b64encode(struct.pack('<HHII', 0x8086, 1, 4,
                                        mask)).decode()


class SimulatorFeaturesTestCase(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        specs = [
            DeviceSpec('acm', password=PASSWORD, power_delay=0),
            DeviceSpec('ccm', password=PASSWORD, power_delay=0,
                       control_mode=4),
            DeviceSpec('old', password=PASSWORD, power_delay=0,
                       profile='12'),
        ]
        cls.simulator = Simulator(devices=specs)
        cls.simulator.start()

    @classmethod
    def tearDownClass(cls):
        cls.simulator.stop()
        super().tearDownClass()

    def client(self, name, protocol='http'):
        device = self.simulator.device(name)
        port = device.https_port if protocol == 'https' else device.http_port
        client = wsman.Client(device.address, device.username, PASSWORD,
                              protocol=protocol, port=port,
                              verify=self.simulator.ca_cert_path,
                              attempts=1, retry_wait=0)
        self.addCleanup(client.close)
        return client

    def setUp(self):
        super().setUp()
        for device in self.simulator.devices:
            device.set_power_state(8)
            device.consent.cancel()
            device.boot.clear_override()

    # Helpers ------------------------------------------------------------

    def settings(self, client, **changes):
        instance = client.get(uris.AMT_BootSettingData, SETTINGS)
        instance.update(changes)
        return client.put(uris.AMT_BootSettingData, instance, SETTINGS)

    def change_boot_order(self, client, source=PXE):
        arguments = ()
        if source:
            arguments = [('Source', wsman.EndpointReference(
                uris.CIM_BootSourceSetting, {'InstanceID': source}))]
        return client.invoke(uris.CIM_BootConfigSetting, 'ChangeBootOrder',
                             arguments=arguments, selectors=BOOT_CONFIG)

    def set_role(self, client, role=1):
        return client.invoke(
            uris.CIM_BootService, 'SetBootConfigRole',
            arguments=[('BootConfigSetting', wsman.EndpointReference(
                uris.CIM_BootConfigSetting, BOOT_CONFIG)), ('Role', role)],
            selectors=BOOT_SERVICE)

    def opt_in(self, client, method, *arguments):
        return client.invoke(uris.IPS_OptInService, method,
                             arguments=arguments)

    def is_next(self, client):
        for item in client.enumerate(uris.CIM_ElementSettingData):
            setting = item['SettingData']['ReferenceParameters']
            if setting['SelectorSet'] == BOOT_CONFIG:
                return item['IsNext']

    # Consent --------------------------------------------------------------

    def test_client_control_mode_needs_consent_for_boot_control(self):
        client = self.client('ccm')
        device = self.simulator.device('ccm')
        setup = client.get(uris.AMT_SetupAndConfigurationService)
        opt_in = client.get(uris.IPS_OptInService)
        self.assertEqual(('4', '4294967295', '0'),
                         (setup['ProvisioningMode'],
                          opt_in['OptInRequired'], opt_in['OptInState']))
        fault = self.assertRaises(exceptions.WSManFault, self.settings,
                                  client)
        self.assertEqual('AccessDenied', fault.subcode)
        for call in (self.change_boot_order, self.set_role):
            error = self.assertRaises(exceptions.WSManReturnValueError,
                                      call, client)
            self.assertEqual(6, error.code)
        # Power control needs no consent.
        client.invoke(uris.CIM_PowerManagementService,
                      'RequestPowerStateChange',
                      arguments=[('PowerState', 2), (
                          'ManagedElement', wsman.EndpointReference(
                              uris.CIM_ComputerSystem,
                              {'CreationClassName': 'CIM_ComputerSystem',
                               'Name': 'ManagedSystem'}))])
        self.assertEqual(2, device.power_state)

    def test_opt_in_code_then_boot_ends_consent(self):
        client = self.client('ccm')
        device = self.simulator.device('ccm')
        self.opt_in(client, 'StartOptIn')
        # The host is off: the code cannot be shown yet.
        self.assertEqual('1', client.get(uris.IPS_OptInService)[
            'OptInState'])
        self.assertIsNone(device.consent.displayed_code)
        error = self.assertRaises(exceptions.WSManReturnValueError,
                                  self.opt_in, client, 'SendOptInCode',
                                  ('OptInCode', 1))
        self.assertEqual(2, error.code)
        device.set_power_state(2)
        code = device.consent.displayed_code
        self.assertRegex(code, r'^\d{6}$')
        self.assertEqual('2', client.get(uris.IPS_OptInService)[
            'OptInState'])
        wrong = (int(code) + 1) % 10 ** 6
        self.assertRaises(exceptions.WSManReturnValueError, self.opt_in,
                          client, 'SendOptInCode', ('OptInCode', wrong))
        self.opt_in(client, 'SendOptInCode', ('OptInCode', int(code)))
        self.assertEqual('3', client.get(uris.IPS_OptInService)[
            'OptInState'])
        # Consent given: the override can be armed and is used.
        self.change_boot_order(client, None)
        self.settings(client)
        self.set_role(client)
        self.change_boot_order(client)
        self.assertEqual('3', self.is_next(client))
        event = device.os_boot()
        self.assertEqual(('pxe', True), (event['source'], event['override']))
        # The boot ended the consent: the next override needs a new code.
        self.assertEqual('0', client.get(uris.IPS_OptInService)[
            'OptInState'])
        self.assertRaises(exceptions.WSManReturnValueError, self.set_role,
                          client)
        # The code is never logged.
        self.assertNotIn(code, repr(device.request_log))

    def test_cancel_clears_the_pending_override(self):
        client = self.client('ccm')
        device = self.simulator.device('ccm')
        device.set_power_state(2)
        self.opt_in(client, 'StartOptIn')
        self.opt_in(client, 'SendOptInCode',
                    ('OptInCode', int(device.consent.displayed_code)))
        self.set_role(client)
        self.change_boot_order(client)
        self.assertTrue(device.boot_override['armed'])
        self.opt_in(client, 'CancelOptIn')
        self.assertFalse(device.boot_override['armed'])
        self.assertEqual('disk', device.os_boot()['source'])

    def test_admin_control_mode_without_consent(self):
        client = self.client('acm')
        self.assertEqual('1', client.get(
            uris.AMT_SetupAndConfigurationService)['ProvisioningMode'])
        error = self.assertRaises(exceptions.WSManReturnValueError,
                                  self.opt_in, client, 'StartOptIn')
        self.assertEqual(2, error.code)
        self.set_role(client)

    # Boot state -----------------------------------------------------------

    def test_is_next_and_host_boot_reason(self):
        client = self.client('acm')
        device = self.simulator.device('acm')
        self.assertEqual('2', self.is_next(client))
        self.set_role(client)
        self.change_boot_order(client)
        self.assertEqual('3', self.is_next(client))
        device.set_power_state(2)    # a boot: the override is consumed
        self.assertEqual('2', self.is_next(client))
        reason = client.get(uris.IPS_HostBootReason)
        self.assertEqual(('2', 'Power Up', '5'),
                         (reason['Reason'], reason['ReasonDetails'],
                          reason['PreviousSxState']))
        device.os_boot()
        reason = client.get(uris.IPS_HostBootReason)
        self.assertEqual(('1', '0'), (reason['Reason'],
                                      reason['PreviousSxState']))

    # Redirection ----------------------------------------------------------

    def test_redirection_state(self):
        client = self.client('acm')
        service = {'Name': 'Intel(r) AMT Redirection Service'}
        client.invoke(uris.AMT_RedirectionService, 'RequestStateChange',
                      arguments=[('RequestedState', 32769)],
                      selectors=service)
        instance = client.get(uris.AMT_RedirectionService, service)
        self.assertEqual('32769', instance['EnabledState'])
        instance['ListenerEnabled'] = False
        client.put(uris.AMT_RedirectionService, instance, service)
        self.assertEqual('false', client.get(
            uris.AMT_RedirectionService)['ListenerEnabled'])
        client.invoke(uris.AMT_RedirectionService, 'RequestStateChange',
                      arguments=[('RequestedState', 32771)],
                      selectors=service)
        instance['ListenerEnabled'] = True
        client.put(uris.AMT_RedirectionService, instance, service)
        self.assertEqual(('32771', 'true'), tuple(
            client.get(uris.AMT_RedirectionService)[key]
            for key in ('EnabledState', 'ListenerEnabled')))
        error = self.assertRaises(
            exceptions.WSManReturnValueError, client.invoke,
            uris.AMT_RedirectionService, 'RequestStateChange',
            arguments=[('RequestedState', 2)], selectors=service)
        self.assertEqual(5, error.code)

    # Remote Platform Erase -----------------------------------------------

    def _erase_request(self, client, mask):
        self.settings(client, PlatformErase=True,
                      UefiBootParametersArray=rpe_parameters(mask),
                      UefiBootNumberOfParams=1)
        self.set_role(client)

    def test_platform_erase_runs_at_a_power_cycle_only(self):
        client = self.client('acm', 'https')
        device = self.simulator.device('acm')
        self.assertEqual('32771', client.get(uris.CIM_BootService)[
            'EnabledState'])
        advertised = int(client.get(uris.AMT_BootCapabilities)[
            'PlatformErase'])
        self.assertTrue(advertised & 1)
        device.set_power_state(2)
        # A warm reset keeps the ME powered: BIOS never runs the erase.
        self._erase_request(client, SSD_ERASE)
        device.power.request_change(10)
        event = device.features.erase_history[-1]
        self.assertEqual((['ssd_erase'], False),
                         (event['devices'], event['performed']))
        self._erase_request(client, SSD_ERASE | TPM_CLEAR)
        device.power.request_change(5)
        event = device.features.erase_history[-1]
        self.assertEqual((['ssd_erase', 'tpm_clear'], True, 5),
                         (event['devices'], event['performed'],
                          event['via']))
        self.assertEqual('disk', device.last_boot_source)
        self.assertEqual('false', client.get(
            uris.AMT_BootSettingData, SETTINGS)['PlatformErase'])

    def test_platform_erase_refusals(self):
        https = self.client('acm', 'https')
        # Over plain HTTP the firmware refuses it.
        fault = self.assertRaises(exceptions.WSManFault, self.settings,
                                  self.client('acm'), PlatformErase=True,
                                  UefiBootParametersArray=rpe_parameters(
                                      SSD_ERASE),
                                  UefiBootNumberOfParams=1)
        self.assertEqual('InvalidRepresentation', fault.subcode)
        for params, count in ((rpe_parameters(1 << 31), 1),   # unoffered
                              (rpe_parameters(SSD_ERASE), 2),
                              ('not base64!', 1), ('', 0)):
            self.assertRaises(exceptions.WSManFault, self.settings, https,
                              PlatformErase=True,
                              UefiBootParametersArray=params,
                              UefiBootNumberOfParams=count)
        # RPE off in the boot service: refused until it is turned on.
        https.invoke(uris.CIM_BootService, 'RequestStateChange',
                     arguments=[('RequestedState', 32769)],
                     selectors=BOOT_SERVICE)
        self.assertRaises(exceptions.WSManFault, self._erase_request,
                          https, SSD_ERASE)
        https.invoke(uris.CIM_BootService, 'RequestStateChange',
                     arguments=[('RequestedState', 32771)],
                     selectors=BOOT_SERVICE)
        # Nothing refused was stored.
        self.assertEqual('false', https.get(uris.AMT_BootSettingData,
                                            SETTINGS)['PlatformErase'])

    def test_old_firmware_has_no_ocr_nor_rpe(self):
        client = self.client('old')
        self.assertEqual('2', client.get(uris.CIM_BootService)[
            'EnabledState'])
        self.assertNotIn('PlatformErase',
                         client.get(uris.AMT_BootCapabilities))
        error = self.assertRaises(
            exceptions.WSManReturnValueError, client.invoke,
            uris.CIM_BootService, 'RequestStateChange',
            arguments=[('RequestedState', 32770)], selectors=BOOT_SERVICE)
        self.assertEqual(1, error.code)
        self.assertRaises(exceptions.WSManFault, self.settings, client,
                          PlatformErase=True,
                          UefiBootParametersArray=rpe_parameters(SSD_ERASE),
                          UefiBootNumberOfParams=1)

    def test_spec_features_are_validated(self):
        for features in ({'unknown': True}, {'sol': 'yes'},
                         {'user_consent': 'sometimes'}):
            self.assertRaises(ValueError, DeviceSpec, 'x', features=features)
        self.assertRaises(ValueError, DeviceSpec, 'x', profile='12',
                          features={'rpe_service': True})
