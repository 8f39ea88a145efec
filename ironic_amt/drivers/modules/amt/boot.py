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

"""The ``amt-https`` boot interface: deploy without PXE.

It mirrors Ironic's ``redfish-https``: Ironic's image utilities build the
deploy (or instance) ISO and publish it under ``[deploy]http_root``, which
the operator serves over HTTPS at ``[deploy]http_url``; the node is then
set to boot the ``uefihttp`` device, which the management interface arms
on the device as a One-Click Recovery HTTPS boot right before the
power-on. While Ironic waits for the ramdisk, a periodic task reads what
the BIOS reported about that boot, so a boot the device could not make
(untrusted server, missing image) fails the operation at once instead of
after the callback timeout.
"""

import urllib.parse

from ironic.common import boot_devices
from ironic.common import exception
from ironic.common.i18n import _
from ironic.common import metrics_utils
from ironic.common import states
from ironic.conductor import periodics
from ironic.conductor import utils as manager_utils
from ironic.drivers import base
from ironic.drivers.modules import boot_mode_utils
from ironic.drivers.modules import deploy_utils
from ironic.drivers.modules import image_utils
from ironic.drivers import utils as driver_utils
from oslo_log import log as logging

from ironic_amt.conf import CONF
from ironic_amt.drivers.modules.amt import https_boot

LOG = logging.getLogger(__name__)
METRICS = metrics_utils.get_metrics_logger(__name__)

REQUIRED_PROPERTIES = {
    'deploy_kernel': _('URL or Glance UUID of the deployment kernel. '
                       'Required if deploy_iso is not set.'),
    'deploy_ramdisk': _('URL or Glance UUID of the deployment ramdisk. '
                        'Required if deploy_iso is not set.'),
    'deploy_iso': _('URL or Glance UUID of the deployment ISO. Required '
                    'if deploy_kernel/deploy_ramdisk are not set.'),
}
OPTIONAL_PROPERTIES = {
    'bootloader': _('URL or Glance UUID of the EFI system partition image '
                    'used to build a UEFI-bootable ISO from the kernel and '
                    'ramdisk. Optional; defaults to [conductor]bootloader '
                    'or [DEFAULT]esp_image.'),
    'external_http_url': _('HTTPS root URL the node downloads its ISO from '
                           'instead of [deploy]external_http_url or '
                           '[deploy]http_url. Optional.'),
    'kernel_append_params': driver_utils.KERNEL_APPEND_PARAMS_DESCRIPTION %
    {'option_group': 'amt'},
    'rescue_kernel': _('URL or Glance UUID of the rescue kernel. Required '
                       'for rescue if rescue_iso is not set.'),
    'rescue_ramdisk': _('URL or Glance UUID of the rescue ramdisk. Required '
                        'for rescue if rescue_iso is not set.'),
    'rescue_iso': _('URL or Glance UUID of the rescue ISO. Required for '
                    'rescue if rescue_kernel/rescue_ramdisk are not set.'),
}
COMMON_PROPERTIES = dict(REQUIRED_PROPERTIES, **OPTIONAL_PROPERTIES,
                         **https_boot.PROPERTIES)

# Where Ironic waits for a ramdisk booted over HTTPS, and how a failed
# boot fails each wait (the handlers Ironic's agent code uses).
_WAIT_STATES = frozenset([states.DEPLOYWAIT, states.CLEANWAIT,
                          states.RESCUEWAIT, states.SERVICEWAIT,
                          states.INSPECTWAIT])


def _fail(task, message):
    state = task.node.provision_state
    if state == states.DEPLOYWAIT:
        deploy_utils.set_failed_state(task, message, collect_logs=False)
    elif state == states.CLEANWAIT:
        manager_utils.cleaning_error_handler(task, message)
    elif state == states.RESCUEWAIT:
        manager_utils.rescuing_error_handler(task, message)
    elif state == states.SERVICEWAIT:
        manager_utils.servicing_error_handler(task, message)
    else:
        manager_utils.inspecting_error_handler(task, message)


def _parse_driver_info(node):
    """The ramdisk image references of a node, as image_utils wants them.

    :param node: an Ironic node.
    :returns: a dict; ``can_provide_config`` tells whether Ironic builds
        the ISO (so it can pass the agent token and parameters).
    :raises: MissingParameterValue when neither an ISO nor a kernel and
        ramdisk are given.
    """
    mode = deploy_utils.rescue_or_deploy_mode(node)
    if not deploy_utils.needs_agent_ramdisk(node, mode=mode):
        return {'can_provide_config': False}
    iso = driver_utils.get_agent_iso(node, mode=mode)
    if iso is not None:
        info = {'%s_iso' % mode: iso, 'can_provide_config': False}
    else:
        info = driver_utils.get_agent_kernel_ramdisk(node, mode)
        deploy_utils.check_for_missing_params(
            info, _("Error validating the amt-https boot interface. Some "
                    "parameters were missing in node's driver_info"))
        info['can_provide_config'] = True
    info['bootloader'] = driver_utils.get_field(node, 'bootloader',
                                                use_conf=True)
    return info


