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

"""A minimal real Nova next to the real Ironic and the AMT simulator.

Everything is started by :class:`NovaStack` as its own processes on
127.0.0.1 and stopped by pid: PostgreSQL and RabbitMQ (Debian), Keystone,
Placement, Glance (file store) and the Nova API served by
:mod:`ironic_amt.testing.wsgi_server`, ``nova-conductor``,
``nova-scheduler``, ``nova-compute`` with the Ironic virt driver, and the
all-in-one Ironic with the simulator from :mod:`ironic_amt.testing.harness`.
Networking is the read-only stand-in of
:mod:`ironic_amt.testing.neutron_standin`, not Neutron.

Ironic stays ``noauth``: Nova reaches it with ``auth_type = none`` and an
endpoint override. Ironic reads the deploy images from Glance with its own
service user; as a noauth Ironic only deploys public or community images,
the images are uploaded public by the admin.

The programs come from the virtualenv of the running interpreter (the
Nova test venv, ``.venv-nova``). Service passwords are random per run and
only written to the services' config files and the CLI's environment,
never to a command line.
"""

import concurrent.futures
import functools
import grp
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time

import requests

from ironic_amt.testing import cluster
from ironic_amt.testing import harness
from ironic_amt.testing import memory
from ironic_amt.testing import neutron_standin
from ironic_amt.testing import openstack_config
from ironic_amt.testing import rabbitmq
from ironic_amt.testing import waiting

ADMIN = 'admin'
SETUP_TIMEOUT = 600
MANAGE_TIMEOUT = 180
API_TIMEOUT = 90.0
CLI_TIMEOUT = 120.0
# Service users and the roles they get in the service project.
SERVICE_USERS = ('nova', 'placement', 'glance', 'ironic')
SERVICE_ROLES = ('admin', 'service')
# Catalog entries: (name, type, attribute of the stack holding the URL).
CATALOG = (
    ('nova', 'compute', 'nova_url'),
    ('placement', 'placement', 'placement_url'),
    ('glance', 'image', 'glance_url'),
    ('neutron', 'network', 'neutron_url'),
)
DATABASES = ('keystone', 'placement', 'glance', 'nova_api', 'nova',
             'nova_cell0')
INSTANCE_IMAGE_SIZE = 65536
REGION = openstack_config.REGION
DOMAIN = openstack_config.DOMAIN
SERVICE_PROJECT = openstack_config.SERVICE_PROJECT


