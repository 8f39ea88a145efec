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

"""pxe_amt on a real multi-conductor Ironic: PostgreSQL, JSON-RPC, failover.

One cluster (PostgreSQL, ironic-api, three ironic-conductor processes and
the AMT simulator) serves every test of the class. Each test enrolls its
own nodes on its own simulated devices, and leaves every conductor running
and its nodes deleted, so the tests do not depend on each other's order.
Timings are attached to each test as the ``timings`` detail.
"""

import json
import time

from testtools import content

from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import cluster
from ironic_amt.testing import harness
from ironic_amt.testing import nodes
from ironic_amt.testing import request_log
from ironic_amt.testing import waiting
from ironic_amt.tests.e2e import base

CONDUCTORS = 3
TEST_TIMEOUT = 240
STATE_TIMEOUT = 60
TAKEOVER_TIMEOUT = 60
# Per-test device pools: (prefix, number of devices).
POOLS = {'flow': 20, 'fail': 15, 'cache': 12}
# Seconds added to every request of a device to keep an operation running
# when its conductor is killed.
SLOW_SECONDS = 1.5
POWER_READ = ('Get', 'CIM_AssociatedPowerManagementService')
AUTH_FAILURES = ('bad', 'access_denied')


def _device_name(pool, index):
    return 'mn-%s-%02d' % (pool, index)


def _devices():
    return [DeviceSpec(_device_name(pool, i))
            for pool, count in POOLS.items() for i in range(count)]


