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

"""Exceptions raised by the AMT WS-Management client.

Retryability is typed, never read from message text: every class carries
a ``transient`` attribute telling whether repeating the request may
succeed (the client retries only those), and an ``unprocessed`` attribute
telling whether the error proves that the device did not act on the
request (only those are retried for a request that must not run twice, a
reset).  Messages name the endpoint URL, never credentials.
"""

from ironic_amt.wsman import return_values


class WSManError(Exception):
    """Base class of every WS-Management client error.

    :param endpoint: the endpoint URL (without credentials).
    :param detail: human readable detail appended to the message.
    """

    transient = False
    unprocessed = False
    _msg_fmt = 'WS-Management request to %(endpoint)s failed: %(detail)s'

    def __init__(self, endpoint, detail=''):
        self.endpoint = endpoint
        self.detail = detail
        super().__init__(self._msg_fmt % {'endpoint': endpoint,
                                          'detail': detail})


class WSManConnectionError(WSManError):
    """Connection refused, reset, unresolvable or dropped mid-response."""

    transient = True
    _msg_fmt = ('Connection to the WS-Management endpoint %(endpoint)s '
                'failed: %(detail)s')


class WSManTimeoutError(WSManConnectionError):
    """Connect or read timeout."""

    _msg_fmt = ('Timed out talking to the WS-Management endpoint '
                '%(endpoint)s: %(detail)s')


class WSManConnectError(WSManConnectionError):
    """No connection could be made: nothing was sent."""

    unprocessed = True


class WSManConnectTimeoutError(WSManConnectError, WSManTimeoutError):
    """The TCP connection or TLS handshake outlasted connect_timeout."""

    _msg_fmt = ('Timed out connecting to the WS-Management endpoint '
                '%(endpoint)s: %(detail)s')


class WSManDeadlineError(WSManError):
    """One exchange outlasted its deadline (a device trickling bytes)."""

    transient = True
    _msg_fmt = ('The WS-Management endpoint %(endpoint)s did not finish '
                'its answer before the deadline of the exchange '
                '(connect_timeout + read_timeout): %(detail)s')


class WSManResponseTooLarge(WSManError):
    """The answer is over the size cap; asking again cannot help."""

    _msg_fmt = ('The answer of the WS-Management endpoint %(endpoint)s is '
                'too large: %(detail)s')


class WSManTLSError(WSManError):
    """TLS handshake or certificate verification failure."""

    _msg_fmt = ('TLS handshake or certificate verification with '
                '%(endpoint)s failed: %(detail)s')


class WSManAuthError(WSManError):
    """The device refused the digest credentials after a fresh challenge."""

    _msg_fmt = ('The WS-Management endpoint %(endpoint)s refused the '
                'credentials: %(detail)s')


class WSManStaleNonceError(WSManError):
    """The device kept calling fresh nonces stale: not a credential error."""

    transient = True
    _msg_fmt = ('The WS-Management endpoint %(endpoint)s kept rejecting '
                'fresh digest nonces as stale: %(detail)s')


class WSManHTTPError(WSManError):
    """Unexpected HTTP status code.

    :param endpoint: the endpoint URL.
    :param status_code: the HTTP status code received.
    :param detail: optional extra detail.
    """

    _msg_fmt = ('Unexpected HTTP status %(status_code)s from the '
                'WS-Management endpoint %(endpoint)s%(detail)s')

    def __init__(self, endpoint, status_code, detail=''):
        self.endpoint = endpoint
        self.status_code = status_code
        self.detail = detail
        Exception.__init__(self, self._msg_fmt % {
            'endpoint': endpoint, 'status_code': status_code,
            'detail': ': %s' % detail if detail else ''})


class WSManRequestRejected(WSManHTTPError):
    """HTTP 400 without a SOAP fault: the device rejected the request."""

    _msg_fmt = ('The WS-Management endpoint %(endpoint)s rejected the '
                'request (HTTP %(status_code)s)%(detail)s')


class WSManServerError(WSManHTTPError):
    """HTTP 5xx from the device: it answered without running the request."""

    transient = True
    unprocessed = True


class WSManProtocolError(WSManError):
    """Unparsable, truncated or unexpectedly shaped response."""

    transient = True
    _msg_fmt = ('Invalid WS-Management response from %(endpoint)s: '
                '%(detail)s')


class WSManInvalidResponse(WSManProtocolError):
    """An answer that is not WS-Management at all.

    A wrong Content-Type, forbidden XML constructs, nesting too deep:
    asking again cannot help.
    """

    transient = False


class WSManFault(WSManError):
    """SOAP fault returned by the device.

    :param endpoint: the endpoint URL.
    :param subcode: local name of the fault subcode (or code), e.g.
        ``DestinationUnreachable``.
    :param reason: the fault reason text.
    """

    _msg_fmt = ('WS-Management endpoint %(endpoint)s returned the SOAP '
                'fault %(subcode)s: %(reason)s')

    def __init__(self, endpoint, subcode, reason):
        self.endpoint = endpoint
        self.subcode = subcode
        self.reason = reason
        self.detail = reason
        Exception.__init__(self, self._msg_fmt % {
            'endpoint': endpoint, 'subcode': subcode, 'reason': reason})


