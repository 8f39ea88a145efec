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

from ironic_amt.wsman import exceptions as wsman_exc

LOG = logging.getLogger(__name__)


class AMTOperationError(exception.DriverOperationError):
    _msg_fmt = _('AMT %(operation)s failed for node %(node)s: %(error)s')


class AMTConnectionFailure(AMTOperationError):
    _msg_fmt = _('AMT %(operation)s failed for node %(node)s: the AMT '
                 'interface could not be reached: %(error)s')


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


def _hint(error):
    if isinstance(error, wsman_exc.WSManTLSError):
        return _TLS_HINT
    if (isinstance(error, wsman_exc.WSManFault)
            and error.subcode == 'AccessDenied'):
        return _CONSENT_HINT
    if isinstance(error, wsman_exc.WSManAccessDeniedError):
        return _CONSENT_HINT
    return None


@contextlib.contextmanager
def translate_errors(node, operation):
    """Turn WS-Man client errors into Ironic exceptions, once.

    :param node: the node the operation is for.
    :param operation: a short description used in the message.
    :raises: AMTAuthenticationFailure, AMTConnectionFailure or
        AMTOperationError, each naming the node.
    """
    try:
        yield
    except wsman_exc.WSManError as e:
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
