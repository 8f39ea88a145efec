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

"""The AMT power management service on the wire (DMTF DSP1027 values)."""

import collections

from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import http
from ironic_amt.wsman import resource_uris

# CIM PowerState values (DSP1027) used by AMT.
ON = 2
SLEEP_LIGHT = 3
SLEEP_DEEP = 4
POWER_CYCLE_SOFT = 5
OFF_HARD = 6
HIBERNATE = 7
OFF_SOFT = 8
POWER_CYCLE_HARD = 9
MASTER_BUS_RESET = 10
DIAGNOSTIC_INTERRUPT = 11
OFF_SOFT_GRACEFUL = 12
OFF_HARD_GRACEFUL = 13
MASTER_BUS_RESET_GRACEFUL = 14
POWER_CYCLE_SOFT_GRACEFUL = 15
POWER_CYCLE_HARD_GRACEFUL = 16

# Requests that reset or power-cycle the machine. It reports on before and
# after, and sending one twice makes it boot twice (the second time without
# the armed boot device), so a lost answer is not resent.
RESETS = frozenset([POWER_CYCLE_SOFT, POWER_CYCLE_HARD, MASTER_BUS_RESET,
                    MASTER_BUS_RESET_GRACEFUL, POWER_CYCLE_SOFT_GRACEFUL,
                    POWER_CYCLE_HARD_GRACEFUL])

# RequestPowerStateChange ReturnValue 2 (Unknown or Unspecified Error) is
# what AMT answers for a transition not available from the current state.
REFUSED = 2

_SERVICE_SELECTORS = {'Name': 'Intel(r) AMT Power Management Service'}
_MANAGED_SYSTEM = {'CreationClassName': 'CIM_ComputerSystem',
                   'Name': 'ManagedSystem'}

PowerStatus = collections.namedtuple('PowerStatus', ['state', 'available'])


def _as_list(value):
    if value is None or value == '':
        return []
    return value if isinstance(value, list) else [value]


def read_status(client):
    """Read the current power state and the states requestable from it.

    :param client: a :class:`wsman.Client`.
    :returns: a :class:`PowerStatus` (state: int, available: frozenset).
    :raises: WSManProtocolError if the device reports no usable PowerState.
    :raises: WSManError from the client.
    """
    service = client.get(resource_uris.CIM_AssociatedPowerManagementService)
    try:
        state = int(service['PowerState'])
        available = frozenset(
            int(v) for v in _as_list(
                service.get('AvailableRequestedPowerStates')))
    except (KeyError, TypeError, ValueError):
        raise exceptions.WSManProtocolError(
            client.endpoint,
            'CIM_AssociatedPowerManagementService has no valid PowerState '
            'or AvailableRequestedPowerStates: %s'
            % http.quote_device_text(repr(service), 200))
    return PowerStatus(state, available)


def request_state(client, value, before_resend=None):
    """Send RequestPowerStateChange.

    The client retries it on transient errors, except that a reset or power
    cycle (:data:`RESETS`) whose answer is lost is not resent: it may have
    run already.

    :param client: a :class:`wsman.Client`.
    :param value: the CIM PowerState to request.
    :param before_resend: optional callable run right before each resend
        (see :meth:`wsman.Client.invoke`).
    :raises: WSManReturnValueError when the device refuses the change.
    :raises: WSManError from the client.
    """
    system = wsman.EndpointReference(resource_uris.CIM_ComputerSystem,
                                     _MANAGED_SYSTEM)
    client.invoke(resource_uris.CIM_PowerManagementService,
                  'RequestPowerStateChange',
                  arguments=[('PowerState', value),
                             ('ManagedElement', system)],
                  selectors=_SERVICE_SELECTORS,
                  resend=value not in RESETS, before_resend=before_resend)
