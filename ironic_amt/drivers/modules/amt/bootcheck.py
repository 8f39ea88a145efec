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

"""What became of an armed boot override: still pending, used, refused.

AMT has no persistent "next boot": SetBootConfigRole(1) arms the override
for one boot, after which the role reverts and the BIOS clears the boot
options (amt-redirection.md section 7; SDK
``setordisablebootconfigurationsettingsforthenextboot.htm``). What the
device tells about it:

* ``AMT_BootSettingData.OptionsCleared``: true once the BIOS has cleared
  the options, i.e. a boot used them (false right after a Put). One Get,
  the cheap probe.
* ``CIM_ElementSettingData.IsNext`` of the boot configuration: 3 while
  armed, 2 once used (Enumerate and Pull): the confirmation.
* ``AMT_BootSettingData.BIOSLastStatus``: word 0 is 0 success, 1 in
  progress, 2 not updated, 0xFFFF failed; word 1 details it
  (``ocr.BIOS_DETAIL``).
* ``IPS_HostBootReason``: why the host last booted (AMT 8+).

Every value reported onwards is an int or a mapped constant: nothing the
device sent is passed on verbatim.
"""

import collections

from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import ocr
from ironic_amt.wsman import resource_uris

SETTING_DATA_SELECTORS = {'InstanceID': 'Intel(r) AMT:BootSettingData 0'}
BOOT_CONFIG_ID = 'Intel(r) AMT: Boot Configuration 0'
BOOT_CONFIG_SELECTORS = {'InstanceID': BOOT_CONFIG_ID}
IS_NEXT_SINGLE_USE = 3

BIOS_STATUS_MAP = {ocr.BIOS_STATUS_SUCCESS: 'success',
                   ocr.BIOS_STATUS_IN_PROGRESS: 'in progress',
                   ocr.BIOS_STATUS_NOT_UPDATED: 'not updated',
                   ocr.BIOS_STATUS_FAILED: 'failed'}
BOOT_REASON_MAP = {1: 'not started by AMT (the operating system or a '
                      'person rebooted it)',
                   2: 'remote control', 3: 'AMT alarm clock'}
REASON_DETAILS = frozenset(['Reset', 'Power Up', 'Power Cycle'])
# At most this many words of BIOSLastStatus are looked at.
_STATUS_WORDS = 2

Observation = collections.namedtuple(
    'Observation', 'used bios_status boot_reason settings')
"""What the device reports: ``used`` (a boot used the override, or
nothing is armed), ``bios_status`` (a tuple of up to two ints, or None),
``boot_reason`` (a description, or None) and ``settings`` (the
AMT_BootSettingData instance as read)."""


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def bios_status(settings):
    """BIOSLastStatus as ints.

    :param settings: the AMT_BootSettingData instance.
    :returns: a tuple of up to two ints, or None if absent or garbled.
    """
    value = settings.get('BIOSLastStatus')
    words = value if isinstance(value, list) else [value]
    parsed = tuple(_int(word) for word in words[:_STATUS_WORDS])
    if not parsed or None in parsed:
        return None
    return parsed


def bios_failed(status):
    """Whether BIOSLastStatus reports a failure.

    :param status: the result of :func:`bios_status`.
    :returns: bool.
    """
    return bool(status) and (status[0] == ocr.BIOS_STATUS_FAILED
                             or (len(status) > 1 and status[1] != 0))


def describe_bios_status(status):
    """BIOSLastStatus in words.

    :param status: the result of :func:`bios_status`.
    :returns: e.g. '65535 (failed), 3 (feature not supported)'.
    """
    if not status:
        return 'not reported'
    maps = (BIOS_STATUS_MAP, ocr.BIOS_DETAIL)
    return ', '.join('%d (%s)' % (word, maps[i].get(word, 'unknown'))
                     for i, word in enumerate(status))


def override_pending(client):
    """Whether the boot configuration is still armed (IsNext 3).

    :param client: a :class:`wsman.Client`.
    :returns: bool; False when no instance names the boot configuration.
    :raises: WSManError from the client.
    """
    for item in client.enumerate(resource_uris.CIM_ElementSettingData):
        setting = item.get('SettingData')
        if not isinstance(setting, dict):
            continue
        params = setting.get('ReferenceParameters') or {}
        selectors = params.get('SelectorSet') if isinstance(
            params, dict) else None
        if (isinstance(selectors, dict)
                and selectors.get('InstanceID') == BOOT_CONFIG_ID):
            return _int(item.get('IsNext')) == IS_NEXT_SINGLE_USE
    return False


def boot_reason(client):
    """Why the host last booted, in words.

    :param client: a :class:`wsman.Client`.
    :returns: e.g. 'remote control (Reset)', or None when the firmware
        does not serve IPS_HostBootReason.
    :raises: WSManError (but WSManFault) from the client.
    """
    try:
        reason = client.get(resource_uris.IPS_HostBootReason)
    except wsman_exc.WSManFault:
        return None
    text = BOOT_REASON_MAP.get(_int(reason.get('Reason')))
    if text is None:
        return None
    details = str(reason.get('ReasonDetails') or '').strip()
    return '%s (%s)' % (text, details) if details in REASON_DETAILS else text


def observe(client, confirm=True):
    """Read what became of the armed override.

    One Get while the override is pending; when the options were cleared,
    the IsNext confirmation (``confirm``) and the boot reason too.

    :param client: a :class:`wsman.Client`.
    :param confirm: check IsNext before calling the override used.
    :returns: an :class:`Observation`.
    :raises: WSManError from the client.
    """
    settings = client.get(resource_uris.AMT_BootSettingData,
                          selectors=SETTING_DATA_SELECTORS)
    status = bios_status(settings)
    cleared = str(settings.get('OptionsCleared', '')).strip() == 'true'
    if not cleared or (confirm and override_pending(client)):
        return Observation(False, status, None, settings)
    return Observation(True, status, boot_reason(client), settings)
