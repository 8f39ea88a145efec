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

import fixtures
from ironic.conductor import task_manager
from ironic.drivers.modules import agent
from ironic.drivers.modules import ipxe
from ironic.drivers.modules import pxe as ironic_pxe
from ironic.drivers.modules import ramdisk
from ironic.tests.unit.db import base as db_base
from ironic.tests.unit.objects import utils as obj_utils
import stevedore

from ironic_amt.drivers.modules.amt import boot
from ironic_amt.drivers.modules.amt import management
from ironic_amt.drivers.modules.amt import power
from ironic_amt.drivers import pxe


class PXEAndAMTDriverTestCase(db_base.DbTestCase):

    def setUp(self):
        super().setUp()
        # iPXE writes its boot script into http_root when it loads.
        self.config(http_root=self.useFixture(fixtures.TempDir()).path,
                    group='deploy')

    def test_entry_points(self):
        for namespace, name, cls in [
                ('ironic.hardware.types', 'pxe_amt', pxe.PXEAndAMTDriver),
                ('ironic.hardware.interfaces.power', 'amt', power.AMTPower),
                ('ironic.hardware.interfaces.management', 'amt',
                 management.AMTManagement),
                ('ironic.hardware.interfaces.boot', 'amt-https',
                 boot.AMTHttpsBoot)]:
            manager = stevedore.DriverManager(namespace, name)
            self.assertIs(cls, manager.driver)

    def test_only_hardware_type_enabled_picks_amt_interfaces(self):
        # Nothing about AMT in the configuration but the hardware type:
        # Ironic's defaults (None) enable the hardware type's interfaces.
        self.config(enabled_hardware_types=['pxe_amt'],
                    enabled_power_interfaces=None,
                    enabled_management_interfaces=None,
                    enabled_boot_interfaces=['pxe', 'ipxe'],
                    enabled_deploy_interfaces=['direct', 'ramdisk'])
        node = obj_utils.create_test_node(self.context, driver='pxe_amt')
        with task_manager.acquire(self.context, node.id) as task:
            self.assertIsInstance(task.driver.power, power.AMTPower)
            self.assertIsInstance(task.driver.management,
                                  management.AMTManagement)
            self.assertIsInstance(task.driver.boot, ironic_pxe.PXEBoot)
            self.assertIsInstance(task.driver.deploy, agent.AgentDeploy)

    def test_ipxe_and_ramdisk(self):
        self.config(enabled_hardware_types=['pxe_amt'],
                    enabled_power_interfaces=['amt'],
                    enabled_management_interfaces=['amt'],
                    enabled_boot_interfaces=['pxe', 'ipxe'],
                    enabled_deploy_interfaces=['direct', 'ramdisk'])
        node = obj_utils.create_test_node(
            self.context, driver='pxe_amt', boot_interface='ipxe',
            deploy_interface='ramdisk')
        with task_manager.acquire(self.context, node.id) as task:
            self.assertIsInstance(task.driver.boot, ipxe.iPXEBoot)
            self.assertIsInstance(task.driver.deploy, ramdisk.RamdiskDeploy)
