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

"""A short soak under random faults (``tools/soak`` runs a long one)."""

import json

from testtools import content

from ironic_amt.simulator import DeviceSpec
from ironic_amt.simulator import Simulator
from ironic_amt.tests.functional import base
from ironic_amt.tests.functional import soak

# Request log entries kept per device; a long soak makes many.
LOG_LIMIT = 500000


class SoakTestCase(base.SimulatorTestCase):
    """Random operations on NODE_COUNT nodes for DURATION seconds.

    Every third node uses https. ``tools/soak`` subclasses this with
    its own DURATION, NODE_COUNT and SEED and prints ``report``.
    """

    DURATION = 15
    NODE_COUNT = 6
    SEED = 1
    report = None

    @classmethod
    def setUpClass(cls):
        cls.DEVICES = tuple('soak-%03d' % i for i in range(cls.NODE_COUNT))
        super().setUpClass()
        # The same devices with a request log long enough for the run.
        cls.simulator.stop()
        cls.simulator = Simulator(devices=[
            DeviceSpec(name, password=base.PASSWORD, power_delay=0.05,
                       log_limit=LOG_LIMIT) for name in cls.DEVICES])
        cls.simulator.start()

    def setUp(self):
        super().setUp()
        self.config(group='amt', **soak.SOAK_OPTIONS)

    def test_soak(self):
        nodes = {}
        for index, name in enumerate(self.DEVICES):
            protocol = 'https' if index % 3 == 0 else 'http'
            nodes[self.make_node(name, protocol).uuid] = self.device(name)
        run = soak.Soak(self.context, nodes, self.DURATION, seed=self.SEED)
        report = run.run()
        type(self).report = report
        self.addDetail('soak-report', content.text_content(
            json.dumps(report, indent=2, sort_keys=True)))
        self.assertEqual([], report['violations'])
        self.assertGreater(report['operations'], 10 * self.NODE_COUNT)
        self.assertGreater(report['retries'], 0)
        self.assertGreater(sum(report['faults_injected'].values()), 0)
