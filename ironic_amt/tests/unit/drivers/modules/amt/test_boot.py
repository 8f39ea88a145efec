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

"""The amt-https boot interface and its OCR helpers."""

import base64
import os
from unittest import mock

import fixtures
from ironic.common import boot_devices
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager
from ironic.conductor import utils as manager_utils
from ironic.drivers.modules import deploy_utils
from ironic.drivers.modules import image_utils

from ironic_amt.drivers.modules.amt import boot
from ironic_amt.drivers.modules.amt import https_boot
from ironic_amt.tests.unit.drivers.modules.amt import utils
from ironic_amt.wsman import ocr

ISO_URL = 'https://images.example.com/amt/boot-x.iso'
DER = b'0\x82\x01\x00a-ca'
SUPPORTED = ocr.HttpsBootSupport(True, True, True, 32769)
INFO = dict(utils.INFO, deploy_kernel='http://h/k',
            deploy_ramdisk='http://h/r')


class HttpsBootTestCase(utils.AMTTestCase):

    driver_info = INFO

    def setUp(self):
        super().setUp()
        self.config(enabled_boot_interfaces=['pxe', 'amt-https'])
        self.config(http_url='https://images.example.com', group='deploy')
        self.node.boot_interface = 'amt-https'
        self.node.save()
        self.client = self.mock_client()
        self.read_support = self.useFixture(fixtures.MockPatchObject(
            ocr, 'read_support', autospec=True,
            return_value=SUPPORTED)).mock
        self.ca_path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'ca.pem')
        with open(self.ca_path, 'w') as f:
            f.write('-----BEGIN CERTIFICATE-----\n%s\n'
                    '-----END CERTIFICATE-----\n'
                    % base64.b64encode(DER).decode())

    def set_internal(self, **values):
        for key, value in values.items():
            self.node.set_driver_internal_info(key, value)
        self.node.save()


class ValidateTestCase(HttpsBootTestCase):

    def test_interface_and_properties(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertIsInstance(task.driver.boot, boot.AMTHttpsBoot)
            props = task.driver.boot.get_properties()
            settings = task.driver.boot.image_publisher_settings
        self.assertIn('amt_https_boot_ca', props)
        self.assertIn('deploy_kernel', props)
        self.assertFalse(settings.swift_enabled)
        self.assertEqual('amt', settings.image_subdir)

    def test_validate_asks_the_device_once(self):
        for _ in range(2):
            with task_manager.acquire(self.context, self.node.uuid) as task:
                task.driver.boot.validate(task)
        self.read_support.assert_called_once_with(self.client)

    def test_validate_refuses_firmware_without_https_boot(self):
        for support, words in [
                (SUPPORTED._replace(source=False), 'CSME 15 or newer'),
                (SUPPORTED._replace(capability=False), 'ForceUEFIHTTPSBoot'),
                (SUPPORTED._replace(bios_enabled=False), 'in the BIOS')]:
            https_boot._SUPPORT.forget(self.client)
            self.read_support.return_value = support
            with task_manager.acquire(self.context, self.node.uuid) as task:
                error = self.assertRaises(https_boot.HttpsBootUnsupported,
                                          task.driver.boot.validate, task)
            self.assertIn(self.node.uuid, str(error))
            self.assertIn(words, str(error))

    def test_validate_ocr_switched_off_is_no_reason(self):
        self.read_support.return_value = SUPPORTED._replace(ocr_state=32768)
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.boot.validate(task)

    def test_validate_needs_an_https_image_server(self):
        self.config(http_url='http://images.example.com', group='deploy')
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      task.driver.boot.validate, task)
        self.assertIn('https://', str(error))
        self.read_support.assert_not_called()

    def test_validate_bad_ca(self):
        self.node.driver_info = dict(INFO, amt_https_boot_ca='/nonexistent')
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      task.driver.boot.validate, task)
        self.assertIn('driver_info/amt_https_boot_ca', str(error))
        self.config(https_boot_ca=os.devnull, group='amt')
        self.node.driver_info = INFO
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      task.driver.boot.validate, task)
        self.assertIn('[amt]https_boot_ca', str(error))

    def test_validate_missing_deploy_images(self):
        self.node.driver_info = utils.INFO
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertRaises(exception.MissingParameterValue,
                              task.driver.boot.validate, task)


