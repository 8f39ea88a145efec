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

"""The real driver against hostile and broken devices on loopback.

Each case drives the power interface at a
:class:`~ironic_amt.testing.hostile.HostileServer` and checks the typed
error, the bound (time with a generous margin; memory as the bytes the
client read, not RSS), that the node is not left locked, and that no
secret reaches the error or the logs.
"""

import logging
import time

import fixtures
from ironic.common import exception
from ironic.conductor import task_manager
from ironic import objects
from ironic.tests.unit.db import base as db_base
from ironic.tests.unit.objects import utils as obj_utils
from oslo_utils import uuidutils
from testtools import content

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.testing import driver_case
from ironic_amt.testing import hostile
from ironic_amt.testing import nodes
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import http

OPTIONS = {'max_retry': 2, 'connect_timeout': 1.0, 'read_timeout': 1.0,
           'action_wait': 0.1}
CAP = 65536
# Slack on top of a bound: a loaded 2-core machine, thread start-up.
MARGIN = 1.5
# Bytes a capped exchange may read: the cap, one read buffer, the head,
# and the digest challenge exchange before it.
READ_BOUND = CAP + http.READ_SIZE + http.MAX_HEADER_BYTES + 4096


def call_bound(options=OPTIONS):
    """Worst-case seconds of one WS-Man call, as the docs give it.

    :returns: max_retry x (connect_timeout + read_timeout) +
        (max_retry - 1) x action_wait.
    """
    attempts = options['max_retry']
    per_attempt = options['connect_timeout'] + options['read_timeout']
    return attempts * per_attempt + (attempts - 1) * options['action_wait']


