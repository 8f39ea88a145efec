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

"""AMT_RedirectionService over WS-Man: is SOL usable, and enable it.

The service works only when its EnabledState enables SOL (32770 or
32771) *and* ListenerEnabled is true (AMT SDK, AMT_RedirectionService;
Intel console ``features.go``).  Provisioning tools usually leave both
off.  A device whose SOL is disabled in MEBx refuses the state change.
"""

import collections
import logging

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import resource_uris

LOG = logging.getLogger(__name__)

# AMT_RedirectionService EnabledState / RequestStateChange values.
IDER_SOL_DISABLED = 32768
IDER_ENABLED = 32769
SOL_ENABLED = 32770
IDER_SOL_ENABLED = 32771
SOL_STATES = frozenset([SOL_ENABLED, IDER_SOL_ENABLED])
# The state that adds SOL to each state, keeping IDE-R as it is.
_WITH_SOL = {IDER_SOL_DISABLED: SOL_ENABLED, IDER_ENABLED: IDER_SOL_ENABLED}

# IPS_OptInService.OptInRequired: consent needed for every redirection.
OPT_IN_ALL = 4294967295
# IPS_OptInService.OptInState values meaning consent was given.
OPT_IN_GRANTED = frozenset([3, 4])
OPT_IN_STATES = {0: 'not started', 1: 'requested', 2: 'displayed',
                 3: 'received', 4: 'in session'}

SERVICE_NAME = 'Intel(r) AMT Redirection Service'
_SELECTORS = {'Name': SERVICE_NAME}
# Fields of the instance sent back in a Put, in AMT's order.
_PUT_FIELDS = ('CreationClassName', 'ElementName', 'EnabledState',
               'ListenerEnabled', 'Name', 'SystemCreationClassName',
               'SystemName')

RedirectionStatus = collections.namedtuple(
    'RedirectionStatus', ['enabled_state', 'listener_enabled'])


def _truthy(value):
    return str(value).strip().lower() in ('true', '1')


def read_status(client):
    """Read whether SOL and the redirection listener are enabled.

    :param client: a :class:`ironic_amt.wsman.client.Client`.
    :returns: a :class:`RedirectionStatus`.
    :raises: WSManProtocolError on a malformed instance; WSManError.
    """
    service = client.get(resource_uris.AMT_RedirectionService, _SELECTORS)
    try:
        state = int(service['EnabledState'])
    except (KeyError, TypeError, ValueError):
        raise exceptions.WSManProtocolError(
            client.endpoint, 'AMT_RedirectionService has no valid '
            'EnabledState')
    return RedirectionStatus(state,
                             _truthy(service.get('ListenerEnabled')))


def sol_usable(status):
    """Whether a status allows SOL sessions.

    :param status: a :class:`RedirectionStatus`.
    :returns: bool.
    """
    return status.enabled_state in SOL_STATES and status.listener_enabled


def consent_detail(client):
    """Describe the user consent state, for an error message.

    :param client: a WS-Man client.
    :returns: a sentence, or '' when consent is not required or unknown.
    """
    try:
        opt_in = client.get(resource_uris.IPS_OptInService)
        required = int(opt_in.get('OptInRequired', 0))
        state = int(opt_in.get('OptInState', 0))
    except (exceptions.WSManError, TypeError, ValueError):
        return ''
    if required != OPT_IN_ALL or state in OPT_IN_GRANTED:
        return ''
    return ('user consent is required for redirection and is pending '
            '(OptInState %d, %s): the code shown on the machine must be '
            'entered, or consent set to None in MEBx (admin control mode)'
            % (state, OPT_IN_STATES.get(state, 'unknown')))


def enable_listener(client):
    """Set AMT_RedirectionService.ListenerEnabled (SOL, IDE-R and KVM).

    :param client: a WS-Man client.
    :raises: WSManError.
    """
    service = client.get(resource_uris.AMT_RedirectionService, _SELECTORS)
    instance = collections.OrderedDict(
        (name, service[name]) for name in _PUT_FIELDS if name in service)
    instance['ListenerEnabled'] = True
    client.put(resource_uris.AMT_RedirectionService, instance, _SELECTORS)


def enable_sol(client):
    """Enable SOL and the redirection listener where they are off.

    :param client: a WS-Man client.
    :returns: the list of changes made ('sol', 'listener'), empty when
        both were already enabled.
    :raises: RedirectionNotEnabled when the device refuses (SOL disabled
        in MEBx, user consent pending, access denied) or still reports
        them disabled afterwards; WSManError for transport failures.
    """
    status = read_status(client)
    changes = []
    try:
        if status.enabled_state not in SOL_STATES:
            target = _WITH_SOL.get(status.enabled_state, SOL_ENABLED)
            client.invoke(resource_uris.AMT_RedirectionService,
                          'RequestStateChange',
                          arguments=[('RequestedState', target)],
                          selectors=_SELECTORS)
            changes.append('sol')
        if not status.listener_enabled:
            enable_listener(client)
            changes.append('listener')
    except exceptions.WSManReturnValueError as e:
        if e.code == 1:
            why = ('the device does not support enabling SOL: it is '
                   'disabled in MEBx (Intel AMT firmware setup, '
                   'Manageability Feature Selection, SOL/Storage '
                   'Redirection)')
        else:
            why = 'enabling SOL returned %d (%s)' % (e.code, e.description)
        raise exceptions.RedirectionNotEnabled(
            client.endpoint, _with_consent(client, why)) from e
    except exceptions.WSManFault as e:
        if e.subcode != 'AccessDenied':
            raise
        raise exceptions.RedirectionNotEnabled(
            client.endpoint, _with_consent(
                client, 'the device denied access to '
                'AMT_RedirectionService')) from e
    if changes:
        status = read_status(client)
        if not sol_usable(status):
            raise exceptions.RedirectionNotEnabled(
                client.endpoint, 'the device still reports EnabledState '
                '%d, ListenerEnabled %s after enabling SOL; it may be '
                'disabled in MEBx' % (status.enabled_state,
                                      status.listener_enabled))
        LOG.info('Enabled %(what)s on %(endpoint)s',
                 {'what': ' and '.join(changes),
                  'endpoint': client.endpoint})
    return changes


def _with_consent(client, why):
    consent = consent_detail(client)
    return '%s; %s' % (why, consent) if consent else why
