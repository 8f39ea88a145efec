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

"""Pure-Python WS-Management client for Intel AMT.

One :class:`Client` per AMT endpoint, shared by many threads: one
``requests.Session`` (keep-alive), HTTP Digest done by
:mod:`ironic_amt.drivers.modules.amt.digest` with pre-emptive
``Authorization`` headers so that a steady-state call is one HTTP exchange,
SOAP 1.2 envelopes built with ElementTree and responses parsed with
defusedxml.  Transient failures are retried a bounded number of times.
"""

import logging
import ssl
import time
import uuid
from xml.etree import ElementTree

import defusedxml
from defusedxml import ElementTree as defused_etree
import requests
from requests import adapters
from urllib3.util import ssl_ as urllib3_ssl

from ironic_amt.drivers.modules.amt import digest
from ironic_amt.drivers.modules.amt import exceptions

LOG = logging.getLogger(__name__)

NS_SOAP = 'http://www.w3.org/2003/05/soap-envelope'
NS_ADDRESSING = 'http://schemas.xmlsoap.org/ws/2004/08/addressing'
NS_WSMAN = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'
NS_TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer'
NS_ENUMERATION = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration'
ANONYMOUS = NS_ADDRESSING + '/role/anonymous'

ACTION_GET = NS_TRANSFER + '/Get'
ACTION_PUT = NS_TRANSFER + '/Put'
ACTION_ENUMERATE = NS_ENUMERATION + '/Enumerate'
ACTION_PULL = NS_ENUMERATION + '/Pull'

# Prefixes declared on the request envelope.  Elements are created with
# prefixed names and explicit xmlns attributes, so that no process-wide
# ElementTree.register_namespace() call is needed.
_PREFIXES = {'s': NS_SOAP, 'wsa': NS_ADDRESSING, 'wsman': NS_WSMAN,
             'wsen': NS_ENUMERATION}
_MUST_UNDERSTAND = {'s:mustUnderstand': 'true'}

DEFAULT_PORTS = {'http': 16992, 'https': 16993}
WSMAN_PATH = '/wsman'
CONTENT_TYPE = 'application/soap+xml;charset=UTF-8'
OPERATION_TIMEOUT = 'PT60S'
MAX_ENVELOPE_SIZE = 51200
# Upper bound of Pull requests per enumeration.
MAX_PULL_PAGES = 256
# Challenges answered for one request: the first, and stale re-challenges.
_MAX_CHALLENGES = 3
# Ciphers for AMT 11 and older (plain RSA key exchange, TLS 1.0/1.1).
LEGACY_CIPHERS = 'DEFAULT:@SECLEVEL=0'


def _qname(namespace, name):
    return '{%s}%s' % (namespace, name)


def _local_name(tag):
    return tag.rpartition('}')[2]


def _sub(parent, name, text=None, attrib=None):
    element = ElementTree.SubElement(parent, name, attrib or {})
    if text is not None:
        element.text = text
    return element


def _add_selector_set(parent, selectors):
    selector_set = _sub(parent, 'wsman:SelectorSet')
    for name, value in selectors.items():
        _sub(selector_set, 'wsman:Selector', str(value), {'Name': name})


class EndpointReference(object):
    """An endpoint reference (EPR) passed as a method argument.

    :param resource_uri: resource URI of the referenced class.
    :param selectors: dict of selector names to values identifying the
        instance.
    """

    def __init__(self, resource_uri, selectors):
        self.resource_uri = resource_uri
        self.selectors = dict(selectors)

    def __eq__(self, other):
        if not isinstance(other, EndpointReference):
            return NotImplemented
        return (self.resource_uri == other.resource_uri
                and self.selectors == other.selectors)

    __hash__ = None

    def __repr__(self):
        return 'EndpointReference(%r, %r)' % (self.resource_uri,
                                              self.selectors)

    def fill(self, element):
        """Write the EPR as the children of an element.

        :param element: the argument element to fill.
        """
        _sub(element, 'wsa:Address', ANONYMOUS)
        parameters = _sub(element, 'wsa:ReferenceParameters')
        _sub(parameters, 'wsman:ResourceURI', self.resource_uri)
        _add_selector_set(parameters, self.selectors)


