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

"""WS-Man on one device: Get, Put, Enumerate, Pull, Release, Invoke and
Identify, dispatched to the class handlers of ``registry``.

A Service turns an authenticated request body into an Outcome: the reply
body, an HTTP status (200, or 400 for a SOAP fault) and the fields the
request log records about it.  It keeps the protocol's own per-device
state: enumeration contexts and the reply MessageID counter.
"""

import collections
import threading

from ironic_amt.simulator.model import settings
from ironic_amt.simulator.model import values
from ironic_amt.simulator.protocol import boot
from ironic_amt.simulator.protocol import bootstate
from ironic_amt.simulator.protocol import consent
from ironic_amt.simulator.protocol import enumeration
from ironic_amt.simulator.protocol import features
from ironic_amt.simulator.protocol import inventory
from ironic_amt.simulator.protocol import kvm
from ironic_amt.simulator.protocol import ocr
from ironic_amt.simulator.protocol import power
from ironic_amt.simulator.protocol import registry
from ironic_amt.simulator.protocol import soap

# Feature modules that register class handlers when imported.  Add yours.
HANDLER_MODULES = (power, boot, bootstate, consent, features, kvm,
                   inventory, ocr)

Outcome = collections.namedtuple('Outcome', 'status body info')
"""A reply: HTTP status, body bytes and request-log fields (a dict)."""


def _info():
    return {'action': None, 'resource': None, 'method': None, 'args': {},
            'return_value': None, 'fault': None, 'ignored': False}


