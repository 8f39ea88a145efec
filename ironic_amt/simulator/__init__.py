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

"""An Intel AMT WS-Management device simulator.

It serves many simulated AMT devices from one asyncio loop: HTTP digest
authentication shaped like AMT's, the WS-Man power, boot and inventory
classes, a request log, fault injection and a JSON control API.  It shares
no code with the driver's WS-Man client.
"""

from ironic_amt.simulator.config import DeviceSpec
from ironic_amt.simulator.simulator import Simulator

__all__ = ['DeviceSpec', 'Simulator']
