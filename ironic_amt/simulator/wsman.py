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

"""WS-Man operations on one device: Get, Put, Enumerate, Pull, Release,
method invocation and Identify.

handle() turns an authenticated request body into a reply body, an HTTP
status (200, or 400 for a SOAP fault) and the fields the request log
records about it.
"""

import collections

from ironic_amt.simulator import device as device_mod
from ironic_amt.simulator import resources
from ironic_amt.simulator import soap

Outcome = collections.namedtuple('Outcome', 'status body info')
"""A reply: HTTP status, body bytes and request-log fields (a dict)."""

_POWER_BOOT_METHODS = frozenset(resources.BUSY_CODES)


def _info(action=None, resource=None, method=None, args=None,
          return_value=None, fault=None, ignored=False):
    return {'action': action, 'resource': resource, 'method': method,
            'args': args or {}, 'return_value': return_value,
            'fault': fault, 'ignored': ignored}


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


class _Call(object):
    """The handling of one request."""

    def __init__(self, device, request):
        self.device = device
        self.request = request
        self.info = _info()

    def reply(self, action, body, namespaces):
        envelope = soap.render_envelope(
            action, self.request.message_id, self.device.next_message_id(),
            self.request.resource_uri, body, namespaces)
        return Outcome(200, envelope, self.info)

    # Transfer -----------------------------------------------------------

    def get(self, class_name):
        pair = resources.select(
            resources.instances(self.device, class_name),
            self.request.selectors)
        if pair is None:
            raise soap.WsmanFault('InvalidSelectors')
        name, fields = pair
        body = soap.render_instance('g', name, fields.items(), 'h')
        return self.reply(self.request.action + 'Response', body,
                          (('g', resources.class_uri(name)),
                           ('h', soap.NS_COMMON)))

    def put(self, class_name):
        if class_name not in resources.PUTTABLE:
            raise soap.WsmanFault('ActionNotSupported')
        self._check_access(None)
        body = self.request.body
        if body is None or soap.local_name(body.tag) != class_name:
            raise soap.WsmanFault('InvalidRepresentation',
                                  'the body must hold one %s' % class_name)
        values = soap.element_values(body)
        key = self.request.selectors.get('InstanceID',
                                         values.get('InstanceID'))
        if key is not None and key != device_mod.BOOT_SETTING_ID:
            raise soap.WsmanFault('InvalidSelectors')
        try:
            self.info['args'] = self.device.put_boot_setting_data(values)
        except device_mod.SettingsRefused as exc:
            raise soap.WsmanFault('InvalidRepresentation', str(exc))
        fields = self.device.boot_setting_data()
        return self.reply(
            self.request.action + 'Response',
            soap.render_instance('g', class_name, fields.items(), 'h'),
            (('g', resources.class_uri(class_name)),
             ('h', soap.NS_COMMON)))

    # Enumeration ----------------------------------------------------------

    def _enumeration_reply(self, class_name, body):
        namespaces = [('g', soap.NS_ENUMERATION)]
        if class_name:
            namespaces.append(('h', resources.class_uri(class_name)))
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

    def enumerate(self, class_name):
        items = resources.instances(self.device, class_name)
        context = self.device.enumerations.open(items)
        return self._enumeration_reply(
            class_name, '<g:EnumerateResponse><g:EnumerationContext>%s'
            '</g:EnumerationContext></g:EnumerateResponse>' % context)

    def pull(self, class_name):
        body, context = self._context()
        max_elements = 1
        if body is not None:
            text = soap.element_text(body.find(
                '{%s}MaxElements' % soap.NS_ENUMERATION))
            if text is not None:
                max_elements = _int_or_none(text)
                if max_elements is None or max_elements < 1:
                    raise soap.WsmanFault('SchemaValidationError',
                                          'bad MaxElements')
        try:
            items, following = self.device.enumerations.pull(context,
                                                             max_elements)
        except KeyError:
            raise soap.WsmanFault('InvalidEnumerationContext')
        rendered = []
        for name, fields in items:
            xmlns = (None if name == class_name
                     else resources.class_uri(name))
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
        return self._enumeration_reply(class_name, ''.join(parts))

    def release(self, class_name):
        _body, context = self._context()
        try:
            self.device.enumerations.release(context)
        except KeyError:
            raise soap.WsmanFault('InvalidEnumerationContext')
        return self._enumeration_reply(class_name, '')

    # Methods ----------------------------------------------------------------

    def _check_access(self, method):
        if self.device.faults.take('access_denied') is not None:
            raise soap.WsmanFault('AccessDenied')
        if (method is not None
                and self.device.faults.take('busy') is not None):
            return resources.BUSY_CODES[method]
        return None

    def invoke(self, class_name, method):
        self.info.update(action='Invoke', method=method)
        if (class_name, method) not in resources.METHODS:
            raise soap.WsmanFault('ActionNotSupported')
        if self.request.selectors and resources.select(
                resources.instances(self.device, class_name),
                self.request.selectors) is None:
            raise soap.WsmanFault('InvalidSelectors')
        body = self.request.body
        if body is None or soap.local_name(body.tag) != method + '_INPUT':
            raise soap.WsmanFault('SchemaValidationError',
                                  'expected %s_INPUT' % method)
        args = soap.element_values(body)
        handler = getattr(self, '_' + method)
        busy = self._check_access(method)
        return_value = handler(args, busy)
        self.info['return_value'] = return_value
        return self.reply(
            self.request.action + 'Response',
            '<g:%s_OUTPUT><g:ReturnValue>%d</g:ReturnValue></g:%s_OUTPUT>'
            % (method, return_value, method),
            (('g', resources.class_uri(class_name)),))

    def _RequestPowerStateChange(self, args, busy):
        state = _int_or_none(args.get('PowerState'))
        self.info['args'] = {'PowerState': state}
        if busy is not None:
            return busy
        element = args.get('ManagedElement')
        if (state is None or not isinstance(element, soap.EPR)
                or element.selectors.get('Name') != 'ManagedSystem'
                or element.selectors.get('CreationClassName',
                                         'CIM_ComputerSystem')
                != 'CIM_ComputerSystem'):
            return device_mod.RPSC_INVALID_PARAMETER
        if (state in device_mod.REDIRECTION_BLOCKED
                and self.device.faults.take('redirection') is not None):
            return device_mod.RPSC_UNKNOWN
        return self.device.request_power_state_change(state)

    def _ChangeBootOrder(self, args, busy):
        source = args.get('Source')
        instance_id = None
        if isinstance(source, soap.EPR):
            instance_id = source.selectors.get('InstanceID')
        self.info['args'] = {'Source': instance_id}
        if busy is not None:
            return busy
        if 'Source' in args and (
                not isinstance(source, soap.EPR) or instance_id is None
                or resources.class_from_uri(source.resource_uri)
                != 'CIM_BootSourceSetting'):
            return device_mod.BOOT_INVALID_PARAMETER
        return_value, ignored = self.device.change_boot_order(instance_id)
        self.info['ignored'] = ignored
        return return_value

    def _SetBootConfigRole(self, args, busy):
        role = _int_or_none(args.get('Role'))
        self.info['args'] = {'Role': role}
        if busy is not None:
            return busy
        setting = args.get('BootConfigSetting')
        if role is None or not isinstance(setting, soap.EPR):
            return device_mod.BOOT_INVALID_PARAMETER
        if setting.selectors.get('InstanceID') != resources.BOOT_CONFIG_ID:
            return device_mod.BOOT_INVALID_REFERENCE
        return self.device.set_boot_config_role(role)

    # Dispatch ---------------------------------------------------------------

    def run(self):
        request = self.request
        if request.identify:
            self.info['action'] = 'Identify'
            return Outcome(200, soap.render_identify(
                'AMT %s' % self.device.profile), self.info)
        action = request.action or ''
        operation = soap.OPERATIONS.get(action)
        self.info['action'] = operation
        class_name = resources.class_from_uri(request.resource_uri)
        self.info['resource'] = class_name
        if operation in ('Pull', 'Release') and class_name is None:
            return getattr(self, operation.lower())(None)
        if class_name is None or not resources.serves(self.device,
                                                      class_name):
            raise soap.WsmanFault('DestinationUnreachable')
        if operation is not None:
            return getattr(self, operation.lower())(class_name)
        prefix = request.resource_uri + '/'
        if action.startswith(prefix) and '/' not in action[len(prefix):]:
            return self.invoke(class_name, action[len(prefix):])
        raise soap.WsmanFault('ActionNotSupported')


def handle(device, data):
    """Answer one authenticated WS-Man request.

    :param device: the device.Device addressed.
    :param data: the request body (bytes).
    :returns: an Outcome; SOAP faults come back with status 400.
    """
    try:
        request = soap.parse_request(data)
    except soap.WsmanFault as fault:
        return Outcome(400, soap.render_fault(
            fault, None, device.next_message_id()),
            _info(fault=fault.subcode))
    call = _Call(device, request)
    try:
        return call.run()
    except soap.WsmanFault as fault:
        call.info['fault'] = fault.subcode
        return Outcome(400, soap.render_fault(
            fault, request.message_id, device.next_message_id()), call.info)
