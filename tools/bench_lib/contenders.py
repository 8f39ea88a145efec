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

"""The clients compared, each doing the same operations on one device.

* ``ironic-amt``: the driver's own code.  AMTPower and AMTManagement
  methods run on a stand-in task (a TaskManager subclass holding an
  in-memory node, no database), so power-on arms the stored boot device
  and polls exactly as in the conductor; they get their ``wsman.Client``
  from ``common.get_client`` (the shared ``_ClientCache``).  The inventory
  read is ``inspect.read_inventory`` + ``build_inspection_data``, what
  AMTInspect.inspect_hardware sends (without storing the result).
* ``naive``: the same driver code, but ``common.get_client`` returns a
  client whose every call is a fresh ``requests.post`` with
  ``HTTPDigestAuth``: the same WS-Man calls over the common naive
  transport.
* ``pypi-amt``: the PyPI ``amt`` 0.8.0 ``amt.client.Client`` (the old
  Ironic AMT driver's transport): ``set_next_boot``, ``power_on``,
  ``power_cycle``, ``power_status``; the power state is confirmed by
  polling ``power_status`` at the same interval as the driver.  It has no
  inventory API.
"""

import contextlib
import time
from unittest import mock

from amt import client as amt_client
from ironic.common import boot_devices
from ironic.common import context as ironic_context
from ironic.common import states
from ironic.conductor import task_manager
import requests
from requests import auth as requests_auth

from ironic_amt.conf import CONF
from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import inspect
from ironic_amt.drivers.modules.amt import management
from ironic_amt.drivers.modules.amt import power
from ironic_amt.testing import nodes
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import transport

OURS = 'ironic-amt'
NAIVE = 'naive'
PYPI_AMT = 'pypi-amt'

# CIM PowerState of a powered-on machine, as amt's power_status returns it.
_ON = '2'


class BenchNode(object):
    """The parts of an Ironic node the AMT interfaces use, in memory.

    :param name: the node name (also used as its uuid).
    :param driver_info: the node's driver_info.
    """

    def __init__(self, name, driver_info):
        self.uuid = name
        self.driver_info = driver_info
        self.driver_internal_info = {}
        self.properties = {}

    def set_driver_internal_info(self, key, value):
        """Set a driver_internal_info key."""
        self.driver_internal_info[key] = value

    def del_driver_internal_info(self, key):
        """Remove a driver_internal_info key."""
        self.driver_internal_info.pop(key, None)

    def save(self):
        """Nothing to save: there is no database."""


class _Driver(object):
    def __init__(self):
        self.power = power.AMTPower()
        self.management = management.AMTManagement()


class BenchTask(task_manager.TaskManager):
    """An exclusive task holding a :class:`BenchNode` (no locks, no DB).

    :param node: the node.
    """

    def __init__(self, node):
        self.context = ironic_context.get_admin_context()
        self.shared = False
        self._node = node
        self.driver = _Driver()


class NaiveClient(wsman.Client):
    """The driver's client with a naive transport.

    Every request is a new ``requests.post`` with ``HTTPDigestAuth``: a
    new session, so a new connection, and a 401 round trip per call.
    """

    def __init__(self, address, username, password, **kwargs):
        super().__init__(address, username, password, **kwargs)
        self._auth = (username, password)

    def _post(self, payload):
        try:
            return requests.post(
                self.endpoint, data=payload,
                headers={'Content-Type': transport.CONTENT_TYPE},
                auth=requests_auth.HTTPDigestAuth(*self._auth),
                verify=self._verify, timeout=self._timeout,
                allow_redirects=False)
        except requests.exceptions.RequestException as e:
            raise exceptions.WSManConnectionError(self.endpoint, str(e))


def _driver_info(device, password, scheme, ca_cert):
    return nodes.driver_info(device, scheme, password=password,
                             ca_path=ca_cert)


