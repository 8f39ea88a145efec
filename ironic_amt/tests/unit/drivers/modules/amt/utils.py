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

"""Test base for the AMT driver on Ironic's own database test case."""

from unittest import mock

from ironic.tests.unit.db import base as db_base
from ironic.tests.unit.objects import utils as obj_utils

# Imported here, not inside a test: Ironic's TestCase forbids subprocesses
# that a first import through stevedore could trigger.
from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers import pxe  # noqa: F401
from ironic_amt.testing.driver_case import use_pxe_amt
from ironic_amt.wsman import client as wsman

PASSWORD = 'Sup3r-S3cret!'

INFO = {
    'amt_address': '192.0.2.10',
    'amt_username': 'admin',
    'amt_password': PASSWORD,
}


class AMTTestCase(db_base.DbTestCase):
    """A pxe_amt node in Ironic's test database."""

    driver_info = INFO

    def setUp(self):
        super().setUp()
        use_pxe_amt(self, max_retry=1, action_wait=0)
        self.node = obj_utils.create_test_node(
            self.context, driver='pxe_amt', boot_interface='pxe',
            driver_info=dict(self.driver_info))

    def mock_client(self):
        """Replace the cached WS-Man client with an autospec mock."""
        client = mock.create_autospec(wsman.Client, instance=True)
        client.endpoint = 'http://192.0.2.10:16992/wsman'
        patcher = mock.patch.object(common, 'get_client', autospec=True,
                                    return_value=client)
        patcher.start()
        self.addCleanup(patcher.stop)
        return client
