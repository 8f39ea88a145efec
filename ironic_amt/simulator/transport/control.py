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

"""The control API: JSON over HTTP on 127.0.0.1 for tests and harnesses.

::

    GET    /devices                     summaries of every device
    GET    /devices/<name>              state: power, boot, faults
    GET    /devices/<name>/log          request log (?since=<seq>)
    DELETE /devices/<name>/log          empty the request log
    POST   /devices/<name>/faults       {"fault": ..., "count": ..., ...}
    DELETE /devices/<name>/faults       disarm every fault
    POST   /devices/<name>/power        {"state": 2}
    POST   /devices/<name>/boot         a reboot initiated by the host OS

Passwords never appear in a reply.
"""

import json

from ironic_amt.simulator.transport import server

_JSON = 'application/json'


def summary(device):
    """The public identity of a device.

    :param device: a model.device.Device.
    :returns: dict with name, address, ports (WS-Man http/https,
        redirection plain/TLS), username, realm, profile.
    """
    return {'name': device.name, 'address': device.address,
            'http_port': device.http_port, 'https_port': device.https_port,
            'redirection_port': device.redirection_port,
            'redirection_tls_port': device.redirection_tls_port,
            'username': device.username, 'realm': device.realm,
            'profile': device.profile}


def details(device):
    """The summary plus the device state.

    :param device: a model.device.Device.
    :returns: a JSON-serialisable dict.
    """
    result = summary(device)
    result.update({
        'power_state': device.power_state,
        'power_change_pending': device.power_change_pending,
        'boot_override': device.boot_override,
        'boot_history': device.boot_history,
        'last_boot_source': device.last_boot_source,
        'faults': device.faults.describe(),
        'system_uuid': device.system_uuid,
        'mac_addresses': device.mac_addresses,
        'features': device.features.describe(),
        'consent': device.consent.describe(),
        'sol_session_open': device.redirection.session_open,
    })
    return result


def _reply(status, payload):
    return server.HttpResponse(
        status, [('Content-Type', _JSON)],
        json.dumps(payload, sort_keys=True).encode('utf-8'))


def _error(status, message):
    return _reply(status, {'error': message})


def _json_body(request):
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError:
        raise ValueError('the body is not JSON')
    if not isinstance(data, dict):
        raise ValueError('the body must be a JSON object')
    return data


class ControlApi(object):
    """The control API handler for a set of devices."""

    def __init__(self, devices):
        """Create the handler.

        :param devices: dict of device name to model.device.Device.
        """
        self.devices = devices

    async def __call__(self, request, conn):
        """Answer one control request.

        :param request: a server.HttpRequest.
        :param conn: its server.Connection (unused).
        :returns: a server.HttpResponse with a JSON body.
        """
        parts = [p for p in request.path.split('/') if p]
        if not parts or parts[0] != 'devices' or len(parts) > 3:
            return _error(404, 'no such resource')
        if len(parts) == 1:
            if request.method != 'GET':
                return _error(405, 'use GET')
            return _reply(200, [summary(d) for d in self.devices.values()])
        device = self.devices.get(parts[1])
        if device is None:
            return _error(404, 'no such device')
        route = (request.method, parts[2] if len(parts) == 3 else None)
        handler = self._ROUTES.get(route)
        if handler is None:
            return _error(405 if route[1] in self._RESOURCES else 404,
                          'unsupported method or resource')
        try:
            return handler(self, device, request)
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))

    def _get(self, device, request):
        return _reply(200, details(device))

    def _get_log(self, device, request):
        since = int(request.query.get('since', 0))
        return _reply(200, device.log_since(since))

    def _delete_log(self, device, request):
        device.clear_log()
        return _reply(200, {})

    def _post_fault(self, device, request):
        params = _json_body(request)
        fault = params.pop('fault', None)
        if not fault:
            raise ValueError('"fault" is required')
        device.inject(fault, **params)
        return _reply(200, {'faults': device.faults.describe()})

    def _delete_faults(self, device, request):
        device.clear_faults()
        return _reply(200, {'faults': []})

    def _post_power(self, device, request):
        state = _json_body(request).get('state')
        if state is None:
            raise ValueError('"state" is required')
        device.set_power_state(state)
        return _reply(200, details(device))

    def _post_boot(self, device, request):
        return _reply(200, device.os_boot())

    _ROUTES = {
        ('GET', None): _get,
        ('GET', 'log'): _get_log,
        ('DELETE', 'log'): _delete_log,
        ('POST', 'faults'): _post_fault,
        ('DELETE', 'faults'): _delete_faults,
        ('POST', 'power'): _post_power,
        ('POST', 'boot'): _post_boot,
    }
    _RESOURCES = frozenset(r for _m, r in _ROUTES)