class MultiConductorTest(base.StackTestCase):
    """Enroll, operate and fail over pxe_amt nodes on three conductors."""

    TEST_TIMEOUT = TEST_TIMEOUT

    @classmethod
    def make_stack(cls):
        return cluster.MultiStack(_devices(), conductors=CONDUCTORS)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hosts = sorted(cls.ironic.conductors)

    def setUp(self):
        super().setUp()
        self.timings = {'cluster_start_s': round(self.ironic.start_seconds,
                                                 2)}
        self.addCleanup(self._attach_timings)

    def _attach_timings(self):
        self.addDetail('timings', content.text_content(
            json.dumps(self.timings, sort_keys=True)))

    # Helpers --------------------------------------------------------------

    def _call(self, method, path, expected=(200, 201, 202, 204), **kwargs):
        resp = self.ironic.api(method, path, **kwargs)
        self.assertIn(resp.status_code, expected,
                      '%s %s: %s' % (method, path, resp.text))
        return resp

    def _provision(self, name, target):
        self._call('PUT', '/v1/nodes/%s/states/provision' % name,
                   json={'target': target})

    def _create(self, pool, index):
        """Enroll one node through the REST API, with its port.

        :returns: the simulator Device behind the node (named like it).
        """
        device = self.stack.sim.device(_device_name(pool, index))
        info = nodes.driver_info(device)
        node = self._call('POST', '/v1/nodes', json={
            'name': device.name, 'driver': 'pxe_amt',
            'boot_interface': 'pxe', 'deploy_interface': 'ramdisk',
            'driver_info': info}).json()
        self.addCleanup(self._delete, device.name)
        self._call('POST', '/v1/ports', json={
            'node_uuid': node['uuid'],
            'address': '52:54:01:%02x:00:%02x'
                       % (sorted(POOLS).index(pool), index)})
        return device

    def _make_available(self, names):
        for target, state in (('manage', 'manageable'),
                              ('provide', 'available')):
            for name in names:
                self._provision(name, target)
            for name in names:
                self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                          provision_state=state)

    def _enroll(self, pool, count):
        """Enroll nodes through the REST API and make them available.

        :returns: {node name: simulator Device}.
        """
        nodes = {}
        for index in range(count):
            device = self._create(pool, index)
            nodes[device.name] = device
        self._make_available(nodes)
        return nodes

    def _delete(self, name):
        self.ironic.api('PATCH', '/v1/nodes/%s' % name, json=[
            {'op': 'replace', 'path': '/maintenance', 'value': True}])
        self.ironic.api('DELETE', '/v1/nodes/%s' % name)

    def _wait(self, what, predicate, timeout=TAKEOVER_TIMEOUT):
        """Poll predicate() until true; return the seconds waited."""
        started = time.monotonic()
        waiting.wait_until(predicate, timeout, harness.POLL_INTERVAL, what)
        return time.monotonic() - started

    def _owned(self, owners, host):
        return sorted(name for name, owner in owners.items()
                      if owner == host)

    def _boot_device(self, name):
        return self._call('GET', '/v1/nodes/%s/management/boot_device'
                          % name).json()

    def _log_since(self, device, seq):
        return [e for e in device.request_log if e['seq'] > seq]

    def _last_seq(self, device):
        log = device.request_log
        return log[-1]['seq'] if log else 0

    def _wait_boots(self, device, mark, count):
        """Wait until a device booted count times since a log mark."""
        def booted():
            boots = request_log.power_boots(self._log_since(device, mark))
            return (len(boots) >= count
                    and all(b['boot'] is not None for b in boots))
        self._wait('%d boot(s) of %s' % (count, device.name), booted,
                   STATE_TIMEOUT)

    def assertBoots(self, entries, expected):
        """Check the booting power changes and what each one armed.

        :param entries: request log entries of one device.
        :param expected: for each boot, the armed device (None: nothing
            armed, the device boots its default).
        """
        boots = request_log.power_boots(entries)
        self.assertEqual(len(expected), len(boots), boots)
        for wanted, boot in zip(expected, boots):
            self.assertIsNotNone(boot['boot'], boot)
            if wanted is None:
                self.assertEqual([], boot['armed'], boot)
                self.assertFalse(boot['boot']['override'], boot)
            else:
                self.assertEqual(wanted,
                                 request_log.armed_device(boot['armed']), boot)
                self.assertEqual(wanted, boot['boot']['source'], boot)

    def assertArmedBy(self, host, uuid, device):
        """Check a conductor's log says it armed a boot device on a node."""
        line = 'Boot device %s armed on node %s' % (device, uuid)
        self.assertIn(line, self.ironic.conductors[host].text())

    def assertNoAuthFailure(self, entries):
        bad = [e for e in entries if e.get('auth') in AUTH_FAILURES]
        self.assertEqual([], bad)

    # Tests ----------------------------------------------------------------

    def test_ring_spreads_nodes_and_cli_flows(self):
        """Every conductor owns nodes; CLI flows work on each of them."""
        first = self.stack.sim.device(_device_name('flow', 0))
        created = self.stack.create_node(first.name, first, index=200)
        self.addCleanup(self._delete, first.name)
        self.assertEqual('enroll', created['provision_state'])
        self.stack.make_available(first.name)
        nodes = {first.name: first}
        for index in range(1, POOLS['flow']):
            if set(self.ironic.owners(nodes).values()) == set(self.hosts):
                break
            device = self._create('flow', index)
            self._make_available([device.name])
            nodes[device.name] = device
        owners = self.ironic.owners(nodes)
        self.timings['flow_nodes_per_conductor'] = {
            host: len(self._owned(owners, host)) for host in self.hosts}
        self.assertEqual(set(self.hosts), set(owners.values()))

        for host in self.hosts:
            name = self._owned(owners, host)[0]
            device = nodes[name]
            uuid = self.ironic.node(name)['uuid']
            self.ironic.cli('node', 'boot', 'device', 'set', name, 'cdrom',
                            parse=False)
            self.assertEqual('cdrom', self.ironic.cli(
                'node', 'boot', 'device', 'show', name)['boot_device'])
            self.ironic.cli('node', 'power', 'on', name, parse=False)
            self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                      power_state='power on')
            self.ironic.cli('node', 'power', 'off', name, parse=False)
            self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                      power_state='power off')
            self.stack.set_ramdisk_image(name)
            self.ironic.cli('node', 'deploy', name, parse=False)
            node = self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                             provision_state='active')
            self.assertEqual(host, node['conductor'])
            self.assertIsNone(node['last_error'])
            self.assertBoots(device.request_log, ['cdrom', 'pxe'])
            self.assertArmedBy(host, uuid, 'cdrom')
            self.assertArmedBy(host, uuid, 'pxe')
            self.assertNoAuthFailure(device.request_log)

    def test_killed_conductor_nodes_taken_over(self):
        """SIGKILL a conductor mid-operation; survivors take its nodes."""
        nodes = self._enroll('fail', POOLS['fail'])
        before = self.ironic.owners(nodes)
        victim = max(self.hosts,
                     key=lambda h: len(self._owned(before, h)))
        survivors = [h for h in self.hosts if h != victim]
        owned = self._owned(before, victim)
        self.timings['fail_nodes_per_conductor'] = {
            host: len(self._owned(before, host)) for host in self.hosts}
        self.assertGreaterEqual(len(owned), 5, before)
        persistent, one_shot, deploying, powering, idle = owned[:5]

        self.ironic.cli('node', 'boot', 'device', 'set', persistent, 'pxe',
                        '--persistent', parse=False)
        self.ironic.cli('node', 'boot', 'device', 'set', one_shot, 'cdrom',
                        parse=False)
        self.stack.set_ramdisk_image(deploying)
        for name in (deploying, powering):
            nodes[name].inject('latency', seconds=SLOW_SECONDS)
        self.ironic.cli('node', 'deploy', deploying, parse=False)
        self.ironic.cli('node', 'power', 'on', powering, parse=False)
        self.ironic.wait_for_node(deploying, STATE_TIMEOUT,
                                  provision_state='deploying',
                                  reservation=victim)
        self.ironic.wait_for_node(powering, STATE_TIMEOUT,
                                  target_power_state='power on',
                                  reservation=victim)
        time.sleep(SLOW_SECONDS)

        killed_at = time.monotonic()
        self.ironic.kill_conductor(victim)
        for role, name in (('deploy', deploying), ('power', powering)):
            self.timings['%s_calls_before_kill' % role] = [
                e.get('method') or e.get('resource')
                for e in nodes[name].request_log
                if e['event'] == 'request' and e['status'] == 200]
        self.addCleanup(self._restart, victim)
        self.timings['dead_detected_s'] = round(self._wait(
            'conductor %s reported dead' % victim,
            lambda: self.ironic.alive_conductors() == survivors), 2)
        self._wait('nodes of %s taken over' % victim, lambda: all(
            owner in survivors
            for owner in self.ironic.owners(nodes).values()))
        self.timings['ring_takeover_s'] = round(
            time.monotonic() - killed_at, 2)
        self._wait('reservations of %s cleared' % victim, lambda: all(
            self.ironic.node(n)['reservation'] is None for n in nodes))
        self.timings['reservations_cleared_s'] = round(
            time.monotonic() - killed_at, 2)
        for name in (deploying, powering):
            nodes[name].clear_faults()
        after = self.ironic.owners(nodes)

        # The deploy in flight fails cleanly, and can be started again.
        node = self.ironic.wait_for_node(deploying, STATE_TIMEOUT,
                                         provision_state='deploy failed')
        self.assertIn('conductor take over', node['last_error'])
        self.timings['deploy_in_flight'] = node['last_error']
        # The power-on in flight is aborted, the lock released.
        node = self.ironic.wait_for_node(powering, STATE_TIMEOUT,
                                         target_power_state=None)
        self.assertIn('conductor take over', node['last_error'])
        self.timings['power_in_flight'] = node['last_error']
        self._wait('power state of %s consistent' % powering, lambda: (
            self.ironic.node(powering)['power_state']
            == ('power on' if nodes[powering].power_state == 2
                else 'power off')))
        self.timings['power_in_flight_final'] = self.ironic.node(
            powering)['power_state']

        # Power sync goes on for every node, on the surviving conductors.
        marks = {n: self._last_seq(d) for n, d in nodes.items()}
        nodes[idle].set_power_state(2)
        self._wait('power sync of every node', lambda: all(
            any((e.get('action'), e.get('resource')) == POWER_READ
                for e in self._log_since(nodes[n], marks[n]))
            for n in nodes))
        self._wait('power sync turns %s off again' % idle,
                   lambda: nodes[idle].power_state == 8)
        self.assertEqual('power off', self.ironic.node(idle)['power_state'])

        # Stored boot devices are armed by the new owners at power-on.
        for name, wanted in ((persistent, 'pxe'), (one_shot, 'cdrom')):
            mark = self._last_seq(nodes[name])
            self.ironic.cli('node', 'power', 'on', name, parse=False)
            self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                      power_state='power on')
            self.ironic.cli('node', 'reboot', name, parse=False)
            self._wait_boots(nodes[name], mark, 2)
            self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                      power_state='power on',
                                      target_power_state=None)
            again = 'pxe' if name == persistent else None
            self.assertBoots(self._log_since(nodes[name], mark),
                             [wanted, again])
            self.assertArmedBy(after[name], self.ironic.node(name)['uuid'],
                               wanted)
        self.assertEqual({'boot_device': 'pxe', 'persistent': True},
                         self._boot_device(persistent))
        self.assertIsNone(self._boot_device(one_shot)['boot_device'])

        # The failed deploy runs to the end on the new owner.
        mark = self._last_seq(nodes[deploying])
        self.stack.set_ramdisk_image(deploying)
        self.ironic.cli('node', 'deploy', deploying, parse=False)
        node = self.ironic.wait_for_node(deploying, STATE_TIMEOUT,
                                         provision_state='active')
        self.assertIn(node['conductor'], survivors)
        self.assertBoots(self._log_since(nodes[deploying], mark), ['pxe'])

        # The restarted conductor gets its nodes back.
        restarted_at = time.monotonic()
        self.ironic.start_conductor(victim)
        self.ironic.wait_for_conductors(self.hosts)
        self._wait('ring rebalanced',
                   lambda: self.ironic.owners(nodes) == before)
        self.timings['rebalance_after_restart_s'] = round(
            time.monotonic() - restarted_at, 2)
        mark = self._last_seq(nodes[persistent])
        self.ironic.cli('node', 'reboot', persistent, parse=False)
        self._wait_boots(nodes[persistent], mark, 1)
        self.assertBoots(self._log_since(nodes[persistent], mark), ['pxe'])
        self.assertArmedBy(victim, self.ironic.node(persistent)['uuid'],
                           'pxe')
        for device in nodes.values():
            self.assertNoAuthFailure(device.request_log)

    def _restart(self, host):
        if not self.ironic.conductors[host].running():
            self.ironic.start_conductor(host)
        self.ironic.wait_for_conductors(self.hosts)

    def test_client_cache_node_away_and_back(self):
        """A node leaves a conductor and comes back after a nonce reset."""
        nodes = self._enroll('cache', POOLS['cache'])
        before = self.ironic.owners(nodes)
        leaver = max(self.hosts, key=lambda h: len(self._owned(before, h)))
        name = self._owned(before, leaver)[0]
        device = nodes[name]
        others = [h for h in self.hosts if h != leaver]

        stopped_at = time.monotonic()
        self.ironic.stop_conductor(leaver)
        self.addCleanup(self._restart, leaver)
        self.ironic.wait_for_conductors(others)
        self._wait('%s moved off %s' % (name, leaver),
                   lambda: self.ironic.owners([name])[name] != leaver)
        self.timings['graceful_stop_takeover_s'] = round(
            time.monotonic() - stopped_at, 2)
        keeper = self.ironic.owners([name])[name]
        self.ironic.cli('node', 'power', 'on', name, parse=False)
        self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                  power_state='power on')

        # Away: back on the restarted conductor, whose client is new. In
        # maintenance the node is not power-synced: only the calls below
        # reach its device.
        self.ironic.start_conductor(leaver)
        self.ironic.wait_for_conductors(self.hosts)
        self._wait('%s back on %s' % (name, leaver),
                   lambda: self.ironic.owners([name])[name] == leaver)
        self._call('PATCH', '/v1/nodes/%s' % name, json=[
            {'op': 'replace', 'path': '/maintenance', 'value': True}])
        device.inject('nonce_reset')
        self.ironic.cli('node', 'power', 'off', name, parse=False)
        self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                  power_state='power off')
        self.assertEqual([], device.faults.describe())

        # Back on the keeper, whose cached session holds a dead nonce.
        mark = self._last_seq(device)
        self.ironic.stop_conductor(leaver)
        self.ironic.wait_for_conductors(others)
        self._wait('%s back on %s' % (name, keeper),
                   lambda: self.ironic.owners([name])[name] == keeper)
        self.ironic.cli('node', 'power', 'on', name, parse=False)
        node = self.ironic.wait_for_node(name, STATE_TIMEOUT,
                                         power_state='power on')
        self.assertIsNone(node['last_error'])
        entries = [e for e in self._log_since(device, mark)
                   if e['event'] == 'request']
        self.timings['cache_back_first_requests'] = [
            (e['status'], e['auth'], e['action'], e['resource'])
            for e in entries[:3]]
        self.assertNoAuthFailure(entries)
        self.assertEqual((401, 'stale'),
                         (entries[0]['status'], entries[0]['auth']))
        self.assertEqual((200, 'ok'),
                         (entries[1]['status'], entries[1]['auth']))
