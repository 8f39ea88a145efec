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

"""Parsing of WS-Management responses from Intel AMT.

The HTTP status decides first (a 5xx is the device's trouble, a 400
without XML is a rejected request, any other non-200 is an error), then
the ``Content-Type`` (an HTML page is never parsed as XML), then the XML:
expat refusing what defusedxml refuses (DTDs, entities, external
references), elements nested at most :data:`MAX_DEPTH` deep, built
without recursion.  Fault and Action checks turn a SOAP answer into its
Body element or a typed error.
"""

from xml.etree import ElementTree
from xml.parsers import expat

from ironic_amt.wsman import envelope
from ironic_amt.wsman import exceptions
from ironic_amt.wsman import http

# Deepest element nesting accepted. AMT's answers nest about 8 deep (an
# EndpointReference in an instance in a PullResponse in the Body).
MAX_DEPTH = 32
# Content types of an XML answer (parameters such as charset aside).
XML_CONTENT_TYPES = frozenset(['application/soap+xml', 'text/xml',
                               'application/xml'])


class _Forbidden(Exception):
    """A construct the parser refuses (DTD, entity, external reference)."""


def _forbid(what):
    def handler(*_args):
        raise _Forbidden(what)
    return handler


class _TooDeep(Exception):
    pass


def _qualified(name):
    # expat joins a namespace and a local name with '}'; ElementTree
    # spells it '{namespace}local'.
    return '{' + name if '}' in name else name


def parse_xml(endpoint, content):
    """Parse an answer, refusing hostile or malformed documents.

    expat is driven directly, with ElementTree's C tree builder: a
    document type declaration, an entity declaration or an external
    reference ends the parse (what defusedxml refuses, and AMT never
    sends), and so does an element nested deeper than MAX_DEPTH.

    :param endpoint: the endpoint URL, for errors.
    :param content: the body as bytes.
    :returns: the root element.
    :raises: WSManInvalidResponse for a DTD, entities or nesting deeper
        than MAX_DEPTH; WSManProtocolError for malformed XML.
    """
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate(None, '}')
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    depth = 0
    # expat name -> ElementTree name, for this document only.
    names = {}

    def start(name, attributes):
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep()
        if attributes:
            attributes = {_qualified(key): value
                          for key, value in attributes.items()}
        tag = names.get(name)
        if tag is None:
            tag = names[name] = _qualified(name)
        builder.start(tag, attributes)

    def end(name):
        nonlocal depth
        depth -= 1
        builder.end(names[name])

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _forbid('DTD')
    parser.EntityDeclHandler = _forbid('entity declaration')
    parser.UnparsedEntityDeclHandler = _forbid('unparsed entity')
    parser.ExternalEntityRefHandler = _forbid('external reference')
    try:
        parser.Parse(content, True)
    except _TooDeep:
        raise exceptions.WSManInvalidResponse(
            endpoint, 'XML nested deeper than %d elements' % MAX_DEPTH)
    except _Forbidden as e:
        raise exceptions.WSManInvalidResponse(
            endpoint, 'forbidden XML construct (%s)' % e)
    except expat.ExpatError as e:
        raise exceptions.WSManProtocolError(
            endpoint, 'unparsable XML: %s' % http.quote_device_text(str(e)))
    return builder.close()


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
    if element.tag == envelope.qname(envelope.NS_WSMAN, 'SelectorSet'):
        name_attribute = envelope.qname(envelope.NS_WSMAN, 'Name')
        return {(child.get('Name') or child.get(name_attribute)):
                element_to_value(child) for child in children}
    result = {}
    for child in children:
        name = envelope.local_name(child.tag)
        value = element_to_value(child)
        if name not in result:
            result[name] = value
        elif isinstance(result[name], list):
            result[name].append(value)
        else:
            result[name] = [result[name], value]
    return result


def element_to_dict(element):
    value = element_to_value(element)
    return value if isinstance(value, dict) else {}


def single_child(endpoint, body):
    """Return the one child of a SOAP body.

    :param endpoint: the endpoint URL, for errors.
    :param body: the SOAP Body element.
    :raises: WSManProtocolError unless the body has exactly one child.
    """
    children = list(body)
    if len(children) != 1:
        raise exceptions.WSManProtocolError(
            endpoint, 'expected one instance in the body, got %d'
            % len(children))
    return children[0]


def _is_xml(content_type):
    media = (content_type or '').split(';', 1)[0].strip().lower()
    return media in XML_CONTENT_TYPES


def check_response(endpoint, status, content_type, content, action):
    """Decode a response: HTTP status, Content-Type, XML, fault, Action.

    :param endpoint: the endpoint URL, for errors.
    :param status: the HTTP status code.
    :param content_type: the Content-Type header, or None.
    :param content: the response body as bytes.
    :param action: the action URI of the request.
    :returns: the SOAP Body element.
    :raises: WSManServerError (5xx), WSManRequestRejected (400 without
        XML), WSManHTTPError (other statuses, redirects included),
        WSManInvalidResponse (not XML, hostile XML), WSManProtocolError,
        WSManFault.
    """
    if status >= 500:
        raise exceptions.WSManServerError(endpoint, status)
    if 300 <= status < 400:
        raise exceptions.WSManHTTPError(endpoint, status,
                                        'redirect not followed')
    if status == 400 and not _is_xml(content_type):
        raise exceptions.WSManRequestRejected(endpoint, status)
    if status not in (200, 400):
        raise exceptions.WSManHTTPError(endpoint, status)
    if not _is_xml(content_type):
        raise exceptions.WSManInvalidResponse(
            endpoint, 'Content-Type %s is not XML (HTTP %s)'
            % (http.quote_device_text(content_type or 'missing'), status))
    root = parse_xml(endpoint, content)
    body = root.find(envelope.qname(envelope.NS_SOAP, 'Body'))
    if (root.tag != envelope.qname(envelope.NS_SOAP, 'Envelope')
            or body is None):
        raise exceptions.WSManInvalidResponse(
            endpoint, 'not a SOAP 1.2 envelope (HTTP %s)' % status)
    fault = body.find(envelope.qname(envelope.NS_SOAP, 'Fault'))
    if fault is not None:
        raise _fault(endpoint, fault)
    if status != 200:
        raise exceptions.WSManHTTPError(endpoint, status,
                                        'no SOAP fault in the body')
    reply_action = root.findtext('%s/%s' % (
        envelope.qname(envelope.NS_SOAP, 'Header'),
        envelope.qname(envelope.NS_ADDRESSING, 'Action')))
    if reply_action and not reply_action.strip().startswith(action):
        raise exceptions.WSManProtocolError(
            endpoint, 'unexpected Action %s in reply to %s'
            % (http.quote_device_text(reply_action.strip(), 200), action))
    return body


def _fault(endpoint, fault):
    soap = envelope.NS_SOAP
    code = envelope.qname(soap, 'Code')
    subcode = envelope.qname(soap, 'Subcode')
    value = envelope.qname(soap, 'Value')
    name = (fault.findtext('/'.join([code, subcode, value]))
            or fault.findtext('/'.join([code, value])) or 'Unknown')
    reason = fault.findtext('/'.join([envelope.qname(soap, 'Reason'),
                                      envelope.qname(soap, 'Text')]))
    return exceptions.WSManFault(
        endpoint, http.quote_device_text(name.strip().rpartition(':')[2]),
        http.quote_device_text((reason or '').strip(), 200))
