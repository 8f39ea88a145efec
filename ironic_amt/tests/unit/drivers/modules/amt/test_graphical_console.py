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

import datetime
import socket
from unittest import mock

from ironic.common import exception
from ironic.conductor import task_manager
from oslo_utils import timeutils

from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import graphical_console
from ironic_amt.tests.unit.drivers.modules.amt import utils
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import kvm_service


@mock.patch.object(kvm_service, 'enable_kvm', autospec=True)
class AMTKVMConsoleTestCase(utils.AMTTestCase):

    def setUp(self):
        super().setUp()
        self.config(enabled_console_interfaces=['amt-kvm', 'no-console'])
        self.config(public_url='http://127.0.0.1:6090/vnc_auto.html',
                    group='vnc')
        self.node.console_interface = 'amt-kvm'
        self.node.save()
        self.client = self.mock_client()
        self.console = graphical_console.AMTKVMConsole()
        self.addCleanup(graphical_console._stop_relay, self.node.uuid)

    def test_properties(self, mock_enable):
        properties = self.console.get_properties()
        self.assertIn('amt_redirection_port', properties)
        self.assertIn('amt_address', properties)

    def test_validate_names_the_bad_key(self, mock_enable):
        self.node.driver_info = dict(utils.INFO, amt_redirection_port='x')
        self.node.save()
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(exception.InvalidParameterValue,
                                      self.console.validate, task)
        self.assertIn('amt_redirection_port', str(error))

    def test_start_get_stop(self, mock_enable):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.console.start_console(task)
            info = task.node.driver_internal_info
            host, port = info['vnc_host'], info['vnc_port']
            self.assertEqual('127.0.0.1', host)
            self.assertTrue(task.node.console_enabled)
            self.assertTrue(info['novnc_secret_token'])
            mock_enable.assert_called_once_with(self.client)
            relay = graphical_console.get_relay(task.node.uuid)
            self.assertEqual((host, port), relay.address)
            socket.create_connection((host, port), 5).close()
            console = self.console.get_console(task)
            self.assertEqual('vnc', console['type'])
            self.assertIn('token%3D' + info['novnc_secret_token'],
                          console['url'])
            self.console.stop_console(task)
            self.assertIsNone(graphical_console.get_relay(task.node.uuid))
            self.assertFalse(relay.running)
            for key in ('vnc_host', 'vnc_port', 'novnc_secret_token'):
                self.assertNotIn(key, task.node.driver_internal_info)
            self.assertFalse(task.node.console_enabled)
        self.assertRaises(OSError, socket.create_connection, (host, port), 5)

    def test_restart_replaces_the_relay(self, mock_enable):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.console.start_console(task)
            first = graphical_console.get_relay(task.node.uuid)
            self.console.start_console(task)
            second = graphical_console.get_relay(task.node.uuid)
            self.assertIsNot(first, second)
            self.assertFalse(first.running)
            self.assertTrue(second.running)

    def test_port_range(self, mock_enable):
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            free = probe.getsockname()[1]
        self.config(port_range='%d:%d' % (free, free + 1), group='console')
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.console.start_console(task)
            self.assertEqual(free, task.node.driver_internal_info['vnc_port'])
            self.console.stop_console(task)
            self.assertNotIn(graphical_console.ALLOCATED_PORT,
                             task.node.driver_internal_info)

    def test_consent_error_names_the_node(self, mock_enable):
        mock_enable.side_effect = wsman_exc.KVMNotEnabled(
            self.client.endpoint, 'user consent is required for KVM')
        with task_manager.acquire(self.context, self.node.uuid) as task:
            error = self.assertRaises(errors.AMTOperationError,
                                      self.console.start_console, task)
            self.assertIn(self.node.uuid, str(error))
            self.assertIn('user consent', str(error))
            self.assertFalse(task.node.console_enabled)
            self.assertIsNone(graphical_console.get_relay(task.node.uuid))

    def test_expired_token_stops_the_console(self, mock_enable):
        with task_manager.acquire(self.context, self.node.uuid) as task:
            self.console.start_console(task)
            self.assertFalse(self.console._expire_console_sessions(task))
            task.node.set_driver_internal_info(
                'novnc_secret_token_created',
                (timeutils.utcnow() - datetime.timedelta(hours=1))
                .strftime('%Y-%m-%dT%H:%M:%S.%f'))
            self.assertTrue(self.console._expire_console_sessions(task))
            self.assertIsNone(graphical_console.get_relay(task.node.uuid))
            self.assertFalse(task.node.console_enabled)
