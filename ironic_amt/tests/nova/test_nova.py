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

"""Nova schedules a flavor onto a pxe_amt node, through a real stack.

One :class:`~ironic_amt.testing.nova_stack.NovaStack` (Keystone,
Placement, Glance, Nova API/conductor/scheduler/compute with the Ironic
virt driver, RabbitMQ, PostgreSQL, Ironic and the AMT simulator) serves
the class. Networking is the read-only Neutron stand-in, NOT Neutron:
the instance boots with ``--nic none``.

The flow is an operator's: enroll three pxe_amt nodes with the
``baremetal`` CLI, inspect them out of band, make them available, wait
until nova-compute has reported them to Placement, create a flavor asking
for the nodes' resource class and an AMT trait only one node has, and
create, hard-reboot and delete a server with the ``openstack`` CLI. The
setup and flow timings and the peak memory are attached as details.
"""

import concurrent.futures
import json
import os
import time

from testtools import content

from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import nodes
from ironic_amt.testing import nova_stack
from ironic_amt.testing import request_log
from ironic_amt.testing import waiting
from ironic_amt.tests.e2e import base

RESOURCE_CLASS = 'amt-baremetal'
PLACEMENT_CLASS = 'CUSTOM_AMT_BAREMETAL'
# One-Click Recovery HTTPS boot: profiles 16.1 and 19 have it, 11.8 and 12
# do not, so exactly one node below carries the trait.
TRAIT = 'CUSTOM_AMT_HTTPS_BOOT'
TRAIT_PREFIX = 'CUSTOM_AMT_'
FLAVOR = 'amt-https-boot'
SERVER = 'amt-instance'
# node name -> simulator profile; only amt-nova-1 has HTTPS boot.
NODES = {'amt-nova-0': '12', 'amt-nova-1': '16.1', 'amt-nova-2': '11.8'}
TRAIT_NODE = 'amt-nova-1'
STATE_TIMEOUT = 60
REPORT_TIMEOUT = 120
SERVER_TIMEOUT = 180
TEST_TIMEOUT = 600
PXE_POWER_ON = 2
MASTER_BUS_RESET = 10


