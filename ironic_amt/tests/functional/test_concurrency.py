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

"""Many threads on one shared client: valid nonce counts, no crosstalk."""

import threading
import time

from ironic.common import states
from ironic.conductor import task_manager

from ironic_amt.drivers.modules.amt import common
from ironic_amt.testing import driver_case as base
from ironic_amt.wsman import resource_uris

THREADS = 16
CALLS = 25
JOIN_TIMEOUT = 30
# (resource, a field only its instance has) read by alternate threads, so
# an answer delivered to the wrong thread shows up as a wrong class.
RESOURCES = [
    (resource_uris.CIM_AssociatedPowerManagementService, 'PowerState'),
    (resource_uris.AMT_GeneralSettings, 'DigestRealm'),
    (resource_uris.CIM_ComputerSystemPackage, 'PlatformGUID'),
]


def run_threads(count, target):
    """Run target(index) in count threads; return their exceptions.

    :param count: the number of threads.
    :param target: the function each thread runs.
    :returns: the exceptions raised, as a list.
    """
    errors = []

    def wrapper(index):
        try:
            target(index)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=wrapper, args=(i,))
               for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    if any(thread.is_alive() for thread in threads):
        errors.append(AssertionError('a thread did not finish'))
    return errors


class ConcurrencyTestCase(base.SimulatorTestCase):

    def test_shared_client_no_401_storm(self):
        node = self.make_node()
        client = common.get_client(node)
        client.get(RESOURCES[0][0])
        self.device().clear_log()

        def worker(index):
            resource, field = RESOURCES[index % len(RESOURCES)]
            for _i in range(CALLS):
                self.assertIs(client, common.get_client(node))
                instance = client.get(resource)
                self.assertIn(field, instance)
                if field == 'DigestRealm':
                    self.assertEqual(self.device().realm, instance[field])

        self.assertEqual([], run_threads(THREADS, worker))
        log = self.requests()
        self.assertEqual(THREADS * CALLS,
                         len([e for e in log if e['status'] == 200]))
        statuses = [e['auth'] for e in log if e['status'] == 401]
        # No stale nonce and no refused digest; at most one challenge per
        # thread, the first time it is in flight next to the others.
        self.assertNotIn('stale', statuses)
        self.assertNotIn('bad', statuses)
        self.assertLessEqual(len(statuses), THREADS)

        # Steady state: the nonces are pooled, not one 401 more.
        self.device().clear_log()
        self.assertEqual([], run_threads(THREADS, worker))
        self.assertEqual([], [e for e in self.requests()
                              if e['status'] != 200])

    def test_power_state_from_many_threads(self):
        # Ironic's test database (in-memory sqlite) takes one thread at a
        # time, so the threads share one task; the driver calls are
        # concurrent.
        node = self.make_node()
        self.device().set_power_state(2)
        with task_manager.acquire(self.context, node.uuid,
                                  shared=True) as task:
            def worker(index):
                for _i in range(5):
                    self.assertEqual(
                        states.POWER_ON,
                        task.driver.power.get_power_state(task))

            self.assertEqual([], run_threads(8, worker))
        self.assertEqual(40, len(self.requests(status=200)))
        self.assertEqual([], [e for e in self.requests()
                              if e['auth'] in ('stale', 'bad')])

    def test_slow_endpoint_does_not_block_others(self):
        slow = self.make_node('dev')
        fast = self.make_node('nolms')
        for node in (slow, fast):
            common.get_client(node).get(RESOURCES[0][0])
        self.device('dev').inject('latency', seconds=1.5)
        slow_started = threading.Event()
        fast_times = []

        def worker(index):
            if index < 4:
                slow_started.set()
                common.get_client(slow).get(RESOURCES[0][0])
                return
            slow_started.wait(5)
            start = time.monotonic()
            for _i in range(5):
                common.get_client(fast).get(RESOURCES[0][0])
            fast_times.append(time.monotonic() - start)

        start = time.monotonic()
        self.assertEqual([], run_threads(8, worker))
        self.assertGreaterEqual(time.monotonic() - start, 1.5)
        self.assertEqual(4, len(fast_times))
        # Five calls each, while four calls to the slow device hang.
        self.assertLess(max(fast_times), 1.0)
