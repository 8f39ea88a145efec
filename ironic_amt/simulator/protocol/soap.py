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

"""SOAP envelopes: parse both request dialects, build AMT-shaped replies.

Requests are parsed by namespace, so the openwsman dialect (``s:``,
``wsa:``, ``wsman:`` prefixes) and the TWM/MeshCentral dialect (an
unprefixed envelope) read alike.  Replies use AMT's fixed prefix map
(a=soap, b=addressing, c=wsman, ... g=class or enumeration) and are
rendered on one line, as AMT does.
"""

import collections
from xml.etree import ElementTree
from xml.sax import saxutils

from defusedxml import ElementTree as SafeElementTree

from ironic_amt.simulator.model import values

NS_SOAP = 'http://www.w3.org/2003/05/soap-envelope'
NS_ADDRESSING = 'http://schemas.xmlsoap.org/ws/2004/08/addressing'
NS_WSMAN = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'
NS_TRUST = 'http://schemas.xmlsoap.org/ws/2005/02/trust'
NS_WSSE = ('http://docs.oasis-open.org/wss/2004/01/'
           'oasis-200401-wss-wssecurity-secext-1.0.xsd')
NS_CIMBINDING = 'http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd'
NS_ENUMERATION = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration'
NS_TRANSFER = 'http://schemas.xmlsoap.org/ws/2004/09/transfer'
NS_COMMON = 'http://schemas.dmtf.org/wbem/wscim/1/common'
NS_XSI = 'http://www.w3.org/2001/XMLSchema-instance'
NS_IDENTITY = 'http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd'

ANONYMOUS = NS_ADDRESSING + '/role/anonymous'

ACTION_GET = NS_TRANSFER + '/Get'
ACTION_PUT = NS_TRANSFER + '/Put'
ACTION_ENUMERATE = NS_ENUMERATION + '/Enumerate'
ACTION_PULL = NS_ENUMERATION + '/Pull'
ACTION_RELEASE = NS_ENUMERATION + '/Release'

# Short operation names used in the request log, by action URI.
OPERATIONS = {
    ACTION_GET: 'Get',
    ACTION_PUT: 'Put',
    ACTION_ENUMERATE: 'Enumerate',
    ACTION_PULL: 'Pull',
    ACTION_RELEASE: 'Release',
}

# The envelope prefixes of a successful AMT reply, in AMT's order.
_REPLY_PREFIXES = (
    ('a', NS_SOAP), ('b', NS_ADDRESSING), ('c', NS_WSMAN), ('d', NS_TRUST),
    ('e', NS_WSSE), ('f', NS_CIMBINDING),
)

# A real AMT fault envelope maps c to enumeration and e to wsman.
_FAULT_PREFIXES = (
    ('a', NS_SOAP), ('b', NS_ADDRESSING), ('c', NS_ENUMERATION),
    ('d', NS_TRANSFER), ('e', NS_WSMAN),
)

_FAULT_ACTIONS = {
    'b': NS_ADDRESSING + '/fault',
    'c': NS_ENUMERATION + '/fault',
    'd': NS_TRANSFER + '/fault',
    'e': 'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault',
}

FaultKind = collections.namedtuple('FaultKind', 'prefix code reason')

# DSP0226 faults the simulator emits, by subcode.  DestinationUnreachable's
# reason is AMT's own; the other texts are DSP0226's.
FAULTS = {
    'DestinationUnreachable': FaultKind(
        'b', 'Sender', 'No route can be determined to reach the destination '
        'role defined by the WSAddressing To.'),
    'ActionNotSupported': FaultKind(
        'b', 'Sender', 'The action is not supported by the service.'),
    'InvalidSelectors': FaultKind(
        'e', 'Sender', 'The Selectors for the resource were not valid.'),
    'InvalidEnumerationContext': FaultKind(
        'c', 'Receiver', 'The supplied enumeration context is invalid.'),
    'EncodingLimit': FaultKind(
        'e', 'Sender', 'An internal encoding limit was exceeded in a request '
        'or would be violated if the message were processed.'),
    'SchemaValidationError': FaultKind(
        'e', 'Sender', 'The supplied SOAP violates the corresponding XML '
        'Schema definition.'),
    'AccessDenied': FaultKind(
        'e', 'Sender', 'The sender was not authorized to access the '
        'resource.'),
    'InvalidRepresentation': FaultKind(
        'd', 'Sender', 'The XML content was invalid.'),
    'MustUnderstand': FaultKind(
        'b', 'MustUnderstand', 'The WS-Management service cannot process a '
        'mustUnderstand header.'),
}