class PrepareTestCase(HttpsBootTestCase):

    @mock.patch.object(manager_utils, 'node_power_action', autospec=True)
    @mock.patch.object(image_utils, 'prepare_deploy_iso', autospec=True,
                       return_value=ISO_URL)
    def test_prepare_ramdisk(self, mock_iso, mock_power):
        self.node.provision_state = states.DEPLOYING
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            params = {'ipa-api-url': 'http://ironic'}
            task.driver.boot.prepare_ramdisk(task, params)
            mock_power.assert_called_once_with(task, states.POWER_OFF)
            info = task.node.driver_internal_info
            self.assertEqual(info['agent_secret_token'],
                             params['ipa-agent-token'])
            self.assertEqual('vmedia', params['boot_method'])
            mock_iso.assert_called_once_with(task, params, 'deploy',
                                             mock.ANY)
            self.assertEqual(ISO_URL, info[https_boot.URL_KEY])
            self.assertTrue(info[https_boot.WATCH_KEY])
            self.assertEqual(
                {'boot_device': boot_devices.UEFIHTTP, 'persistent': False},
                task.driver.management.get_boot_device(task))

    @mock.patch.object(image_utils, 'cleanup_iso_image', autospec=True)
    def test_clean_up_ramdisk(self, mock_cleanup):
        self.set_internal(**{https_boot.URL_KEY: ISO_URL,
                             https_boot.WATCH_KEY: True})
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.boot.clean_up_ramdisk(task)
            mock_cleanup.assert_called_once_with(task)
            self.assertNotIn(https_boot.URL_KEY,
                             task.node.driver_internal_info)
            self.assertNotIn(https_boot.WATCH_KEY,
                             task.node.driver_internal_info)

    @mock.patch.object(image_utils, 'cleanup_iso_image', autospec=True)
    @mock.patch.object(image_utils, 'prepare_boot_iso', autospec=True,
                       return_value=ISO_URL)
    def test_prepare_instance_ramdisk(self, mock_iso, mock_cleanup):
        self.node.instance_info = {'kernel': 'http://h/k',
                                   'ramdisk': 'http://h/r'}
        self.node.deploy_interface = 'ramdisk'
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.boot.prepare_instance(task)
            mock_iso.assert_called_once_with(task, mock.ANY)
            self.assertEqual(ISO_URL,
                             task.node.driver_internal_info[
                                 https_boot.URL_KEY])
            self.assertEqual(
                {'boot_device': boot_devices.UEFIHTTP, 'persistent': True},
                task.driver.management.get_boot_device(task))

    @mock.patch.object(image_utils, 'cleanup_iso_image', autospec=True)
    @mock.patch.object(image_utils, 'prepare_boot_iso', autospec=True)
    def test_prepare_instance_local(self, mock_iso, mock_cleanup):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.boot.prepare_instance(task)
            mock_iso.assert_not_called()
            self.assertEqual(
                {'boot_device': boot_devices.DISK, 'persistent': True},
                task.driver.management.get_boot_device(task))