def _append_value(parent, name, value):
    """Append an element (or one per list item) holding a value.

    :param parent: the parent element.
    :param name: prefixed name of the new element(s).
    :param value: str, int, bool, EndpointReference or a list of those.
    :raises: TypeError for any other type.
    """
    if isinstance(value, (list, tuple)):
        for item in value:
            _append_value(parent, name, item)
        return
    element = _sub(parent, name)
    if isinstance(value, EndpointReference):
        value.fill(element)
    elif isinstance(value, bool):
        element.text = 'true' if value else 'false'
    elif isinstance(value, (int, str)):
        element.text = str(value)
    else:
        raise TypeError('Cannot encode %s as a WS-Management value'
                        % type(value).__name__)


def build_envelope(endpoint, action, resource_uri, selectors=None,
                   body=None):
    """Build a request envelope.

    :param endpoint: the endpoint URL, sent as the WS-Addressing ``To``.
    :param action: the WS-Addressing action URI.
    :param resource_uri: the WS-Man resource URI.
    :param selectors: optional dict of selector names to values.
    :param body: optional element to put in the SOAP body.
    :returns: the serialised envelope as UTF-8 bytes.
    """
    envelope = ElementTree.Element(
        's:Envelope',
        {'xmlns:%s' % prefix: ns for prefix, ns in _PREFIXES.items()})
    header = _sub(envelope, 's:Header')
    _sub(header, 'wsa:Action', action, _MUST_UNDERSTAND)
    _sub(header, 'wsa:To', endpoint, _MUST_UNDERSTAND)
    _sub(header, 'wsman:ResourceURI', resource_uri, _MUST_UNDERSTAND)
    _sub(header, 'wsa:MessageID', 'uuid:%s' % uuid.uuid4(),
         _MUST_UNDERSTAND)
    reply_to = _sub(header, 'wsa:ReplyTo')
    _sub(reply_to, 'wsa:Address', ANONYMOUS)
    _sub(header, 'wsman:OperationTimeout', OPERATION_TIMEOUT)
    _sub(header, 'wsman:MaxEnvelopeSize', str(MAX_ENVELOPE_SIZE),
         _MUST_UNDERSTAND)
    if selectors:
        _add_selector_set(header, selectors)
    soap_body = _sub(envelope, 's:Body')
    if body is not None:
        soap_body.append(body)
    return ElementTree.tostring(envelope, encoding='utf-8')


def element_to_value(element):
    """Convert a response element to Python values.

    A leaf gives its text ('' if empty); an element with children gives a
    dict keyed by child local name, a repeated child giving a list.  A
    WS-Man ``SelectorSet`` gives a dict of selector names to values.

    :param element: an ElementTree element.
    :returns: a str or a dict.
    """
    children = list(element)
    if not children:
        return element.text or ''
    if element.tag == _qname(NS_WSMAN, 'SelectorSet'):
        return {(child.get('Name') or child.get(_qname(NS_WSMAN, 'Name'))):
                element_to_value(child) for child in children}
    result = {}
    for child in children:
        name = _local_name(child.tag)
        value = element_to_value(child)
        if name not in result:
            result[name] = value
        elif isinstance(result[name], list):
            result[name].append(value)
        else:
            result[name] = [result[name], value]
    return result


def _element_to_dict(element):
    value = element_to_value(element)
    return value if isinstance(value, dict) else {}


def _not_run(error):
    """Whether an error shows that the device did not run the request.

    :param error: a transient WSManError.
    :returns: True for a 5xx answer or a Busy return value; False when the
        answer was lost or garbled, so the request may have run.
    """
    return isinstance(error, (exceptions.WSManServerError,
                              exceptions.WSManReturnValueError))


