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

"""AMT management interface: boot device store and one-shot arming.

AMT only honours a one-shot boot override, and a second override does not
replace a pending one until the boot order is cleared. So
:meth:`AMTManagement.set_boot_device` only stores the wanted device in the
node's ``driver_internal_info``. Right before every power-on and reboot
request (and again before each resend of it after a *Busy* answer) the
power interface arms it on the device with
:meth:`AMTManagement.ensure_next_boot_device`, in the order current Intel
consoles use; once AMT has accepted the power request it forgets a one-shot
device with :meth:`AMTManagement.forget_one_shot_device`.

AMT overrides are one-shot, and any boot uses one up, including a reboot
the operating system starts by itself. After each power-on the power
interface calls :meth:`AMTManagement.verify_boot_override`, and a periodic
task (every ``[amt]rearm_interval`` seconds) calls
:meth:`AMTManagement.check_boot_override` on the nodes with a persistent
device or an unverified override: a used override is checked (node
history and a warning when the BIOS did not take it) and a persistent
device is armed again at once. While nothing changed that costs one Get
per node (:mod:`ironic_amt.drivers.modules.amt.bootcheck`).
"""

import threading
import time

from ironic.common import boot_devices
from ironic.common import exception
from ironic.common.i18n import _
from ironic.common import metrics_utils
from ironic.conductor import periodics
from ironic.conductor import task_manager
from ironic.conductor import utils as cond_utils
from ironic.drivers import base
from ironic.drivers import utils as driver_utils
from oslo_log import log as logging

from ironic_amt.conf import CONF
from ironic_amt.drivers.modules.amt import bootcheck
from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import features
from ironic_amt.drivers.modules.amt import https_boot
from ironic_amt.drivers.modules.amt import rpe
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import ocr
from ironic_amt.wsman import power_service
from ironic_amt.wsman import resource_uris

LOG = logging.getLogger(__name__)
METRICS = metrics_utils.get_metrics_logger(__name__)

BOOT_DEVICE_KEY = 'amt_boot_device'
BOOT_PERSISTENT_KEY = 'amt_boot_persistent'
# An armed override whose outcome is not known yet: {'device', 'since'}.
VERIFY_KEY = 'amt_boot_verify'
HISTORY_EVENT_TYPE = 'boot override'

# Ironic boot device -> CIM_BootSourceSetting InstanceID. None means "no
# boot source": the BIOS setup screen is requested through
# AMT_BootSettingData.BIOSSetup instead.
BOOT_SOURCE_MAP = {
    boot_devices.PXE: 'Intel(r) AMT: Force PXE Boot',
    boot_devices.DISK: 'Intel(r) AMT: Force Hard-drive Boot',
    boot_devices.CDROM: 'Intel(r) AMT: Force CD/DVD Boot',
    boot_devices.BIOS: None,
    # One-Click Recovery HTTPS boot (AMT 16+), set up by amt-https.
    boot_devices.UEFIHTTP: ocr.HTTPS_BOOT_SOURCE,
}

BOOT_SERVICE_SELECTORS = {'Name': 'Intel(r) AMT Boot Service'}
BOOT_CONFIG_SELECTORS = bootcheck.BOOT_CONFIG_SELECTORS
BOOT_SETTING_DATA_SELECTORS = bootcheck.SETTING_DATA_SELECTORS

# SetBootConfigRole roles supported since AMT 7.0.
ROLE_IS_NEXT_SINGLE_USE = 1

# AMT_BootSettingData options reset (False, or 0 for the numeric ones) for
# a plain forced boot: UseSOL/UseIDER cannot be combined with a boot
# source, and the others would change how the firmware boots (an armed
# boot device never carries an erase request).
_OPTIONS_OFF = ('BIOSPause', 'BIOSSetup', 'BootMediaIndex',
                'ConfigurationDataReset', 'FirmwareVerbosity',
                'ForcedProgressEvents', 'LockKeyboard',
                'LockPowerButton', 'LockResetButton', 'LockSleepButton',
                'PlatformErase', 'ReflashBIOS', 'SecureErase', 'UseIDER',
                'UseSafeMode', 'UseSOL', 'UserPasswordBypass')
