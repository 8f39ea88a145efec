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

"""The amt-kvm graphical console end to end, as an operator uses it.

Real Ironic 39 (the all-in-one ``ironic`` process running the noVNC proxy
with ``[vnc]enabled``), the ``baremetal`` CLI, noVNC's files from
Debian's ``novnc`` package, headless Chromium from Debian's ``chromium``
and the simulator's KVM: the page at the URL of ``baremetal node console
show`` must show the simulated screen, follow a power-on and take typed
keys.  The screenshot in the docs (doc/source/images/amt-kvm-console.png)
is taken here: run with IRONIC_AMT_UPDATE_SCREENSHOT=1 to refresh it.
"""

import base64
import io
import os
import shutil
import time

from PIL import Image
from testtools import content

from ironic_amt.simulator import DeviceSpec
from ironic_amt.testing import browser
from ironic_amt.testing import harness
from ironic_amt.testing import kvm_screen
from ironic_amt.testing import packages
from ironic_amt.testing import waiting
from ironic_amt.tests.e2e import base

NOVNC_WEB = '/usr/share/novnc'
SCREENSHOT = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                          'doc', 'source', 'images', 'amt-kvm-console.png')
WAIT = 30.0
CANVAS_PNG = ("document.querySelector('canvas') && "
              "document.querySelector('canvas').width > 1 ? "
              "document.querySelector('canvas').toDataURL('image/png') : ''")
CANVAS_BOX = ("(() => { const r = document.querySelector('canvas')"
              ".getBoundingClientRect(); return [r.left, r.top, r.width, "
              "r.height, window.devicePixelRatio]; })()")


def install_browser_and_novnc():
    """Chromium and noVNC from Debian (bounded apt-get, once)."""
    paths = packages.ensure_commands({'chromium': 'chromium'})
    if not os.path.exists(os.path.join(NOVNC_WEB, 'vnc_lite.html')):
        packages.apt_install(['novnc'])
    return paths['chromium']


class KVMConsoleTest(base.StackTestCase):

    DEVICES = (DeviceSpec('kvm-0', password='Kvm-Pass-1',
                          power_delay=0.1),
               DeviceSpec('kvm-1', password='Kvm-Pass-2', power_state=2))
    TEST_TIMEOUT = 240

    @classmethod
    def make_stack(cls):
        cls.chromium = install_browser_and_novnc()
        return harness.Stack(
            list(cls.DEVICES), novnc_web=NOVNC_WEB,
            extra_options={'DEFAULT': {
                'enabled_console_interfaces': 'amt-kvm,no-console'}})

    def setUp(self):
        super().setUp()
        self.browser = browser.Browser(self.chromium)
        self.browser.start()
        self.addCleanup(self.browser.stop)

    def canvas_image(self):
        data = self.browser.evaluate(CANVAS_PNG)
        if not data:
            return None
        return Image.open(io.BytesIO(base64.b64decode(
            data.split(',', 1)[1])))

    def wait_for_screen(self, device, what):
        """The canvas shows the simulated screen, pixel for pixel."""
        def shown():
            image = self.canvas_image()
            return image is not None and kvm_screen.mismatches(
                image, kvm_screen.expected_image(device)) == 0
        waiting.wait_until(shown, WAIT, 0.2, what)

    def test_console_in_the_browser(self):
        device = self.stack.sim.device('kvm-0')
        name = 'kvm-node'
        self.stack.create_node(
            name, device, amt_redirection_port=device.redirection_port)
        self.ironic.cli('node', 'set', name, '--console-interface',
                        'amt-kvm', parse=False)
        self.ironic.cli('node', 'console', 'enable', name, parse=False)
        self.ironic.wait_for_node(name, WAIT, console_enabled=True)
        self.assertTrue(device.kvm.enabled)
        shown = self.ironic.cli('node', 'console', 'show', name)
        info = shown['console_info']
        self.assertEqual('vnc', info['type'])
        self.assertTrue(info['url'].startswith(
            'http://127.0.0.1:%d/vnc_lite.html?path=websockify'
            % self.ironic.vnc_port))

        started = time.monotonic()
        self.browser.navigate(info['url'])
        self.wait_for_screen(device, 'the no-signal screen in noVNC')
        first_frame = time.monotonic() - started
        self.assertIsNotNone(kvm_screen.find_text_row(device, 'No Signal'))

        self.ironic.cli('node', 'power', 'on', name, parse=False)
        self.ironic.wait_for_node(name, WAIT, power_state='power on')
        self.wait_for_screen(device, 'the firmware screen after power on')

        self.browser.evaluate("document.querySelector('canvas').focus()")
        self.browser.type_text('hello from noVNC')
        self.browser.press_enter()
        waiting.wait_until(
            lambda: kvm_screen.find_text_row(device,
                                             'login: hello from noVNC'),
            WAIT, 0.1, 'typed text on the simulated console')
        self.wait_for_screen(device, 'the typed text in noVNC')

        # The page itself, as a person sees it: the canvas region of the
        # screenshot is the simulated screen.
        png = self.browser.screenshot()
        left, top, width, height, ratio = self.browser.evaluate(CANVAS_BOX)
        self.assertEqual((800, 600, 1), (width, height, ratio))
        page = Image.open(io.BytesIO(png))
        region = page.crop((int(left), int(top), int(left) + 800,
                            int(top) + 600))
        self.assertEqual(0, kvm_screen.mismatches(
            region, kvm_screen.expected_image(device)))
        path = os.path.join(self.ironic.workdir, 'amt-kvm-console.png')
        with open(path, 'wb') as f:
            f.write(png)
        if os.environ.get('IRONIC_AMT_UPDATE_SCREENSHOT'):
            shutil.copyfile(path, os.path.abspath(SCREENSHOT))
        self.addDetail('first_frame_seconds',
                       content.text_content('%.3f' % first_frame))

        self.ironic.cli('node', 'console', 'disable', name, parse=False)
        self.ironic.wait_for_node(name, WAIT, console_enabled=False)
        waiting.wait_until(lambda: not device.kvm.session_open, WAIT, 0.1,
                           'the KVM session to end with the console')
        node = self.ironic.node(name)
        self.assertNotIn('vnc_port', node['driver_internal_info'])

    def console_url(self, name):
        return self.ironic.cli('node', 'console', 'show',
                               name)['console_info']['url']

    def test_console_restored_after_conductor_restart(self):
        device = self.stack.sim.device('kvm-1')
        name = 'kvm-restart'
        self.stack.create_node(name, device, index=1)
        self.ironic.cli('node', 'set', name, '--console-interface',
                        'amt-kvm', parse=False)
        self.ironic.cli('node', 'console', 'enable', name, parse=False)
        self.ironic.wait_for_node(name, WAIT, console_enabled=True)
        before = self.console_url(name)

        self.ironic.restart()
        # The conductor starts the consoles of console_enabled nodes again
        # (console_restore): a new relay and a new noVNC token, so a new
        # URL (the API masks the token in driver_internal_info).

        def restored():
            node = self.ironic.node(name)
            if (node['console_enabled']
                    and node['driver_internal_info'].get('vnc_port')):
                url = self.console_url(name)
                return url if url != before else None
            return None

        url = waiting.wait_until(restored, WAIT * 2, 0.5,
                                 'the restored console')
        self.assertIsNone(self.ironic.node(name)['last_error'])
        self.browser.navigate(url)
        self.wait_for_screen(device, 'the screen through the new relay')
        self.ironic.cli('node', 'console', 'disable', name, parse=False)
        self.ironic.wait_for_node(name, WAIT, console_enabled=False)