# Smallest MaxEnvelopeSize AMT accepts (SDK).
MIN_ENVELOPE_SIZE = 50000


class WsmanFault(Exception):
    """A request the service answers with a SOAP fault (HTTP 400)."""

    def __init__(self, subcode, detail=None):
        """Create the fault.

        :param subcode: a key of FAULTS.
        :param detail: optional text for the fault's Detail element.
        """
        super().__init__(subcode)
        self.subcode = subcode
        self.detail = detail


Request = collections.namedtuple('Request', [
    'action', 'to', 'resource_uri', 'message_id', 'selectors',
    'max_envelope_size', 'body', 'identify'])
"""A parsed WS-Man request; ``body`` is the first Body child or None."""


def _q(ns, name):
    return '{%s}%s' % (ns, name)


def local_name(tag):
    """Strip the namespace from an ElementTree tag.

    :param tag: a '{ns}name' or 'name' tag.
    :returns: the local name.
    """
    return tag.rsplit('}', 1)[-1]


def element_text(elem):
    """The stripped text of an element.

    :param elem: an element or None.
    :returns: its text ('' when empty), or None without an element.
    """
    return (elem.text or '').strip() if elem is not None else None


def parse_selectors(selector_set):
    """Read a wsman SelectorSet.

    :param selector_set: the SelectorSet element, or None.
    :returns: a dict of selector name to value; the name may come from a
        ``Name`` or a ``wsman:Name`` attribute.
    :raises: WsmanFault InvalidSelectors for a selector without a name.
    """
    selectors = {}
    if selector_set is None:
        return selectors
    for sel in selector_set.findall(_q(NS_WSMAN, 'Selector')):
        name = sel.get('Name') or sel.get(_q(NS_WSMAN, 'Name'))
        if not name:
            raise WsmanFault('InvalidSelectors')
        nested = sel.find(_q(NS_ADDRESSING, 'EndpointReference'))
        selectors[name] = (parse_epr(nested) if nested is not None
                           else element_text(sel))
    return selectors


def parse_epr(elem):
    """Read an endpoint reference (method argument or nested selector).

    :param elem: the element holding Address and ReferenceParameters.
    :returns: an EPR whose selectors is a dict.
    """
    params = elem.find(_q(NS_ADDRESSING, 'ReferenceParameters'))
    if params is None:
        return values.EPR(None, {})
    uri = element_text(params.find(_q(NS_WSMAN, 'ResourceURI')))
    selectors = parse_selectors(params.find(_q(NS_WSMAN, 'SelectorSet')))
    return values.EPR(uri, selectors)


def parse_request(data):
    """Parse a WS-Man request envelope.

    :param data: the request body (bytes).
    :returns: a Request.
    :raises: WsmanFault SchemaValidationError for a body that is not a
        SOAP envelope, MustUnderstand for an OptionSet that must be
        understood, EncodingLimit for a MaxEnvelopeSize below 50000.
    """
    try:
        root = SafeElementTree.fromstring(data)
    except (ElementTree.ParseError, ValueError) as exc:
        raise WsmanFault('SchemaValidationError', str(exc))
    if root.tag != _q(NS_SOAP, 'Envelope'):
        raise WsmanFault('SchemaValidationError', 'not a SOAP 1.2 envelope')
    header = root.find(_q(NS_SOAP, 'Header'))
    body_elem = root.find(_q(NS_SOAP, 'Body'))
    body = None
    if body_elem is not None and len(body_elem):
        body = body_elem[0]
    identify = body is not None and body.tag == _q(NS_IDENTITY, 'Identify')
    if header is None:
        if identify:
            return Request(None, None, None, None, {}, None, body, True)
        raise WsmanFault('SchemaValidationError', 'no SOAP header')

    def field(ns, name):
        return element_text(header.find(_q(ns, name)))

    options = header.find(_q(NS_WSMAN, 'OptionSet'))
    if options is not None and options.get(
            _q(NS_SOAP, 'mustUnderstand')) in ('true', '1'):
        raise WsmanFault('MustUnderstand')
    max_size = header.find(_q(NS_WSMAN, 'MaxEnvelopeSize'))
    size = None
    if max_size is not None:
        try:
            size = int(element_text(max_size))
        except ValueError:
            raise WsmanFault('SchemaValidationError', 'bad MaxEnvelopeSize')
        if size < MIN_ENVELOPE_SIZE:
            raise WsmanFault('EncodingLimit', 'MaxEnvelopeSize')
    return Request(
        action=field(NS_ADDRESSING, 'Action'),
        to=field(NS_ADDRESSING, 'To'),
        resource_uri=field(NS_WSMAN, 'ResourceURI'),
        message_id=field(NS_ADDRESSING, 'MessageID'),
        selectors=parse_selectors(header.find(_q(NS_WSMAN, 'SelectorSet'))),
        max_envelope_size=size,
        body=body,
        identify=identify)


