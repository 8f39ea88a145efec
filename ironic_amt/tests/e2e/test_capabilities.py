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

"""Persistent boot devices and Remote Platform Erase through a real Ironic.

The conductor's periodic task re-arms a persistent boot device after every
boot, including reboots the operating system starts by itself (the
simulator's ``POST /devices/<name>/boot``); out-of-band erase runs as a
manual clean step without a ramdisk.
"""

import json
import time

import requests
from testtools import content

from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import waiting
from ironic_amt.tests.e2e import base

REARM_INTERVAL = 1
# The [amt] re-arm check every second; node history on (Ironic's default).
OPTIONS = {'amt': {'rearm_interval': str(REARM_INTERVAL),
                   'erase_timeout': '20'},
           'conductor': {'node_history': 'true'}}


def armed(device, source):
    """Whether the device holds an armed override for a source."""
    override = device.boot_override
    return override['armed'] and override['source'] == source


class PersistentBootTest(base.StackTestCase):
    """A ramdisk deploy's persistent PXE survives reboots by the OS."""

    DEVICES = (DeviceSpec('pers-ramdisk', password='Pers-Ramdisk-1'),
               DeviceSpec('pers-once', password='Pers-Once-2'))
    IRONIC_OPTIONS = OPTIONS
    TEST_TIMEOUT = 120

    def os_reboot(self, name):
        """Reboot the host from its OS, through the control API."""
        resp = requests.post('%s/devices/%s/boot'
                             % (self.stack.sim.control_url, name),
                             timeout=10)
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()

    def test_persistent_pxe_survives_three_os_reboots(self):
        device = self.stack.sim.device('pers-ramdisk')
        self.stack.create_node('pers-ramdisk', device, index=1)
        self.stack.make_available('pers-ramdisk')
        self.stack.set_ramdisk_image('pers-ramdisk')
        self.ironic.cli('node', 'deploy', 'pers-ramdisk', parse=False)
        self.ironic.wait_for_node('pers-ramdisk', 60,
                                  provision_state='active')
        shown = self.ironic.cli('node', 'boot', 'device', 'show',
                                'pers-ramdisk')
        self.assertEqual({'boot_device': 'pxe', 'persistent': True}, shown)
        rearm_seconds = []
        for reboot in range(3):
            waiting.wait_until(lambda: armed(device, 'pxe'), 15,
                               what='PXE armed before OS reboot %d'
                               % (reboot + 1))
            boot = self.os_reboot('pers-ramdisk')
            self.assertEqual(('pxe', True, 'os'),
                             (boot['source'], boot['override'],
                              boot['via']))
            started = time.monotonic()
            waiting.wait_until(lambda: armed(device, 'pxe'), 15,
                               what='PXE armed again after OS reboot %d'
                               % (reboot + 1))
            rearm_seconds.append(time.monotonic() - started)
        self.addDetail('rearm_seconds', _text(rearm_seconds))
        for seconds in rearm_seconds:
            self.assertLess(seconds, 4 * REARM_INTERVAL + 2)

        # While nothing changes, one request per node per interval.
        seq = device.request_log[-1]['seq']
        started = time.monotonic()
        time.sleep(5 * REARM_INTERVAL)
        elapsed = time.monotonic() - started
        quiet = [e for e in device.log_since(seq) if e['event'] == 'request']
        self.addDetail('quiet_requests', _text(
            {'requests': len(quiet), 'seconds': round(elapsed, 2)}))
        self.assertEqual({('Get', 'AMT_BootSettingData')},
                         {(e['action'], e['resource']) for e in quiet})
        self.assertLessEqual(len(quiet), elapsed / REARM_INTERVAL + 1)
        self.assertGreaterEqual(len(quiet), 2)
        history = self.ironic.api('GET', '/v1/nodes/pers-ramdisk/history')
        self.assertEqual([], [e for e in history.json()['history']
                              if 'boot override' in (e.get('event_type')
                                                     or '')])

    def test_one_shot_device_is_not_armed_again(self):
        device = self.manageable_node('pers-once', 2)
        self.ironic.cli('node', 'boot', 'device', 'set', 'pers-once', 'pxe',
                        parse=False)
        self.ironic.cli('node', 'power', 'on', 'pers-once', parse=False)
        self.ironic.wait_for_node('pers-once', 30, power_state='power on')
        waiting.wait_until(lambda: device.boot_history, 10,
                           what='the power-on boot')
        self.assertEqual('pxe', device.boot_history[-1]['source'])
        # Three re-arm intervals later nothing is armed...
        time.sleep(3 * REARM_INTERVAL)
        self.assertFalse(device.boot_override['armed'])
        # ...and a reboot by the OS boots the BIOS default.
        boot = self.os_reboot('pers-once')
        self.assertEqual(('disk', False), (boot['source'], boot['override']))