class Call(object):
    """The handling of one request, as class handlers see it.

    :ivar device: the model.device.Device addressed.
    :ivar request: the parsed soap.Request.
    :ivar scheme: 'http' or 'https', how the request came in.
    :ivar info: the request-log fields of this request.
    :ivar busy: in a method handler, the ReturnValue to answer because
        the ``busy`` fault is armed, else None.
    """

    def __init__(self, service, request, scheme):
        self.service = service
        self.device = service.device
        self.request = request
        self.scheme = scheme
        self.info = _info()
        self.busy = None

    def note(self, **args):
        """Record method arguments (or changed fields) in the log entry.

        :param args: name to a JSON-serialisable value; never a secret.
        """
        self.info['args'].update(args)

    def reply(self, action, body, namespaces):
        envelope = soap.render_envelope(
            action, self.request.message_id, self.service.next_message_id(),
            self.request.resource_uri, body, namespaces)
        return Outcome(200, envelope, self.info)

    def _instance_reply(self, element, fields):
        body = soap.render_instance('g', element, fields.items(), 'h')
        return self.reply(self.request.action + 'Response', body,
                          (('g', values.class_uri(element)),
                           ('h', soap.NS_COMMON)))

    # Transfer -------------------------------------------------------------

    def get(self, resource):
        pair = registry.select(resource.instances(self.device),
                               self.request.selectors)
        if pair is None:
            raise soap.WsmanFault('InvalidSelectors')
        return self._instance_reply(*pair)

    def put(self, resource):
        if resource.put is None:
            raise soap.WsmanFault('ActionNotSupported')
        self._check_access()
        body = self.request.body
        if body is None or soap.local_name(body.tag) != resource.name:
            raise soap.WsmanFault('InvalidRepresentation',
                                  'the body must hold one %s'
                                  % resource.name)
        if self.request.selectors and registry.select(
                resource.instances(self.device),
                self.request.selectors) is None:
            raise soap.WsmanFault('InvalidSelectors')
        try:
            fields = resource.put(self, soap.element_values(body))
        except settings.Refused as exc:
            # WS-Transfer: a representation invalid for the resource.
            raise soap.WsmanFault('InvalidRepresentation', str(exc))
        return self._instance_reply(resource.name, fields)

    # Enumeration ----------------------------------------------------------

    def _enumeration_reply(self, resource, body):
        namespaces = [('g', soap.NS_ENUMERATION)]
        if resource is not None:
            namespaces.append(('h', values.class_uri(resource.name)))
        namespaces.append(('i', soap.NS_COMMON))
        return self.reply(self.request.action + 'Response', body,
                          namespaces)

    def _context(self):
        body = self.request.body
        context = None
        if body is not None:
            context = soap.element_text(body.find(
                '{%s}EnumerationContext' % soap.NS_ENUMERATION))
        return body, context

    def enumerate(self, resource):
        context = self.service.enumerations.open(
            resource.instances(self.device))
        return self._enumeration_reply(
            resource, '<g:EnumerateResponse><g:EnumerationContext>%s'
            '</g:EnumerationContext></g:EnumerateResponse>' % context)

    def pull(self, resource):
        body, context = self._context()
        max_elements = 1
        if body is not None:
            text = soap.element_text(body.find(
                '{%s}MaxElements' % soap.NS_ENUMERATION))
            if text is not None:
                max_elements = soap.int_or_none(text)
                if max_elements is None or max_elements < 1:
                    raise soap.WsmanFault('SchemaValidationError',
                                          'bad MaxElements')
        try:
            items, following = self.service.enumerations.pull(
                context, max_elements)
        except KeyError:
            raise soap.WsmanFault('InvalidEnumerationContext')
        rendered = []
        for name, fields in items:
            xmlns = (None if resource is not None and name == resource.name
                     else values.class_uri(name))
            rendered.append(soap.render_instance('h', name, fields.items(),
                                                 'i', xmlns=xmlns))
        parts = ['<g:PullResponse>']
        if following:
            parts.append('<g:EnumerationContext>%s</g:EnumerationContext>'
                         % following)
        parts.append('<g:Items>%s</g:Items>' % ''.join(rendered))
        if not following:
            parts.append('<g:EndOfSequence></g:EndOfSequence>')
        parts.append('</g:PullResponse>')
        return self._enumeration_reply(resource, ''.join(parts))

    def release(self, resource):
        _body, context = self._context()
        try:
            self.service.enumerations.release(context)
        except KeyError:
            raise soap.WsmanFault('InvalidEnumerationContext')
        return self._enumeration_reply(resource, '')

    # Methods --------------------------------------------------------------

    def _check_access(self):
        if self.device.faults.take('access_denied') is not None:
            raise soap.WsmanFault('AccessDenied')

    def invoke(self, resource, method_name):
        self.info.update(action='Invoke', method=method_name)
        method = resource.methods.get(method_name)
        if method is None:
            raise soap.WsmanFault('ActionNotSupported')
        if self.request.selectors and registry.select(
                resource.instances(self.device),
                self.request.selectors) is None:
            raise soap.WsmanFault('InvalidSelectors')
        body = self.request.body
        if (body is None
                or soap.local_name(body.tag) != method_name + '_INPUT'):
            raise soap.WsmanFault('SchemaValidationError',
                                  'expected %s_INPUT' % method_name)
        args = soap.element_values(body)
        self._check_access()
        if (method.busy is not None
                and self.device.faults.take('busy') is not None):
            self.busy = method.busy
        result = method.handler(self, args)
        return_value, outputs = (result if isinstance(result, tuple)
                                 else (result, ()))
        self.info['return_value'] = return_value
        output = soap.render_instance(
            'g', method_name + '_OUTPUT',
            list(outputs) + [('ReturnValue', return_value)], 'h')
        return self.reply(self.request.action + 'Response', output,
                          (('g', values.class_uri(resource.name)),
                           ('h', soap.NS_COMMON)))

    # Dispatch -------------------------------------------------------------

    def run(self):
        request = self.request
        if request.identify:
            self.info['action'] = 'Identify'
            return Outcome(200, soap.render_identify(
                'AMT %s' % self.device.profile), self.info)
        action = request.action or ''
        operation = soap.OPERATIONS.get(action)
        self.info['action'] = operation
        class_name = soap.class_from_uri(request.resource_uri)
        self.info['resource'] = class_name
        if operation in ('Pull', 'Release') and class_name is None:
            return getattr(self, operation.lower())(None)
        resource = (registry.lookup(self.device, class_name)
                    if class_name else None)
        if resource is None:
            raise soap.WsmanFault('DestinationUnreachable')
        if operation is not None:
            return getattr(self, operation.lower())(resource)
        prefix = request.resource_uri + '/'
        if action.startswith(prefix) and '/' not in action[len(prefix):]:
            return self.invoke(resource, action[len(prefix):])
        raise soap.WsmanFault('ActionNotSupported')


class Service(object):
    """WS-Man for one device."""

    def __init__(self, device):
        """Create the service.

        :param device: the model.device.Device served.
        """
        self.device = device
        self.enumerations = enumeration.ContextStore()
        self._message_id = 0
        self._lock = threading.Lock()

    def next_message_id(self):
        """The MessageID of the next reply.

        :returns: 'uuid:00000000-8086-8086-8086-<12 hex digits>'.
        """
        with self._lock:
            self._message_id += 1
            return 'uuid:00000000-8086-8086-8086-%012X' % self._message_id

    def handle(self, data, scheme='http'):
        """Answer one authenticated WS-Man request.

        :param data: the request body (bytes).
        :param scheme: 'http' or 'https', how it came in.
        :returns: an Outcome; SOAP faults come back with status 400.
        """
        try:
            request = soap.parse_request(data)
        except soap.WsmanFault as fault:
            info = _info()
            info['fault'] = fault.subcode
            return Outcome(400, soap.render_fault(
                fault, None, self.next_message_id()), info)
        call = Call(self, request, scheme)
        try:
            return call.run()
        except soap.WsmanFault as fault:
            call.info['fault'] = fault.subcode
            return Outcome(400, soap.render_fault(
                fault, request.message_id, self.next_message_id()),
                call.info)
