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

One :class:`Client` per AMT endpoint, shared by many threads: Get, Put,
Invoke and Enumerate over a :class:`~ironic_amt.wsman.transport.Transport`,
envelopes from :mod:`ironic_amt.wsman.envelope`, answers checked by
:mod:`ironic_amt.wsman.parsing`.

This is the driver's one retry mechanism: an operation failing with a
transient error (see :mod:`ironic_amt.wsman.exceptions`: connection
faults, time-outs, HTTP 5xx, Busy return values) is tried again, at most
``attempts`` times in all, ``retry_wait`` seconds apart, by a
``tenacity.Retrying`` built when a call's first attempt has failed.
Nothing else is retried.
"""

import logging
import time

import tenacity

from ironic_amt.wsman import envelope
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import parsing
from ironic_amt.wsman import transport

LOG = logging.getLogger(__name__)

# Upper bound of Pull requests per enumeration.
MAX_PULL_PAGES = 256

# Re-exported for callers that build method arguments.
EndpointReference = envelope.EndpointReference


class Client(object):
    """WS-Management client for one Intel AMT endpoint.

    Thread-safe: one instance may be shared by many threads.  The
    transport reads no proxy or ``.netrc`` settings and follows no
    redirect, so nothing can send the digest credentials elsewhere.

    :param address: host name, IPv4 or IPv6 literal of the AMT device.
    :param username: the digest user name.
    :param password: the digest password; never logged nor shown.
    :param protocol: 'https' (default) or 'http'.
    :param port: the TCP port; None means 16993 for https, 16992 for http.
    :param verify: True, False or the path of a CA bundle.
    :param connect_timeout: TCP connect timeout in seconds.
    :param read_timeout: response read timeout in seconds.
    :param attempts: how many times in all an operation failing with a
        transient error is tried, the first attempt included (at least 1;
        1 means no retry).
    :param retry_wait: seconds to sleep between attempts.
    :param legacy_tls: allow TLS 1.0+ and plain-RSA ciphers (AMT <= 11).
    :param max_response_size: the cap of one decoded answer in bytes.
    :raises: ValueError on an unknown protocol, an empty address,
        attempts below 1 or a user name that cannot be sent in HTTP.
    """

    def __init__(self, address, username, password, protocol='https',
                 port=None, verify=True, connect_timeout=10.0,
                 read_timeout=30.0, attempts=3, retry_wait=10.0,
                 legacy_tls=False,
                 max_response_size=transport.DEFAULT_MAX_RESPONSE_SIZE):
        if attempts < 1:
            raise ValueError('attempts must be at least 1')
        self._transport = transport.Transport(
            address, protocol, port, username, password, verify=verify,
            connect_timeout=connect_timeout, read_timeout=read_timeout,
            legacy_tls=legacy_tls, max_response_size=max_response_size)
        self._endpoint = self._transport.endpoint
        # (action, resource URI, selectors) -> envelope.Template, for
        # requests without a body: a handful per endpoint.
        self._templates = {}
        self._attempts = attempts
        self._retry_wait = retry_wait

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

    @property
    def stats(self):
        """Counters of the transport (:class:`transport.Stats`)."""
        return self._transport.stats

    def close(self):
        """Close the pooled connections of the transport."""
        self._transport.close()

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
        body = envelope.instance_body(resource_uri, instance)
        return self._with_retries('Put', resource_uri, self._put_once,
                                  resource_uri, selectors, body)

    def invoke(self, resource_uri, method, arguments=(), selectors=None,
               resend=True, before_resend=None):
        """Invoke a method of a class (custom action).

        :param resource_uri: the resource URI of the class.
        :param method: the method name, e.g. ``RequestPowerStateChange``.
        :param arguments: sequence of (name, value) pairs; a value is a str,
            int, bool, :class:`EndpointReference` or a list of those.  No
            arguments send an empty ``<METHOD>_INPUT`` element.
        :param selectors: optional dict of selectors naming the instance.
        :param resend: False for a method that must not run twice (a
            reset): then only failures proving that the device did not run
            it (``unprocessed``: a 5xx answer, a Busy return value) are
            retried; a lost or garbled answer is raised at once.
        :param before_resend: a callable without arguments, called right
            before each resend (after the wait), for a caller that must
            redo something first; what it raises ends the call.
        :returns: the children of ``<METHOD>_OUTPUT`` as a dict, with
            ``ReturnValue`` converted to int (always 0).
        :raises: WSManReturnValueError on a non-zero ReturnValue;
            WSManError or another subclass; TypeError on a value that
            cannot be encoded.
        """
        body = envelope.method_input(resource_uri, method, arguments)
        return self._with_retries(method, resource_uri, self._invoke_once,
                                  resource_uri, method, selectors, body,
                                  resend=resend, before_resend=before_resend)

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
                      resend=True, before_resend=None):
        """Call func(*args), retrying transient errors (see the module).

        The first attempt is a plain call (most succeed, and building a
        ``tenacity.Retrying`` costs as much CPU as parsing the answer);
        once it fails with an error worth retrying, a ``Retrying`` makes
        the remaining attempts, ``retry_wait`` seconds apart.
        """
        def retryable(error):
            return (isinstance(error, exceptions.WSManError)
                    and error.transient and (resend or error.unprocessed))

        def log_retry(attempt, error):
            LOG.warning('WS-Management %(operation)s of %(resource)s '
                        'failed (attempt %(attempt)d of %(max)d), '
                        'retrying in %(wait)s seconds: %(error)s',
                        {'operation': operation, 'resource': resource_uri,
                         'attempt': attempt, 'max': self._attempts,
                         'wait': self._retry_wait, 'error': error})

        try:
            return func(*args)
        except exceptions.WSManError as error:
            if self._attempts < 2 or not retryable(error):
                raise
            log_retry(1, error)

        def before(state):
            if before_resend is not None:
                before_resend()

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._attempts - 1),
            wait=tenacity.wait_fixed(self._retry_wait),
            retry=tenacity.retry_if_exception(retryable),
            before=before,
            before_sleep=lambda state: log_retry(
                state.attempt_number + 1, state.outcome.exception()),
            reraise=True)
        time.sleep(self._retry_wait)
        return retrying(func, *args)

    def _get_once(self, resource_uri, selectors):
        body = self._call(envelope.ACTION_GET, resource_uri, selectors)
        return self._instance(body)

    def _put_once(self, resource_uri, selectors, instance):
        body = self._call(envelope.ACTION_PUT, resource_uri, selectors,
                          instance)
        return self._instance(body) if len(body) else {}

    def _instance(self, body):
        return parsing.element_to_dict(
            parsing.single_child(self._endpoint, body))

    def _invoke_once(self, resource_uri, method, selectors, arguments):
        action = '%s/%s' % (resource_uri, method)
        body = self._call(action, resource_uri, selectors, arguments)
        output_name = '%s_OUTPUT' % method
        output = next((child for child in body
                       if envelope.local_name(child.tag) == output_name),
                      None)
        if output is None:
            raise exceptions.WSManProtocolError(
                self._endpoint, 'no %s in the response' % output_name)
        result = parsing.element_to_dict(output)
        try:
            code = int(result['ReturnValue'])
        except (KeyError, TypeError, ValueError):
            raise exceptions.WSManProtocolError(
                self._endpoint,
                'no valid ReturnValue in %s' % output_name)
        result['ReturnValue'] = code
        if code:
            raise exceptions.WSManReturnValueError.for_code(
                self._endpoint, resource_uri, method, code)
        return result

    def _enumerate_once(self, resource_uri, max_elements):
        def wsen(name):
            return envelope.qname(envelope.NS_ENUMERATION, name)

        body = self._call(envelope.ACTION_ENUMERATE, resource_uri,
                          body=envelope.element('wsen:Enumerate'))
        context = body.findtext('%s/%s' % (wsen('EnumerateResponse'),
                                           wsen('EnumerationContext')))
        items = []
        for _page in range(MAX_PULL_PAGES):
            if not context:
                raise exceptions.WSManProtocolError(
                    self._endpoint, 'no EnumerationContext in the response')
            body = self._call(envelope.ACTION_PULL, resource_uri,
                              body=envelope.pull_body(context,
                                                      max_elements))
            response = body.find(wsen('PullResponse'))
            if response is None:
                raise exceptions.WSManProtocolError(
                    self._endpoint, 'no PullResponse in the response')
            page = response.find(wsen('Items'))
            if page is not None:
                items.extend(parsing.element_to_dict(item) for item in page)
            if response.find(wsen('EndOfSequence')) is not None:
                return items
            context = response.findtext(wsen('EnumerationContext'))
        raise exceptions.WSManProtocolError(
            self._endpoint,
            'enumeration not finished after %d Pull requests'
            % MAX_PULL_PAGES)

    def _call(self, action, resource_uri, selectors=None, body=None):
        """Send one request and return the checked SOAP body element."""
        if body is None:
            key = (action, resource_uri,
                   tuple(sorted((name, str(value)) for name, value
                                in selectors.items())) if selectors else ())
            template = self._templates.get(key)
            if template is None:
                template = self._templates[key] = envelope.Template(
                    self._endpoint, action, resource_uri, selectors)
            payload = template.stamp()
        else:
            payload = envelope.build_envelope(self._endpoint, action,
                                              resource_uri, selectors, body)
        operation = action.rpartition('/')[2]
        start = time.monotonic()
        response = self._transport.post(
            payload, idempotent=action == envelope.ACTION_GET)
        LOG.debug('WS-Management %(operation)s of %(resource)s on '
                  '%(endpoint)s: HTTP %(status)s in %(elapsed).3f s',
                  {'operation': operation, 'resource': resource_uri,
                   'endpoint': self._endpoint, 'status': response.status,
                   'elapsed': time.monotonic() - start})
        return parsing.check_response(
            self._endpoint, response.status,
            response.headers.get('content-type'), response.body, action)