_NUMERIC_OPTIONS = ('BootMediaIndex', 'FirmwareVerbosity')

# AMT_BootSettingData fields BIOS and firmware own. They are never sent
# back: firmware refuses a Put that changes one, and a value read before
# a boot (OptionsCleared, BIOSLastStatus) is stale after it. Intel's own
# console leaves the same fields out of its Put (go-wsman-messages
# amt/boot/settingdata.go).
_FIRMWARE_FIELDS = frozenset([
    'BIOSLastStatus', 'BootguardStatus', 'OptionsCleared', 'RPEEnabled',
    'SecureBootControlEnabled', 'UEFIHTTPSBootEnabled',
    'UEFILocalPBABootEnabled', 'WinREBootEnabled'])


def _boot_setting_data(current, device, uefi_parameters=None):
    """Build the AMT_BootSettingData instance to Put for a device.

    :param current: the instance as read from the device.
    :param device: an Ironic boot device.
    :param uefi_parameters: (UefiBootParametersArray, UefiBootNumberOfParams)
        of an HTTPS boot; other boots clear any parameters left.
    :returns: a new dict: the writable fields of the current instance,
        as read, with the options reset.
    """
    wanted = {name: value for name, value in current.items()
              if name not in _FIRMWARE_FIELDS}
    for option in _OPTIONS_OFF:
        if option in wanted:
            wanted[option] = 0 if option in _NUMERIC_OPTIONS else False
    wanted['BIOSSetup'] = device == boot_devices.BIOS
    # Firmware leaves the parameter array out of a read (it may hold an
    # HTTP password) while reporting its count: clear both for other boots.
    if uefi_parameters is not None or (
            {'UefiBootParametersArray', 'UefiBootNumberOfParams'}
            & set(wanted)):
        array, count = uefi_parameters or ('', 0)
        wanted['UefiBootParametersArray'] = array
        wanted['UefiBootNumberOfParams'] = count
    return wanted


