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

Responses are parsed with defusedxml; fault and Action checks turn a SOAP
answer into its Body element or a typed error.
"""

from xml.etree import ElementTree

import defusedxml
from defusedxml import ElementTree as defused_etree

from ironic_amt.wsman import envelope
from ironic_amt.wsman import exceptions


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


def check_response(endpoint, status, content, action):
    """Decode a response: HTTP status, XML, SOAP fault and Action.

    :param endpoint: the endpoint URL, for errors.
    :param status: the HTTP status code.
    :param content: the response body as bytes.
    :param action: the action URI of the request.
    :returns: the SOAP Body element.
    :raises: WSManError or a subclass.
    """
    if status >= 500:
        raise exceptions.WSManServerError(endpoint, status)
    if status not in (200, 400):
        raise exceptions.WSManHTTPError(endpoint, status)
    try:
        root = defused_etree.fromstring(content)
    except (ElementTree.ParseError, defusedxml.DefusedXmlException) as e:
        raise exceptions.WSManProtocolError(
            endpoint, 'unparsable XML (HTTP %s): %s' % (status, e))
    body = root.find(envelope.qname(envelope.NS_SOAP, 'Body'))
    if (root.tag != envelope.qname(envelope.NS_SOAP, 'Envelope')
            or body is None):
        raise exceptions.WSManProtocolError(
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
            % (reply_action.strip(), action))
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
    return exceptions.WSManFault(endpoint, name.strip().rpartition(':')[2],
                                 (reason or '').strip())
