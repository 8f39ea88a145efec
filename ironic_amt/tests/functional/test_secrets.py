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

"""No password and no Digest header in logs, errors or last_error."""

import logging

import fixtures
from ironic.common import exception
from ironic.common import states
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils

from ironic_amt.testing import driver_case as base

WRONG_PASSWORD = 'Wr0ng-Secret-Fn-4417'
# Text that only an Authorization header (or its parts) contains.
HEADER_MARKERS = ('Digest username=', 'cnonce', 'response="',
                  'Authorization')
# Loggers whose output is checked; DB migrations run by the test base
# disable loggers that exist at that time, so they are re-enabled.
LOGGERS = ('ironic_amt', 'ironic', 'urllib3', 'requests')


class SecretsTestCase(base.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        for name in LOGGERS:
            logger = logging.getLogger(name)
            self.useFixture(fixtures.MockPatchObject(logger, 'disabled',
                                                     False))
            for child in list(logging.root.manager.loggerDict):
                if child.startswith(name + '.'):
                    self.useFixture(fixtures.MockPatchObject(
                        logging.getLogger(child), 'disabled', False))
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG,
            format='%(levelname)s %(name)s %(message)s'))
        self.texts = []

    def _action(self, node, action):
        with task_manager.acquire(self.context, node.uuid) as task:
            if action == 'pxe':
                task.driver.management.set_boot_device(task, 'pxe')
            else:
                cond_utils.node_power_action(task, action)

    def _attempt(self, node, action):
        try:
            self._action(node, action)
        except exception.IronicException as e:
            self.texts.append(str(e))
            self.texts.append(repr(e))
        node.refresh()
        self.texts.append(str(node.last_error))

    def test_no_secret_anywhere(self):
        good = self.make_node()
        for fault in ('nonce_reset', 'reset', 'garbage_xml', 'http_500'):
            self.device().inject(fault, count=1)
            self._attempt(good, 'pxe')
            self._attempt(good, states.POWER_ON)
            self._attempt(good, states.POWER_OFF)
        self.device().inject('access_denied')
        self._attempt(good, states.REBOOT)
        self.device().clear_faults()
        self.device().inject('drop')
        self._attempt(good, states.POWER_ON)
        self.device().clear_faults()
        self._attempt(self.make_node(amt_password=WRONG_PASSWORD),
                      states.POWER_ON)
        self._attempt(self.make_node(protocol='https', amt_verify_ca='true'),
                      states.POWER_ON)

        output = self.logger.output
        # The capture works: requests, retries and failures were logged.
        self.assertIn('WS-Management Get of', output)
        self.assertIn('retrying in', output)
        self.assertIn('stale nonce: True', output)
        self.assertIn('authentication failed', output)
        self.assertIn('AccessDenied', '\n'.join(self.texts))
        for text in [output] + self.texts:
            self.assertNotIn(base.PASSWORD, text)
            self.assertNotIn(WRONG_PASSWORD, text)
        for marker in HEADER_MARKERS:
            self.assertNotIn(marker, output)
