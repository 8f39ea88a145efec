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

"""Tests of enabling SOL and the redirection listener over WS-Man."""

from unittest import mock

from oslotest import base

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import redirection_service as service
from ironic_amt.wsman import resource_uris

ENDPOINT = 'https://192.0.2.1:16993/wsman'


def instance(state, listener):
    return {'CreationClassName': 'AMT_RedirectionService',
            'ElementName': 'Intel(r) AMT Redirection Service',
            'EnabledState': str(state),
            'ListenerEnabled': 'true' if listener else 'false',
            'Name': 'Intel(r) AMT Redirection Service',
            'SystemCreationClassName': 'CIM_ComputerSystem',
            'SystemName': 'Intel(r) AMT', 'AccessLog': ['x', 'y']}


class EnableSOLTestCase(base.BaseTestCase):

    def client(self, *states, opt_in=None):
        client = mock.Mock(endpoint=ENDPOINT)
        answers = [instance(*s) for s in states]

        def get(uri, selectors=None):
            if uri == resource_uris.IPS_OptInService:
                if opt_in is None:
                    raise exceptions.WSManFault(ENDPOINT,
                                                'DestinationUnreachable', '')
                return opt_in
            return answers.pop(0)

        client.get.side_effect = get
        return client

    def test_already_enabled(self):
        client = self.client((32771, True))
        self.assertEqual([], service.enable_sol(client))
        client.invoke.assert_not_called()
        client.put.assert_not_called()

    def test_enables_sol_keeping_ider_and_listener(self):
        client = self.client((32769, False), (32771, False),
                             (32771, True))
        self.assertEqual(['sol', 'listener'], service.enable_sol(client))
        client.invoke.assert_called_once_with(
            resource_uris.AMT_RedirectionService, 'RequestStateChange',
            arguments=[('RequestedState', 32771)],
            selectors={'Name': service.SERVICE_NAME})
        uri, put, selectors = client.put.call_args[0]
        self.assertEqual(resource_uris.AMT_RedirectionService, uri)
        self.assertIs(True, put['ListenerEnabled'])
        self.assertEqual('32771', put['EnabledState'])
        self.assertNotIn('AccessLog', put)

    def test_disabled_in_mebx(self):
        client = self.client((32768, False))
        client.invoke.side_effect = exceptions.WSManReturnValueError(
            ENDPOINT, resource_uris.AMT_RedirectionService,
            'RequestStateChange', 1)
        error = self.assertRaises(exceptions.RedirectionNotEnabled,
                                  service.enable_sol, client)
        self.assertIn('MEBx', str(error))
        client.put.assert_not_called()

    def test_consent_pending(self):
        client = self.client((32768, True), opt_in={
            'OptInRequired': '4294967295', 'OptInState': '1'})
        client.invoke.side_effect = exceptions.WSManFault(
            ENDPOINT, 'AccessDenied', 'denied')
        error = self.assertRaises(exceptions.RedirectionNotEnabled,
                                  service.enable_sol, client)
        self.assertIn('user consent', str(error))
        self.assertIn('OptInState 1, requested', str(error))

    def test_still_disabled_afterwards(self):
        client = self.client((32768, True), (32768, True))
        error = self.assertRaises(exceptions.RedirectionNotEnabled,
                                  service.enable_sol, client)
        self.assertIn('EnabledState 32768', str(error))

    def test_other_fault_propagates(self):
        client = self.client((32768, True))
        client.invoke.side_effect = exceptions.WSManFault(
            ENDPOINT, 'InvalidSelectors', 'no')
        self.assertRaises(exceptions.WSManFault, service.enable_sol,
                          client)
