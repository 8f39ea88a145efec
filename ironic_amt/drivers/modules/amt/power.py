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

"""AMT power interface.

A power change is one request (which the WS-Man client alone retries on
transient errors), then Ironic's own
:func:`ironic.conductor.utils.node_wait_for_power_state` waits for the
target, bounded by the timeout Ironic passes or
``[conductor]power_state_change_timeout``. Right before every power-on and
reboot request, and before each resend of it after a *Busy* answer, the
stored boot device is armed by
:meth:`AMTManagement.ensure_next_boot_device`: in current Ironic every boot
of a deploy, including the one after the image is written, goes through
here, which is where the old driver's ``_continue_deploy`` hook now lives.
"""

import functools

from ironic.common import exception
from ironic.common.i18n import _
from ironic.common import metrics_utils
from ironic.common import states
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils
from ironic.drivers import base
from oslo_log import log as logging

from ironic_amt.conf import CONF
from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import management
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import power_service as ps

LOG = logging.getLogger(__name__)
METRICS = metrics_utils.get_metrics_logger(__name__)

# Reported CIM PowerState -> Ironic power state. Sleep and hibernate report
# as off: the OS is not running and a power-on request (2) wakes the
# machine, which is what Ironic's power sync should do to it.
GET_POWER_STATE_MAP = {
    ps.ON: states.POWER_ON,
    ps.SLEEP_LIGHT: states.POWER_OFF,
    ps.SLEEP_DEEP: states.POWER_OFF,
    ps.OFF_HARD: states.POWER_OFF,
    ps.HIBERNATE: states.POWER_OFF,
    ps.OFF_SOFT: states.POWER_OFF,
    ps.OFF_SOFT_GRACEFUL: states.POWER_OFF,
    ps.OFF_HARD_GRACEFUL: states.POWER_OFF,
}
_SLEEP_STATES = {ps.SLEEP_LIGHT: 'sleep (light)',
                 ps.SLEEP_DEEP: 'sleep (deep)',
                 ps.HIBERNATE: 'hibernate'}

# Ironic power state -> (CIM PowerState to request, state to wait for).
SET_POWER_STATE_MAP = {
    states.POWER_ON: (ps.ON, states.POWER_ON),
    states.POWER_OFF: (ps.OFF_SOFT, states.POWER_OFF),
    states.SOFT_POWER_OFF: (ps.OFF_SOFT_GRACEFUL, states.POWER_OFF),
    states.REBOOT: (ps.MASTER_BUS_RESET, states.POWER_ON),
    states.SOFT_REBOOT: (ps.MASTER_BUS_RESET_GRACEFUL, states.POWER_ON),
}

# Graceful states are advertised only while Intel LMS runs in the OS.
_GRACEFUL = {ps.OFF_SOFT_GRACEFUL: 'graceful power off',
             ps.MASTER_BUS_RESET_GRACEFUL: 'graceful reset'}


def _power_state(node, status):
    try:
        return GET_POWER_STATE_MAP[status.state]
    except KeyError:
        LOG.warning('Node %(node)s reports AMT PowerState %(value)s, which '
                    'is a request-only or unknown value; reporting the '
                    'power state as error',
                    {'node': node.uuid, 'value': status.state})
        return states.ERROR


