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

from unittest import mock

from ironic.common import boot_devices
from ironic.common import exception
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import management
from ironic_amt.tests.unit.drivers.modules.amt import utils
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import resource_uris

ENDPOINT = 'http://192.0.2.10:16992/wsman'

BOOT_SETTING_DATA = {
    'BIOSLastStatus': ['2', '0'],
    'BIOSPause': 'false',
    'BIOSSetup': 'true',
    'BootMediaIndex': '1',
    'ElementName': 'Intel(r) AMT Boot Configuration Settings',
    'FirmwareVerbosity': '2',
    'InstanceID': 'Intel(r) AMT:BootSettingData 0',
    'OptionsCleared': 'true',
    'UseIDER': 'true',
    'UseSOL': 'true',
    'UseSafeMode': 'false',
}


class AMTManagementTestCase(utils.AMTTestCase):

    def setUp(self):
        super().setUp()
        self.client = self.mock_client()
        self.client.get.return_value = dict(BOOT_SETTING_DATA)
        self.mgmt = management.AMTManagement()

    def test_properties_and_validate(self):
        self.assertEqual(common.COMMON_PROPERTIES, self.mgmt.get_properties())
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertIsInstance(task.driver.management,
                                  management.AMTManagement)
            task.driver.management.validate(task)
        self.client.get.assert_not_called()

    def test_validate_bad_port(self):
        self.node.driver_info = dict(utils.INFO, amt_port='http')
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      self.mgmt.validate, task)
        self.assertIn('amt_port', str(error))

    def test_supported_boot_devices(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertEqual(
                sorted([boot_devices.PXE, boot_devices.DISK,
                        boot_devices.CDROM, boot_devices.BIOS]),
                sorted(self.mgmt.get_supported_boot_devices(task)))

    def test_set_boot_device_only_stores(self):
        for persistent in (False, True):
            with task_manager.acquire(self.context, self.node.uuid) as task:
                self.mgmt.set_boot_device(task, boot_devices.PXE,
                                          persistent=persistent)
            self.node.refresh()
            self.assertEqual(boot_devices.PXE, self.node.driver_internal_info[
                management.BOOT_DEVICE_KEY])
            self.assertIs(persistent, self.node.driver_internal_info[
                management.BOOT_PERSISTENT_KEY])
        self.client.invoke.assert_not_called()
        self.client.put.assert_not_called()

    def test_set_boot_device_through_conductor_utils(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            cond_utils.node_set_boot_device(task, boot_devices.DISK,
                                            persistent=True)
            self.assertEqual({'boot_device': boot_devices.DISK,
                              'persistent': True},
                             self.mgmt.get_boot_device(task))

    def test_set_boot_device_invalid(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      self.mgmt.set_boot_device, task,
                                      'floppy')
        self.assertIn('floppy', str(error))
        self.assertIn(self.node.uuid, str(error))

    def test_get_boot_device_none(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertEqual({'boot_device': None, 'persistent': None},
                             self.mgmt.get_boot_device(task))

    def test_get_sensors_data(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertRaises(NotImplementedError,
                              self.mgmt.get_sensors_data, task)

    def _ensure(self, device, persistent):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.set_boot_device(task, device, persistent=persistent)
            self.mgmt.ensure_next_boot_device(task)
            return self.mgmt.get_boot_device(task)

    def test_ensure_arms_in_console_order(self):
        self._ensure(boot_devices.PXE, False)
        config = {'InstanceID': 'Intel(r) AMT: Boot Configuration 0'}
        self.assertEqual([
            mock.call.invoke(resource_uris.CIM_BootConfigSetting,
                             'ChangeBootOrder', selectors=config),
            mock.call.get(resource_uris.AMT_BootSettingData,
                          selectors=mock.ANY),
            mock.call.put(resource_uris.AMT_BootSettingData, mock.ANY,
                          selectors=mock.ANY),
            mock.call.invoke(resource_uris.CIM_BootService,
                             'SetBootConfigRole', arguments=mock.ANY,
                             selectors={'Name': 'Intel(r) AMT Boot Service'}),
            mock.call.invoke(resource_uris.CIM_BootConfigSetting,
                             'ChangeBootOrder', arguments=mock.ANY,
                             selectors=config),
        ], self.client.mock_calls)
        role_args = dict(self.client.invoke.call_args_list[1].kwargs[
            'arguments'])
        self.assertEqual(1, role_args['Role'])
        self.assertEqual(config, role_args['BootConfigSetting'].selectors)
        source = dict(self.client.invoke.call_args_list[2].kwargs[
            'arguments'])['Source']
        self.assertEqual(resource_uris.CIM_BootSourceSetting,
                         source.resource_uri)
        self.assertEqual({'InstanceID': 'Intel(r) AMT: Force PXE Boot'},
                         source.selectors)

    def test_ensure_clears_options(self):
        self._ensure(boot_devices.DISK, True)
        put = self.client.put.call_args.args[1]
        expected = dict(BOOT_SETTING_DATA, BIOSSetup=False, BootMediaIndex=0,
                        FirmwareVerbosity=0, UseIDER=False, UseSOL=False,
                        UseSafeMode=False, BIOSPause=False)
        # Fields firmware owns are not sent back.
        del expected['BIOSLastStatus'], expected['OptionsCleared']
        self.assertEqual(expected, put)

    def test_parameters_left_by_an_https_boot_are_cleared(self):
        # Firmware reports the parameter count but leaves the array (it
        # may hold a password) out of the instance it returns.
        self.client.get.return_value = dict(BOOT_SETTING_DATA,
                                            UefiBootNumberOfParams='2')
        self._ensure(boot_devices.DISK, False)
        put = self.client.put.call_args.args[1]
        self.assertEqual(('', 0), (put['UefiBootParametersArray'],
                                   put['UefiBootNumberOfParams']))

    def test_sources(self):
        expected = {boot_devices.PXE: 'Intel(r) AMT: Force PXE Boot',
                    boot_devices.DISK: 'Intel(r) AMT: Force Hard-drive Boot',
                    boot_devices.CDROM: 'Intel(r) AMT: Force CD/DVD Boot'}
        for device, instance_id in expected.items():
            self.client.reset_mock()
            self._ensure(device, False)
            source = dict(self.client.invoke.call_args.kwargs[
                'arguments'])['Source']
            self.assertEqual(instance_id, source.selectors['InstanceID'])

    def test_bios_uses_bios_setup_without_source(self):
        self._ensure(boot_devices.BIOS, False)
        self.assertIs(True, self.client.put.call_args.args[1]['BIOSSetup'])
        methods = [c.args[1] for c in self.client.invoke.call_args_list]
        self.assertEqual(['ChangeBootOrder', 'SetBootConfigRole'], methods)
        self.assertNotIn('arguments',
                         self.client.invoke.call_args_list[0].kwargs)

    def test_one_shot_kept_until_forgotten(self):
        # Arming keeps it: a Busy power request arms it again. The power
        # interface forgets it once AMT accepted the request.
        self.assertEqual({'boot_device': boot_devices.PXE,
                          'persistent': False},
                         self._ensure(boot_devices.PXE, False))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertEqual(boot_devices.PXE,
                             self.mgmt.ensure_next_boot_device(task))
            self.mgmt.forget_one_shot_device(task)
        self.node.refresh()
        self.assertNotIn(management.BOOT_DEVICE_KEY,
                         self.node.driver_internal_info)

    def test_persistent_not_forgotten(self):
        self._ensure(boot_devices.DISK, True)
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.forget_one_shot_device(task)
            self.assertEqual({'boot_device': boot_devices.DISK,
                              'persistent': True},
                             self.mgmt.get_boot_device(task))

    def test_persistent_kept_and_rearmed(self):
        self.assertEqual({'boot_device': boot_devices.DISK,
                          'persistent': True},
                         self._ensure(boot_devices.DISK, True))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.ensure_next_boot_device(task)
        methods = [c.args[1] for c in self.client.invoke.call_args_list]
        self.assertEqual(4, methods.count('ChangeBootOrder'))

    def test_setting_data_read_once_per_endpoint(self):
        stored = dict(BOOT_SETTING_DATA, OptionsCleared='false',
                      ElementName='as stored')
        self.client.put.return_value = stored
        self._ensure(boot_devices.DISK, True)
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.ensure_next_boot_device(task)
        self.assertEqual(1, self.client.get.call_count)
        second = self.client.put.call_args_list[1].args[1]
        self.assertEqual('as stored', second['ElementName'])
        # OptionsCleared from the last PutResponse is stale after a boot:
        # firmware owns it, so it is never sent.
        self.assertNotIn('OptionsCleared', second)
        self.assertIs(False, second['UseSOL'])

    def test_failed_put_forgets_setting_data(self):
        self.client.put.side_effect = [
            wsman_exc.WSManFault(ENDPOINT, 'SchemaValidationError', 'bad'),
            dict(BOOT_SETTING_DATA)]
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.set_boot_device(task, boot_devices.PXE)
            self.assertRaises(errors.AMTOperationError,
                              self.mgmt.ensure_next_boot_device, task)
            self.mgmt.ensure_next_boot_device(task)
        self.assertEqual(2, self.client.get.call_count)

    def test_ensure_without_stored_device_sends_nothing(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.ensure_next_boot_device(task)
        self.assertEqual([], self.client.mock_calls)

    def test_ensure_failure_keeps_one_shot(self):
        self.client.invoke.side_effect = wsman_exc.WSManReturnValueError(
            ENDPOINT, resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder',
            4)
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.set_boot_device(task, boot_devices.PXE)
            error = self.assertRaises(errors.AMTOperationError,
                                      self.mgmt.ensure_next_boot_device, task)
            self.assertEqual(boot_devices.PXE,
                             self.mgmt.get_boot_device(task)['boot_device'])
        self.assertIn('Invalid Reference', str(error))
        self.assertIn(self.node.uuid, str(error))

    def test_ensure_access_denied_fault(self):
        self.client.invoke.side_effect = wsman_exc.WSManFault(
            ENDPOINT, 'AccessDenied', 'The sender was not authorized')
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.set_boot_device(task, boot_devices.PXE)
            error = self.assertRaises(errors.AMTOperationError,
                                      self.mgmt.ensure_next_boot_device, task)
        self.assertIn('AccessDenied', str(error))

    def test_inject_nmi(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.mgmt.inject_nmi(task)
        args = dict(self.client.invoke.call_args.kwargs['arguments'])
        self.assertEqual(11, args['PowerState'])
