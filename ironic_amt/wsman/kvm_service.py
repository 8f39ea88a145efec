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

"""KVM over WS-Man: can KVM be used, and enable it where allowed.

KVM needs (AMT SDK ``managingthekvmfeature``; notes: amt-redirection.md
sections 2 to 4):

- ``IPS_KVMRedirectionSettingData.EnabledByMEBx`` true: when MEBx has
  KVM off, nothing remote can turn it on;
- ``CIM_KVMRedirectionSAP`` enabled (EnabledState 2, or 6 "enabled but
  offline", which idle devices report); RequestStateChange(2) enables it;
- ``AMT_RedirectionService.ListenerEnabled`` true: the redirection port
  serves SOL, IDE-R and KVM only while it is;
- user consent: with ``IPS_OptInService.OptInRequired`` 1 (KVM) or
  4294967295 (all), a KVM session starts the consent flow, in which a
  person at the machine reads out a code.  In client control mode (CCM)
  consent is always required; in admin control mode (ACM) it can be set
  to None.  The driver does not type codes, so it reports this instead.
"""

import logging

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import redirection_service
from ironic_amt.wsman import resource_uris

LOG = logging.getLogger(__name__)

SETTINGS_SELECTORS = {'InstanceID': 'Intel(r) KVM Redirection Settings'}
SAP_NAME = 'KVM Redirection Service Access Point'
SAP_SELECTORS = {'Name': SAP_NAME}

# CIM_KVMRedirectionSAP EnabledState / RequestStateChange values.
SAP_ENABLED = 2
SAP_DISABLED = 3
SAP_ENABLED_OFFLINE = 6
SAP_ENABLED_STATES = frozenset([SAP_ENABLED, SAP_ENABLED_OFFLINE])

# IPS_OptInService.OptInRequired values that cover KVM.
OPT_IN_KVM = 1
OPT_IN_ALL = 4294967295
OPT_IN_FOR_KVM = frozenset([OPT_IN_KVM, OPT_IN_ALL])

# AMT_SetupAndConfigurationService.ProvisioningMode values.
ADMIN_CONTROL_MODE = 1
CLIENT_CONTROL_MODE = 4


def _truthy(value):
    return str(value).strip().lower() in ('true', '1')


def _int(client, instance, field, class_name):
    try:
        return int(instance[field])
    except (KeyError, TypeError, ValueError):
        raise exceptions.WSManProtocolError(
            client.endpoint, '%s has no valid %s' % (class_name, field))


def _provisioning_mode(client):
    try:
        service = client.get(resource_uris.AMT_SetupAndConfigurationService)
        return int(service.get('ProvisioningMode'))
    except (exceptions.WSManError, TypeError, ValueError):
        return None


def consent_error(client):
    """The error to raise when KVM needs consent that was not given.

    :param client: a WS-Man client.
    :returns: a KVMNotEnabled, or None when no consent is pending.
    :raises: WSManError when IPS_OptInService cannot be read.
    """
    opt_in = client.get(resource_uris.IPS_OptInService)
    required = _int(client, opt_in, 'OptInRequired', 'IPS_OptInService')
    state = _int(client, opt_in, 'OptInState', 'IPS_OptInService')
    if (required not in OPT_IN_FOR_KVM
            or state in redirection_service.OPT_IN_GRANTED):
        return None
    detail = ('user consent is required for KVM (OptInRequired %d) and '
              'has not been given (OptInState %d, %s): '
              % (required, state,
                 redirection_service.OPT_IN_STATES.get(state, 'unknown')))
    if _provisioning_mode(client) == CLIENT_CONTROL_MODE:
        detail += ('the device is provisioned in client control mode, '
                   'where consent cannot be turned off; a person at the '
                   'machine must read out the code it displays, or the '
                   'device must be provisioned in admin control mode')
    else:
        detail += ('set user consent to None in MEBx or with '
                   'IPS_OptInService.OptInRequired = 0 (admin control '
                   'mode only), or grant consent with the code the '
                   'machine displays')
    return exceptions.KVMNotEnabled(client.endpoint, detail)


def enable_kvm(client):
    """Enable KVM and the redirection listener where they are off.

    :param client: a :class:`ironic_amt.wsman.client.Client`.
    :returns: the list of changes made ('kvm', 'listener').
    :raises: KVMNotEnabled when KVM is disabled in MEBx, needs user
        consent, or stays disabled; WSManError for other failures.
    """
    settings = client.get(resource_uris.IPS_KVMRedirectionSettingData,
                          SETTINGS_SELECTORS)
    if not _truthy(settings.get('EnabledByMEBx')):
        raise exceptions.KVMNotEnabled(
            client.endpoint, 'KVM is disabled in MEBx (Intel AMT firmware '
            'setup, User Consent / KVM Feature Selection); it cannot be '
            'enabled remotely')
    error = consent_error(client)
    if error is not None:
        raise error
    changes = []
    sap = client.get(resource_uris.CIM_KVMRedirectionSAP, SAP_SELECTORS)
    state = _int(client, sap, 'EnabledState', 'CIM_KVMRedirectionSAP')
    if state not in SAP_ENABLED_STATES:
        try:
            client.invoke(resource_uris.CIM_KVMRedirectionSAP,
                          'RequestStateChange',
                          arguments=[('RequestedState', SAP_ENABLED)],
                          selectors=SAP_SELECTORS)
        except exceptions.WSManReturnValueError as e:
            raise exceptions.KVMNotEnabled(
                client.endpoint, 'enabling KVM returned %d (%s)'
                % (e.code, e.description)) from e
        changes.append('kvm')
    status = redirection_service.read_status(client)
    if not status.listener_enabled:
        redirection_service.enable_listener(client)
        changes.append('listener')
    if changes:
        sap = client.get(resource_uris.CIM_KVMRedirectionSAP, SAP_SELECTORS)
        state = _int(client, sap, 'EnabledState', 'CIM_KVMRedirectionSAP')
        if state not in SAP_ENABLED_STATES:
            raise exceptions.KVMNotEnabled(
                client.endpoint, 'the device still reports KVM EnabledState '
                '%d after enabling it' % state)
        LOG.info('Enabled %(what)s on %(endpoint)s',
                 {'what': ' and '.join(changes),
                  'endpoint': client.endpoint})
    return changes