class AMTPower(base.PowerInterface):
    """Power interface for Intel AMT / vPro machines."""

    def get_properties(self):
        """Return the properties of the interface.

        :returns: dictionary of <property name>:<property description>.
        """
        return common.COMMON_PROPERTIES.copy()

    @METRICS.timer('AMTPower.validate')
    def validate(self, task):
        """Validate the node's driver_info, without contacting the device.

        :param task: a TaskManager instance containing the node to act on.
        :raises: MissingParameterValue, InvalidParameterValue.
        """
        common.parse_driver_info(task.node)

    def _read(self, task):
        client = common.get_client(task.node)
        with errors.translate_errors(task.node, _('reading power state')):
            return ps.read_status(client)

    @METRICS.timer('AMTPower.get_power_state')
    def get_power_state(self, task):
        """Get the current power state of the node.

        :param task: a TaskManager instance containing the node to act on.
        :returns: one of :mod:`ironic.common.states` POWER_ON, POWER_OFF or
            ERROR (logged) for a value AMT should never report.
        :raises: MissingParameterValue, InvalidParameterValue,
            AMTOperationError, AMTConnectionFailure, AMTAuthenticationFailure.
        """
        status = self._read(task)
        if status.state in _SLEEP_STATES:
            LOG.info('Node %(node)s is in %(state)s; reporting it as powered '
                     'off (a power-on wakes it)',
                     {'node': task.node.uuid,
                      'state': _SLEEP_STATES[status.state]})
        return _power_state(task.node, status)

    def get_supported_power_states(self, task):
        """Get the power states AMT can set.

        Soft power off and soft reboot need Intel LMS running in the OS;
        without it they fail with a clear error.

        :param task: a TaskManager instance containing the node to act on.
        :returns: a list of :mod:`ironic.common.states` power states.
        """
        return list(SET_POWER_STATE_MAP)

    def __init__(self):
        super().__init__()
        if CONF.amt.power_state_timeout is not None:
            LOG.warning('[amt]power_state_timeout is deprecated and will be '
                        'removed; set [conductor]power_state_change_timeout '
                        'instead. Until then AMT nodes wait up to '
                        '%(timeout)s seconds for a power state when Ironic '
                        'passes no timeout.',
                        {'timeout': CONF.amt.power_state_timeout})

    def _change(self, task, power_state, cim_state, target, timeout,
                when_off=None):
        """Arm the boot device if booting, request, wait, then verify.

        :param when_off: the CIM state to send instead if the device
            refuses ``cim_state`` with ReturnValue 2 because the machine
            is off (a reset of an off machine is a power-on).
        """
        node = task.node
        client = common.get_client(node)
        mgmt = task.driver.management
        arm = armed = None
        if (target == states.POWER_ON
                and isinstance(mgmt, management.AMTManagement)):
            arm = functools.partial(mgmt.ensure_next_boot_device, task)
            armed = arm()
        operation = _('power state change to %s') % power_state
        with errors.translate_errors(node, operation, client):
            if cim_state in _GRACEFUL:
                self._check_graceful(node, client, operation, cim_state)
            # Busy / In Use means a previous change is still pending; the
            # client retries it, arming again right before each resend
            # since the pending change boots with what was armed.
            self._request(node, client, power_state, cim_state, target,
                          when_off, before_resend=arm)
        if arm is not None:
            mgmt.forget_one_shot_device(task)
        cond_utils.node_wait_for_power_state(
            task, target, timeout=timeout or CONF.amt.power_state_timeout)
        if armed is not None:
            mgmt.verify_boot_override(task, armed)

    @staticmethod
    def _check_graceful(node, client, operation, cim_state):
        if cim_state not in ps.read_status(client).available:
            raise errors.AMTOperationError(
                operation=operation, node=node.uuid,
                error=_('the device does not offer %s now; it needs Intel '
                        'LMS running in the operating system') %
                _GRACEFUL[cim_state])

    @staticmethod
    def _request(node, client, power_state, cim_state, target, when_off,
                 before_resend):
        """Send the change; a refusal may mean it is done already."""
        try:
            ps.request_state(client, cim_state, before_resend=before_resend)
            return
        except wsman_exc.WSManReturnValueError as e:
            # Busy / In Use (already retried): nothing was done. Any other
            # code but 2 (the transition is not available now) is a plain
            # failure.
            if e.transient or e.code != ps.REFUSED:
                raise
            status = ps.read_status(client)
            if cim_state in ps.RESETS:
                if (when_off is None
                        or _power_state(node, status) != states.POWER_OFF):
                    raise
                LOG.debug('Node %(node)s is off; powering it on instead of '
                          'resetting it', {'node': node.uuid})
                ps.request_state(client, when_off,
                                 before_resend=before_resend)
                return
            # A refused change may be one that already happened, e.g. a
            # request whose answer was lost and was then re-sent.
            if _power_state(node, status) != target:
                raise
            LOG.info('Node %(node)s refused %(state)s (%(error)s) but '
                     'is already %(target)s',
                     {'node': node.uuid, 'state': power_state,
                      'error': e, 'target': target})

    @METRICS.timer('AMTPower.set_power_state')
    @task_manager.require_exclusive_lock
    def set_power_state(self, task, power_state, timeout=None):
        """Set the power state of the node and wait until it is reached.

        :param task: a TaskManager instance containing the node to act on.
        :param power_state: one of :meth:`get_supported_power_states`.
        :param timeout: seconds to wait for the state; defaults to
            [conductor]power_state_change_timeout (or the deprecated
            [amt]power_state_timeout when set).
        :raises: InvalidParameterValue for an unsupported power state.
        :raises: PowerStateFailure if the state is not reached in time.
        :raises: AMTOperationError, AMTConnectionFailure,
            AMTAuthenticationFailure if the device refuses or cannot be
            reached.
        """
        if power_state == states.REBOOT:
            return self.reboot(task, timeout=timeout)
        if power_state not in SET_POWER_STATE_MAP:
            raise exception.InvalidParameterValue(
                _('set_power_state called for node %(node)s with an '
                  'unsupported power state %(state)s') %
                {'node': task.node.uuid, 'state': power_state})
        cim_state, target = SET_POWER_STATE_MAP[power_state]
        if power_state == states.SOFT_REBOOT:
            if self.get_power_state(task) != states.POWER_ON:
                cim_state = ps.ON
        self._change(task, power_state, cim_state, target, timeout)

    @METRICS.timer('AMTPower.reboot')
    @task_manager.require_exclusive_lock
    def reboot(self, task, timeout=None):
        """Reboot the node: a reset when on, a power-on when off.

        :param task: a TaskManager instance containing the node to act on.
        :param timeout: seconds to wait for the node to be on; defaults to
            [conductor]power_state_change_timeout (or the deprecated
            [amt]power_state_timeout when set).
        :raises: PowerStateFailure, AMTOperationError,
            AMTConnectionFailure, AMTAuthenticationFailure.
        """
        self._change(task, states.REBOOT, ps.MASTER_BUS_RESET,
                     states.POWER_ON, timeout, when_off=ps.ON)