class _SettingDataTemplates:
    """The last AMT_BootSettingData instance seen, per AMT endpoint.

    A Put needs the whole instance. After one Get per endpoint, the
    instance the device returned in its last PutResponse is reused, which
    saves a round trip on every arming. Only the options the driver sets
    matter; the rest is sent back as the device returned it. A failed Put
    forgets the template, so the next arming reads the device again.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._instances = {}

    def get(self, client):
        with self._lock:
            instance = self._instances.get(client.endpoint)
        if instance is None:
            instance = client.get(resource_uris.AMT_BootSettingData,
                                  selectors=BOOT_SETTING_DATA_SELECTORS)
        return instance

    def remember(self, client, instance):
        with self._lock:
            self._instances[client.endpoint] = instance

    def forget(self, client):
        with self._lock:
            self._instances.pop(client.endpoint, None)


_TEMPLATES = _SettingDataTemplates()


def _put_setting_data(client, device, uefi_parameters):
    wanted = _boot_setting_data(_TEMPLATES.get(client), device,
                                uefi_parameters)
    try:
        stored = client.put(resource_uris.AMT_BootSettingData, wanted,
                            selectors=BOOT_SETTING_DATA_SELECTORS)
    except Exception:
        _TEMPLATES.forget(client)
        raise
    _TEMPLATES.remember(client, stored if isinstance(stored, dict) and stored
                        else wanted)


def arm_boot_device(client, device, uefi_parameters=None):
    """Arm a one-shot boot override on an AMT device.

    Clear the boot order, Put AMT_BootSettingData, SetBootConfigRole(1),
    then ChangeBootOrder(source) (no source for the BIOS setup screen).

    :param client: a :class:`wsman.Client`.
    :param device: an Ironic boot device from :data:`BOOT_SOURCE_MAP`.
    :param uefi_parameters: for ``uefihttp``, the encoded boot parameters
        (see :func:`ironic_amt.wsman.ocr.encode_parameters`).
    :raises: WSManError from the client.
    """
    client.invoke(resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder',
                  selectors=BOOT_CONFIG_SELECTORS)
    _put_setting_data(client, device, uefi_parameters)
    config = wsman.EndpointReference(resource_uris.CIM_BootConfigSetting,
                                     BOOT_CONFIG_SELECTORS)
    client.invoke(resource_uris.CIM_BootService, 'SetBootConfigRole',
                  arguments=[('BootConfigSetting', config),
                             ('Role', ROLE_IS_NEXT_SINGLE_USE)],
                  selectors=BOOT_SERVICE_SELECTORS)
    source = BOOT_SOURCE_MAP[device]
    if source is not None:
        source_ref = wsman.EndpointReference(
            resource_uris.CIM_BootSourceSetting, {'InstanceID': source})
        client.invoke(resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder',
                      arguments=[('Source', source_ref)],
                      selectors=BOOT_CONFIG_SELECTORS)


class AMTManagement(base.ManagementInterface):
    """Management interface for Intel AMT / vPro machines."""

    def get_properties(self):
        """Return the properties of the interface.

        :returns: dictionary of <property name>:<property description>.
        """
        return common.COMMON_PROPERTIES.copy()

    @METRICS.timer('AMTManagement.validate')
    def validate(self, task):
        """Validate the node's driver_info, without contacting the device.

        A node that inspection found to need user consent for boot control
        (``amt_user_consent:all`` in its capabilities, always so in client
        control mode) fails with the reason and the way out: Ironic cannot
        enter a consent code unattended.

        :param task: a TaskManager instance containing the node to act on.
        :raises: MissingParameterValue, InvalidParameterValue.
        """
        node = task.node
        common.parse_driver_info(node)
        required = driver_utils.get_node_capability(node,
                                                    'amt_user_consent')
        if required == features.CONSENT_ALL:
            mode = driver_utils.get_node_capability(
                node, 'amt_provisioning_mode')
            raise exception.InvalidParameterValue(
                _('Node %(node)s cannot have its boot device managed '
                  'remotely: %(why)s') % {
                    'node': node.uuid,
                    'why': errors.consent_explanation(features.Consent(
                        mode, required, _('as of the last inspection')))})

    def get_supported_boot_devices(self, task):
        """Get the boot devices AMT can force.

        ``uefihttp`` needs the image URL the ``amt-https`` boot interface
        prepares, so it is offered to nodes using that interface only.

        :param task: a task from TaskManager.
        :returns: a list of :mod:`ironic.common.boot_devices` values.
        """
        return [device for device in BOOT_SOURCE_MAP
                if device != boot_devices.UEFIHTTP
                or task.node.boot_interface == 'amt-https']

    @METRICS.timer('AMTManagement.set_boot_device')
    @task_manager.require_exclusive_lock
    def set_boot_device(self, task, device, persistent=False):
        """Remember the boot device to arm at the next power-on or reboot.

        Nothing is sent to the device here: AMT overrides are one-shot, so
        :meth:`ensure_next_boot_device` arms the device right before each
        power-on and reboot.

        :param task: a task from TaskManager.
        :param device: the boot device, one of
            :mod:`ironic.common.boot_devices`.
        :param persistent: whether to arm the device before every power-on
            and reboot (True) or before the next one only (False).
        :raises: InvalidParameterValue if the device is not supported.
        """
        supported = self.get_supported_boot_devices(task)
        if device not in supported:
            raise exception.InvalidParameterValue(
                _('Invalid boot device %(device)s requested for node '
                  '%(node)s; AMT supports: %(supported)s') %
                {'device': device, 'node': task.node.uuid,
                 'supported': ', '.join(supported)})
        node = task.node
        if device == boot_devices.UEFIHTTP:
            https_boot.prepared_url(node)
        node.set_driver_internal_info(BOOT_DEVICE_KEY, device)
        node.set_driver_internal_info(BOOT_PERSISTENT_KEY, bool(persistent))
        node.save()
        LOG.debug('Boot device %(device)s (persistent: %(persistent)s) '
                  'stored for node %(node)s; it is armed at the next '
                  'power-on or reboot',
                  {'device': device, 'persistent': bool(persistent),
                   'node': node.uuid})

    def get_boot_device(self, task):
        """Get the boot device Ironic will arm at the next power-on.

        AMT cannot report a pending override, so this is the stored one.

        :param task: a task from TaskManager.
        :returns: a dict with keys ``boot_device`` (a boot device or None
            when nothing is stored) and ``persistent`` (bool or None).
        """
        info = task.node.driver_internal_info
        device = info.get(BOOT_DEVICE_KEY)
        if device is None:
            return {'boot_device': None, 'persistent': None}
        return {'boot_device': device,
                'persistent': bool(info.get(BOOT_PERSISTENT_KEY, False))}

    @METRICS.timer('AMTManagement.ensure_next_boot_device')
    def ensure_next_boot_device(self, task):
        """Arm the stored boot device on the AMT device, if one is stored.

        The one entry point that arms: :class:`~ironic_amt.drivers.modules.
        amt.power.AMTPower` calls it right before every power-on, reboot
        and soft reboot request, and again right before each resend of
        that request after AMT answered *Busy* (a pending reset would
        otherwise boot with, and use up, what was armed). The device stays
        stored: the power interface calls :meth:`forget_one_shot_device`
        once AMT has accepted the request.

        :param task: a task from TaskManager.
        :returns: the armed boot device, or None if none is stored.
        :raises: AMTOperationError, AMTConnectionFailure,
            AMTAuthenticationFailure if the device refuses.
        """
        node = task.node
        device = node.driver_internal_info.get(BOOT_DEVICE_KEY)
        if device is None:
            return None
        client = common.get_client(node)
        with errors.translate_errors(
                node, _('arming boot device %s') % device, client):
            parameters = None
            if device == boot_devices.UEFIHTTP:
                parameters = https_boot.boot_parameters(node, client)
            arm_boot_device(client, device, parameters)
        LOG.info('Boot device %(device)s armed on node %(node)s',
                 {'device': device, 'node': node.uuid})
        return device

    @METRICS.timer('AMTManagement.verify_boot_override')
    def verify_boot_override(self, task, device):
        """Check, after a power-on or reboot, that the device took it.

        Called by the power interface once the node reached the power
        state. If the boot already used the override, its outcome is
        checked at once (and a persistent device armed again); if the
        override is still pending (the BIOS has not started yet), the
        check is left to :meth:`check_boot_override`.

        :param task: a TaskManager instance with an exclusive lock.
        :param device: the boot device that was armed.
        :raises: AMTOperationError, AMTConnectionFailure,
            AMTAuthenticationFailure if the device cannot be read.
        """
        node = task.node
        client = common.get_client(node)
        with errors.translate_errors(node, _('verifying the boot override'),
                                     client):
            seen = bootcheck.observe(client, confirm=False)
        if not seen.used:
            node.set_driver_internal_info(
                VERIFY_KEY, {'device': device, 'since': time.time()})
            node.save()
            return
        self._settle(task, device, seen)

    @METRICS.timer('AMTManagement.check_boot_override')
    def check_boot_override(self, task):
        """Look at the armed override once; re-arm or report if needed.

        One Get while the override is pending. Once a boot used it: an
        unverified override is checked (see :meth:`_settle`) and a
        persistent device is armed again at once. An override still
        pending ``[amt]boot_verify_timeout`` seconds after the power-on is
        reported as not taken.

        :param task: a TaskManager instance; the lock is upgraded when
            something is to be changed.
        :raises: AMTOperationError and subclasses (AMTConsentRequired when
            re-arming needs user consent).
        """
        node = task.node
        client = common.get_client(node)
        with errors.translate_errors(node, _('checking the boot override'),
                                     client):
            seen = bootcheck.observe(client)
        _TEMPLATES.remember(client, seen.settings)
        verify = node.driver_internal_info.get(VERIFY_KEY)
        if not seen.used:
            if verify and (time.time() - verify.get('since', 0)
                           > CONF.amt.boot_verify_timeout):
                task.upgrade_lock(purpose=_('reporting a boot override'))
                self._report(task, verify.get('device'), _(
                    'the device still holds it %(age)d seconds after the '
                    'power-on: the BIOS did not use it') %
                    {'age': time.time() - verify.get('since', 0)})
                task.node.del_driver_internal_info(VERIFY_KEY)
                task.node.save()
            return
        task.upgrade_lock(purpose=_('re-arming the boot device'))
        verify = task.node.driver_internal_info.get(VERIFY_KEY)
        self._settle(task, verify.get('device') if verify else None, seen)

    def _settle(self, task, device, seen):
        """Act on an override a boot used: report, forget, re-arm.

        :param task: a TaskManager instance with an exclusive lock.
        :param device: the boot device whose outcome is awaited, or None.
        :param seen: the :class:`bootcheck.Observation`.
        """
        node = task.node
        if device is not None and bootcheck.bios_failed(seen.bios_status):
            self._report(task, device, _(
                'the BIOS reported BIOSLastStatus %(status)s; last boot: '
                '%(reason)s') % {
                    'status': bootcheck.describe_bios_status(
                        seen.bios_status),
                    'reason': seen.boot_reason or _('not reported')})
        if VERIFY_KEY in node.driver_internal_info:
            node.del_driver_internal_info(VERIFY_KEY)
            node.save()
        info = node.driver_internal_info
        if info.get(BOOT_PERSISTENT_KEY) and info.get(BOOT_DEVICE_KEY):
            self.ensure_next_boot_device(task)
            LOG.info('Persistent boot device %(device)s of node %(node)s '
                     'armed again after a boot used it (last boot: '
                     '%(reason)s)', {'device': info[BOOT_DEVICE_KEY],
                                     'node': node.uuid,
                                     'reason': seen.boot_reason})

    @staticmethod
    def _report(task, device, why):
        event = _('AMT boot device %(device)s was not taken: %(why)s') % {
            'device': device, 'why': why}
        LOG.warning('Node %(node)s: %(event)s',
                    {'node': task.node.uuid, 'event': event})
        cond_utils.node_history_record(task.node, event=event,
                                       event_type=HISTORY_EVENT_TYPE)

    @periodics.node_periodic(
        purpose='checking the AMT boot override',
        spacing=lambda: CONF.amt.rearm_interval,
        enabled=lambda: CONF.amt.rearm_interval > 0,
        filters={'reserved': False, 'maintenance': False},
        predicate_extra_fields=['driver_internal_info'],
        predicate=lambda node: bool(
            (node.driver_internal_info or {}).get(BOOT_PERSISTENT_KEY)
            or (node.driver_internal_info or {}).get(VERIFY_KEY)))
    def _check_boot_overrides(self, task, manager, context):
        """Periodic task: :meth:`check_boot_override` on each node."""
        try:
            self.check_boot_override(task)
        except exception.IronicException as e:
            LOG.warning('Checking the boot override of node %(node)s '
                        'failed: %(error)s', {'node': task.node.uuid,
                                              'error': e})

    def forget_one_shot_device(self, task):
        """Drop the stored boot device unless it is persistent.

        Called by the power interface once AMT has accepted the power
        request that boots with the armed device.

        :param task: a task from TaskManager.
        """
        node = task.node
        if (BOOT_DEVICE_KEY in node.driver_internal_info
                and not node.driver_internal_info.get(BOOT_PERSISTENT_KEY)):
            node.del_driver_internal_info(BOOT_DEVICE_KEY)
            node.del_driver_internal_info(BOOT_PERSISTENT_KEY)
            node.save()

    def get_sensors_data(self, task):
        """AMT exposes no sensor data to Ironic.

        :raises: NotImplementedError
        """
        raise NotImplementedError()

    @METRICS.timer('AMTManagement.erase_devices_rpe')
    @base.clean_step(priority=0, abortable=False, requires_ramdisk=False,
                     argsinfo={'devices': {
                         'description': (
                             'The devices to erase, a list out of %s. '
                             'Optional; default every one of pyrite, ssd, '
                             'tpm and bios_nvm the firmware offers.'
                             % ', '.join(rpe.ERASE_DEVICES)),
                         'required': False}})
    def erase_devices_rpe(self, task, devices=None):
        """Erase the node out of band with AMT Remote Platform Erase.

        A manual clean step that needs no ramdisk: AMT asks the BIOS to
        erase the named devices at the next boot, the host is power
        cycled (powered on when off) and the step waits, at most
        ``[amt]erase_timeout`` seconds, until a boot used the request and
        checks what the BIOS reported. Only where the firmware advertises
        RPE (AMT 16 and later) and the BIOS enables it; the request goes
        over TLS (``amt_protocol`` https). AMT's own configuration is
        never reset.

        :param task: a TaskManager instance with an exclusive lock.
        :param devices: names out of :data:`rpe.ERASE_DEVICES`, or None
            for every default device the firmware offers.
        :raises: InvalidParameterValue when RPE is not available or a
            device is unknown or not offered; AMTOperationError (and
            subclasses, AMTConsentRequired without consent) when the
            device refuses or the BIOS reports a failure.
        """
        node = task.node
        info = common.parse_driver_info(node)
        if info['protocol'] != 'https':
            raise exception.InvalidParameterValue(
                _('Remote Platform Erase of node %s needs TLS: set '
                  'driver_info amt_protocol to https') % node.uuid)
        client = common.get_client(node)
        operation = _('Remote Platform Erase')
        with errors.translate_errors(node, operation, client):
            mask, settings = rpe.prepare(client, node, devices)
            LOG.info('Requesting Remote Platform Erase of %(devices)s on '
                     'node %(node)s (mask %(mask)#x)',
                     {'devices': ', '.join(
                         rpe.offered_devices(mask)), 'node': node.uuid,
                      'mask': mask})
            try:
                rpe.request(client, settings, mask,
                            lambda current: _boot_setting_data(current,
                                                               None))
            finally:
                # The stored instance now carries the erase request.
                _TEMPLATES.forget(client)
            seen = rpe.wait_for_erase(client, node)
        if seen is None:
            raise errors.AMTOperationError(
                operation=operation, node=node.uuid,
                error=_('no boot used the erase request within %s '
                        'seconds') % CONF.amt.erase_timeout)
        status = seen.bios_status
        if bootcheck.bios_failed(status) or not status or status[0] != 0:
            raise errors.AMTOperationError(
                operation=operation, node=node.uuid,
                error=_('the BIOS did not complete it: BIOSLastStatus '
                        '%s') % bootcheck.describe_bios_status(status))
        LOG.info('Remote Platform Erase of node %(node)s done: '
                 'BIOSLastStatus %(status)s',
                 {'node': node.uuid,
                  'status': bootcheck.describe_bios_status(status)})

    @METRICS.timer('AMTManagement.inject_nmi')
    @task_manager.require_exclusive_lock
    def inject_nmi(self, task):
        """Inject a non-maskable interrupt (PowerState 11).

        :param task: a task from TaskManager.
        :raises: AMTOperationError, AMTConnectionFailure,
            AMTAuthenticationFailure if the device refuses.
        """
        client = common.get_client(task.node)
        with errors.translate_errors(task.node, _('NMI injection')):
            power_service.request_state(
                client, power_service.DIAGNOSTIC_INTERRUPT)