class WSManReturnValueError(WSManError):
    """A method returned a non-zero ReturnValue.

    Build one with :meth:`for_code`, which picks the subclass the code
    calls for (:class:`WSManBusyError`, :class:`WSManAccessDeniedError`).

    :param endpoint: the endpoint URL.
    :param resource_uri: resource URI of the class owning the method.
    :param method: the method name, e.g. ``RequestPowerStateChange``.
    :param code: the ReturnValue as an integer.
    """

    _msg_fmt = ('%(method)s of %(resource_uri)s on %(endpoint)s returned '
                '%(code)d (%(description)s)')

    def __init__(self, endpoint, resource_uri, method, code):
        self.endpoint = endpoint
        self.resource_uri = resource_uri
        self.method = method
        self.code = code
        self.description = return_values.RETURN_VALUE_DESCRIPTIONS.get(
            (resource_uri, method), {}).get(code, 'unknown return value')
        self.detail = self.description
        Exception.__init__(self, self._msg_fmt % {
            'endpoint': endpoint, 'resource_uri': resource_uri,
            'method': method, 'code': code,
            'description': self.description})

    @classmethod
    def for_code(cls, endpoint, resource_uri, method, code):
        """Build the error for a ReturnValue, typed by its meaning.

        :param endpoint: the endpoint URL.
        :param resource_uri: resource URI of the class owning the method.
        :param method: the method name.
        :param code: the ReturnValue as an integer.
        :returns: a WSManBusyError for the codes of
            ``return_values.BUSY_RETURN_VALUES``, a WSManAccessDeniedError
            for those of ``return_values.ACCESS_DENIED_RETURN_VALUES``,
            else a WSManReturnValueError.
        """
        key = (resource_uri, method)
        if code in return_values.BUSY_RETURN_VALUES.get(key, ()):
            error_cls = WSManBusyError
        elif code in return_values.ACCESS_DENIED_RETURN_VALUES.get(key, ()):
            error_cls = WSManAccessDeniedError
        else:
            error_cls = cls
        return error_cls(endpoint, resource_uri, method, code)


class WSManBusyError(WSManReturnValueError):
    """Busy or In Use: the device did nothing and may accept it later."""

    transient = True
    unprocessed = True


class WSManAccessDeniedError(WSManReturnValueError):
    """The account may not run the method (user consent, control mode)."""


class RedirectionError(WSManError):
    """Base class of the errors of a redirection (SOL/KVM) session.

    The endpoint is ``tcp://host:port`` or ``tls://host:port``.
    """

    _msg_fmt = ('AMT redirection session with %(endpoint)s failed: '
                '%(detail)s')


class RedirectionConnectionError(RedirectionError, WSManConnectionError):
    """The redirection port cannot be reached, or the session dropped."""

    transient = True
    _msg_fmt = ('Connection to the AMT redirection port %(endpoint)s '
                'failed: %(detail)s')


class RedirectionTimeoutError(RedirectionConnectionError):
    """Nothing (or not enough) arrived from the device in time."""

    _msg_fmt = ('Timed out talking to the AMT redirection port '
                '%(endpoint)s: %(detail)s')


class RedirectionClosed(RedirectionConnectionError):
    """The device closed the connection or ended the session."""

    _msg_fmt = ('The AMT redirection session with %(endpoint)s was closed '
                'by the device: %(detail)s')


class RedirectionTLSError(RedirectionError, WSManTLSError):
    """TLS handshake or certificate verification failure."""

    _msg_fmt = ('TLS handshake or certificate verification with the AMT '
                'redirection port %(endpoint)s failed: %(detail)s')


class RedirectionAuthError(RedirectionError, WSManAuthError):
    """The device refused the credentials of a redirection session."""

    _msg_fmt = ('The AMT redirection port %(endpoint)s refused the '
                'credentials: %(detail)s')


class RedirectionProtocolError(RedirectionError, WSManProtocolError):
    """A message from the device is malformed or unexpected."""

    transient = False
    _msg_fmt = ('Invalid AMT redirection message from %(endpoint)s: '
                '%(detail)s')


class RedirectionRefused(RedirectionError):
    """The device answered a session or SOL start with a failure status.

    :param endpoint: the endpoint.
    :param what: what was refused, e.g. ``the SOL session``.
    :param status: the status byte.
    :param description: its meaning.
    """

    _msg_fmt = ('The AMT redirection port %(endpoint)s refused %(what)s: '
                'status %(status)d (%(description)s)')

    def __init__(self, endpoint, what, status, description):
        self.endpoint = endpoint
        self.what = what
        self.status = status
        self.description = description
        self.detail = description
        # Busy: another session is open; it may end.
        self.transient = description == 'busy'
        Exception.__init__(self, self._msg_fmt % {
            'endpoint': endpoint, 'what': what, 'status': status,
            'description': description})


class RedirectionNotEnabled(WSManError):
    """SOL or the redirection listener is off and cannot be enabled."""

    _msg_fmt = ('Serial-over-LAN cannot be used on %(endpoint)s: '
                '%(detail)s')


class KVMNotEnabled(RedirectionNotEnabled):
    """KVM is off and cannot be enabled, or needs user consent."""

    _msg_fmt = 'KVM cannot be used on %(endpoint)s: %(detail)s'
