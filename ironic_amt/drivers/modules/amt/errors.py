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

"""The driver's exceptions and the one place client errors become them."""

import contextlib

from ironic.common import exception
from ironic.common.i18n import _
from oslo_log import log as logging

from ironic_amt.drivers.modules.amt import features
from ironic_amt.wsman import exceptions as wsman_exc

LOG = logging.getLogger(__name__)


class AMTOperationError(exception.DriverOperationError):
    _msg_fmt = _('AMT %(operation)s failed for node %(node)s: %(error)s')


class AMTConnectionFailure(AMTOperationError):
    _msg_fmt = _('AMT %(operation)s failed for node %(node)s: the AMT '
                 'interface could not be reached: %(error)s')


class AMTConsentRequired(AMTOperationError):
    """AMT refused an operation because user consent was not given."""


class AMTAuthenticationFailure(AMTOperationError):
    _msg_fmt = _('AMT %(operation)s failed for node %(node)s: '
                 'authentication failed; check amt_username and '
                 'amt_password in driver_info: %(error)s')


# Operator hints appended to the message of errors whose fix is known.
_TLS_HINT = _('check amt_verify_ca (or [amt]verify_ca) and, for AMT 11 and '
              'older firmware, [amt]allow_legacy_tls')
_CONSENT_HINT = _('the AMT account is not allowed to do this: remote power '
                  'and boot control needs admin control mode or user '
                  'consent set to None in MEBx')


_CONSENT_MODES = {
    features.CCM: _('client control mode, where AMT always requires user '
                    'consent for remote boot control'),
    features.ACM: _('admin control mode with user consent required for '
                    'every redirection and boot operation'),
}


def consent_explanation(consent):
    """Say why consent is needed and how to get past it.

    :param consent: a :class:`features.Consent` that blocks boot control.
    :returns: a sentence for an error message.
    """
    return _('user consent is required and has not been given: the device '
             'is in %(mode)s (OptInState %(state)s). AMT refuses remote boot '
             'control until a person at the machine reads the code it shows '
             'on screen and the code is entered (IPS_OptInService '
             'StartOptIn, then SendOptInCode, e.g. from an Intel console); '
             'Ironic cannot do that unattended. To manage the node with '
             'Ironic, provision AMT in admin control mode with user consent '
             'set to None (in MEBx or the provisioning profile), then '
             'inspect the node again') % {
        'mode': _CONSENT_MODES.get(consent.mode, _('an unknown control mode')),
        'state': consent.state}


def is_access_denied(error):
    """Whether the device refused an operation for lack of rights.

    :param error: a WSManError.
    :returns: True for a wsman:AccessDenied fault or an Access Denied
        ReturnValue.
    """
    return (isinstance(error, wsman_exc.WSManAccessDeniedError)
            or (isinstance(error, wsman_exc.WSManFault)
                and error.subcode == 'AccessDenied'))


def _consent_blocking(node, client):
    """The consent state when it explains an access denied, else None."""
    try:
        raw = features.read_instances(client, node,
                                      features.CONSENT_CLASSES)
    except wsman_exc.WSManError as e:
        LOG.debug('Could not read the consent state of node %(node)s: '
                  '%(error)s', {'node': node.uuid, 'error': e})
        return None
    consent = features.parse_consent(raw)
    return consent if features.consent_blocks_boot_control(consent) else None


def _hint(error):
    if isinstance(error, wsman_exc.WSManTLSError):
        return _TLS_HINT
    if is_access_denied(error):
        return _CONSENT_HINT
    return None


@contextlib.contextmanager
def translate_errors(node, operation, client=None):
    """Turn WS-Man client errors into Ironic exceptions, once.

    :param node: the node the operation is for.
    :param operation: a short description used in the message.
    :param client: the node's WS-Man client; with it, an access denied
        is explained by reading the consent state (two Gets), and one
        caused by missing user consent raises AMTConsentRequired.
    :raises: AMTConsentRequired, AMTAuthenticationFailure,
        AMTConnectionFailure or AMTOperationError, each naming the node.
    """
    try:
        yield
    except wsman_exc.WSManError as e:
        consent = (_consent_blocking(node, client)
                   if client is not None and is_access_denied(e) else None)
        if consent is not None:
            error = consent_explanation(consent)
            LOG.error('AMT %(operation)s failed for node %(node)s: '
                      '%(error)s', {'operation': operation,
                                    'node': node.uuid, 'error': error})
            raise AMTConsentRequired(operation=operation, node=node.uuid,
                                     error=error) from e
        if isinstance(e, wsman_exc.WSManAuthError):
            error_cls = AMTAuthenticationFailure
        elif isinstance(e, wsman_exc.WSManConnectionError):
            error_cls = AMTConnectionFailure
        else:
            error_cls = AMTOperationError
        hint = _hint(e)
        error = '%s (%s)' % (e, hint) if hint else str(e)
        LOG.error('AMT %(operation)s failed for node %(node)s: %(error)s',
                  {'operation': operation, 'node': node.uuid,
                   'error': error})
        raise error_cls(operation=operation, node=node.uuid,
                        error=error) from e
