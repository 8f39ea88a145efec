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

"""The clients compared, each reading the power state of a device.

Reading the power state is the call of Ironic's power-state sync, the one
a conductor makes for every node every minute, so it is what decides the
cost of a fleet.  Each contender is built for one device and answers
``get_power_state()`` with the CIM PowerState or Ironic state it read.

* ``ironic-amt``: the driver's own path, ``AMTPower.get_power_state`` on a
  stand-in task holding an in-memory node; its WS-Man client comes from
  ``common.get_client`` (the process-wide client cache).
* ``careful baseline``: what a careful engineer writes with requests: one
  ``requests.Session`` per device, kept, with ``HTTPDigestAuth`` and the
  CA bundle set on it, posting a pre-built Get envelope and reading
  ``PowerState`` from the answer with defusedxml.
* ``pypi-amt``: the PyPI ``amt`` 0.8 client (the old in-tree Ironic AMT
  driver's transport), ``Client.power_status()``.
"""

import uuid

from amt import client as amt_client
from defusedxml import ElementTree
from ironic.common import context as ironic_context
from ironic.conductor import task_manager
import requests
from requests import auth as requests_auth

from ironic_amt.drivers.modules.amt import power
from ironic_amt.testing import nodes

OURS = 'ironic-amt'
BASELINE = 'careful baseline'
PYPI_AMT = 'pypi-amt'
ORDER = (OURS, BASELINE, PYPI_AMT)

_POWER_URI = ('http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
              'CIM_AssociatedPowerManagementService')
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">'
    '<s:Header>'
    '<a:Action s:mustUnderstand="true">'
    'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action>'
    '<a:To s:mustUnderstand="true">%(to)s</a:To>'
    '<w:ResourceURI s:mustUnderstand="true">' + _POWER_URI +
    '</w:ResourceURI>'
    '<a:MessageID s:mustUnderstand="true">uuid:%(id)s</a:MessageID>'
    '<a:ReplyTo><a:Address>'
    'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous'
    '</a:Address></a:ReplyTo>'
    '<w:OperationTimeout>PT60S</w:OperationTimeout>'
    '</s:Header><s:Body/></s:Envelope>')
_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8'


def endpoint(device, scheme):
    """The WS-Man URL of a simulated device.

    :param device: a device summary from the simulator's ready line.
    :param scheme: 'http' or 'https'.
    :returns: the URL.
    """
    return '%s://%s:%d/wsman' % (scheme, device['address'],
                                 device['%s_port' % scheme])


class _Node(object):
    """The parts of an Ironic node AMTPower reads, in memory."""

    def __init__(self, name, driver_info):
        self.uuid = name
        self.driver_info = driver_info
        self.driver_internal_info = {}
        self.properties = {}

    def save(self):
        """Nothing to save: there is no database."""


class _Task(task_manager.TaskManager):
    """A shared task holding a :class:`_Node` (no locks, no database)."""

    def __init__(self, node):
        self.context = ironic_context.get_admin_context()
        self.shared = True
        self._node = node


class Ours(object):
    """The driver's power read for one device.

    :param device: the device summary.
    :param password: the device password.
    :param scheme: 'http' or 'https'.
    :param ca_bundle: the CA bundle to verify https with.
    """

    name = OURS

    def __init__(self, device, password, scheme, ca_bundle):
        self.task = _Task(_Node(device['name'], nodes.driver_info(
            device, scheme, password=password, ca_path=ca_bundle)))
        self.power = power.AMTPower()

    def get_power_state(self):
        """AMTPower.get_power_state."""
        return self.power.get_power_state(self.task)

    def close(self):
        """Nothing to close: the client stays in the process-wide cache."""


class CarefulBaseline(object):
    """One kept requests.Session with HTTPDigestAuth per device.

    :param device: the device summary.
    :param password: the device password.
    :param scheme: 'http' or 'https'.
    :param ca_bundle: the CA bundle to verify https with.
    """

    name = BASELINE

    def __init__(self, device, password, scheme, ca_bundle):
        self.url = endpoint(device, scheme)
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.auth = requests_auth.HTTPDigestAuth(device['username'],
                                                         password)
        self.session.verify = ca_bundle if scheme == 'https' else True
        self.session.headers['Content-Type'] = _CONTENT_TYPE

    def get_power_state(self):
        """POST the Get envelope; return the PowerState it answered."""
        body = _ENVELOPE % {'to': self.url, 'id': uuid.uuid4()}
        response = self.session.post(self.url, data=body, timeout=(10, 60))
        response.raise_for_status()
        for element in ElementTree.fromstring(response.content).iter():
            if element.tag.endswith('}PowerState'):
                return element.text
        raise RuntimeError('no PowerState in the answer')

    def close(self):
        """Close the session."""
        self.session.close()


class PyPIAmt(object):
    """PyPI ``amt`` 0.8 ``Client.power_status`` for one device.

    amt passes no ``verify``: requests reads the CA from
    ``REQUESTS_CA_BUNDLE``, which the bench sets to the same bundle.

    :param device: the device summary.
    :param password: the device password.
    :param scheme: 'http' or 'https'.
    """

    name = PYPI_AMT

    def __init__(self, device, password, scheme, _ca_bundle=None):
        self.client = amt_client.Client(device['address'], password,
                                        username=device['username'],
                                        protocol=scheme)
        # amt only knows the standard ports; the simulator's are others.
        self.client.uri = endpoint(device, scheme)

    def get_power_state(self):
        """Client.power_status."""
        return self.client.power_status()

    def close(self):
        """Nothing to close: amt opens a session per request."""


KINDS = {OURS: Ours, BASELINE: CarefulBaseline, PYPI_AMT: PyPIAmt}


def make(kind, device, password, scheme, ca_bundle):
    """Build a contender of a kind for one device.

    :param kind: one of ORDER.
    :returns: the contender.
    """
    return KINDS[kind](device, password, scheme, ca_bundle)