class NovaScheduleTest(base.StackTestCase):
    """A flavor with an AMT trait lands on the pxe_amt node that has it."""

    TEST_TIMEOUT = TEST_TIMEOUT

    @classmethod
    def make_stack(cls):
        return nova_stack.NovaStack([DeviceSpec(name, profile=profile)
                                     for name, profile in NODES.items()])

    def setUp(self):
        super().setUp()
        self.timings = dict(self.stack.timings)
        self.addOnException(self._attach_logs)
        self.addCleanup(self._attach_timings)

    def _attach_logs(self, exc_info):
        self.addDetail('stack-logs', content.text_content(
            self.stack.logs()))
        self.addDetail('ironic-log', content.text_content(
            self.ironic.logs()[-20000:]))

    def _attach_timings(self):
        self.timings['memory_peak_mib'] = round(
            self.stack.memory.peak_kib / 1024)
        self.addDetail('timings', content.text_content(
            json.dumps(self.timings, sort_keys=True)))

    def _timed(self, name, started):
        self.timings['%s_s' % name] = round(time.monotonic() - started, 1)

    # Steps ------------------------------------------------------------------

    def _each(self, function, *args):
        """Call function(name, *args) for every node, in parallel."""
        with concurrent.futures.ThreadPoolExecutor(len(NODES)) as pool:
            jobs = [pool.submit(function, name, *args) for name in NODES]
            return [job.result() for job in jobs]

    def _provision(self, name, verb, state):
        self.ironic.cli('node', verb, name, parse=False)
        return self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                         provision_state=state)

    def _enroll_and_inspect(self):
        """Enroll the nodes, inspect them out of band, make them available.

        One ``baremetal create`` enrolls the three nodes from a file
        (which keeps the AMT passwords off the command line); each node
        then goes through manage, inspect and provide.

        :returns: {name: node}.
        """
        enrollment = os.path.join(self.stack.workdir, 'nodes.json')
        with open(enrollment, 'w') as f:
            json.dump({'nodes': [{
                'name': name, 'driver': 'pxe_amt',
                'resource_class': RESOURCE_CLASS, 'boot_interface': 'pxe',
                'deploy_interface': 'ramdisk',
                'driver_info': nodes.driver_info(self.stack.sim.device(name))}
                for name in NODES]}, f)
        self.ironic.cli('create', enrollment, parse=False)
        for verb, state in (('manage', 'manageable'),
                            ('inspect', 'manageable'),
                            ('provide', 'available')):
            found = self._each(self._provision, verb, state)
        for node in found:
            props = node['properties']
            self.assertEqual('x86_64', props['cpu_arch'], node['name'])
            self.assertGreater(int(props['memory_mb']), 0, node['name'])
            self.assertGreater(int(props['cpus']), 0, node['name'])
            self.assertIsNotNone(node['inspection_finished_at'])
            self.assertEqual(RESOURCE_CLASS, node['resource_class'])
        return {node['name']: node for node in found}

    def _provider(self, uuid):
        """Return a node's resource provider as Placement reports it.

        :returns: {'inventories': ..., 'traits': [...]}, or None while the
            provider or its inventory is not there yet.
        """
        resp = self.stack.placement('GET', '/resource_providers/%s' % uuid,
                                    expected=(200, 404))
        if resp.status_code == 404:
            return None
        inventories = self.stack.placement(
            'GET', '/resource_providers/%s/inventories'
            % uuid).json()['inventories']
        if PLACEMENT_CLASS not in inventories:
            return None
        traits = self.stack.placement(
            'GET', '/resource_providers/%s/traits' % uuid).json()['traits']
        return {'inventories': inventories, 'traits': traits}

    def _wait_for_placement(self, uuids, traits):
        """Wait until every node is a provider with its class and traits.

        :param uuids: {node name: node uuid}.
        :param traits: {node name: its sorted CUSTOM_AMT_* traits}.
        """
        expected = {uuids[name]: node_traits
                    for name, node_traits in traits.items()}

        def reported():
            providers = {uuid: self._provider(uuid) for uuid in expected}
            if any(p is None for p in providers.values()):
                return None
            amt = {uuid: sorted(t for t in p['traits']
                                if t.startswith(TRAIT_PREFIX))
                   for uuid, p in providers.items()}
            return providers if amt == expected else None

        providers = waiting.wait_until(reported, REPORT_TIMEOUT, 1.0,
                                       'the nodes reported to Placement')
        for uuid, provider in providers.items():
            self.assertEqual(1, provider['inventories'][PLACEMENT_CLASS]
                             ['total'], uuid)

        def discovered():
            hypervisors = self.stack.nova('GET', '/os-hypervisors').json()
            names = {h['hypervisor_hostname']
                     for h in hypervisors['hypervisors']}
            return names >= set(uuids.values())

        waiting.wait_until(discovered, REPORT_TIMEOUT, 1.0,
                           'the nodes as Nova hypervisors')

    def _server(self, server_id):
        resp = self.stack.nova('GET', '/servers/%s' % server_id,
                               expected=(200, 404))
        return resp.json()['server'] if resp.status_code == 200 else None

    def _wait_for_server(self, server_id, **expected):
        def reached():
            server = self._server(server_id)
            if server is not None and server['status'] == 'ERROR':
                self.fail('server went to ERROR: %s' % server.get('fault'))
            if server is not None and all(server.get(k) == v
                                          for k, v in expected.items()):
                return server
            return None

        return waiting.wait_until(reached, SERVER_TIMEOUT, 0.5,
                                  'server %s %s' % (server_id, expected))

    def _boots(self, name):
        return request_log.power_boots(
            self.stack.sim.device(name).request_log)

    def _assert_boot(self, boot, power_state):
        """A booting power change armed PXE in the console order."""
        self.assertEqual(power_state, boot['power_state'], boot)
        self.assertEqual('pxe', request_log.armed_device(boot['armed']),
                         boot)
        self.assertIsNotNone(boot['boot'], boot)
        self.assertEqual('pxe', boot['boot']['source'], boot)

    # The flow ---------------------------------------------------------------

    def test_flavor_with_amt_trait_lands_on_node_with_it(self):
        started = time.monotonic()
        found = self._enroll_and_inspect()
        self._timed('enroll_inspect_provide', started)
        # The traits come from the driver's inspection alone.
        traits = {name: sorted(t for t in node['traits']
                               if t.startswith(TRAIT_PREFIX))
                  for name, node in found.items()}
        for name, node_traits in traits.items():
            self.assertEqual(name == TRAIT_NODE, TRAIT in node_traits,
                             traits)
            self.assertIn('CUSTOM_AMT_ACM', node_traits, traits)
        uuids = {name: node['uuid'] for name, node in found.items()}

        started = time.monotonic()
        self._wait_for_placement(uuids, traits)
        self._timed('placement_report', started)

        started = time.monotonic()
        self.stack.openstack(
            'flavor', 'create', '--ram', '1024', '--disk', '0', '--vcpus',
            '1', '--property', 'resources:%s=1' % PLACEMENT_CLASS,
            '--property', 'resources:VCPU=0',
            '--property', 'resources:MEMORY_MB=0',
            '--property', 'resources:DISK_GB=0',
            '--property', 'trait:%s=required' % TRAIT, FLAVOR)
        server = self.stack.openstack(
            'server', 'create', '--flavor', FLAVOR, '--image',
            self.stack.images['instance'], '--nic', 'none', SERVER)
        server = self._wait_for_server(server['id'], status='ACTIVE')
        self._timed('server_create', started)

        node_uuid = uuids[TRAIT_NODE]
        self.assertEqual(node_uuid,
                         server['OS-EXT-SRV-ATTR:hypervisor_hostname'])
        node = self.ironic.node(TRAIT_NODE)
        self.assertEqual('active', node['provision_state'])
        self.assertEqual(server['id'], node['instance_uuid'])
        self.assertEqual('power on', node['power_state'])
        for name in NODES:
            if name != TRAIT_NODE:
                other = self.ironic.node(name)
                self.assertIsNone(other['instance_uuid'], name)
                self.assertEqual('available', other['provision_state'])
                self.assertEqual([], self._boots(name), name)
        usages = self.stack.placement(
            'GET', '/resource_providers/%s/usages' % node_uuid).json()
        self.assertEqual(1, usages['usages'][PLACEMENT_CLASS])
        # The ramdisk deploy: persistent PXE armed, then the power-on.
        boots = self._boots(TRAIT_NODE)
        self.assertEqual(1, len(boots), boots)
        self._assert_boot(boots[0], PXE_POWER_ON)

        started = time.monotonic()
        self.stack.openstack('server', 'reboot', '--hard', server['id'],
                             parse=False)
        waiting.wait_until(lambda: len(self._boots(TRAIT_NODE)) == 2,
                           SERVER_TIMEOUT, 0.2, 'the hard reboot')
        self._wait_for_server(server['id'], status='ACTIVE')
        self._timed('server_reboot', started)
        boots = self._boots(TRAIT_NODE)
        # The stored persistent device is re-armed before the reset.
        self._assert_boot(boots[1], MASTER_BUS_RESET)

        started = time.monotonic()
        self.stack.openstack('server', 'delete', server['id'], parse=False)
        waiting.wait_until(lambda: self._server(server['id']) is None,
                           SERVER_TIMEOUT, 0.5, 'the server deleted')
        node = self.ironic.wait_for_node(TRAIT_NODE, STATE_TIMEOUT,
                                         provision_state='available')
        self._timed('server_delete', started)
        self.assertIsNone(node['instance_uuid'])
        self.assertEqual('power off', node['power_state'])
        waiting.wait_until(
            lambda: not self.stack.placement(
                'GET', '/resource_providers/%s/usages'
                % node_uuid).json()['usages'].get(PLACEMENT_CLASS),
            REPORT_TIMEOUT, 1.0, 'no Placement usage left')
        allocations = self.stack.placement(
            'GET', '/allocations/%s' % server['id']).json()
        self.assertEqual({}, allocations['allocations'])
        # The same through osc-placement, as an operator checks it.
        usages = self.stack.openstack('resource', 'provider', 'usage',
                                      'show', node_uuid)
        self.assertIn({'resource_class': PLACEMENT_CLASS, 'usage': 0},
                      usages)

        # Nova only read from the Neutron stand-in.
        requests_seen = self.stack.neutron.requests
        self.assertTrue(requests_seen)
        self.assertEqual({'GET'}, {m for m, _path in requests_seen},
                         requests_seen)
