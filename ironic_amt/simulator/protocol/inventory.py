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

"""WS-Man classes of the hardware inventory.

The concrete classes (CIM_Chassis, CIM_Card, CIM_Processor, ...) are
served from the device's generated inventory without registration; this
module registers the abstract classes Intel's consoles enumerate, which
firmware answers with their subclasses' instances (GWM cim/physical and
cim/system pull types).
"""

from ironic_amt.simulator.protocol import registry

registry.abstract('CIM_PhysicalPackage', ['CIM_Card', 'CIM_Chassis'])
registry.abstract('CIM_SystemPackaging', ['CIM_ComputerSystemPackage'])