class EraseTest(base.StackTestCase):
    """Manual cleaning with erase_devices_rpe and no ramdisk."""

    DEVICES = (DeviceSpec('erase-16', password='Erase-16-Pw'),
               DeviceSpec('erase-12', password='Erase-12-Pw', profile='12'))
    IRONIC_OPTIONS = OPTIONS
    TEST_TIMEOUT = 120

    def _clean(self, name, args):
        step = {'interface': 'management', 'step': 'erase_devices_rpe',
                'args': args}
        self.ironic.cli('node', 'clean', name, '--disable-ramdisk',
                        '--clean-steps', json.dumps([step]), parse=False)

    def test_manual_clean_erases_out_of_band(self):
        device = self.manageable_node('erase-16', 1, protocol='https')
        started = time.monotonic()
        self._clean('erase-16', {'devices': ['ssd', 'tpm']})
        node = self.ironic.wait_for_node('erase-16', 60,
                                         provision_state='manageable',
                                         target_provision_state=None)
        self.addDetail('clean_seconds', _text(
            round(time.monotonic() - started, 2)))
        self.assertIsNone(node['last_error'])
        erased = device.features.erase_history
        self.assertEqual([(['ssd_erase', 'tpm_clear',
                            'verify_storage_erase'], True)],
                         [(e['devices'], e['performed']) for e in erased])
        puts = [e['args'] for e in device.request_log
                if e.get('action') == 'Put']
        self.assertFalse(any(p.get('ConfigurationDataReset') for p in puts))
        # No ramdisk was booted: the only boot is the erase's power-on.
        self.assertEqual([False], [b['override']
                                   for b in device.boot_history])

    def test_firmware_without_rpe_fails_cleaning_clearly(self):
        device = self.manageable_node('erase-12', 2, protocol='https')
        self._clean('erase-12', {})
        node = self.ironic.wait_for_node('erase-12', 60,
                                         provision_state='clean failed')
        self.assertIn('does not support Remote Platform Erase',
                      node['last_error'])
        self.assertEqual([], device.features.erase_history)
        self.assertEqual([], device.boot_history)


def _text(value):
    return content.text_content(json.dumps(value))


class ConsentTest(base.StackTestCase):
    """A node in client control mode: validate and power on explain."""

    DEVICES = (DeviceSpec('consent-ccm', password='Consent-Ccm-1',
                          control_mode=4),)
    IRONIC_OPTIONS = dict(OPTIONS, DEFAULT={
        'enabled_inspect_interfaces': 'amt,agent,no-inspect'})
    TEST_TIMEOUT = 120

    def test_consent_is_explained(self):
        device = self.manageable_node('consent-ccm', 1)
        # Before inspection the device is asked, and refuses, at power-on.
        self.ironic.cli('node', 'boot', 'device', 'set', 'consent-ccm',
                        'pxe', parse=False)
        self.ironic.cli('node', 'power', 'on', 'consent-ccm', parse=False)
        node = waiting.wait_until(
            lambda: (lambda n: n if n['last_error'] else None)(
                self.ironic.node('consent-ccm')), 30,
            what='the power-on to fail')
        self.assertIn('user consent is required', node['last_error'])
        self.assertIn('client control mode', node['last_error'])
        self.assertEqual('power off', node['power_state'])
        self.assertEqual([], device.boot_history)

        # After inspection, validate says so without asking the device.
        self.ironic.cli('node', 'inspect', 'consent-ccm', parse=False)
        self.ironic.wait_for_node('consent-ccm', 30,
                                  provision_state='manageable',
                                  target_provision_state=None)
        traits = self.ironic.cli('node', 'trait', 'list', 'consent-ccm')
        self.assertIn('CUSTOM_AMT_CCM', [t['traits'] for t in traits])
        checks = {c['Interface']: c for c in self.ironic.cli(
            'node', 'validate', 'consent-ccm')}
        self.assertFalse(checks['management']['Result'])
        self.assertIn('user consent is required',
                      checks['management']['Reason'])
        self.assertTrue(checks['power']['Result'])