class DriverContender(object):
    """The driver's interfaces on one device, with a chosen transport.

    :param device: the device summary from the simulator.
    :param password: the device password.
    :param scheme: 'http' or 'https'.
    :param ca_cert: the simulator CA certificate path.
    :param naive: use :class:`NaiveClient` instead of the shared client.
    """

    def __init__(self, device, password, scheme, ca_cert, naive=False):
        self.name = NAIVE if naive else OURS
        self.node = BenchNode('bench-%s-%s' % (self.name, scheme),
                              _driver_info(device, password, scheme,
                                           ca_cert))
        self.task = BenchTask(self.node)
        self._naive = None
        if naive:
            info = common.parse_driver_info(self.node)
            self._naive = NaiveClient(
                info['address'], info['username'], info['password'],
                protocol=info['protocol'], port=info['port'],
                verify=info['verify'],
                connect_timeout=CONF.amt.connect_timeout,
                read_timeout=CONF.amt.read_timeout,
                attempts=1)

    @contextlib.contextmanager
    def _transport(self):
        if self._naive is None:
            yield
            return
        with mock.patch.object(common, 'get_client', autospec=True,
                               return_value=self._naive):
            yield

    def get_power_state(self):
        """AMTPower.get_power_state."""
        with self._transport():
            return self.task.driver.power.get_power_state(self.task)

    def get_power_state_cold(self):
        """AMTPower.get_power_state for a node seen for the first time.

        The shared client cache is replaced by an empty one, as in a
        conductor that has just taken the node over.
        """
        cache = common._ClientCache()
        try:
            with mock.patch.object(common, '_CLIENTS', cache):
                return self.get_power_state()
        finally:
            for _fingerprint, client in cache._clients.values():
                client.close()

    def prepare_power_on(self):
        """AMTManagement.set_boot_device(pxe): stored, nothing sent."""
        self.task.driver.management.set_boot_device(self.task,
                                                    boot_devices.PXE)

    def power_on_pxe(self):
        """AMTPower.set_power_state(POWER_ON) with pxe stored."""
        with self._transport():
            self.task.driver.power.set_power_state(self.task,
                                                   states.POWER_ON)

    def set_boot_power_on(self):
        """set_boot_device(pxe), then what node_power_action(POWER_ON) does.

        The conductor reads the power state first (to skip a change to
        the current state), then calls set_power_state.
        """
        with self._transport():
            self.task.driver.management.set_boot_device(self.task,
                                                        boot_devices.PXE)
            if (self.task.driver.power.get_power_state(self.task)
                    != states.POWER_ON):
                self.task.driver.power.set_power_state(self.task,
                                                       states.POWER_ON)

    def reboot(self):
        """AMTPower.reboot."""
        with self._transport():
            self.task.driver.power.reboot(self.task)

    def inventory(self):
        """inspect.read_inventory + build_inspection_data."""
        client = self._naive or common.get_client(self.node)
        raw = inspect.read_inventory(client, self.node)
        return inspect.build_inspection_data(self.node, raw)

    def close(self):
        """Close the naive client's (unused) session."""
        if self._naive is not None:
            self._naive.close()


class PyPIAmtContender(object):
    """PyPI ``amt`` 0.8.0 on one device.

    :param device: the device summary from the simulator.
    :param password: the device password.
    :param scheme: 'http' or 'https' (https needs REQUESTS_CA_BUNDLE set to
        the simulator CA, since amt passes no ``verify``).
    :param poll_interval: seconds between power state polls.
    :param timeout: seconds to wait for the power state.
    """

    name = PYPI_AMT

    def __init__(self, device, password, scheme, poll_interval, timeout):
        self.client = amt_client.Client(device['address'], password,
                                        username=device['username'],
                                        protocol=scheme)
        # amt only knows the standard ports; the simulator's are others.
        self.client.uri = '%s://%s:%d/wsman' % (
            scheme, device['address'], device['%s_port' % scheme])
        self.poll_interval = poll_interval
        self.timeout = timeout

    def get_power_state(self):
        """Client.power_status."""
        return self.client.power_status()

    get_power_state_cold = get_power_state

    def prepare_power_on(self):
        """Nothing: amt cannot store a boot device, it arms at once."""

    def _check(self, result, what):
        if result != 0:
            raise RuntimeError('amt %s failed' % what)

    def _wait_on(self):
        deadline = time.monotonic() + self.timeout
        while self.client.power_status() != _ON:
            if time.monotonic() > deadline:
                raise RuntimeError('amt: not on after %s s' % self.timeout)
            time.sleep(self.poll_interval)

    def power_on_pxe(self):
        """set_next_boot(pxe) (a one-shot override), power_on, poll."""
        self.client.set_next_boot('pxe')
        self._check(self.client.power_on(), 'power_on')
        self._wait_on()

    def set_boot_power_on(self):
        """set_next_boot(pxe), power_status, power_on, poll."""
        self.client.set_next_boot('pxe')
        if self.client.power_status() != _ON:
            self._check(self.client.power_on(), 'power_on')
            self._wait_on()

    def reboot(self):
        """power_cycle (PowerState 5), poll."""
        self._check(self.client.power_cycle(), 'power_cycle')
        self._wait_on()

    inventory = None

    def close(self):
        """Nothing to close: amt opens a session per request."""
