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

"""Reading the simulator's request log: what was armed before each boot."""

# RequestPowerStateChange values that make the machine boot (power on,
# master bus reset, graceful reset) and so consume an armed boot device.
BOOT_POWER_STATES = frozenset([2, 5, 10, 14])
# CIM_BootSourceSetting InstanceID -> the boot source the device reports.
SOURCE_DEVICES = {
    'Intel(r) AMT: Force PXE Boot': 'pxe',
    'Intel(r) AMT: Force Hard-drive Boot': 'disk',
    'Intel(r) AMT: Force CD/DVD Boot': 'cdrom',
    'Intel(r) AMT: Force OCR UEFI HTTPS Boot': 'https',
}


def _boot_call(entry):
    if entry.get('return_value') not in (None, 0):
        return None     # refused: it armed nothing
    method = entry.get('method')
    args = entry.get('args') or {}
    if method == 'ChangeBootOrder':
        return ('ChangeBootOrder', args.get('Source'))
    if method == 'SetBootConfigRole':
        return ('SetBootConfigRole', args.get('Role'))
    if (entry.get('action') == 'Put'
            and entry.get('resource') == 'AMT_BootSettingData'):
        return ('Put', 'AMT_BootSettingData')
    return None


def power_boots(request_log):
    """Pair each accepted booting power change with its arming and boot.

    :param request_log: a simulator Device's request_log.
    :returns: one dict per accepted RequestPowerStateChange in
        BOOT_POWER_STATES, in order: ``power_state``, ``time``, ``armed``
        (the accepted boot-configuration calls since the previous accepted
        power change, as (name, argument) tuples) and ``boot`` (the boot
        event that followed, or None).
    """
    results = []
    calls = []
    pending = None
    for entry in request_log:
        if entry.get('event') == 'boot':
            if pending is not None and pending['boot'] is None:
                pending['boot'] = entry
            continue
        if entry.get('event') != 'request' or entry.get('status') != 200:
            continue
        if entry.get('method') == 'RequestPowerStateChange':
            state = (entry.get('args') or {}).get('PowerState')
            if entry.get('return_value') != 0:
                # A refused change (Busy, In Use, not available) changes
                # nothing: the arming calls before it still count.
                continue
            if state in BOOT_POWER_STATES:
                pending = {'power_state': state, 'time': entry['time'],
                           'armed': calls, 'boot': None}
                results.append(pending)
            calls = []
            continue
        call = _boot_call(entry)
        if call is not None:
            calls.append(call)
    return results


def armed_device(calls):
    """Return the boot device armed by a list of boot calls, if well armed.

    The empty ChangeBootOrder clears what came before it, so only the calls
    from the last one on count: a persistent device armed again after a
    boot (the management interface's check) and then once more right
    before Ironic's next power change is still well armed.

    :param calls: the ``armed`` list of a :func:`power_boots` entry.
    :returns: 'pxe', 'disk', 'cdrom' or 'https' when the calls from the
        last empty ChangeBootOrder on are exactly the console order (empty
        ChangeBootOrder, Put AMT_BootSettingData, SetBootConfigRole(1),
        ChangeBootOrder(source)), else None.
    """
    clears = [i for i, call in enumerate(calls)
              if call == ('ChangeBootOrder', None)]
    tail = calls[clears[-1]:] if clears else calls
    if len(tail) != 4:
        return None
    source = tail[3][1]
    expected = [('ChangeBootOrder', None), ('Put', 'AMT_BootSettingData'),
                ('SetBootConfigRole', 1), ('ChangeBootOrder', source)]
    if tail != expected:
        return None
    return SOURCE_DEVICES.get(source)
