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

import fixtures
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import management
from ironic_amt.drivers.modules.amt import power
from ironic_amt.tests.unit.drivers.modules.amt import utils
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import resource_uris

ENDPOINT = 'http://192.0.2.10:16992/wsman'
ON_AVAILABLE = ['10', '8', '5', '11', '12', '14']
OFF_AVAILABLE = ['2']
REAL_WAIT = cond_utils.node_wait_for_power_state


def service(state, available):
    return {'PowerState': str(state),
            'AvailableRequestedPowerStates': available}


def requested_states(client):
    return [dict(c.kwargs['arguments'])['PowerState']
            for c in client.invoke.call_args_list
            if c.args[1] == 'RequestPowerStateChange']


def wait_polls(task, new_state, timeout=None):
    """Stand-in for Ironic's node_wait_for_power_state without its delays.

    Polls the driver at most three times, like the real helper would in
    a few seconds, and fails the same way.
    """
    for _poll in range(3):
        if task.driver.power.get_power_state(task) == new_state:
            return new_state
    raise exception.PowerStateFailure(pstate=new_state)


class AMTPowerTestCase(utils.AMTTestCase):

    def setUp(self):
        super().setUp()
        self.client = self.mock_client()
        self.power = power.AMTPower()
        self.wait = self.useFixture(fixtures.MockPatchObject(
            cond_utils, 'node_wait_for_power_state', autospec=True,
            side_effect=wait_polls)).mock

    def _states(self, *services):
        self.client.get.side_effect = list(services)

    def test_properties_and_validate(self):
        self.assertEqual(common.COMMON_PROPERTIES,
                         self.power.get_properties())
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.power.validate(task)
            self.assertIsInstance(task.driver.power, power.AMTPower)
        self.client.get.assert_not_called()

    def test_validate_missing(self):
        self.node.driver_info = {'amt_address': '192.0.2.1'}
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.MissingParameterValue,
                                      task.driver.power.validate, task)
        self.assertIn('amt_password, amt_username', str(error))

    def test_get_power_state_mapping(self):
        expected = {2: states.POWER_ON, 3: states.POWER_OFF,
                    4: states.POWER_OFF, 6: states.POWER_OFF,
                    7: states.POWER_OFF, 8: states.POWER_OFF,
                    12: states.POWER_OFF, 13: states.POWER_OFF,
                    5: states.ERROR, 9: states.ERROR, 10: states.ERROR,
                    11: states.ERROR, 14: states.ERROR, 15: states.ERROR,
                    16: states.ERROR, 99: states.ERROR}
        for value, state in expected.items():
            self._states(service(value, ['2']))
            with task_manager.acquire(self.context, self.node.uuid,
                                      shared=True) as task:
                self.assertEqual(state, self.power.get_power_state(task),
                                 'PowerState %s' % value)
        self.client.get.assert_called_with(
            resource_uris.CIM_AssociatedPowerManagementService)

    @mock.patch.object(power.LOG, 'warning', autospec=True)
    def test_get_power_state_unexpected_value_is_logged(self, mock_warn):
        self._states(service(10, ['2']))
        with task_manager.acquire(self.context, self.node.uuid,
                                  shared=True) as task:
            self.assertEqual(states.ERROR, self.power.get_power_state(task))
        self.assertIn(self.node.uuid, str(mock_warn.call_args))

    def test_get_power_state_single_available_value(self):
        self._states({'PowerState': '8', 'AvailableRequestedPowerStates': '2'})
        with task_manager.acquire(self.context, self.node.uuid,
                                  shared=True) as task:
            self.assertEqual(states.POWER_OFF,
                             self.power.get_power_state(task))

    def test_get_power_state_bad_document(self):
        for bad in ({}, {'PowerState': 'on'}, {'PowerState': None}):
            self._states(bad)
            with task_manager.acquire(self.context, self.node.uuid,
                                      shared=True) as task:
                error = self.assertRaises(errors.AMTOperationError,
                                          self.power.get_power_state, task)
            self.assertIn(self.node.uuid, str(error))

    def test_get_power_state_connection_error(self):
        self.client.get.side_effect = wsman_exc.WSManTimeoutError(
            ENDPOINT, 'read timed out')
        with task_manager.acquire(self.context, self.node.uuid,
                                  shared=True) as task:
            error = self.assertRaises(errors.AMTConnectionFailure,
                                      self.power.get_power_state, task)
        self.assertIn(self.node.uuid, str(error))

    def test_power_on(self):
        self._states(service(8, OFF_AVAILABLE), service(2, ON_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.POWER_ON)
        self.assertEqual([2], requested_states(self.client))
        self.client.invoke.assert_called_once_with(
            resource_uris.CIM_PowerManagementService,
            'RequestPowerStateChange', arguments=mock.ANY,
            selectors={'Name': 'Intel(r) AMT Power Management Service'},
            resend=True, before_resend=mock.ANY)
        system = dict(self.client.invoke.call_args.kwargs['arguments'])[
            'ManagedElement']
        self.assertEqual(resource_uris.CIM_ComputerSystem,
                         system.resource_uri)
        self.assertEqual('ManagedSystem', system.selectors['Name'])

    def test_power_off_sent_once_then_polled(self):
        self._states(service(2, ON_AVAILABLE), service(2, ON_AVAILABLE),
                     service(8, OFF_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.POWER_OFF)
        self.assertEqual([8], requested_states(self.client))
        self.assertEqual(3, self.client.get.call_count)

    def test_waits_with_ironic_helper(self):
        self._states(service(2, ON_AVAILABLE), service(8, OFF_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.POWER_OFF, timeout=42)
            self.wait.assert_called_once_with(task, states.POWER_OFF,
                                              timeout=42)
        self.assertEqual([8], requested_states(self.client))

    def test_default_timeout_is_ironics(self):
        self._states(service(8, OFF_AVAILABLE), service(2, ON_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.POWER_ON)
            # None: the helper uses [conductor]power_state_change_timeout.
            self.wait.assert_called_once_with(task, states.POWER_ON,
                                              timeout=None)

    @mock.patch.object(power.LOG, 'warning', autospec=True)
    def test_deprecated_power_state_timeout(self, mock_warn):
        self.config(power_state_timeout=17, group='amt')
        deprecated = power.AMTPower()
        mock_warn.assert_called_once_with(mock.ANY, {'timeout': 17})
        self.assertIn('[conductor]power_state_change_timeout',
                      mock_warn.call_args.args[0])
        self._states(service(8, OFF_AVAILABLE), service(2, ON_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            deprecated.set_power_state(task, states.POWER_ON)
            self.wait.assert_called_once_with(task, states.POWER_ON,
                                              timeout=17)
        # Ironic's own time-out wins over the deprecated default.
        self.wait.reset_mock()
        self._states(service(2, ON_AVAILABLE), service(8, OFF_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            deprecated.set_power_state(task, states.POWER_OFF, timeout=3)
            self.wait.assert_called_once_with(task, states.POWER_OFF,
                                              timeout=3)

    def test_no_warning_without_deprecated_option(self):
        with mock.patch.object(power.LOG, 'warning',
                               autospec=True) as mock_warn:
            power.AMTPower()
        mock_warn.assert_not_called()

    def test_timeout_from_the_real_helper(self):
        # The real helper, end to end: still on after a 1 s time-out.
        self.wait.side_effect = REAL_WAIT
        self.client.get.return_value = service(2, ON_AVAILABLE)
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.PowerStateFailure,
                                      self.power.set_power_state, task,
                                      states.POWER_OFF, timeout=1)
        self.assertIn(states.POWER_OFF, str(error))
        self.assertEqual([8], requested_states(self.client))
        # A time-out of 1 s: one poll after the helper's first delay.
        self.assertLess(self.client.get.call_count, 4)

    def test_soft_power_off(self):
        self._states(service(2, ON_AVAILABLE), service(8, OFF_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.SOFT_POWER_OFF,
                                       timeout=5)
        self.assertEqual([12], requested_states(self.client))

    def test_soft_power_off_not_advertised(self):
        self._states(service(2, ['8', '10', '5']))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(errors.AMTOperationError,
                                      self.power.set_power_state, task,
                                      states.SOFT_POWER_OFF)
        self.assertIn('LMS', str(error))
        self.assertIn(self.node.uuid, str(error))
        self.assertEqual([], requested_states(self.client))

    def test_soft_reboot_when_on(self):
        self._states(service(2, ON_AVAILABLE), service(2, ON_AVAILABLE),
                     service(2, ON_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.SOFT_REBOOT)
        self.assertEqual([14], requested_states(self.client))

    def test_soft_reboot_when_off_powers_on(self):
        self._states(service(8, OFF_AVAILABLE), service(2, ON_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.SOFT_REBOOT)
        self.assertEqual([2], requested_states(self.client))

    def test_reboot_when_on_is_master_bus_reset(self):
        self._states(service(2, ON_AVAILABLE), service(2, ON_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.reboot(task)
        self.assertEqual([10], requested_states(self.client))
        # A reset whose answer is lost must not be sent twice.
        self.assertFalse(self.client.invoke.call_args.kwargs['resend'])

    def test_reboot_when_off_powers_on(self):
        self._states(service(8, OFF_AVAILABLE), service(2, ON_AVAILABLE))
        self.client.invoke.side_effect = [
            wsman_exc.WSManReturnValueError(
                ENDPOINT, resource_uris.CIM_PowerManagementService,
                'RequestPowerStateChange', 2),
            {}]
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.REBOOT, timeout=5)
        self.assertEqual([10, 2], requested_states(self.client))

    def test_reboot_refused_while_on_is_an_error(self):
        # Busy is not "already rebooted": the target (on) proves nothing.
        self._states(service(2, ON_AVAILABLE))
        self.client.invoke.side_effect = (
            wsman_exc.WSManReturnValueError.for_code(
                ENDPOINT, resource_uris.CIM_PowerManagementService,
                'RequestPowerStateChange', 4099))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(errors.AMTOperationError,
                                      self.power.reboot, task)
        self.assertIn('Busy', str(error))
        self.assertEqual([10], requested_states(self.client))

    def test_reboot_of_running_node_reads_state_once(self):
        self._states(service(2, ON_AVAILABLE))
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.reboot(task)
        self.assertEqual([10], requested_states(self.client))
        self.assertEqual(1, self.client.get.call_count)

    def test_unsupported_state(self):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      self.power.set_power_state, task,
                                      'sleeping')
        self.assertIn(self.node.uuid, str(error))

    def test_supported_power_states(self):
        with task_manager.acquire(self.context, self.node.uuid,
                                  shared=True) as task:
            self.assertEqual(
                sorted([states.POWER_ON, states.POWER_OFF, states.REBOOT,
                        states.SOFT_REBOOT, states.SOFT_POWER_OFF]),
                sorted(self.power.get_supported_power_states(task)))

    def test_refused_change_already_at_target_is_success(self):
        self._states(service(2, ON_AVAILABLE), service(2, ON_AVAILABLE))
        self.client.invoke.side_effect = wsman_exc.WSManReturnValueError(
            ENDPOINT, resource_uris.CIM_PowerManagementService,
            'RequestPowerStateChange', 2)
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.power.set_power_state(task, states.POWER_ON)

    def test_refused_change_raises(self):
        self._states(service(8, OFF_AVAILABLE))
        self.client.invoke.side_effect = wsman_exc.WSManReturnValueError(
            ENDPOINT, resource_uris.CIM_PowerManagementService,
            'RequestPowerStateChange', 2)
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(errors.AMTOperationError,
                                      self.power.set_power_state, task,
                                      states.POWER_ON)
        self.assertIn(self.node.uuid, str(error))
        self.assertIn('power on', str(error))

    def test_auth_failure(self):
        self.client.invoke.side_effect = wsman_exc.WSManAuthError(
            ENDPOINT, 'digest credentials refused')
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(errors.AMTAuthenticationFailure,
                                      self.power.set_power_state, task,
                                      states.POWER_OFF)
        self.assertIn('authentication failed', str(error))
        self.assertNotIn(utils.PASSWORD, str(error))

    def test_shared_lock_refused(self):
        with task_manager.acquire(self.context, self.node.uuid,
                                  shared=True) as task:
            self.assertRaises(exception.ExclusiveLockRequired,
                              self.power.set_power_state, task,
                              states.POWER_ON)


class PowerArmsBootDeviceTestCase(utils.AMTTestCase):
    """Before every power-on and reboot, the stored device is armed."""

    ARMED = ['ChangeBootOrder', 'Get', 'Put', 'SetBootConfigRole',
             'ChangeBootOrder', 'RequestPowerStateChange']

    def setUp(self):
        super().setUp()
        self.client = self.mock_client()
        self.calls = []
        self.client.invoke.side_effect = (
            lambda uri, method, **kw: self.calls.append(method) or {})
        self.client.put.side_effect = (
            lambda uri, inst, **kw: self.calls.append('Put') or inst)
        self.client.get.side_effect = self._get
        self.useFixture(fixtures.MockPatchObject(
            cond_utils, 'node_wait_for_power_state', autospec=True,
            side_effect=wait_polls))

    def _get(self, uri, selectors=None):
        self.calls.append('Get')
        if uri == resource_uris.AMT_BootSettingData:
            return {'InstanceID': 'Intel(r) AMT:BootSettingData 0'}
        return service(self.state, ['2'])

    def _act(self, action, state_before):
        self.state = state_before
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.management.set_boot_device(task, 'pxe')
            del self.calls[:]
            if action == states.REBOOT:
                task.driver.power.reboot(task)
            else:
                self.state = 2 if action == states.POWER_ON else 8
                task.driver.power.set_power_state(task, action)
            return task.driver.management.get_boot_device(task)

    def _arm_then_power(self):
        start = self.calls.index('ChangeBootOrder')
        self.assertEqual(self.ARMED,
                         self.calls[start:start + len(self.ARMED)])

    def test_power_on_arms(self):
        result = self._act(states.POWER_ON, 8)
        self._arm_then_power()
        self.assertEqual({'boot_device': None, 'persistent': None}, result)

    def test_reboot_arms(self):
        self._act(states.REBOOT, 2)
        self._arm_then_power()

    def test_power_off_does_not_arm(self):
        result = self._act(states.POWER_OFF, 2)
        self.assertNotIn('ChangeBootOrder', self.calls)
        self.assertEqual('pxe', result['boot_device'])

    @mock.patch.object(management.AMTManagement, 'ensure_next_boot_device',
                       autospec=True)
    def test_arming_failure_stops_power_on(self, mock_arm):
        mock_arm.side_effect = errors.AMTOperationError(
            operation='arming', node=self.node.uuid, error='busy')
        self.state = 8
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.management.set_boot_device(task, 'pxe')
            self.assertRaises(errors.AMTOperationError,
                              task.driver.power.set_power_state, task,
                              states.POWER_ON)
            # Not armed, so not used up: still stored for the next try.
            self.assertEqual(
                'pxe',
                task.driver.management.get_boot_device(task)['boot_device'])
        self.assertNotIn('RequestPowerStateChange', self.calls)

    def _busy_then(self, *answers):
        """RequestPowerStateChange is Busy, then the client resends.

        The mocked client follows the real one's contract (see
        test_client): after a Busy answer it calls ``before_resend`` and
        sends again, for each answer in turn; the last one is returned or
        raised.
        """
        busy = wsman_exc.WSManReturnValueError.for_code(
            ENDPOINT, resource_uris.CIM_PowerManagementService,
            'RequestPowerStateChange', 4099)

        def invoke(uri, method, **kwargs):
            self.calls.append(method)
            if method != 'RequestPowerStateChange':
                return {}
            self.assertIsNotNone(kwargs['before_resend'])
            for answer in answers:
                kwargs['before_resend']()
                self.calls.append(method)
            if answers and answers[-1] is not busy:
                return answers[-1]
            raise busy
        self.client.invoke.side_effect = invoke
        return busy

    def test_busy_power_on_is_armed_again(self):
        # A previous change still pending would boot with (and use up)
        # what was armed: arm again before resending.
        self._busy_then({})
        result = self._act(states.POWER_ON, 8)
        first = self.calls.index('RequestPowerStateChange')
        self.assertEqual(['ChangeBootOrder', 'Put', 'SetBootConfigRole',
                          'ChangeBootOrder', 'RequestPowerStateChange'],
                         self.calls[first + 1:first + 6])
        self.assertEqual({'boot_device': None, 'persistent': None}, result)

    def test_busy_is_never_taken_for_done(self):
        # The machine is on (the target), but Busy means nothing was done.
        self._busy_then()
        self.state = 2
        with task_manager.acquire(self.context, self.node.uuid) as task:
            task.driver.management.set_boot_device(task, 'pxe')
            error = self.assertRaises(errors.AMTOperationError,
                                      task.driver.power.reboot, task)
            self.assertEqual(
                'pxe',
                task.driver.management.get_boot_device(task)['boot_device'])
        self.assertIn('Busy', str(error))
        self.assertEqual(1, self.calls.count('RequestPowerStateChange'))
