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

"""Headless Chromium driven over the DevTools protocol, for e2e tests.

Starts Debian's ``chromium`` on a loopback DevTools port with a throwaway
profile, opens one page and offers what a test needs: navigate, evaluate
JavaScript, type keys, take a screenshot.  Every wait is bounded and the
browser is stopped by its process group.
"""

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile

import requests
import websocket

from ironic_amt.testing import harness
from ironic_amt.testing import waiting

START_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0


class BrowserError(RuntimeError):
    """Chromium did not start or a DevTools call failed."""


class Browser(object):
    """One headless Chromium with one page.

    :param executable: the chromium command.
    :param width: window width in pixels.
    :param height: window height in pixels.
    """

    def __init__(self, executable, width=1024, height=768):
        self.executable = executable
        self.width = width
        self.height = height
        self._profile = None
        self._proc = None
        self._ws = None
        self._ids = itertools.count(1)

    def start(self):
        """Start Chromium and attach to its page.

        :raises: BrowserError when it does not come up in time.
        """
        self._profile = tempfile.mkdtemp(prefix='ironic-amt-chromium-')
        self._proc = subprocess.Popen(
            [self.executable, '--headless=new', '--no-sandbox',
             '--disable-gpu', '--no-first-run', '--disable-extensions',
             '--remote-debugging-address=127.0.0.1',
             '--remote-debugging-port=0',
             '--user-data-dir=%s' % self._profile,
             '--window-size=%d,%d' % (self.width, self.height),
             'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = os.path.join(self._profile, 'DevToolsActivePort')
        try:
            waiting.wait_until(
                lambda: os.path.exists(port_file) and open(
                    port_file).read().count('\n') >= 1,
                START_TIMEOUT, 0.1, 'Chromium DevTools port')
        except waiting.WaitTimeout as e:
            self.stop()
            raise BrowserError(str(e))
        with open(port_file) as f:
            port = int(f.readline())
        targets = requests.get('http://127.0.0.1:%d/json/list' % port,
                               timeout=CALL_TIMEOUT).json()
        page = next(t for t in targets if t.get('type') == 'page')
        self._ws = websocket.create_connection(
            page['webSocketDebuggerUrl'], timeout=CALL_TIMEOUT,
            suppress_origin=True)

    def call(self, method, **params):
        """Send one DevTools command and return its result.

        :param method: e.g. 'Page.navigate'.
        :param params: the command parameters.
        :returns: the result dict.
        :raises: BrowserError on a DevTools error.
        """
        ident = next(self._ids)
        self._ws.send(json.dumps({'id': ident, 'method': method,
                                  'params': params}))
        # Events may arrive before the answer; at most this many are read.
        for _message in range(10000):
            message = json.loads(self._ws.recv())
            if message.get('id') == ident:
                if 'error' in message:
                    raise BrowserError('%s failed: %s'
                                       % (method, message['error']))
                return message.get('result', {})
        raise BrowserError('no answer to %s' % method)

    def navigate(self, url):
        """Open a URL in the page."""
        self.call('Page.navigate', url=url)

    def evaluate(self, expression):
        """The value of a JavaScript expression (awaited if a promise)."""
        result = self.call('Runtime.evaluate', expression=expression,
                           returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in result:
            raise BrowserError('JavaScript failed: %s'
                               % result['exceptionDetails'])
        return result['result'].get('value')

    def type_text(self, text):
        """Type printable characters as key presses."""
        for char in text:
            for kind in ('keyDown', 'keyUp'):
                self.call('Input.dispatchKeyEvent', type=kind, text=char,
                          key=char, unmodifiedText=char)

    def press_enter(self):
        """Press and release Return."""
        for kind in ('rawKeyDown', 'keyUp'):
            self.call('Input.dispatchKeyEvent', type=kind, key='Enter',
                      code='Enter', windowsVirtualKeyCode=13)

    def screenshot(self):
        """A PNG of the page.

        :returns: the PNG bytes.
        """
        return base64.b64decode(
            self.call('Page.captureScreenshot', format='png')['data'])

    def stop(self):
        """Close DevTools, stop Chromium and remove its profile."""
        if self._ws is not None:
            self._ws.close()
            self._ws = None
        if self._proc is not None:
            harness.stop_process(self._proc)
            self._proc = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None