class NovaStack(object):
    """PostgreSQL, RabbitMQ, Keystone, Placement, Glance, Nova and Ironic.

    ``stop()`` is safe after a failed ``start()``.
    """

    def __init__(self, devices, ironic_options=None):
        """Prepare (but do not start) the stack.

        :param devices: the simulator DeviceSpecs behind the Ironic nodes.
        :param ironic_options: more ironic.conf sections.
        """
        self.workdir = tempfile.mkdtemp(prefix='ironic-amt-nova-')
        self.database = cluster.PostgreSQL()
        self.rabbit = rabbitmq.RabbitMQ()
        self.neutron = neutron_standin.NeutronStandIn()
        self.passwords = {user: secrets.token_urlsafe(16)
                          for user in SERVICE_USERS + (ADMIN,)}
        self.ports = {}
        for name in ('keystone', 'placement', 'glance', 'nova'):
            self.ports[name] = harness.free_port(
                exclude=self.ports.values())
        self.keystone_url = self._url('keystone') + '/v3'
        self.placement_url = self._url('placement')
        self.glance_url = self._url('glance')
        self.nova_url = self._url('nova') + '/v2.1'
        self.neutron_url = self.neutron.url
        options = self._ironic_glance_options()
        for section, values in (ironic_options or {}).items():
            options.setdefault(section, {}).update(values)
        self.ironic_stack = harness.Stack(
            devices, extra_options=options,
            workdir=os.path.join(self.workdir, 'ironic'))
        self.ironic = self.ironic_stack.ironic
        self.sim = self.ironic_stack.sim
        self.processes = {}
        self.images = {}
        self.timings = {}
        self.memory = memory.MemorySampler(self._session_ids)
        self._token = None

    def _url(self, name):
        return 'http://127.0.0.1:%d' % self.ports[name]

    def _dir(self, name):
        path = os.path.join(self.workdir, name)
        os.makedirs(path, exist_ok=True)
        return path

    def _session_ids(self):
        sids = [p.pid for p in self.processes.values() if p.running()]
        sids += [p.pid for p in self.rabbit.processes]
        if self.ironic.pid is not None:
            sids.append(self.ironic.pid)
        if self.database.pid is not None:
            sids.append(self.database.pid)
        return sids

    # Configuration --------------------------------------------------------

    def _credentials(self, user):
        return openstack_config.credentials(self.keystone_url, user,
                                            self.passwords[user])

    def _authtoken(self, user):
        return openstack_config.authtoken(self.keystone_url, user,
                                          self.passwords[user])

    def _ironic_glance_options(self):
        glance = self._credentials('ironic')
        glance['endpoint_override'] = self.glance_url
        return {'glance': glance,
                'DEFAULT': {'enabled_inspect_interfaces': 'amt,no-inspect'}}

    def _write(self, service, filename, sections):
        path = os.path.join(self._dir(service), filename)
        openstack_config.write(path, sections)
        return path

    # Processes ------------------------------------------------------------

    def _run(self, name, program, *args, env=None, timeout=MANAGE_TIMEOUT):
        """Run a management command to completion; its output to a file."""
        output_path = os.path.join(self.workdir, '%s.out' % name)
        with open(output_path, 'ab') as out:
            try:
                rc = subprocess.call(
                    [os.path.join(harness.BIN_DIR, program)] + list(args),
                    stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, timeout=timeout,
                    env=dict(os.environ, **(env or {})), cwd=self.workdir)
            except subprocess.TimeoutExpired:
                raise harness.HarnessError('%s timed out after %.0f s'
                                           % (name, timeout))
        if rc:
            raise harness.HarnessError('%s failed (%d):\n%s'
                                       % (name, rc,
                                          harness.tail(output_path)))

    def _spawn(self, name, program, conf_path, argv=None, env=None):
        process = cluster.Process(name, program, conf_path, self.workdir,
                                  argv=argv, env=env)
        self.processes[name] = process
        process.start()
        return process

    def _spawn_wsgi(self, name, module, conf_path, env):
        return self._spawn(
            name, 'python', conf_path,
            argv=['-m', 'ironic_amt.testing.wsgi_server',
                  str(self.ports[name]), module], env=env)

    def _wait_http(self, name, url, timeout=API_TIMEOUT):
        """Wait until a service answers an HTTP GET (any status < 500)."""
        process = self.processes[name]

        def answered():
            if not process.running():
                raise harness.HarnessError(
                    '%s exited before answering:\n%s'
                    % (name, harness.tail(process.output_path)))
            try:
                return requests.get(url, timeout=5).status_code < 500
            except requests.RequestException:
                return False

        try:
            waiting.wait_until(answered, timeout, 0.2, name)
        except waiting.WaitTimeout:
            raise harness.HarnessError(
                '%s did not answer within %.0f s:\n%s'
                % (name, timeout, harness.tail(process.output_path)))

    # Start ----------------------------------------------------------------

    def _timed(self, name, func, *args):
        started = time.monotonic()
        result = func(*args)
        self.timings['%s_s' % name] = round(time.monotonic() - started, 1)
        return result

    def _start_backends(self):
        self.database.start()
        for name in DATABASES:
            self.database.create_database(name)

    def _start_keystone(self):
        work = self._dir('keystone')
        conf = self._write('keystone', 'keystone.conf',
                           openstack_config.keystone(
                               work, self.database.database_url('keystone')))
        self._run('keystone-db-sync', 'keystone-manage', '--config-file',
                  conf, 'db_sync')
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        for command in ('fernet_setup', 'credential_setup'):
            self._run('keystone-%s' % command, 'keystone-manage',
                      '--config-file', conf, command, '--keystone-user',
                      user, '--keystone-group', group)
        self._run('keystone-bootstrap', 'keystone-manage', '--config-file',
                  conf, 'bootstrap', env={
                      'OS_BOOTSTRAP_PASSWORD': self.passwords[ADMIN],
                      'OS_BOOTSTRAP_ADMIN_URL': self.keystone_url,
                      'OS_BOOTSTRAP_PUBLIC_URL': self.keystone_url,
                      'OS_BOOTSTRAP_INTERNAL_URL': self.keystone_url,
                      'OS_BOOTSTRAP_REGION_ID': REGION})
        self._spawn_wsgi('keystone', 'keystone.wsgi.api', conf,
                         {'OS_KEYSTONE_CONFIG_DIR': work})
        self._wait_http('keystone', self.keystone_url)
        self._register()

    def _sync_placement(self):
        conf = self._write('placement', 'placement.conf',
                           openstack_config.placement(
                               self.database.database_url('placement'),
                               self._authtoken('placement')))
        self._run('placement-db-sync', 'placement-manage', '--config-file',
                  conf, 'db', 'sync')

    def _sync_glance(self):
        conf = self._write('glance', 'glance-api.conf',
                           openstack_config.glance(
                               self._dir('glance'),
                               self.database.database_url('glance'),
                               self._authtoken('glance')))
        self._run('glance-db-sync', 'glance-manage', '--config-file',
                  conf, 'db_sync')

    def _start_ironic_sync_nova(self):
        # Ironic shares the PostgreSQL server: with sqlite, parallel
        # inspections and nova-compute's polling lock the database.
        self.ironic.extra_options.setdefault('database', {})[
            'connection'] = self.database.url
        self._timed('ironic', self.ironic_stack.start)
        self._sync_nova()

    def _sync_nova(self):
        connections = {
            'api_database': self.database.database_url('nova_api'),
            'database': self.database.database_url('nova')}
        conf = self._write('nova', 'nova.conf', openstack_config.nova(
            self._dir('nova'), connections, self.rabbit.url,
            self.ironic.url, self._credentials('nova')))
        for name, args in (('api-db-sync', ['api_db', 'sync']),
                           ('map-cell0', ['cell_v2', 'map_cell0']),
                           ('create-cell1', ['cell_v2', 'create_cell',
                                             '--name', 'cell1']),
                           ('db-sync', ['db', 'sync'])):
            self._run('nova-%s' % name, 'nova-manage', '--config-file',
                      conf, *args)

    def start(self):
        """Start everything; the slow schema creations run in parallel.

        :raises: HarnessError when a step fails or a service does not
            answer in time.
        """
        started = time.monotonic()
        self.memory.start()
        self.neutron.start()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(self._timed, 'postgresql',
                                self._start_backends),
                    pool.submit(self._timed, 'rabbitmq', self.rabbit.start)]
            for job in jobs:
                job.result(SETUP_TIMEOUT)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            jobs = [pool.submit(self._timed, name, func) for name, func in (
                ('keystone', self._start_keystone),
                ('placement_sync', self._sync_placement),
                ('glance_sync', self._sync_glance),
                ('ironic_nova_sync', self._start_ironic_sync_nova))]
            for job in jobs:
                job.result(SETUP_TIMEOUT)
        self._timed('services', self._start_services)
        self._timed('images', self._upload_images)
        self.timings['setup_s'] = round(time.monotonic() - started, 1)

    def _start_services(self):
        placement = os.path.join(self.workdir, 'placement')
        glance = os.path.join(self.workdir, 'glance')
        nova = os.path.join(self.workdir, 'nova')
        nova_conf = os.path.join(nova, 'nova.conf')
        self._spawn_wsgi('placement', 'placement.wsgi.api',
                         os.path.join(placement, 'placement.conf'),
                         {'OS_PLACEMENT_CONFIG_DIR': placement})
        self._spawn_wsgi('glance', 'glance.wsgi.api',
                         os.path.join(glance, 'glance-api.conf'),
                         {'OS_GLANCE_CONFIG_DIR': glance})
        self._spawn_wsgi('nova', 'nova.wsgi.osapi_compute', nova_conf,
                         {'OS_NOVA_CONFIG_DIR': nova})
        for service in ('conductor', 'scheduler', 'compute'):
            name = 'nova-%s' % service
            self._spawn(name, name, nova_conf,
                        argv=['--config-file', nova_conf, '--log-file',
                              os.path.join(self.workdir, '%s.log' % name)])
        self._wait_http('placement', self.placement_url)
        self._wait_http('glance', self.glance_url)
        self._wait_http('nova', self.nova_url)

    # Keystone registration -------------------------------------------------

    def _admin_token(self):
        resp = requests.post(self.keystone_url + '/auth/tokens', json={
            'auth': {
                'identity': {'methods': ['password'], 'password': {
                    'user': {'name': ADMIN, 'domain': {'name': DOMAIN},
                             'password': self.passwords[ADMIN]}}},
                'scope': {'project': {'name': ADMIN,
                                      'domain': {'name': DOMAIN}}}}},
            timeout=30)
        if resp.status_code != 201:
            raise harness.HarnessError('keystone token: %s %s'
                                       % (resp.status_code, resp.text))
        return resp.headers['X-Subject-Token']

    def api(self, method, url, expected=None, headers=None, **kwargs):
        """Call an OpenStack REST API as the admin.

        :param method: the HTTP method.
        :param url: the full URL.
        :param expected: the accepted status codes; default any below 300.
        :param headers: more headers (the token is added).
        :param kwargs: passed to requests.
        :returns: the requests Response.
        :raises: HarnessError on another status.
        """
        if self._token is None:
            self._token = self._admin_token()
        headers = dict(headers or {}, **{'X-Auth-Token': self._token})
        kwargs.setdefault('timeout', 30)
        resp = requests.request(method, url, headers=headers, **kwargs)
        if (resp.status_code not in expected if expected
                else resp.status_code >= 300):
            raise harness.HarnessError('%s %s: %s %s'
                                       % (method, url, resp.status_code,
                                          resp.text[:2000]))
        return resp

    def _keystone(self, method, path, **kwargs):
        resp = self.api(method, self.keystone_url + path, **kwargs)
        return resp.json() if resp.content else None

    def _register(self):
        """Create the service project, users, roles, services, endpoints."""
        project = self._keystone('POST', '/projects', json={
            'project': {'name': SERVICE_PROJECT, 'domain_id': 'default'}},
        )['project']['id']
        roles = {r['name']: r['id'] for r in
                 self._keystone('GET', '/roles')['roles']}
        for user in SERVICE_USERS:
            user_id = self._keystone('POST', '/users', json={
                'user': {'name': user, 'domain_id': 'default',
                         'password': self.passwords[user]}})['user']['id']
            for role in SERVICE_ROLES:
                self._keystone('PUT', '/projects/%s/users/%s/roles/%s'
                               % (project, user_id, roles[role]))
        for name, kind, attribute in CATALOG:
            service = self._keystone('POST', '/services', json={
                'service': {'name': name, 'type': kind}})['service']['id']
            for interface in ('public', 'internal', 'admin'):
                self._keystone('POST', '/endpoints', json={
                    'endpoint': {'service_id': service,
                                 'interface': interface,
                                 'url': getattr(self, attribute),
                                 'region_id': REGION}})

    # Images ----------------------------------------------------------------

    def _upload(self, name, path, disk_format, container_format,
                properties=None):
        """Create a public Glance image and upload its data (REST).

        :returns: the image id.
        """
        body = dict(properties or {}, name=name, visibility='public',
                    disk_format=disk_format,
                    container_format=container_format)
        image = self.api('POST', self.glance_url + '/v2/images',
                         json=body).json()
        with open(path, 'rb') as f:
            self.api('PUT', self.glance_url + '/v2/images/%s/file'
                     % image['id'], data=f,
                     headers={'Content-Type': 'application/octet-stream'})
        return image['id']

    def _upload_images(self):
        """Upload the ramdisk-deploy images to Glance, public.

        A kernel (aki), a ramdisk (ari) and the instance image, whose
        ``kernel_id`` and ``ramdisk_id`` properties point at them: what
        Ironic's ``ramdisk`` deploy boots.
        """
        kernel = self._upload('amt-vmlinuz',
                              self.ironic.images['vmlinuz']['path'],
                              'aki', 'aki')
        ramdisk = self._upload('amt-initrd',
                               self.ironic.images['initrd.img']['path'],
                               'ari', 'ari')
        path = os.path.join(self.workdir, 'instance.img')
        with open(path, 'wb') as f:
            f.write(os.urandom(INSTANCE_IMAGE_SIZE))
        self.images = {
            'kernel': kernel, 'ramdisk': ramdisk,
            'instance': self._upload(
                'amt-ramdisk-instance', path, 'raw', 'bare',
                {'kernel_id': kernel, 'ramdisk_id': ramdisk})}

    # Clients ---------------------------------------------------------------

    def cli_env(self):
        """Return the environment of the ``openstack`` CLI (admin).

        :returns: os.environ without OS_* variables, plus the admin's.
        """
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_AUTH_URL=self.keystone_url, OS_USERNAME=ADMIN,
                   OS_PASSWORD=self.passwords[ADMIN], OS_PROJECT_NAME=ADMIN,
                   OS_USER_DOMAIN_NAME=DOMAIN, OS_PROJECT_DOMAIN_NAME=DOMAIN,
                   OS_IDENTITY_API_VERSION='3', OS_REGION_NAME=REGION,
                   OS_AUTH_TYPE='password', OS_INTERFACE='public')
        return env

    def openstack(self, *args, parse=True, check=True, timeout=CLI_TIMEOUT):
        """Run the real ``openstack`` CLI as the admin.

        :param args: the CLI arguments, e.g. ('server', 'list').
        :param parse, check, timeout: as for :func:`harness.run_cli`.
        :returns: what :func:`harness.run_cli` returns.
        :raises: HarnessError, as :func:`harness.run_cli`.
        """
        return harness.run_cli('openstack', args, self.cli_env(),
                               parse=parse, check=check, timeout=timeout)

    def nova(self, method, path, **kwargs):
        """Call the Nova API (latest microversion) as the admin.

        :param method: the HTTP method.
        :param path: the path below /v2.1, e.g. '/servers/detail'.
        :param kwargs: passed to :meth:`api`.
        :returns: the requests Response.
        """
        return self.api(method, self.nova_url + path, headers={
            'OpenStack-API-Version': 'compute latest'}, **kwargs)

    def placement(self, method, path, **kwargs):
        """Call the Placement API (latest microversion) as the admin.

        :param method: the HTTP method.
        :param path: the path, e.g. '/resource_providers'.
        :param kwargs: passed to :meth:`api`.
        :returns: the requests Response.
        """
        return self.api(method, self.placement_url + path, headers={
            'OpenStack-API-Version': 'placement latest'}, **kwargs)

    # Stop and logs ---------------------------------------------------------

    def stop(self, remove=True):
        """Stop every process by pid, then the backends; remove files.

        :param remove: remove the scratch directory.
        """
        try:
            # In parallel: each stop may wait for SIGTERM to take effect.
            stops = [p.stop for p in self.processes.values()]
            stops.append(functools.partial(self.ironic_stack.stop,
                                           remove=False))
            with concurrent.futures.ThreadPoolExecutor(len(stops)) as pool:
                for job in [pool.submit(stop) for stop in stops]:
                    job.result()
            self.neutron.stop()
        finally:
            try:
                self.rabbit.stop()
            finally:
                self.database.stop()
                self.memory.stop()
                if remove:
                    shutil.rmtree(self.workdir, ignore_errors=True)

    def logs(self, lines=harness.TAIL_LINES):
        """Return the tail of every service's log and output.

        :param lines: lines per file.
        :returns: the text, one header per file.
        """
        parts = []
        for name in sorted(os.listdir(self.workdir)):
            if name.endswith(('.log', '.out')):
                path = os.path.join(self.workdir, name)
                parts.append('--- %s\n%s' % (name, harness.tail(path, lines)))
        parts.append('--- ironic\n%s'
                     % harness.tail(self.ironic.log_path, lines))
        return '\n'.join(parts)