def _image_root_url(node):
    return ((node.driver_info or {}).get('external_http_url')
            or CONF.deploy.external_http_url or CONF.deploy.http_url)


class AMTHttpsBoot(base.BootInterface):
    """Boot over One-Click Recovery HTTPS boot (Intel AMT 16 and newer)."""

    capabilities = ['ramdisk_boot']

    @property
    def image_publisher_settings(self):
        """Publish built ISOs under ``[deploy]http_root``/amt.

        :returns: an :class:`ImagePublisherSettings`.
        """
        return base.ImagePublisherSettings(
            swift_enabled=False, image_subdir='amt',
            file_permission=CONF.amt.https_boot_file_permission,
            kernel_params=CONF.amt.kernel_append_params)

    def get_properties(self):
        """Return the properties of the interface.

        :returns: dictionary of <property name>:<property description>.
        """
        return COMMON_PROPERTIES.copy()

    def _validate_offline(self, task):
        node = task.node
        _parse_driver_info(node)
        url = _image_root_url(node)
        if not url or urllib.parse.urlsplit(url).scheme != 'https':
            raise exception.InvalidParameterValue(
                _('The amt-https boot interface of node %(node)s needs an '
                  'HTTPS image server: [deploy]http_url (or '
                  '[deploy]external_http_url, or driver_info/'
                  'external_http_url) must be an https:// URL serving '
                  '[deploy]http_root, not %(url)r') %
                {'node': node.uuid, 'url': url})
        https_boot.load_ca(node)

    @METRICS.timer('AMTHttpsBoot.validate')
    def validate(self, task):
        """Validate the node's boot information and the device's support.

        The device is asked whether it can boot from HTTPS (the answer is
        cached by this conductor), rather than trusting traits that may be
        stale.

        :param task: a TaskManager instance containing the node to act on.
        :raises: MissingParameterValue, InvalidParameterValue.
        :raises: HttpsBootUnsupported when the device cannot HTTPS boot.
        :raises: AMTOperationError, AMTConnectionFailure,
            AMTAuthenticationFailure if the device cannot be asked.
        """
        self._validate_offline(task)
        node = task.node
        https_boot.check_support(node)
        if (task.driver.storage.should_write_image(task)
                and deploy_utils.get_boot_option(node) == 'ramdisk'):
            deploy_utils.validate_image_properties(
                task, deploy_utils.get_image_instance_info(node))

    def validate_inspection(self, task):
        """Validate that the node can boot the inspection ramdisk.

        :param task: a TaskManager instance containing the node to act on.
        :raises: MissingParameterValue, InvalidParameterValue.
        """
        self._validate_offline(task)

    def _set_boot_device(self, task, device, persistent=False, url=None):
        node = task.node
        if url:
            node.set_driver_internal_info(https_boot.URL_KEY, url)
            node.save()
        manager_utils.node_set_boot_device(task, device, persistent)

    @METRICS.timer('AMTHttpsBoot.prepare_ramdisk')
    def prepare_ramdisk(self, task, ramdisk_params):
        """Build and publish the ramdisk ISO; boot it from HTTPS next.

        :param task: a task from TaskManager.
        :param ramdisk_params: the parameters to pass to the ramdisk.
        :raises: MissingParameterValue, InvalidParameterValue.
        :raises: ImageCreationFailed if the ISO cannot be built.
        """
        node = task.node
        if not driver_utils.need_prepare_ramdisk(node):
            return
        d_info = _parse_driver_info(node)
        if manager_utils.is_fast_track(task):
            LOG.debug('Fast track operation for node %s, not setting up an '
                      'HTTPS boot', node.uuid)
            return
        if d_info.pop('can_provide_config', True):
            manager_utils.add_secret_token(node, pregenerated=True)
            node.save()
            ramdisk_params['ipa-agent-token'] = (
                node.driver_internal_info['agent_secret_token'])
        manager_utils.node_power_action(task, states.POWER_OFF)
        mac = deploy_utils.get_single_nic_with_vif_port_id(task)
        if mac is not None:
            ramdisk_params['BOOTIF'] = mac
        if CONF.debug and 'ipa-debug' not in ramdisk_params:
            ramdisk_params['ipa-debug'] = '1'
        # The ramdisk finds its configuration on the ISO, as with virtual
        # media.
        ramdisk_params['boot_method'] = 'vmedia'
        mode = deploy_utils.rescue_or_deploy_mode(node)
        iso_url = image_utils.prepare_deploy_iso(task, ramdisk_params, mode,
                                                 d_info)
        boot_mode_utils.sync_boot_mode(task)
        node.set_driver_internal_info(https_boot.WATCH_KEY, True)
        self._set_boot_device(task, boot_devices.UEFIHTTP, url=iso_url)
        LOG.debug('Node %(node)s is set to boot %(url)s over HTTPS once',
                  {'node': node.uuid, 'url': iso_url})

    def _clean_up(self, task):
        image_utils.cleanup_iso_image(task)
        node = task.node
        node.del_driver_internal_info(https_boot.URL_KEY)
        node.del_driver_internal_info(https_boot.WATCH_KEY)
        node.save()

    @METRICS.timer('AMTHttpsBoot.clean_up_ramdisk')
    def clean_up_ramdisk(self, task):
        """Withdraw the ramdisk ISO.

        :param task: a task from TaskManager.
        """
        if manager_utils.is_fast_track(task):
            LOG.debug('Fast track operation for node %s, keeping the HTTPS '
                      'boot set up', task.node.uuid)
            return
        self._clean_up(task)

    @METRICS.timer('AMTHttpsBoot.prepare_instance')
    def prepare_instance(self, task):
        """Boot the instance: from disk, or its ISO over HTTPS (ramdisk).

        :param task: a task from TaskManager.
        :raises: InvalidParameterValue, ImageCreationFailed.
        """
        node = task.node
        self._clean_up(task)
        boot_mode_utils.sync_boot_mode(task)
        boot_mode_utils.configure_secure_boot_if_needed(task)
        if deploy_utils.get_boot_option(node) != 'ramdisk':
            self._set_boot_device(task, boot_devices.DISK, persistent=True)
            return
        d_info = deploy_utils.get_image_instance_info(node)
        d_info.update(_parse_driver_info(node))
        d_info.update(node.instance_info)
        iso_url = image_utils.prepare_boot_iso(task, d_info)
        self._set_boot_device(task, boot_devices.UEFIHTTP, persistent=True,
                              url=iso_url)
        LOG.debug('Node %(node)s is set to boot %(url)s over HTTPS at '
                  'every boot', {'node': node.uuid, 'url': iso_url})

    @METRICS.timer('AMTHttpsBoot.clean_up_instance')
    def clean_up_instance(self, task):
        """Withdraw the instance ISO.

        :param task: a task from TaskManager.
        """
        self._clean_up(task)
        boot_mode_utils.deconfigure_secure_boot_if_needed(task)

    @METRICS.timer('AMTHttpsBoot._check_https_boot_status')
    @periodics.node_periodic(
        purpose='checking the BIOS status of AMT HTTPS boots',
        spacing=lambda: CONF.amt.https_boot_status_interval,
        filters={'provision_state_in': _WAIT_STATES, 'reserved': False,
                 'maintenance': False},
        predicate_extra_fields=['driver_internal_info'],
        predicate=lambda n: n.driver_internal_info.get(https_boot.WATCH_KEY),
    )
    def _check_https_boot_status(self, task, manager, context):
        """Fail the wait at once when the BIOS reports a failed HTTPS boot.

        :param task: a TaskManager instance with a shared lock.
        :param manager: the conductor manager.
        :param context: the request context.
        """
        self.check_boot_status(task)

    def check_boot_status(self, task):
        """Read the BIOS status of the watched boot and act on it.

        Success (or a firmware that reports nothing) ends the watch and
        leaves the ramdisk's callback in charge; a failure fails the
        operation the node waits in, with the reason in ``last_error``
        and the node history.

        :param task: a TaskManager instance.
        """
        node = task.node
        try:
            outcome = https_boot.boot_outcome(node)
        except https_boot.HttpsBootFailed as e:
            task.upgrade_lock(purpose='failing an HTTPS boot')
            if (node.provision_state not in _WAIT_STATES
                    or not node.driver_internal_info.get(
                        https_boot.WATCH_KEY)):
                return
            node.del_driver_internal_info(https_boot.WATCH_KEY)
            node.save()
            LOG.error('%s', e)
            _fail(task, str(e))
            return
        except exception.IronicException as e:
            LOG.warning('Cannot read the HTTPS boot status of node '
                        '%(node)s yet: %(error)s',
                        {'node': node.uuid, 'error': e})
            return
        if outcome:
            task.upgrade_lock(purpose='ending an HTTPS boot watch')
            node.del_driver_internal_info(https_boot.WATCH_KEY)
            node.save()
            LOG.info('Node %s booted its ramdisk over HTTPS', node.uuid)