def create_legacy_ssl_context():
    """Create an SSL context for AMT 11 and older firmware.

    It accepts TLS 1.0 and later and the plain-RSA cipher suites of old
    firmware.  Certificate verification is left to requests/urllib3, which
    set the verification mode and check the host name per connection.

    :returns: an ``ssl.SSLContext``.
    """
    context = urllib3_ssl.create_urllib3_context(ciphers=LEGACY_CIPHERS)
    context.check_hostname = False
    context.minimum_version = ssl.TLSVersion.TLSv1
    return context


class LegacyTLSAdapter(adapters.HTTPAdapter):
    """HTTPS adapter using :func:`create_legacy_ssl_context`."""

    def init_poolmanager(self, *args, **kwargs):
        kwargs['ssl_context'] = create_legacy_ssl_context()
        return super().init_poolmanager(*args, **kwargs)


class Client(object):
    """WS-Management client for one Intel AMT endpoint.

    Thread-safe: one instance may be shared by many threads.  The session
    ignores proxy and ``.netrc`` settings from the environment, so neither
    can redirect nor override the digest credentials.

    :param address: host name, IPv4 or IPv6 literal of the AMT device.
    :param username: the digest user name.
    :param password: the digest password; never logged nor shown.
    :param protocol: 'https' (default) or 'http'.
    :param port: the TCP port; None means 16993 for https, 16992 for http.
    :param verify: True, False or the path of a CA bundle.
    :param connect_timeout: TCP connect timeout in seconds.
    :param read_timeout: response read timeout in seconds.
    :param max_retry: maximum number of attempts of an operation failing
        with a transient error (at least 1).
    :param retry_wait: seconds to sleep between attempts.
    :param legacy_tls: allow TLS 1.0+ and plain-RSA ciphers (AMT <= 11).
    :raises: ValueError on an unknown protocol, an empty address or a
        max_retry below 1.
    """

    def __init__(self, address, username, password, protocol='https',
                 port=None, verify=True, connect_timeout=10.0,
                 read_timeout=30.0, max_retry=3, retry_wait=10.0,
                 legacy_tls=False):
        if protocol not in DEFAULT_PORTS:
            raise ValueError('Unsupported protocol %r, expected one of %s'
                             % (protocol, ', '.join(sorted(DEFAULT_PORTS))))
        host = (address or '').strip().strip('[]')
        if not host:
            raise ValueError('An AMT address is required')
        if max_retry < 1:
            raise ValueError('max_retry must be at least 1')
        if ':' in host:
            # IPv6 literal; a zone index must be percent-encoded (RFC 6874).
            host = '[%s]' % host.replace('%25', '%').replace('%', '%25')
        if port is None:
            port = DEFAULT_PORTS[protocol]
        self._endpoint = '%s://%s:%d%s' % (protocol, host, int(port),
                                           WSMAN_PATH)
        self._digest = digest.DigestState(username, password)
        self._timeout = (connect_timeout, read_timeout)
        self._verify = verify
        self._max_retry = max_retry
        self._retry_wait = retry_wait
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.verify = verify
        if legacy_tls:
            self._session.mount('https://', LegacyTLSAdapter())

    def __repr__(self):
        return '<Client %s>' % self._endpoint

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def endpoint(self):
        """The endpoint URL, e.g. ``https://[::1]:16993/wsman``."""
        return self._endpoint

    def close(self):
        """Close the pooled connections of the session."""
        self._session.close()

    def get(self, resource_uri, selectors=None):
        """Get an instance (WS-Transfer Get).

        :param resource_uri: the resource URI of the class.
        :param selectors: optional dict of selectors naming the instance.
        :returns: the instance as a dict.
        :raises: WSManError or a subclass.
        """
        return self._with_retries('Get', resource_uri, self._get_once,
                                  resource_uri, selectors)

    def put(self, resource_uri, instance, selectors=None):
        """Update an instance (WS-Transfer Put).

        :param resource_uri: the resource URI of the class.
        :param instance: dict of field names to str, int, bool or lists of
            those, serialised in the dict's order.
        :param selectors: optional dict of selectors naming the instance.
        :returns: the updated instance returned by the device as a dict.
        :raises: WSManError or a subclass; TypeError on a value that cannot
            be encoded.
        """
        class_name = resource_uri.rpartition('/')[2]
        body = ElementTree.Element('h:%s' % class_name,
                                   {'xmlns:h': resource_uri})
        for name, value in instance.items():
            _append_value(body, 'h:%s' % name, value)
        return self._with_retries('Put', resource_uri, self._put_once,
                                  resource_uri, selectors, body)

    def invoke(self, resource_uri, method, arguments=(), selectors=None,
               resend=True, retry_busy=True):
        """Invoke a method of a class (custom action).

        :param resource_uri: the resource URI of the class.
        :param method: the method name, e.g. ``RequestPowerStateChange``.
        :param arguments: sequence of (name, value) pairs; a value is a str,
            int, bool, :class:`EndpointReference` or a list of those.  No
            arguments send an empty ``<METHOD>_INPUT`` element.
        :param selectors: optional dict of selectors naming the instance.
        :param resend: False for a method that must not run twice (a
            reset): then only failures showing that the device did not run
            it (a 5xx answer, a Busy return value) are retried; a lost or
            garbled answer is raised at once.
        :param retry_busy: False to raise a Busy or In Use return value at
            once, for a caller that must do something before trying again.
        :returns: the children of ``<METHOD>_OUTPUT`` as a dict, with
            ``ReturnValue`` converted to int (always 0).
        :raises: WSManReturnValueError on a non-zero ReturnValue;
            WSManError or another subclass; TypeError on a value that
            cannot be encoded.
        """
        body = ElementTree.Element('h:%s_INPUT' % method,
                                   {'xmlns:h': resource_uri})
        for name, value in arguments:
            _append_value(body, 'h:%s' % name, value)
        if resend and retry_busy:
            retry_if = None
        else:
            def retry_if(error):
                if isinstance(error, exceptions.WSManReturnValueError):
                    return retry_busy
                return resend or _not_run(error)
        return self._with_retries(method, resource_uri, self._invoke_once,
                                  resource_uri, method, selectors, body,
                                  retry_if=retry_if)

    def enumerate(self, resource_uri, max_elements=32):
        """Enumerate all instances of a class (Enumerate, then Pull).

        A transient failure restarts the whole enumeration.

        :param resource_uri: the resource URI of the class.
        :param max_elements: maximum number of instances per Pull.
        :returns: list of instances as dicts.
        :raises: WSManError or a subclass.
        """
        return self._with_retries('Enumerate', resource_uri,
                                  self._enumerate_once, resource_uri,
                                  max_elements)

    def _with_retries(self, operation, resource_uri, func, *args,
                      retry_if=None):
        for attempt in range(1, self._max_retry + 1):
            try:
                return func(*args)
            except exceptions.WSManError as e:
                if (not e.transient or attempt >= self._max_retry
                        or (retry_if is not None and not retry_if(e))):
                    raise
                LOG.warning('WS-Management %(operation)s of %(resource)s '
                            'failed (attempt %(attempt)d of %(max)d), '
                            'retrying in %(wait)s seconds: %(error)s',
                            {'operation': operation,
                             'resource': resource_uri, 'attempt': attempt,
                             'max': self._max_retry,
                             'wait': self._retry_wait, 'error': e})
                time.sleep(self._retry_wait)

    def _get_once(self, resource_uri, selectors):
        body = self._call(ACTION_GET, resource_uri, selectors)
        return _element_to_dict(self._single_child(body))

    def _put_once(self, resource_uri, selectors, instance):
        body = self._call(ACTION_PUT, resource_uri, selectors, instance)
        if not len(body):
            return {}
        return _element_to_dict(self._single_child(body))

    def _invoke_once(self, resource_uri, method, selectors, arguments):
        action = '%s/%s' % (resource_uri, method)
        body = self._call(action, resource_uri, selectors, arguments)
        output_name = '%s_OUTPUT' % method
        output = next((child for child in body
                       if _local_name(child.tag) == output_name), None)
        if output is None:
            raise exceptions.WSManProtocolError(
                self._endpoint, 'no %s in the response' % output_name)
        result = _element_to_dict(output)
        try:
            code = int(result['ReturnValue'])
        except (KeyError, TypeError, ValueError):
            raise exceptions.WSManProtocolError(
                self._endpoint,
                'no valid ReturnValue in %s' % output_name)
        result['ReturnValue'] = code
        if code:
            raise exceptions.WSManReturnValueError(
                self._endpoint, resource_uri, method, code)
        return result

    def _enumerate_once(self, resource_uri, max_elements):
        body = self._call(ACTION_ENUMERATE, resource_uri,
                          body=ElementTree.Element('wsen:Enumerate'))
        context = body.findtext('%s/%s' % (
            _qname(NS_ENUMERATION, 'EnumerateResponse'),
            _qname(NS_ENUMERATION, 'EnumerationContext')))
        items = []
        for _page in range(MAX_PULL_PAGES):
            if not context:
                raise exceptions.WSManProtocolError(
                    self._endpoint, 'no EnumerationContext in the response')
            pull = ElementTree.Element('wsen:Pull')
            _sub(pull, 'wsen:EnumerationContext', context)
            _sub(pull, 'wsen:MaxElements', str(max_elements))
            body = self._call(ACTION_PULL, resource_uri, body=pull)
            response = body.find(_qname(NS_ENUMERATION, 'PullResponse'))
            if response is None:
                raise exceptions.WSManProtocolError(
                    self._endpoint, 'no PullResponse in the response')
            page = response.find(_qname(NS_ENUMERATION, 'Items'))
            if page is not None:
                items.extend(_element_to_dict(item) for item in page)
            if response.find(_qname(NS_ENUMERATION,
                                    'EndOfSequence')) is not None:
                return items
            context = response.findtext(
                _qname(NS_ENUMERATION, 'EnumerationContext'))
        raise exceptions.WSManProtocolError(
            self._endpoint,
            'enumeration not finished after %d Pull requests'
            % MAX_PULL_PAGES)

    def _single_child(self, body):
        children = list(body)
        if len(children) != 1:
            raise exceptions.WSManProtocolError(
                self._endpoint, 'expected one instance in the body, got %d'
                % len(children))
        return children[0]

    def _call(self, action, resource_uri, selectors=None, body=None):
        """Send one request and return the checked SOAP body element."""
        payload = build_envelope(self._endpoint, action, resource_uri,
                                 selectors, body)
        operation = action.rpartition('/')[2]
        start = time.monotonic()
        response = self._post(payload)
        LOG.debug('WS-Management %(operation)s of %(resource)s on '
                  '%(endpoint)s: HTTP %(status)s in %(elapsed).3f s',
                  {'operation': operation, 'resource': resource_uri,
                   'endpoint': self._endpoint,
                   'status': response.status_code,
                   'elapsed': time.monotonic() - start})
        return self._check_response(response, action)

    def _post(self, payload):
        """POST with digest authentication.

        The request borrows an idle nonce from the digest state (none: it
        goes without ``Authorization`` and gets a challenge).  A 401 to a
        pre-emptive header, or any 401 saying ``stale="true"``, is answered
        with the new challenge (at most _MAX_CHALLENGES times); a plain 401
        to a challenge we have just answered means the credentials are
        wrong.  The nonce in use goes back to the pool once the device has
        answered with anything but 401, or when the connection failed.
        """
        challenge = self._digest.acquire()
        answered_fresh = False
        for attempt in range(_MAX_CHALLENGES + 1):
            try:
                response = self._send(payload, challenge)
            except exceptions.WSManError:
                self._digest.release(challenge)
                raise
            if response.status_code != 401:
                self._digest.release(challenge)
                return response
            if attempt == _MAX_CHALLENGES:
                break
            try:
                fresh = self._digest.update(
                    response.headers.get('WWW-Authenticate'))
            except ValueError as e:
                raise exceptions.WSManAuthError(self._endpoint, str(e))
            if answered_fresh and not fresh.stale:
                break
            LOG.debug('Digest authorization to %(endpoint)s answered with '
                      'a challenge (stale nonce: %(stale)s), resending',
                      {'endpoint': self._endpoint, 'stale': fresh.stale})
            challenge = fresh
            answered_fresh = True
        if fresh.stale:
            raise exceptions.WSManStaleNonceError(
                self._endpoint, '%d challenges in a row' % _MAX_CHALLENGES)
        raise exceptions.WSManAuthError(
            self._endpoint, 'digest authentication failed for user and '
            'realm %s' % fresh.realm)

    def _send(self, payload, challenge):
        headers = {'Content-Type': CONTENT_TYPE}
        if challenge is not None:
            headers['Authorization'] = challenge.authorization(
                'POST', WSMAN_PATH)
        try:
            return self._session.post(
                self._endpoint, data=payload, headers=headers,
                timeout=self._timeout, verify=self._verify,
                allow_redirects=False)
        except requests.exceptions.SSLError as e:
            raise exceptions.WSManTLSError(self._endpoint, str(e))
        except requests.exceptions.Timeout as e:
            raise exceptions.WSManTimeoutError(self._endpoint, str(e))
        except (requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError) as e:
            raise exceptions.WSManConnectionError(self._endpoint, str(e))
        except requests.exceptions.RequestException as e:
            raise exceptions.WSManError(self._endpoint, str(e))

    def _check_response(self, response, action):
        """Decode a response: HTTP status, XML, SOAP fault and Action.

        :returns: the SOAP Body element.
        """
        status = response.status_code
        if status >= 500:
            raise exceptions.WSManServerError(self._endpoint, status)
        if status not in (200, 400):
            raise exceptions.WSManHTTPError(self._endpoint, status)
        try:
            root = defused_etree.fromstring(response.content)
        except (ElementTree.ParseError, defusedxml.DefusedXmlException) as e:
            raise exceptions.WSManProtocolError(
                self._endpoint, 'unparsable XML (HTTP %s): %s' % (status, e))
        body = root.find(_qname(NS_SOAP, 'Body'))
        if root.tag != _qname(NS_SOAP, 'Envelope') or body is None:
            raise exceptions.WSManProtocolError(
                self._endpoint, 'not a SOAP 1.2 envelope (HTTP %s)' % status)
        fault = body.find(_qname(NS_SOAP, 'Fault'))
        if fault is not None:
            raise self._fault(fault)
        if status != 200:
            raise exceptions.WSManHTTPError(self._endpoint, status,
                                            'no SOAP fault in the body')
        reply_action = root.findtext('%s/%s' % (_qname(NS_SOAP, 'Header'),
                                                _qname(NS_ADDRESSING,
                                                       'Action')))
        if reply_action and not reply_action.strip().startswith(action):
            raise exceptions.WSManProtocolError(
                self._endpoint, 'unexpected Action %s in reply to %s'
                % (reply_action.strip(), action))
        return body

    def _fault(self, fault):
        code = _qname(NS_SOAP, 'Code')
        subcode = _qname(NS_SOAP, 'Subcode')
        value = _qname(NS_SOAP, 'Value')
        name = (fault.findtext('/'.join([code, subcode, value]))
                or fault.findtext('/'.join([code, value])) or 'Unknown')
        reason = fault.findtext('/'.join([_qname(NS_SOAP, 'Reason'),
                                          _qname(NS_SOAP, 'Text')]))
        return exceptions.WSManFault(self._endpoint,
                                     name.strip().rpartition(':')[2],
                                     (reason or '').strip())