def int_or_none(text):
    """An integer from request text.

    :param text: the text, or None.
    :returns: the int, or None when the text is not an integer.
    """
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def class_from_uri(resource_uri):
    """Split a ResourceURI into its class name.

    :param resource_uri: e.g. '.../cim-schema/2/CIM_Chassis'.
    :returns: the class name, or None when the URI is not under the CIM,
        AMT or IPS schema bases.
    """
    for base in (values.CIM, values.AMT, values.IPS):
        if resource_uri and resource_uri.startswith(base):
            return resource_uri[len(base):]
    return None


def element_values(elem):
    """Read an instance or method input element into a dict.

    :param elem: e.g. a ``RequestPowerStateChange_INPUT`` or a Put body.
    :returns: dict of child local name to text, to an EPR for children
        that hold an endpoint reference, or to a list when repeated.
    """
    result = {}
    for child in elem:
        name = local_name(child.tag)
        if child.find(_q(NS_ADDRESSING, 'ReferenceParameters')) is not None:
            value = parse_epr(child)
        elif child.find(_q(NS_COMMON, 'Datetime')) is not None:
            value = values.Datetime(element_text(
                child.find(_q(NS_COMMON, 'Datetime'))))
        else:
            value = element_text(child)
        if name in result:
            previous = result[name]
            if not isinstance(previous, list):
                previous = result[name] = [previous]
            previous.append(value)
        else:
            result[name] = value
    return result


def _esc(value):
    return saxutils.escape(value)


def _attr(value):
    return saxutils.quoteattr(value)


def text_value(value):
    """The text of a scalar the way AMT writes it (booleans lower case).

    :param value: bool, int or str.
    :returns: the text, unescaped.
    """
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def render_value(value):
    """Render a scalar for XML.

    :param value: bool, int or str.
    :returns: the escaped text.
    """
    return _esc(text_value(value))


def render_epr(epr):
    """Render the content of an EPR-valued element.

    :param epr: an EPR; selectors is a list of (name, value) pairs.
    :returns: XML text using the b: and c: prefixes.
    """
    selectors = ''.join(
        '<c:Selector Name=%s>%s</c:Selector>' % (_attr(name),
                                                 render_value(value))
        for name, value in epr.selectors)
    return ('<b:Address>%s</b:Address><b:ReferenceParameters>'
            '<c:ResourceURI>%s</c:ResourceURI><c:SelectorSet>%s'
            '</c:SelectorSet></b:ReferenceParameters>'
            % (ANONYMOUS, _esc(epr.resource_uri), selectors))


def render_instance(prefix, class_name, fields, common, xmlns=None):
    """Render one CIM instance.

    :param prefix: the prefix bound to the class namespace.
    :param class_name: the element name, e.g. 'CIM_Chassis'.
    :param fields: ordered (name, value) pairs; a list value repeats the
        element, None omits it.
    :param common: the prefix bound to the wscim common namespace.
    :param xmlns: a namespace to declare on the element for ``prefix``.
    :returns: XML text.
    """
    parts = []
    for name, value in fields:
        # An EPR is a named tuple, not a list of values.
        repeated = (isinstance(value, (list, tuple))
                    and not isinstance(value, values.EPR))
        for item in value if repeated else [value]:
            if item is None:
                continue
            if isinstance(item, values.EPR):
                content = render_epr(item)
            elif isinstance(item, values.Datetime):
                content = '<%s:Datetime>%s</%s:Datetime>' % (
                    common, _esc(item), common)
            else:
                content = render_value(item)
            parts.append('<%s:%s>%s</%s:%s>' % (prefix, name, content,
                                                prefix, name))
    decl = ' xmlns:%s=%s' % (prefix, _attr(xmlns)) if xmlns else ''
    return '<%s:%s%s>%s</%s:%s>' % (prefix, class_name, decl,
                                    ''.join(parts), prefix, class_name)


