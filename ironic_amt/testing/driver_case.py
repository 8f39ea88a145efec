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

"""The AMT driver on Ironic's test database against the simulator.

Shared by the functional tests and ``tools/soak``.
"""

import fixtures
from ironic.tests.unit.db import base as db_base
from ironic.tests.unit.objects import utils as obj_utils
from oslo_utils import uuidutils

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import https_boot
from ironic_amt.drivers.modules.amt import management
from ironic_amt.drivers import pxe  # noqa: F401
from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.testing import nodes
from ironic_amt.testing import waiting

PASSWORD = 'Fn-Test-Passw0rd!'


def use_pxe_amt(test, **amt_options):
    """Enable pxe_amt and its amt interfaces in an Ironic DbTestCase.

    Also gives the test fresh per-endpoint caches (HTTP sessions,
    AMT_BootSettingData templates, HTTPS boot support and trusted roots),
    so nothing outlives the test.

    :param test: the test case.
    :param amt_options: ``[amt]`` options to set.
    """
    test.config(enabled_hardware_types=['pxe_amt'],
                enabled_power_interfaces=['amt'],
                enabled_management_interfaces=['amt'],
                enabled_boot_interfaces=['pxe'])
    test.config(group='amt', **amt_options)
    test.useFixture(fixtures.MockPatchObject(
        common, '_CLIENTS', common._ClientCache()))
    test.useFixture(fixtures.MockPatchObject(
        management, '_TEMPLATES', management._SettingDataTemplates()))
    test.useFixture(fixtures.MockPatchObject(
        https_boot, '_SUPPORT', https_boot._SupportCache()))
    test.useFixture(fixtures.MockPatchObject(
        https_boot, '_TRUST', https_boot._TrustCache()))


class SimulatorTestCase(db_base.DbTestCase):
    """One simulator per test class, a fresh device state per test.

    Devices: ``dev`` (16.1 profile, LMS running), ``nolms`` (no graceful
    power states).
    """

    DEVICES = ('dev', 'nolms')
    # More DeviceSpec fields per device name, e.g. {'x': {'features': {}}}.
    DEVICE_OPTIONS = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        specs = [DeviceSpec(name, password=PASSWORD, power_delay=0.05,
                            lms=(name != 'nolms'),
                            **cls.DEVICE_OPTIONS.get(name, {}))
                 for name in cls.DEVICES]
        cls.simulator = Simulator(devices=specs)
        cls.simulator.start()

    @classmethod
    def tearDownClass(cls):
        cls.simulator.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        use_pxe_amt(self, max_retry=3, action_wait=0.05,
                    connect_timeout=2, read_timeout=2)
        self.config(power_state_change_timeout=5, group='conductor')
        for device in self.simulator.devices:
            device.clear_faults()
            device.set_power_state(8)
            device.clear_log()
        self.mark_boots()

    def device(self, name='dev'):
        return self.simulator.device(name)

    def driver_info(self, name='dev', protocol='http', **extra):
        return nodes.driver_info(self.device(name), protocol,
                                 password=PASSWORD,
                                 ca_path=self.simulator.ca_cert_path,
                                 **extra)

    def make_node(self, name='dev', protocol='http', **extra):
        return obj_utils.create_test_node(
            self.context, uuid=uuidutils.generate_uuid(),
            driver='pxe_amt', boot_interface='pxe',
            driver_info=self.driver_info(name, protocol, **extra))

    def mark_boots(self):
        """Count boots from now on (see :meth:`wait_for_boots`)."""
        self.boot_marks = {d.name: len(d.boot_history)
                           for d in self.simulator.devices}

    def wait_for_boots(self, count, name='dev', timeout=5):
        """Wait (bounded) until a device has booted ``count`` times.

        Only boots since the last :meth:`mark_boots` count. A reset leaves
        the power state on, so the driver returns before the simulated
        machine has actually restarted.

        :returns: those boots, oldest first.
        """
        boots = waiting.wait_for_boots(self.device(name), count,
                                       self.boot_marks[name], timeout)
        self.assertEqual(count, len(boots), boots)
        return boots

    def requests(self, name='dev', **match):
        """Request log entries of a device, filtered by field values."""
        return [entry for entry in self.device(name).request_log
                if entry.get('event') == 'request'
                and all(entry.get(k) == v for k, v in match.items())]
