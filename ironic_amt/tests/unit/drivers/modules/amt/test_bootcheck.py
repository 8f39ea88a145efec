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

"""Parsing what the device says about overrides, erase masks, versions."""

from unittest import mock

from ironic.common import exception
import testtools

from ironic_amt.drivers.modules.amt import bootcheck
from ironic_amt.drivers.modules.amt import features
from ironic_amt.drivers.modules.amt import rpe
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import resource_uris

BOOT_CONFIG = {'ReferenceParameters': {
    'ResourceURI': resource_uris.CIM_BootConfigSetting,
    'SelectorSet': {'InstanceID': 'Intel(r) AMT: Boot Configuration 0'}}}
OTHER = {'ReferenceParameters': {
    'ResourceURI': resource_uris.AMT_GeneralSettings,
    'SelectorSet': {'InstanceID': 'Intel(r) AMT: General Settings'}}}


class BootCheckTestCase(testtools.TestCase):

    def _client(self, settings, setting_data=(), reason=None):
        client = mock.create_autospec(wsman.Client, instance=True)

        def get(uri, selectors=None):
            if uri == resource_uris.IPS_HostBootReason:
                if reason is None:
                    raise wsman_exc.WSManFault('e', 'DestinationUnreachable',
                                               'no')
                return reason
            return settings

        client.get.side_effect = get
        client.enumerate.return_value = list(setting_data)
        return client

    def test_bios_status(self):
        self.assertEqual((65535, 3), bootcheck.bios_status(
            {'BIOSLastStatus': ['65535', '3', '9']}))
        self.assertEqual((2,), bootcheck.bios_status({'BIOSLastStatus': '2'}))
        for garbled in ({}, {'BIOSLastStatus': ['x', '0']},
                        {'BIOSLastStatus': ''}):
            self.assertIsNone(bootcheck.bios_status(garbled))
        self.assertTrue(bootcheck.bios_failed((65535, 0)))
        self.assertTrue(bootcheck.bios_failed((0, 2)))
        self.assertFalse(bootcheck.bios_failed((2, 0)))
        self.assertFalse(bootcheck.bios_failed(None))
        self.assertEqual('65535 (failed), 7 (unknown)',
                         bootcheck.describe_bios_status((65535, 7)))
        self.assertEqual('not reported', bootcheck.describe_bios_status(None))

    def test_pending_is_one_get(self):
        client = self._client({'OptionsCleared': 'false'})
        seen = bootcheck.observe(client)
        self.assertFalse(seen.used)
        self.assertEqual(1, client.get.call_count)
        client.enumerate.assert_not_called()

    def test_used_is_confirmed_by_is_next(self):
        settings = {'OptionsCleared': 'true', 'BIOSLastStatus': ['0', '0']}
        reason = {'Reason': '1', 'ReasonDetails': '<script>'}
        client = self._client(settings, [
            {'IsNext': '3', 'SettingData': OTHER},
            {'IsNext': '2', 'SettingData': BOOT_CONFIG}], reason)
        seen = bootcheck.observe(client)
        self.assertTrue(seen.used)
        # Free text of the device is not passed on.
        self.assertNotIn('script', seen.boot_reason)
        client = self._client(settings, [
            {'IsNext': '3', 'SettingData': BOOT_CONFIG}], reason)
        self.assertFalse(bootcheck.observe(client).used)
        # Without the confirmation, and without IPS_HostBootReason.
        client = self._client(settings)
        seen = bootcheck.observe(client, confirm=False)
        self.assertEqual((True, None), (seen.used, seen.boot_reason))
        client.enumerate.assert_not_called()

    def test_boot_reason_details_are_mapped(self):
        client = self._client({}, reason={'Reason': '2',
                                          'ReasonDetails': 'Reset'})
        self.assertEqual('remote control (Reset)',
                         bootcheck.boot_reason(client))
        client = self._client({}, reason={'Reason': '9'})
        self.assertIsNone(bootcheck.boot_reason(client))


class EraseMaskTestCase(testtools.TestCase):

    node = mock.Mock(uuid='node-1')
    # RPE, SSD erase, verify, TPM clear, BIOS NVM clear.
    advertised = 1 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 25

    def test_default_is_every_offered_default_device(self):
        self.assertEqual(1 << 2 | 1 << 3 | 1 << 6 | 1 << 25,
                         rpe.device_mask(self.node, self.advertised, None))

    def test_named_devices(self):
        self.assertEqual(1 << 6, rpe.device_mask(self.node, self.advertised,
                                                 ['tpm', 'tpm']))
        # Verify only with a storage erase, and only where offered.
        self.assertEqual(1 << 2, rpe.device_mask(self.node, 1 | 1 << 2,
                                                 ['ssd']))

    def test_refusals(self):
        for devices in (['pyrite'], ['ssd', 'floppy'], 'ssd', [3], []):
            self.assertRaises(exception.InvalidParameterValue,
                              rpe.device_mask, self.node, self.advertised,
                              devices)
        # Firmware offering nothing erasable by default.
        self.assertRaises(exception.InvalidParameterValue, rpe.device_mask,
                          self.node, 1 | 1 << 26, None)

    def test_parameters_tlv(self):
        text, count = rpe.device_mask_parameters(1 << 2 | 1 << 3)
        self.assertEqual(('hoABAAQAAAAMAAAA', 1), (text, count))


class FeaturesTestCase(testtools.TestCase):

    def test_major_minor(self):
        for text, expected in (('16.1.25', '16.1'), ('11.8', '11.8'),
                               ('12.0.67.1000', '12.0'), ('x16.1', None),
                               ('16', None), ('', None), (None, None),
                               ('16.1,foo', None)):
            self.assertEqual(expected, features.major_minor(text), text)

    def test_consent(self):
        consent = features.parse_consent({
            'setup': {'ProvisioningMode': '4'},
            'opt_in': {'OptInRequired': '0', 'OptInState': '0'}})
        self.assertEqual(('ccm', 'all', 0), tuple(consent))
        self.assertTrue(features.consent_blocks_boot_control(consent))
        granted = consent._replace(state=3)
        self.assertFalse(features.consent_blocks_boot_control(granted))
        unknown = features.parse_consent({})
        self.assertEqual((None, None, None), tuple(unknown))
        self.assertFalse(features.consent_blocks_boot_control(unknown))
