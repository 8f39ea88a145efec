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

"""One simulator + Ironic stack per e2e test class."""

import fixtures
import testtools

from ironic_amt.testing import harness


class StackTestCase(testtools.TestCase):
    """Starts :class:`harness.Stack` once for the class, stops it after.

    Subclasses set ``DEVICES`` (simulator DeviceSpecs), optionally
    ``IRONIC_OPTIONS`` (extra ironic.conf sections) and ``TEST_TIMEOUT``
    (seconds each test may take).
    """

    DEVICES = ()
    IRONIC_OPTIONS = None
    TEST_TIMEOUT = 60

    @classmethod
    def make_stack(cls):
        """Build the (not yet started) stack for the class."""
        return harness.Stack(list(cls.DEVICES),
                             extra_options=cls.IRONIC_OPTIONS)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stack = cls.make_stack()
        try:
            cls.stack.start()
        except Exception:
            cls.stack.stop()
            raise
        cls.ironic = cls.stack.ironic

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(self.TEST_TIMEOUT, gentle=True))

    def manageable_node(self, name, index, **create_args):
        """Create a node for the simulated device of that name; manage it.

        :param name: the device name, also the node name.
        :param index: the node number (see harness.Stack.create_node).
        :param create_args: more arguments of harness.Stack.create_node.
        :returns: the simulator Device behind the node.
        """
        device = self.stack.sim.device(name)
        self.stack.create_node(name, device, index=index, **create_args)
        self.ironic.cli('node', 'manage', name, parse=False)
        self.ironic.wait_for_node(name, 30, provision_state='manageable')
        return device