def render_envelope(action, relates_to, message_id, resource_uri, body,
                    extra_namespaces=()):
    """Render a successful reply envelope on one line.

    :param action: the reply Action URI.
    :param relates_to: the request's MessageID, echoed verbatim.
    :param message_id: the reply's MessageID.
    :param resource_uri: the ResourceURI to echo, or None.
    :param body: the Body content (XML text).
    :param extra_namespaces: (prefix, uri) pairs after the a-f map, e.g.
        g for the class namespace and h for common.
    :returns: the envelope as bytes.
    """
    decls = ''.join(' xmlns:%s=%s' % (p, _attr(u))
                    for p, u in _REPLY_PREFIXES + tuple(extra_namespaces))
    resource = ('<c:ResourceURI>%s</c:ResourceURI>' % _esc(resource_uri)
                if resource_uri else '')
    text = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<a:Envelope%s xmlns:xsi="%s"><a:Header>'
            '<b:To>%s</b:To><b:RelatesTo>%s</b:RelatesTo>'
            '<b:Action a:mustUnderstand="true">%s</b:Action>'
            '<b:MessageID>%s</b:MessageID>%s</a:Header>'
            '<a:Body>%s</a:Body></a:Envelope>'
            % (decls, NS_XSI, ANONYMOUS, _esc(relates_to or ''),
               _esc(action), message_id, resource, body))
    return text.encode('utf-8')


def render_fault(fault, relates_to, message_id):
    """Render a SOAP fault envelope shaped like AMT's.

    :param fault: a WsmanFault.
    :param relates_to: the request's MessageID or None.
    :param message_id: the reply's MessageID.
    :returns: the envelope as bytes.
    """
    kind = FAULTS[fault.subcode]
    decls = ''.join(' xmlns:%s=%s' % (p, _attr(u))
                    for p, u in _FAULT_PREFIXES)
    if kind.code == 'MustUnderstand':
        code = '<a:Value>a:MustUnderstand</a:Value>'
        action = _FAULT_ACTIONS['b']
    else:
        code = ('<a:Value>a:%s</a:Value><a:Subcode><a:Value>%s:%s</a:Value>'
                '</a:Subcode>' % (kind.code, kind.prefix, fault.subcode))
        action = _FAULT_ACTIONS[kind.prefix]
    detail = _esc(fault.detail) if fault.detail else ''
    text = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<a:Envelope%s><a:Header>'
            '<b:To>%s</b:To><b:RelatesTo>%s</b:RelatesTo>'
            '<b:Action a:mustUnderstand="true">%s</b:Action>'
            '<b:MessageID>%s</b:MessageID></a:Header>'
            '<a:Body><a:Fault><a:Code>%s</a:Code><a:Reason>'
            '<a:Text xml:lang="en-US">%s</a:Text></a:Reason>'
            '<a:Detail>%s</a:Detail></a:Fault></a:Body></a:Envelope>'
            % (decls, ANONYMOUS, _esc(relates_to or ''), action, message_id,
               code, _esc(kind.reason), detail))
    return text.encode('utf-8')


def render_identify(product_version):
    """Render a WS-Man IdentifyResponse.

    :param product_version: e.g. 'AMT 16.1'.
    :returns: the envelope as bytes.
    """
    text = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<a:Envelope xmlns:a="%s" xmlns:g="%s"><a:Header/><a:Body>'
            '<g:IdentifyResponse><g:ProtocolVersion>%s</g:ProtocolVersion>'
            '<g:ProductVendor>Intel Corporation</g:ProductVendor>'
            '<g:ProductVersion>%s</g:ProductVersion>'
            '</g:IdentifyResponse></a:Body></a:Envelope>'
            % (NS_SOAP, NS_IDENTITY, NS_WSMAN, _esc(product_version)))
    return text.encode('utf-8')
