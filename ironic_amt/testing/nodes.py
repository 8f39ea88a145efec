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

"""The one ``driver_info`` factory for simulated AMT devices."""


def driver_info(device, protocol='http', password=None, ca_path=None,
                **extra):
    """Build the ``driver_info`` of a node managed through a device.

    :param device: a simulator device, or its ready-line dict (keys
        ``address``, ``username``, ``http_port``, ``https_port``).
    :param protocol: 'http' or 'https'.
    :param password: the AMT password; default the device's.
    :param ca_path: CA bundle to verify the device with over https.
    :param extra: further keys, which win over the computed ones.
    :returns: the driver_info dict.
    """
    if isinstance(device, dict):
        get = device.get
    else:
        def get(key):
            return getattr(device, key, None)
    port = get('https_port') if protocol == 'https' else get('http_port')
    redirection = (get('redirection_tls_port') if protocol == 'https'
                   else get('redirection_port'))
    info = {'amt_address': get('address'),
            'amt_username': get('username') or 'admin',
            'amt_password': password if password is not None
            else get('password'),
            'amt_protocol': protocol,
            'amt_port': port}
    if redirection:
        info['amt_redirection_port'] = redirection
    if protocol == 'https' and ca_path:
        info['amt_verify_ca'] = ca_path
    info.update(extra)
    return info


def cli_arguments(info):
    """Turn driver_info into ``--driver-info key=value`` CLI arguments.

    :param info: the driver_info dict.
    :returns: the argument list.
    """
    args = []
    for key, value in info.items():
        args += ['--driver-info', '%s=%s' % (key, value)]
    return args
