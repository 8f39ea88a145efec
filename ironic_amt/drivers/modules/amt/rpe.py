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

"""Remote Platform Erase (RPE, CSME 16+): the BIOS erases at the next boot.

The sequence (amt-redirection.md section 6; Intel console
``wsman/rpe.go``, SDK ``Secure_Remote_Platform_Erase.htm``):

1. ``AMT_BootCapabilities.PlatformErase``: bit 0 says RPE is supported,
   the other bits which erase actions the platform offers;
2. ``AMT_BootSettingData.RPEEnabled`` (set by the BIOS) must be true;
3. ``CIM_BootService`` must have RPE on (state 32770 or 32771), turned on
   with ``RequestStateChange`` keeping the One-Click Recovery bit;
4. the boot order is cleared, then ``AMT_BootSettingData`` is Put with
   ``PlatformErase`` true and one TLV (vendor 0x8086, type 1, length 4:
   the device mask) as ``UefiBootParametersArray``, over TLS;
5. ``SetBootConfigRole(1)`` arms it for the next boot;
6. a power cycle (5), or a power-on (2) when off: a warm reset keeps the
   ME powered and the BIOS never runs the erase.

``ConfigurationDataReset`` is always sent false and bit 31 (CSME
unconfigure) is never requested: either would unprovision AMT and leave
the node unmanageable.
"""

import base64
import collections
import struct
import time

from ironic.common import exception
from ironic.common.i18n import _
from oslo_log import log as logging

from ironic_amt.conf import CONF
from ironic_amt.drivers.modules.amt import bootcheck
from ironic_amt.drivers.modules.amt import features
from ironic_amt.wsman import client as wsman
from ironic_amt.wsman import ocr
from ironic_amt.wsman import power_service as ps
from ironic_amt.wsman import resource_uris

LOG = logging.getLogger(__name__)

# Name of an erasable device -> AMT_BootCapabilities.PlatformErase bit.
ERASE_DEVICES = collections.OrderedDict([
    ('pyrite', 1),        # Pyrite revert of self-encrypting drives
    ('ssd', 2),           # secure erase of all SSDs
    ('tpm', 6),           # TPM clear
    ('bios_nvm', 25),     # clear the BIOS NVM variables
    ('bios_config', 26),  # reload the BIOS golden configuration
])
# Erased when the step gets no ``devices``: the storage, the TPM and the
# BIOS variables, where the firmware offers them.
DEFAULT_DEVICES = ('pyrite', 'ssd', 'tpm', 'bios_nvm')
# Added to a storage erase when offered: the BIOS verifies the erase.
VERIFY_BIT = 3
STORAGE_DEVICES = frozenset(['pyrite', 'ssd'])

# TLV header: u16 vendor, u16 type, u32 length, little endian.
_TLV = struct.Struct('<HHI')
TLV_DEVICE_MASK = 1

BOOT_SERVICE_SELECTORS = {'Name': 'Intel(r) AMT Boot Service'}


def device_mask_parameters(mask):
    """The UefiBootParametersArray of an erase request.

    :param mask: the device mask.
    :returns: (base64 text, number of parameters).
    """
    data = _TLV.pack(ocr.VENDOR_INTEL, TLV_DEVICE_MASK, 4) + struct.pack(
        '<I', mask)
    return base64.b64encode(data).decode('ascii'), 1


def offered_devices(advertised):
    """The erasable device names a PlatformErase value offers.

    :param advertised: AMT_BootCapabilities.PlatformErase as an int.
    :returns: list of names of :data:`ERASE_DEVICES`.
    """
    return [name for name, bit in ERASE_DEVICES.items()
            if advertised & (1 << bit)]


def device_mask(node, advertised, devices):
    """The mask to request for the named devices.

    :param node: the node, for messages.
    :param advertised: AMT_BootCapabilities.PlatformErase as an int.
    :param devices: names of :data:`ERASE_DEVICES`, or None for every
        default device the firmware offers.
    :returns: the mask (never with bit 0 nor bit 31).
    :raises: InvalidParameterValue for an unknown or unoffered device, or
        when nothing would be erased.
    """
    offered = offered_devices(advertised)
    if devices is None:
        names = [name for name in DEFAULT_DEVICES if name in offered]
    else:
        if (not isinstance(devices, list)
                or not all(isinstance(d, str) for d in devices)):
            raise exception.InvalidParameterValue(
                _('The devices argument of erase_devices_rpe for node '
                  '%(node)s must be a list of names out of %(known)s') %
                {'node': node.uuid, 'known': ', '.join(ERASE_DEVICES)})
        names = list(dict.fromkeys(devices))
        unknown = [name for name in names if name not in ERASE_DEVICES]
        unoffered = [name for name in names
                     if name in ERASE_DEVICES and name not in offered]
        if unknown or unoffered:
            raise exception.InvalidParameterValue(
                _('Node %(node)s cannot erase %(bad)s with Remote Platform '
                  'Erase: its firmware offers %(offered)s') %
                {'node': node.uuid,
                 'bad': ', '.join(unknown + unoffered),
                 'offered': ', '.join(offered) or _('nothing')})
    if not names:
        raise exception.InvalidParameterValue(
            _('Node %(node)s offers no device to erase with Remote Platform '
              'Erase') % {'node': node.uuid})
    mask = 0
    for name in names:
        mask |= 1 << ERASE_DEVICES[name]
    if STORAGE_DEVICES & set(names) and advertised & (1 << VERIFY_BIT):
        mask |= 1 << VERIFY_BIT
    return mask