class HostileDeviceTestCase(db_base.DbTestCase):

    def setUp(self):
        super().setUp()
        driver_case.use_pxe_amt(self, max_response_size=CAP, **OPTIONS)
        # Ironic's DB migrations (in other tests of the same process)
        # disable the loggers that exist at that time.
        for log in (common.LOG.logger, errors.LOG.logger):
            self.useFixture(fixtures.MockPatchObject(log, 'disabled', False))
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(levelname)s %(message)s'))

    def serve(self, behaviour, **kwargs):
        server = hostile.HostileServer(behaviour, **kwargs).start()
        self.addCleanup(server.stop)
        return server

    def make_node(self, server, **extra):
        return obj_utils.create_test_node(
            self.context, uuid=uuidutils.generate_uuid(), driver='pxe_amt',
            boot_interface='pxe',
            driver_info=nodes.driver_info(server, 'http', **extra))

    def power_state(self, node):
        """Read the power state; returns (result or error, seconds)."""
        start = time.monotonic()
        try:
            with task_manager.acquire(self.context, node.uuid) as task:
                result = task.driver.power.get_power_state(task)
        except exception.IronicException as e:
            result = e
        return result, time.monotonic() - start

    def check_failure(self, server, node, error, error_cls, cause_cls,
                      text):
        """The typed error, the node unlocked, no secret anywhere."""
        self.assertIsInstance(error, error_cls)
        self.assertIsInstance(error.__cause__, cause_cls)
        self.assertIn(node.uuid, str(error))
        self.assertIn(text, str(error))
        self.assertIsNone(objects.Node.get(self.context,
                                           node.uuid).reservation)
        secrets = [server.password] + server.authorizations
        for secret in secrets:
            self.assertNotIn(secret, str(error))
            self.assertNotIn(secret, self.logger.output)

    def bytes_read(self, node):
        return common.get_client(node).stats.bytes_read

    def test_well_behaved_device_for_reference(self):
        server = self.serve('ok')
        node = self.make_node(server)
        for _i in range(3):
            result, _seconds = self.power_state(node)
            self.assertEqual('power on', result)
        # The challenge closes its connection; then one kept-alive one.
        self.assertEqual(2, server.connections)

    def test_trickling_device_fails_at_the_deadline(self):
        # One byte every 0.2 s: no read ever waits read_timeout (1 s).
        server = self.serve('trickle', interval=0.2)
        node = self.make_node(server)
        error, seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManDeadlineError, 'deadline')
        bound = call_bound()
        self.addDetail('seconds', content.text_content(
            '%.2f of %.2f' % (seconds, bound)))
        self.assertLess(seconds, bound * 1.1 + MARGIN)
        # It retried (a deadline may be a slow network), max_retry times.
        self.assertEqual(OPTIONS['max_retry'], len(server.authorizations))

    def test_endless_body_capped(self):
        server = self.serve('endless_body')
        node = self.make_node(server)
        error, seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManResponseTooLarge, 'too large')
        self.assertLessEqual(self.bytes_read(node), READ_BOUND)
        # Not retried: asking again cannot make it smaller.
        self.assertEqual(1, len(server.authorizations))
        self.assertLess(seconds, call_bound())

    def test_endless_chunked_body_capped(self):
        server = self.serve('endless_chunked')
        node = self.make_node(server)
        error, _seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManResponseTooLarge, 'too large')
        self.assertLessEqual(self.bytes_read(node), READ_BOUND)
        self.assertEqual(1, len(server.authorizations))

    def test_huge_content_length_refused_before_reading(self):
        server = self.serve('huge_length')
        node = self.make_node(server)
        error, _seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManResponseTooLarge, '2147483648')
        self.assertLessEqual(self.bytes_read(node), READ_BOUND)
        self.assertEqual(1, len(server.authorizations))

    def test_gzip_bomb_capped_after_decoding(self):
        server = self.serve('gzip_bomb')
        node = self.make_node(server)
        error, _seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManResponseTooLarge, 'cap')
        self.assertEqual(1, len(server.authorizations))

    def test_deep_xml(self):
        server = self.serve('deep_xml', depth=5000)
        node = self.make_node(server)
        error, _seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManInvalidResponse, 'nested deeper')
        self.assertEqual(1, len(server.authorizations))

    def test_200000_deep_xml_with_a_large_cap(self):
        # Not a RecursionError even when the cap lets it all in.
        self.config(max_response_size=4 * 1024 * 1024, group='amt')
        server = self.serve('deep_xml', depth=200000)
        node = self.make_node(server)
        error, _seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManInvalidResponse, 'nested deeper')

    def test_xml_bomb(self):
        server = self.serve('xml_bomb')
        node = self.make_node(server)
        error, _seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManInvalidResponse,
                           'forbidden XML construct')
        self.assertEqual(1, len(server.authorizations))

    def test_html_400_is_a_rejected_request(self):
        server = self.serve('html_400')
        node = self.make_node(server)
        error, seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManRequestRejected,
                           'rejected the request (HTTP 400)')
        self.assertNotIsInstance(error, errors.AMTConnectionFailure)
        self.assertEqual(1, len(server.authorizations))
        self.assertLess(seconds, OPTIONS['action_wait'] + MARGIN)

    def test_wrong_content_type(self):
        server = self.serve('wrong_content_type')
        node = self.make_node(server)
        error, _seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManInvalidResponse,
                           'Content-Type text/html is not XML')
        self.assertEqual(1, len(server.authorizations))

    def test_reset_mid_body(self):
        server = self.serve('reset_mid_body')
        node = self.make_node(server)
        error, seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTConnectionFailure,
                           wsman_exc.WSManConnectionError, 'could not be')
        # Transient: tried max_retry times.
        self.assertEqual(OPTIONS['max_retry'], len(server.authorizations))
        self.assertLess(seconds, call_bound() * 1.1 + MARGIN)

    def test_redirect_not_followed(self):
        target = self.serve('ok')
        server = self.serve(
            'redirect', location='http://127.0.0.1:%d/wsman'
            % target.http_port)
        node = self.make_node(server)
        error, _seconds = self.power_state(node)
        self.check_failure(server, node, error, errors.AMTOperationError,
                           wsman_exc.WSManHTTPError, 'redirect not followed')
        self.assertEqual(0, target.connections)
        self.assertEqual(1, len(server.authorizations))

    def test_connection_close_is_honoured(self):
        server = self.serve('ok_close')
        node = self.make_node(server)
        for _i in range(3):
            result, _seconds = self.power_state(node)
            self.assertEqual('power on', result)
        # The challenge, then one connection per answer: none reused.
        self.assertEqual(4, server.connections)
        self.assertEqual(4, server.requests)

    def test_control_characters_in_username_refused(self):
        server = self.serve('ok')
        for username in ('admin\r\nX-Injected: 1', 'admin\n', 'ad\x00min'):
            node = self.make_node(server, amt_username=username)
            with task_manager.acquire(self.context, node.uuid) as task:
                error = self.assertRaises(exception.InvalidParameterValue,
                                          task.driver.power.validate, task)
                self.assertRaises(exception.InvalidParameterValue,
                                  task.driver.power.get_power_state, task)
            self.assertIn('amt_username', str(error))
            self.assertIn(node.uuid, str(error))
            self.assertNotIn(server.password, str(error))
        self.assertEqual(0, server.connections)

    def test_unverified_tls_warned_once_per_node(self):
        server = self.serve('ok')
        first = self.make_node(server, amt_protocol='https',
                               amt_verify_ca='false')
        second = self.make_node(server, amt_protocol='https',
                                amt_verify_ca=False)
        for node in (first, first, second, first):
            with task_manager.acquire(self.context, node.uuid) as task:
                task.driver.power.validate(task)
        warnings = [line for line in self.logger.output.splitlines()
                    if 'verification' in line and 'WARNING' in line]
        self.assertEqual(2, len(warnings))
        self.assertIn(first.uuid, warnings[0])
        self.assertIn(second.uuid, warnings[1])
