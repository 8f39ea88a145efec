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

"""WS-Management request envelopes for Intel AMT.

Namespaces, actions and the SOAP 1.2 envelope, built with ElementTree
(escaping, never string templates).  Pure protocol: no I/O.
"""

import itertools
import os
import uuid
from xml.etree import ElementTree

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

OPERATION_TIMEOUT = 'PT60S'
MAX_ENVELOPE_SIZE = 51200


def qname(namespace, name):
    return '{%s}%s' % (namespace, name)


def local_name(tag):
    return tag.rpartition('}')[2]


def sub(parent, name, text=None, attrib=None):
    element = ElementTree.SubElement(parent, name, attrib or {})
    if text is not None:
        element.text = text
    return element


def _add_selector_set(parent, selectors):
    selector_set = sub(parent, 'wsman:SelectorSet')
    for name, value in selectors.items():
        sub(selector_set, 'wsman:Selector', str(value), {'Name': name})


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
        sub(element, 'wsa:Address', ANONYMOUS)
        parameters = sub(element, 'wsa:ReferenceParameters')
        sub(parameters, 'wsman:ResourceURI', self.resource_uri)
        _add_selector_set(parameters, self.selectors)


def append_value(parent, name, value):
    """Append an element (or one per list item) holding a value.

    :param parent: the parent element.
    :param name: prefixed name of the new element(s).
    :param value: str, int, bool, EndpointReference or a list of those.
    :raises: TypeError for any other type.
    """
    if isinstance(value, (list, tuple)):
        for item in value:
            append_value(parent, name, item)
        return
    element = sub(parent, name)
    if isinstance(value, EndpointReference):
        value.fill(element)
    elif isinstance(value, bool):
        element.text = 'true' if value else 'false'
    elif isinstance(value, (int, str)):
        element.text = str(value)
    else:
        raise TypeError('Cannot encode %s as a WS-Management value'
                        % type(value).__name__)


# WS-Addressing asks a MessageID to be unique, not unpredictable: a
# random version-4 UUID drawn per process, its low 48 bits counting up.
# No system call per message (uuid4() reads the kernel's random source,
# which releases the GIL: one more wait for it in a busy conductor).
_COUNTED_BITS = 48


def _new_message_ids():
    global _ID_BASE, _ID_COUNTER
    _ID_BASE = uuid.uuid4().int & ~((1 << _COUNTED_BITS) - 1)
    _ID_COUNTER = itertools.count()


_new_message_ids()
# A forked process (a conductor worker) draws its own.
os.register_at_fork(after_in_child=_new_message_ids)


def new_message_id():
    """A new, process-unique ``uuid:`` MessageID."""
    low = next(_ID_COUNTER) & ((1 << _COUNTED_BITS) - 1)
    return 'uuid:%s' % uuid.UUID(int=_ID_BASE | low)


# Stands for the MessageID in a pre-built envelope (same length as a real
# one, so that a template is the envelope's exact shape).
_MESSAGE_ID_SLOT = 'uuid:00000000-0000-0000-0000-000000000000'


class Template(object):
    """A pre-built envelope without body, stamped with a new MessageID.

    Building an envelope with ElementTree costs about as much CPU as the
    rest of a steady-state call; a Get or a Pull of the same class sends
    the same bytes but for its MessageID.

    :param endpoint: as for :func:`build_envelope`.
    :param action: as for :func:`build_envelope`.
    :param resource_uri: as for :func:`build_envelope`.
    :param selectors: as for :func:`build_envelope`.
    """

    def __init__(self, endpoint, action, resource_uri, selectors=None):
        self._head, _slot, self._tail = build_envelope(
            endpoint, action, resource_uri, selectors,
            message_id=_MESSAGE_ID_SLOT).partition(
                _MESSAGE_ID_SLOT.encode())

    def stamp(self):
        """The envelope with a new MessageID, as UTF-8 bytes."""
        return b'%s%s%s' % (self._head, new_message_id().encode(),
                            self._tail)


def build_envelope(endpoint, action, resource_uri, selectors=None,
                   body=None, message_id=None):
    """Build a request envelope.

    :param endpoint: the endpoint URL, sent as the WS-Addressing ``To``.
    :param action: the WS-Addressing action URI.
    :param resource_uri: the WS-Man resource URI.
    :param selectors: optional dict of selector names to values.
    :param body: optional element to put in the SOAP body.
    :param message_id: the MessageID; a new ``uuid:`` one if None.
    :returns: the serialised envelope as UTF-8 bytes.
    """
    envelope = ElementTree.Element(
        's:Envelope',
        {'xmlns:%s' % prefix: ns for prefix, ns in _PREFIXES.items()})
    header = sub(envelope, 's:Header')
    sub(header, 'wsa:Action', action, _MUST_UNDERSTAND)
    sub(header, 'wsa:To', endpoint, _MUST_UNDERSTAND)
    sub(header, 'wsman:ResourceURI', resource_uri, _MUST_UNDERSTAND)
    sub(header, 'wsa:MessageID', message_id or new_message_id(),
        _MUST_UNDERSTAND)
    reply_to = sub(header, 'wsa:ReplyTo')
    sub(reply_to, 'wsa:Address', ANONYMOUS)
    sub(header, 'wsman:OperationTimeout', OPERATION_TIMEOUT)
    sub(header, 'wsman:MaxEnvelopeSize', str(MAX_ENVELOPE_SIZE),
        _MUST_UNDERSTAND)
    if selectors:
        _add_selector_set(header, selectors)
    soap_body = sub(envelope, 's:Body')
    if body is not None:
        soap_body.append(body)
    return ElementTree.tostring(envelope, encoding='utf-8')


def element(name):
    """Create an element with a prefixed name and no content.

    :param name: the prefixed name, e.g. ``wsen:Enumerate``.
    :returns: the element.
    """
    return ElementTree.Element(name)


def instance_body(resource_uri, instance):
    """Build the body of a Put: the instance with its fields in order.

    :param resource_uri: the resource URI of the class.
    :param instance: dict of field names to values (see append_value).
    :returns: the body element.
    :raises: TypeError on a value that cannot be encoded.
    """
    class_name = resource_uri.rpartition('/')[2]
    body = ElementTree.Element('h:%s' % class_name, {'xmlns:h': resource_uri})
    for name, value in instance.items():
        append_value(body, 'h:%s' % name, value)
    return body


def method_input(resource_uri, method, arguments):
    """Build the ``<METHOD>_INPUT`` body of a method invocation.

    :param resource_uri: the resource URI of the class.
    :param method: the method name.
    :param arguments: sequence of (name, value) pairs.
    :returns: the body element.
    :raises: TypeError on a value that cannot be encoded.
    """
    body = ElementTree.Element('h:%s_INPUT' % method,
                               {'xmlns:h': resource_uri})
    for name, value in arguments:
        append_value(body, 'h:%s' % name, value)
    return body


def pull_body(context, max_elements):
    """Build the body of an enumeration Pull.

    :param context: the enumeration context.
    :param max_elements: maximum number of items in the answer.
    :returns: the body element.
    """
    pull = ElementTree.Element('wsen:Pull')
    sub(pull, 'wsen:EnumerationContext', context)
    sub(pull, 'wsen:MaxElements', str(max_elements))
    return pull
