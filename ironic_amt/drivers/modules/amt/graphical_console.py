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

"""The ``amt-kvm`` graphical console: AMT KVM through ironic-novncproxy.

Like Ironic's graphical consoles, ``start_console`` sets ``vnc_host`` and
``vnc_port`` in driver_internal_info and authorizes a noVNC session;
ironic-novncproxy then connects there.  Instead of a console container,
the conductor runs a relay (:mod:`ironic_amt.wsman.kvm_relay`) that
speaks plain RFB 3.8 with security type None to the proxy and opens an
AMT KVM session over the redirection port (TLS when the node uses
https) for each viewer.  The relay belongs to this conductor process:
``stop_console``, token expiry and the conductor's exit end it.
"""

import functools
import threading

from ironic.common import exception
from ironic.common.i18n import _
from ironic.common import metrics_utils
from ironic.common import vnc as vnc_utils
from ironic.conductor import periodics
from ironic.conf import CONF as IRONIC_CONF
from ironic.drivers.modules import console_utils
from ironic.drivers.modules import graphical_console
from oslo_log import log as logging

from ironic_amt.conf import CONF
from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.wsman import kvm
from ironic_amt.wsman import kvm_relay
from ironic_amt.wsman import kvm_service
from ironic_amt.wsman import redirection

LOG = logging.getLogger(__name__)
METRICS = metrics_utils.get_metrics_logger(__name__)

INTERFACE_NAME = 'amt-kvm'
KVM_PROPERTIES = dict(common.REDIRECTION_PROPERTIES)
ALLOCATED_PORT = 'allocated_amt_kvm_port'

# node UUID -> the running Relay of this conductor.
_RELAYS = {}
_RELAYS_LOCK = threading.Lock()


def parse_kvm_info(node):
    """Parse the driver_info a KVM session needs, offline.

    :param node: an Ironic node object.
    :returns: the dict of common.parse_driver_info plus redirection_port.
    :raises: MissingParameterValue, InvalidParameterValue.
    """
    return common.parse_redirection_info(node)


def open_kvm(info):
    """Open an AMT KVM session (redirection, digest, RFB handshake).

    :param info: the dict of :func:`parse_kvm_info`.
    :returns: a kvm.KVMConnection.
    :raises: RedirectionError subclasses.
    """
    session = redirection.Session(
        info['address'], info['username'], info['password'],
        protocol=info['protocol'], port=info['redirection_port'],
        verify=info['verify'], session_type=redirection.KVM,
        connect_timeout=CONF.amt.connect_timeout,
        read_timeout=CONF.amt.read_timeout,
        legacy_tls=CONF.amt.allow_legacy_tls)
    session.open()
    try:
        return kvm.start_kvm(session, CONF.amt.read_timeout)
    except BaseException:
        session.close()
        raise


def get_relay(node_uuid):
    """The relay this conductor runs for a node, or None."""
    with _RELAYS_LOCK:
        return _RELAYS.get(node_uuid)


def _stop_relay(node_uuid):
    with _RELAYS_LOCK:
        relay = _RELAYS.pop(node_uuid, None)
    if relay is not None:
        relay.stop()


def _release_port(node):
    port = node.del_driver_internal_info(ALLOCATED_PORT)
    if port:
        console_utils.release_port(port)


class AMTKVMConsole(graphical_console.GraphicalConsole):
    """Graphical console of an AMT node over AMT KVM and noVNC."""

    def get_app_name(self):
        """The name of this graphical console."""
        return INTERFACE_NAME

    def get_properties(self):
        """Return the properties of the interface.

        :returns: dictionary of <property name>:<property description>.
        """
        return {**common.COMMON_PROPERTIES, **KVM_PROPERTIES}

    def validate(self, task):
        """Check the driver_info a KVM session needs.

        :param task: a TaskManager instance.
        :raises: MissingParameterValue, InvalidParameterValue naming the
            node and the key.
        """
        parse_kvm_info(task.node)

    @METRICS.timer('AMTKVMConsole.start_console')
    def start_console(self, task):
        """Enable KVM on the device and start the relay.

        :param task: a TaskManager instance.
        :raises: AMTOperationError (KVM disabled in MEBx, user consent
            required, ...) or another AMT error naming the node;
            ConsoleError when the relay cannot listen.
        """
        node = task.node
        info = parse_kvm_info(node)
        with errors.translate_errors(node, 'enabling KVM'):
            kvm_service.enable_kvm(common.get_client(node))
        _stop_relay(node.uuid)
        _release_port(node)
        port = 0
        if IRONIC_CONF.console.port_range:
            port = console_utils.acquire_port(host=CONF.amt.kvm_relay_address)
            node.set_driver_internal_info(ALLOCATED_PORT, port)
        relay = kvm_relay.Relay(
            node.uuid, functools.partial(open_kvm, info),
            host=CONF.amt.kvm_relay_address, port=port,
            idle_timeout=CONF.amt.kvm_idle_timeout,
            handshake_timeout=CONF.amt.connect_timeout,
            read_only=IRONIC_CONF.vnc.read_only)
        try:
            host, port = relay.start()
        except OSError as e:
            _release_port(node)
            raise exception.ConsoleError(
                _('Cannot start the KVM relay of node %(node)s on '
                  '%(address)s: %(error)s') %
                {'node': node.uuid, 'address': CONF.amt.kvm_relay_address,
                 'error': e})
        with _RELAYS_LOCK:
            _RELAYS[node.uuid] = relay
        node.set_driver_internal_info('vnc_host', host)
        node.set_driver_internal_info('vnc_port', port)
        node.console_enabled = True
        vnc_utils.novnc_authorize(node)
        node.save()
        LOG.info('KVM console of node %(node)s started; relay on '
                 '%(host)s:%(port)s', {'node': node.uuid, 'host': host,
                                       'port': port})

    @METRICS.timer('AMTKVMConsole.stop_console')
    def stop_console(self, task):
        """Stop the relay (and any viewer) and revoke the noVNC token.

        :param task: a TaskManager instance.
        """
        node = task.node
        _stop_relay(node.uuid)
        _release_port(node)
        node.del_driver_internal_info('vnc_port')
        node.del_driver_internal_info('vnc_host')
        node.console_enabled = False
        vnc_utils.novnc_unauthorize(node)

    @METRICS.timer('AMTKVMConsole._expire_amt_kvm_sessions')
    @periodics.node_periodic(
        purpose='checking active AMT KVM console sessions',
        spacing=IRONIC_CONF.vnc.expire_console_session_interval,
        filters={'console_enabled': True},
        predicate_extra_fields=['console_interface', 'driver_internal_info'],
        predicate=lambda n: (
            n.console_interface == INTERFACE_NAME
            and n.driver_internal_info.get('novnc_secret_token')),
    )
    def _expire_amt_kvm_sessions(self, task, manager, context):
        """Periodic task: stop consoles whose noVNC token expired."""
        self._expire_console_sessions(task)