def _flag(instance, field):
    return str(instance.get(field, '')).strip() == 'true'


def prepare(client, node, devices):
    """Check support and enable RPE; return the mask to request.

    :param client: a :class:`wsman.Client`.
    :param node: the node.
    :param devices: as for :func:`device_mask`.
    :returns: (mask, the AMT_BootSettingData instance as read).
    :raises: InvalidParameterValue when the firmware or BIOS does not
        allow it; WSManError from the client.
    """
    caps = client.get(resource_uris.AMT_BootCapabilities)
    try:
        advertised = int(str(caps.get('PlatformErase', '0')).strip() or 0)
    except ValueError:
        advertised = 0
    if not advertised & features.PLATFORM_ERASE_SUPPORTED:
        raise exception.InvalidParameterValue(
            _('Node %s does not support Remote Platform Erase (AMT 16 '
              'and later with a BIOS that offers it)') % node.uuid)
    mask = device_mask(node, advertised, devices)
    settings = client.get(resource_uris.AMT_BootSettingData,
                          selectors=bootcheck.SETTING_DATA_SELECTORS)
    if not _flag(settings, 'RPEEnabled'):
        raise exception.InvalidParameterValue(
            _('Remote Platform Erase is disabled in the BIOS of node %s '
              '(AMT_BootSettingData.RPEEnabled is false); enable it in '
              'the BIOS setup') % node.uuid)
    service = client.get(resource_uris.CIM_BootService,
                         selectors=BOOT_SERVICE_SELECTORS)
    try:
        state = int(str(service.get('EnabledState', '0')).strip())
    except ValueError:
        state = 0
    bits = state - features.BOOT_SERVICE_BASE if (
        state >= features.BOOT_SERVICE_BASE) else 0
    if not bits & features.BOOT_SERVICE_RPE:
        client.invoke(resource_uris.CIM_BootService, 'RequestStateChange',
                      arguments=[('RequestedState',
                                  features.BOOT_SERVICE_BASE + (
                                      bits | features.BOOT_SERVICE_RPE))],
                      selectors=BOOT_SERVICE_SELECTORS)
    return mask, settings


def request(client, settings, mask, setting_data):
    """Arm the erase for the next boot and power-cycle the host.

    :param client: a :class:`wsman.Client`.
    :param settings: the AMT_BootSettingData instance as read.
    :param mask: the device mask.
    :param setting_data: fn(current instance) -> the instance with every
        boot option off (the management interface's builder).
    :returns: the CIM power state requested (5 or 2).
    :raises: WSManError from the client.
    """
    client.invoke(resource_uris.CIM_BootConfigSetting, 'ChangeBootOrder',
                  selectors=bootcheck.BOOT_CONFIG_SELECTORS)
    wanted = setting_data(settings)
    params, count = device_mask_parameters(mask)
    wanted.update(PlatformErase=True, ConfigurationDataReset=False,
                  UefiBootParametersArray=params,
                  UefiBootNumberOfParams=count)
    client.put(resource_uris.AMT_BootSettingData, wanted,
               selectors=bootcheck.SETTING_DATA_SELECTORS)
    config = wsman.EndpointReference(resource_uris.CIM_BootConfigSetting,
                                     bootcheck.BOOT_CONFIG_SELECTORS)
    client.invoke(resource_uris.CIM_BootService, 'SetBootConfigRole',
                  arguments=[('BootConfigSetting', config), ('Role', 1)],
                  selectors=BOOT_SERVICE_SELECTORS)
    on = ps.read_status(client).state == ps.ON
    state = ps.POWER_CYCLE_SOFT if on else ps.ON
    ps.request_state(client, state)
    return state


def wait_for_erase(client, node):
    """Wait (bounded) until a boot used the erase request; check it.

    Polls AMT_BootSettingData (one Get per
    ``[amt]power_state_poll_interval``) for at most
    ``[amt]erase_timeout`` seconds.

    :param client: a :class:`wsman.Client`.
    :param node: the node, for messages.
    :returns: the :class:`bootcheck.Observation` once a boot used the
        request, or None when the time is up.
    :raises: WSManError from the client.
    """
    deadline = time.monotonic() + CONF.amt.erase_timeout
    while True:
        seen = bootcheck.observe(client, confirm=False)
        if seen.used:
            return seen
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(CONF.amt.power_state_poll_interval,
                       max(0.0, deadline - time.monotonic())))
