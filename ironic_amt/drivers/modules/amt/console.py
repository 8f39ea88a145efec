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

"""The ``amt-socat`` console interface: Serial-over-LAN through socat.

Built on Ironic's socat console utilities, like ``ipmitool-socat``:
socat listens on a TCP port of the conductor and runs ``ironic-amt-sol``
for each connection.  The password reaches that tool only through its
environment (``AMT_PASSWORD``), never its command line.
"""

import os
import shutil
import sys

from ironic.common import exception
from ironic.common.i18n import _
from ironic.conf import CONF as IRONIC_CONF
from ironic.drivers import base
from ironic.drivers.modules import console_utils
from oslo_log import log as logging

from ironic_amt.conf import CONF
from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.wsman import redirection_service

LOG = logging.getLogger(__name__)

CONSOLE_PROPERTIES = {
    **common.REDIRECTION_PROPERTIES,
    'amt_terminal_port': _('Conductor TCP port on which socat serves the '
                           'serial console of this node. Optional; by '
                           'default a free port of [console]port_range '
                           'is allocated.'),
}

# driver_internal_info key of the port allocated from [console]port_range.
ALLOCATED_PORT = 'allocated_amt_terminal_port'
SOL_COMMAND = 'ironic-amt-sol'
PASSWORD_ENV = 'AMT_PASSWORD'


def _sol_command_path():
    """The ``ironic-amt-sol`` next to this Python, else on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), SOL_COMMAND)
    if os.access(candidate, os.X_OK):
        return candidate
    return shutil.which(SOL_COMMAND)


def parse_console_info(node):
    """Parse the driver_info the console needs, offline.

    :param node: an Ironic node object.
    :returns: the dict of :func:`common.parse_redirection_info` plus
        terminal_port (None: allocate one).
    :raises: MissingParameterValue, InvalidParameterValue naming the
        node and the key.
    """
    info = common.parse_redirection_info(node)
    terminal = (node.driver_info or {}).get('amt_terminal_port')
    info['terminal_port'] = (None if terminal in (None, '') else
                             common.parse_port(node, terminal, 'http',
                                               key='amt_terminal_port'))
    for key, value in (('amt_address', info['address']),
                       ('amt_username', info['username']),
                       ('amt_verify_ca', info['verify'])):
        if isinstance(value, str) and (not value or any(
                c.isspace() for c in value)):
            raise exception.InvalidParameterValue(
                _('Invalid value in driver_info/%(key)s of node %(node)s: '
                  'the serial console cannot pass a value containing '
                  'white space') % {'key': key, 'node': node.uuid})
    return info


def sol_command(info):
    """The command socat runs for each console connection.

    :param info: the dict from :func:`parse_console_info`.
    :returns: the command line, arguments separated by single spaces;
        it never contains the password.
    :raises: ConsoleError when ``ironic-amt-sol`` cannot be found.
    """
    path = _sol_command_path()
    if not path:
        raise exception.ConsoleError(
            _('The %s command is not installed on this conductor')
            % SOL_COMMAND)
    args = [path, '--address', info['address'],
            '--protocol', info['protocol'],
            '--wsman-port', str(info['port']),
            '--redirection-port', str(info['redirection_port']),
            '--username', info['username'],
            '--timeout', str(CONF.amt.connect_timeout)]
    if info['verify'] is False:
        args.append('--insecure')
    elif isinstance(info['verify'], str):
        args += ['--ca-file', info['verify']]
    if CONF.amt.allow_legacy_tls:
        args.append('--legacy-tls')
    return ' '.join(args)


def _release_allocated_port(task):
    node = task.node
    port = node.del_driver_internal_info(ALLOCATED_PORT)
    if port:
        node.save()
        console_utils.release_port(port)


def _terminal_port(task, info):
    if info['terminal_port']:
        return info['terminal_port']
    return task.node.driver_internal_info.get(ALLOCATED_PORT)


class AMTSocatConsole(base.ConsoleInterface):
    """Serial-over-LAN console of an AMT node, served by socat."""

    def get_properties(self):
        """Return the properties of the interface.

        :returns: dictionary of <property name>:<property description>.
        """
        return {**common.COMMON_PROPERTIES, **CONSOLE_PROPERTIES}

    def validate(self, task):
        """Check that the node's console can be started.

        :param task: a TaskManager instance.
        :raises: MissingParameterValue naming what is missing: AMT
            driver_info keys, or both amt_terminal_port and
            [console]port_range.
        :raises: InvalidParameterValue naming the bad key.
        """
        info = parse_console_info(task.node)
        if (not info['terminal_port']
                and IRONIC_CONF.console.port_range is None):
            raise exception.MissingParameterValue(
                _('Node %s has no amt_terminal_port in driver_info and '
                  '[console]port_range is not configured: one is needed '
                  'for the serial console') % task.node.uuid)

    def start_console(self, task):
        """Enable SOL on the device and start socat for the node.

        :param task: a TaskManager instance.
        :raises: AMTOperationError when the device cannot do SOL (disabled
            in MEBx, user consent pending) or cannot be reached.
        :raises: ConsoleError, ConsoleSubprocessFailed from socat.
        :raises: NoFreeIPMITerminalPorts when no port is free.
        """
        node = task.node
        info = parse_console_info(node)
        _release_allocated_port(task)
        with errors.translate_errors(node, 'enabling Serial-over-LAN'):
            redirection_service.enable_sol(common.get_client(node))
        command = sol_command(info)
        port = info['terminal_port']
        if not port:
            port = console_utils.acquire_port(
                host=IRONIC_CONF.console.socat_address)
            node.set_driver_internal_info(ALLOCATED_PORT, port)
            node.save()
        try:
            console_utils.start_socat_console(
                node.uuid, port, command,
                env_variables={PASSWORD_ENV: info['password']})
        except Exception:
            _release_allocated_port(task)
            raise
        LOG.info('Serial console of node %(node)s served on port %(port)s',
                 {'node': node.uuid, 'port': port})

    def stop_console(self, task):
        """Stop socat (and with it the SOL session) for the node.

        :param task: a TaskManager instance.
        :raises: ConsoleError if socat cannot be stopped.
        """
        try:
            console_utils.stop_socat_console(task.node.uuid)
        finally:
            _release_allocated_port(task)

    def get_console(self, task):
        """Return where the console is served.

        :param task: a TaskManager instance.
        :returns: ``{'type': 'socat', 'url': 'tcp://host:port'}``.
        :raises: ConsoleError when no port is known (console not started).
        """
        info = parse_console_info(task.node)
        port = _terminal_port(task, info)
        if not port:
            raise exception.ConsoleError(
                _('The serial console of node %s has no port: it is not '
                  'started') % task.node.uuid)
        return {'type': 'socat',
                'url': console_utils.get_socat_console_url(port)}
