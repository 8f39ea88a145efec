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

"""Tests of the amt-socat console interface."""

from unittest import mock

from ironic.common import exception
from ironic.conductor import task_manager
from ironic.drivers.modules import console_utils

from ironic_amt.drivers.modules.amt import console
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.tests.unit.drivers.modules.amt import utils
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import redirection_service


class ConsoleTestCase(utils.AMTTestCase):

    def setUp(self):
        super().setUp()
        self.config(enabled_console_interfaces=['amt-socat', 'no-console'])
        self.node.console_interface = 'amt-socat'
        self.node.save()
        self.config(port_range='20000:20010', group='console')
        self.client = self.mock_client()
        self.console = console.AMTSocatConsole()
        patcher = mock.patch.object(console, '_sol_command_path',
                                    autospec=True,
                                    return_value='/venv/bin/ironic-amt-sol')
        patcher.start()
        self.addCleanup(patcher.stop)

    def set_info(self, **changes):
        info = dict(utils.INFO)
        info.update(changes)
        self.node.driver_info = info
        self.node.save()

    def test_properties(self):
        properties = self.console.get_properties()
        for key in ('amt_address', 'amt_password', 'amt_redirection_port',
                    'amt_terminal_port'):
            self.assertIn(key, properties)

    def test_redirection_port_defaults_by_protocol(self):
        self.assertEqual(16994, console.parse_console_info(
            self.node)['redirection_port'])
        self.set_info(amt_protocol='https')
        self.assertEqual(16995, console.parse_console_info(
            self.node)['redirection_port'])
        self.set_info(amt_redirection_port='17000')
        self.assertEqual(17000, console.parse_console_info(
            self.node)['redirection_port'])

    def test_bad_redirection_port_named(self):
        self.set_info(amt_redirection_port='70000')
        error = self.assertRaises(exception.InvalidParameterValue,
                                  console.parse_console_info, self.node)
        self.assertIn('amt_redirection_port', str(error))
        self.assertIn(self.node.uuid, str(error))

    def test_validate_names_missing_keys(self):
        self.node.driver_info = {}
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.MissingParameterValue,
                                      self.console.validate, task)
        self.assertIn('amt_address', str(error))
        self.assertIn('amt_password', str(error))

    def test_validate_needs_a_port(self):
        self.config(port_range=None, group='console')
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.MissingParameterValue,
                                      self.console.validate, task)
            self.assertIn('[console]port_range', str(error))
            self.assertIn('amt_terminal_port', str(error))
            self.set_info(amt_terminal_port=20005)
            task.node.driver_info = self.node.driver_info
            self.console.validate(task)

    def test_white_space_refused(self):
        self.set_info(amt_username='ad min')
        error = self.assertRaises(exception.InvalidParameterValue,
                                  console.parse_console_info, self.node)
        self.assertIn('amt_username', str(error))

    def test_command_has_no_password(self):
        self.set_info(amt_protocol='https', amt_verify_ca='false')
        command = console.sol_command(console.parse_console_info(self.node))
        self.assertNotIn(utils.PASSWORD, command)
        self.assertEqual(
            '/venv/bin/ironic-amt-sol --address 192.0.2.10 --protocol https '
            '--wsman-port 16993 --redirection-port 16995 --username admin '
            '--timeout 10.0 --insecure', command)

    @mock.patch.object(console_utils, 'start_socat_console', autospec=True)
    @mock.patch.object(redirection_service, 'enable_sol', autospec=True)
    def test_start_get_stop(self, mock_enable, mock_start):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.console.start_console(task)
            mock_enable.assert_called_once_with(self.client)
            port = task.node.driver_internal_info[console.ALLOCATED_PORT]
            self.assertTrue(20000 <= port < 20010)
            node_uuid, used_port, command = mock_start.call_args[0]
            self.assertEqual((self.node.uuid, port),
                             (node_uuid, used_port))
            self.assertNotIn(utils.PASSWORD, command)
            self.assertEqual({'AMT_PASSWORD': utils.PASSWORD},
                             mock_start.call_args[1]['env_variables'])
            info = self.console.get_console(task)
            self.assertEqual('socat', info['type'])
            self.assertTrue(info['url'].endswith(':%d' % port))
            with mock.patch.object(console_utils, 'stop_socat_console',
                                   autospec=True) as mock_stop:
                self.console.stop_console(task)
            mock_stop.assert_called_once_with(self.node.uuid)
            self.assertNotIn(console.ALLOCATED_PORT,
                             task.node.driver_internal_info)
            self.assertNotIn(port, console_utils.ALLOCATED_PORTS)
            self.assertRaises(exception.ConsoleError,
                              self.console.get_console, task)

    @mock.patch.object(console_utils, 'start_socat_console', autospec=True)
    @mock.patch.object(redirection_service, 'enable_sol', autospec=True)
    def test_restart_releases_the_previous_port(self, mock_enable,
                                                mock_start):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.console.start_console(task)
            first = task.node.driver_internal_info[console.ALLOCATED_PORT]
            self.console.start_console(task)
            second = task.node.driver_internal_info[console.ALLOCATED_PORT]
            self.assertEqual(first, second)
            self.assertEqual(2, mock_start.call_count)
            self.console.stop_console(task)

    @mock.patch.object(console_utils, 'start_socat_console', autospec=True)
    @mock.patch.object(redirection_service, 'enable_sol', autospec=True)
    def test_sol_not_enabled(self, mock_enable, mock_start):
        mock_enable.side_effect = wsman_exc.RedirectionNotEnabled(
            self.client.endpoint, 'disabled in MEBx')
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(errors.AMTOperationError,
                                      self.console.start_console, task)
            self.assertIn('MEBx', str(error))
            self.assertIn(self.node.uuid, str(error))
            self.assertNotIn(console.ALLOCATED_PORT,
                             task.node.driver_internal_info)
        mock_start.assert_not_called()

    @mock.patch.object(console_utils, 'start_socat_console', autospec=True)
    @mock.patch.object(redirection_service, 'enable_sol', autospec=True)
    def test_socat_failure_releases_port(self, mock_enable, mock_start):
        mock_start.side_effect = exception.ConsoleSubprocessFailed(
            error='boom')
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.assertRaises(exception.ConsoleSubprocessFailed,
                              self.console.start_console, task)
            self.assertNotIn(console.ALLOCATED_PORT,
                             task.node.driver_internal_info)