class ArmingTestCase(HttpsBootTestCase):

    def setUp(self):
        super().setUp()
        self.client.get.return_value = {
            'InstanceID': 'Intel(r) AMT:BootSettingData 0',
            'UefiBootParametersArray': '', 'UefiBootNumberOfParams': '0'}
        self.client.enumerate.return_value = []

    def test_set_boot_device_needs_a_prepared_image(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertIn(boot_devices.UEFIHTTP,
                          task.driver.management.get_supported_boot_devices(
                              task))
            self.assertRaises(exception.InvalidParameterValue,
                              task.driver.management.set_boot_device,
                              task, boot_devices.UEFIHTTP)

    def test_pxe_nodes_do_not_offer_uefihttp(self):
        self.node.boot_interface = 'pxe'
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertNotIn(
                boot_devices.UEFIHTTP,
                task.driver.management.get_supported_boot_devices(task))

    def _arm(self):
        self.set_internal(**{https_boot.URL_KEY: ISO_URL})
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.management.set_boot_device(task,
                                                   boot_devices.UEFIHTTP)
            task.driver.management.ensure_next_boot_device(task)
        put = self.client.put.call_args[0][1]
        return put

    def test_arm_with_ca_and_ocr_off(self):
        self.read_support.return_value = SUPPORTED._replace(ocr_state=32768)
        self.config(https_boot_ca=self.ca_path, group='amt')
        self.client.invoke.return_value = {'ReturnValue': 0}
        put = self._arm()
        self.assertEqual(ocr.encode_parameters(ISO_URL),
                         (put['UefiBootParametersArray'],
                          put['UefiBootNumberOfParams']))
        methods = [c[0][1] for c in self.client.invoke.call_args_list]
        self.assertEqual(['RequestStateChange', 'AddTrustedRootCertificate',
                          'ChangeBootOrder', 'SetBootConfigRole',
                          'ChangeBootOrder'], methods)
        self.assertEqual(
            [('Source', mock.ANY)],
            self.client.invoke.call_args_list[-1][1]['arguments'])
        # A second arming neither switches OCR on nor adds the CA again.
        self.client.invoke.reset_mock()
        self._arm()
        methods = [c[0][1] for c in self.client.invoke.call_args_list]
        self.assertEqual(['ChangeBootOrder', 'SetBootConfigRole',
                          'ChangeBootOrder'], methods)

    def test_arm_skips_a_ca_already_stored(self):
        self.node.driver_info = dict(INFO, amt_https_boot_ca=self.ca_path)
        self.node.save()
        self.client.enumerate.return_value = [
            {'TrustedRootCertficate': 'true',
             'X509Certificate': base64.b64encode(DER).decode()}]
        self._arm()
        methods = [c[0][1] for c in self.client.invoke.call_args_list]
        self.assertNotIn('AddTrustedRootCertificate', methods)

    def test_arm_refused_when_the_bios_turned_it_off(self):
        self.read_support.return_value = SUPPORTED._replace(
            bios_enabled=False)
        self.set_internal(**{https_boot.URL_KEY: ISO_URL})
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.management.set_boot_device(task,
                                                   boot_devices.UEFIHTTP)
            self.assertRaises(https_boot.HttpsBootUnsupported,
                              task.driver.management.ensure_next_boot_device,
                              task)
        self.client.put.assert_not_called()

    def test_other_boots_clear_the_parameters(self):
        self.client.get.return_value = {
            'InstanceID': 'Intel(r) AMT:BootSettingData 0',
            'UefiBootParametersArray': 'AAAA', 'UefiBootNumberOfParams': '1'}
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.management.set_boot_device(task, boot_devices.DISK)
            task.driver.management.ensure_next_boot_device(task)
        put = self.client.put.call_args[0][1]
        self.assertEqual('', put['UefiBootParametersArray'])
        self.assertEqual(0, put['UefiBootNumberOfParams'])


@mock.patch.object(deploy_utils, 'set_failed_state', autospec=True)
class BootStatusTestCase(HttpsBootTestCase):

    def setUp(self):
        super().setUp()
        self.node.provision_state = states.DEPLOYWAIT
        self.node.target_provision_state = states.ACTIVE
        self.node.save()
        self.set_internal(**{https_boot.URL_KEY: ISO_URL,
                             https_boot.WATCH_KEY: True})

    def _check(self, cleared, words):
        self.client.get.return_value = {
            'OptionsCleared': 'true' if cleared else 'false',
            'BIOSLastStatus': [str(w) for w in words]}
        with task_manager.acquire(self.context, self.node.uuid,
                                  shared=True) as task:
            task.driver.boot.check_boot_status(task)
        self.node.refresh()
        return self.node.driver_internal_info.get(https_boot.WATCH_KEY)

    def test_waits_until_the_bios_took_the_options(self, mock_fail):
        self.assertTrue(self._check(False, [0xFFFF, 2]))
        self.assertTrue(self._check(True, [1, 0]))
        mock_fail.assert_not_called()

    def test_success_ends_the_watch(self, mock_fail):
        self.assertIsNone(self._check(True, [0, 0]))
        mock_fail.assert_not_called()

    def test_untrusted_server_fails_the_deploy(self, mock_fail):
        self.assertIsNone(self._check(True, [0xFFFF, 2]))
        task, message = mock_fail.call_args[0]
        self.assertEqual({'collect_logs': False}, mock_fail.call_args[1])
        self.assertIn('could not verify the image server', message)
        self.assertIn(ISO_URL, message)
        self.assertIn(self.node.uuid, message)

    def test_missing_image_fails_the_deploy(self, mock_fail):
        self._check(True, [0xFFFF, 1])
        message = mock_fail.call_args[0][1]
        self.assertIn('could not load the boot image', message)

    @mock.patch.object(manager_utils, 'cleaning_error_handler',
                       autospec=True)
    def test_fails_cleaning_too(self, mock_clean, mock_fail):
        self.node.provision_state = states.CLEANWAIT
        self.node.save()
        self._check(True, [0xFFFF, 1])
        mock_clean.assert_called_once_with(mock.ANY, mock.ANY)
        mock_fail.assert_not_called()

    def test_fails_each_wait_with_its_handler(self, mock_fail):
        for state, handler in [
                (states.RESCUEWAIT, 'rescuing_error_handler'),
                (states.SERVICEWAIT, 'servicing_error_handler'),
                (states.INSPECTWAIT, 'inspecting_error_handler')]:
            self.node.provision_state = state
            self.node.save()
            self.set_internal(**{https_boot.WATCH_KEY: True})
            with mock.patch.object(manager_utils, handler,
                                   autospec=True) as mock_handler:
                self._check(True, [0xFFFF, 2])
            message = mock_handler.call_args[0][1]
            self.assertIn('could not verify the image server', message)
        mock_fail.assert_not_called()

    def test_unreadable_device_is_retried_later(self, mock_fail):
        self.client.get.side_effect = exception.IronicException('boom')
        with task_manager.acquire(self.context, self.node.uuid,
                                  shared=True) as task:
            task.driver.boot.check_boot_status(task)
        self.node.refresh()
        self.assertTrue(self.node.driver_internal_info[https_boot.WATCH_KEY])
        mock_fail.assert_not_called()
