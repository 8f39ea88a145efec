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

"""The configuration files of the Nova test stack's OpenStack services.

Each function returns the sections of one service's file as a dict
(``{section: {option: value}}``), written with :func:`write`. The
values are those of a minimal single-host deployment on loopback:
Keystone with fernet tokens, Placement, Glance with a file store, and Nova
with the Ironic virt driver reaching a noauth Ironic through an endpoint
override. Paths are below the service's own folder.
"""

import configparser
import os
import shutil
import sys

# The virtualenv the services run from (the one of this interpreter).
VENV = os.path.dirname(os.path.dirname(os.path.abspath(sys.executable)))
REGION = 'RegionOne'
DOMAIN = 'Default'
SERVICE_PROJECT = 'service'
# nova-compute's host name; every Ironic node is a hypervisor of it.
COMPUTE_HOST = 'nova-ironic'
# Seconds between two resource reports of nova-compute, and between two
# looks of the scheduler for new compute hosts.
RESOURCE_INTERVAL = 5
DISCOVER_INTERVAL = 2
GLANCE_STORES = ('fs', 'os_glance_staging_store', 'os_glance_tasks_store')


def write(path, sections):
    """Write an ini file.

    :param path: the file.
    :param sections: {section: {option: value}}.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_dict(sections)
    with open(path, 'w') as f:
        parser.write(f)


def _subdir(work, name):
    path = os.path.join(work, name)
    os.makedirs(path, exist_ok=True)
    return path


def credentials(auth_url, user, password):
    """Return keystoneauth password options of a service-project user.

    :param auth_url: Keystone's v3 URL.
    :param user: the user name.
    :param password: its password.
    :returns: the options, for sections like [placement] or [glance].
    """
    return {'auth_type': 'password', 'auth_url': auth_url,
            'username': user, 'password': password,
            'project_name': SERVICE_PROJECT, 'user_domain_name': DOMAIN,
            'project_domain_name': DOMAIN, 'region_name': REGION}


def authtoken(auth_url, user, password):
    """Return the [keystone_authtoken] options of an API service.

    :param auth_url: Keystone's v3 URL.
    :param user: the service's user name.
    :param password: its password.
    :returns: the options.
    """
    return dict(credentials(auth_url, user, password),
                www_authenticate_uri=auth_url)


def keystone(work, connection):
    """Return keystone.conf: fernet tokens, keys below work.

    :param work: Keystone's folder.
    :param connection: its database URL.
    :returns: the sections.
    """
    return {
        'DEFAULT': {'debug': 'false'},
        'database': {'connection': connection},
        'token': {'provider': 'fernet'},
        'fernet_tokens': {'key_repository': os.path.join(work, 'fernet')},
        'fernet_receipts': {'key_repository': os.path.join(work,
                                                           'receipts')},
        'credential': {'key_repository': os.path.join(work, 'credential')},
    }


def placement(connection, auth):
    """Return placement.conf.

    :param connection: Placement's database URL.
    :param auth: its [keystone_authtoken] options.
    :returns: the sections.
    """
    return {
        'DEFAULT': {'debug': 'false'},
        'placement_database': {'connection': connection},
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': auth,
    }


def glance(work, connection, auth):
    """Return glance-api.conf: one file store; copy the paste file.

    :param work: Glance's folder (config, paste file, stores).
    :param connection: its database URL.
    :param auth: its [keystone_authtoken] options.
    :returns: the sections.
    """
    paste = os.path.join(work, 'glance-api-paste.ini')
    shutil.copy(os.path.join(VENV, 'etc', 'glance', 'glance-api-paste.ini'),
                paste)
    sections = {
        'DEFAULT': {'debug': 'false', 'enabled_backends': 'fs:file'},
        'glance_store': {'default_backend': 'fs'},
        'database': {'connection': connection},
        'keystone_authtoken': auth,
        'paste_deploy': {'flavor': 'keystone', 'config_file': paste},
        'oslo_concurrency': {'lock_path': _subdir(work, 'locks')},
    }
    for store in GLANCE_STORES:
        sections[store] = {'filesystem_store_datadir': _subdir(work, store)}
    return sections


def nova(work, connections, transport_url, ironic_url, auth):
    """Return nova.conf for every Nova service; copy api-paste.ini.

    :param work: Nova's folder.
    :param connections: {'api_database': URL, 'database': URL}.
    :param transport_url: the RabbitMQ URL.
    :param ironic_url: the (noauth) Ironic API URL.
    :param auth: credentials of the nova user (:func:`credentials`).
    :returns: the sections.
    """
    shutil.copy(os.path.join(VENV, 'etc', 'nova', 'api-paste.ini'),
                os.path.join(work, 'api-paste.ini'))
    return {
        'DEFAULT': {
            'debug': 'false',
            'host': COMPUTE_HOST,
            'transport_url': transport_url,
            'compute_driver': 'ironic.IronicDriver',
            'state_path': _subdir(work, 'state'),
            'instances_path': _subdir(work, 'instances'),
            'update_resources_interval': str(RESOURCE_INTERVAL),
            'reserved_host_memory_mb': '0',
            'my_ip': '127.0.0.1',
        },
        'api': {'auth_strategy': 'keystone'},
        'api_database': {'connection': connections['api_database']},
        'database': {'connection': connections['database']},
        'keystone_authtoken': dict(auth,
                                   www_authenticate_uri=auth['auth_url']),
        'service_user': dict(auth, send_service_user_token='true'),
        'placement': dict(auth, valid_interfaces='public'),
        'glance': dict(auth, valid_interfaces='public'),
        'neutron': dict(auth, valid_interfaces='public'),
        # Ironic is noauth: no credentials, its URL given.
        'ironic': {'auth_type': 'none', 'endpoint_override': ironic_url,
                   'api_retry_interval': '1'},
        'scheduler': {'workers': '1', 'discover_hosts_in_cells_interval':
                      str(DISCOVER_INTERVAL)},
        'conductor': {'workers': '1'},
        'oslo_concurrency': {'lock_path': _subdir(work, 'locks')},
        'oslo_messaging_notifications': {'driver': 'noop'},
    }
