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

"""What the simulated host shows on its screen, as lines of text.

The KVM server (:mod:`ironic_amt.simulator.protocol.rfb`) draws these
lines; this module only decides the text and colours from the device
state: a
no-signal screen while the host is not running, otherwise a firmware
screen naming the power state and the boot source of the last boot,
then a text console where typed keys appear (so input is provable).
"""

import collections
import threading

from ironic_amt.simulator.model import font

WIDTH = 800
HEIGHT = 600
COLUMNS = WIDTH // font.CELL_WIDTH
ROWS = HEIGHT // font.CELL_HEIGHT

# 8-bit RGB of the colours used on the screen (VGA text palette).
PALETTE = {
    'black': (0, 0, 0),
    'blue': (0, 0, 170),
    'cyan': (0, 170, 170),
    'grey': (170, 170, 170),
    'darkgrey': (85, 85, 85),
    'white': (255, 255, 255),
    'yellow': (255, 255, 85),
    'green': (85, 255, 85),
}

# X11 keysyms (RFC 6143 7.5.4) the console understands besides
# printable Latin-1.
KEY_RETURN = (0xff0d, 0xff8d)
KEY_BACKSPACE = 0xff08

POWER_NAMES = {2: 'on (S0)', 4: 'sleeping (S3)', 7: 'hibernating (S4)',
               8: 'off (S5)'}
BOOT_MESSAGES = {
    'pxe': '>> Booting from the network (PXE) ...',
    'disk': '>> Booting from the local disk ...',
    'cdrom': '>> Booting from CD/DVD ...',
    'bios': '>> Entering firmware setup ...',
}
# Lines of the firmware screen above the console.
_CONSOLE_TOP = 12
# Typed lines kept: what fits below the firmware screen.
_CONSOLE_LINES = ROWS - _CONSOLE_TOP - 2
_MAX_INPUT = COLUMNS - 20

# A line is a tuple of segments; their texts add up to COLUMNS characters.
Segment = collections.namedtuple('Segment', ['text', 'fg', 'bg'])


def _line(text='', fg='grey', bg='black'):
    return (Segment(text[:COLUMNS].ljust(COLUMNS), fg, bg),)


class HostScreen(object):
    """The text screen of one simulated host, with its typed input.

    :param device: the simulated device (name, power state, boot
        history).
    """

    def __init__(self, device):
        self._device = device
        self._lock = threading.Lock()
        self._typed = collections.deque(maxlen=_CONSOLE_LINES)
        self._input = ''
        self._boots_seen = 0

    def _follow_boots(self, boots):
        # A new boot clears the console, as a real host's screen does.
        if boots != self._boots_seen:
            self._boots_seen = boots
            self._typed.clear()
            self._input = ''

    def key(self, keysym, down):
        """A key event from a KVM viewer.

        Printable keys are typed on the console, Return ends the line,
        BackSpace deletes; nothing happens while the host is off.

        :param keysym: the X11 keysym.
        :param down: True for a key press.
        :returns: True when the screen changed.
        """
        if not down or self._device.power_state != 2:
            return False
        boots = len(self._device.boot_history)
        with self._lock:
            self._follow_boots(boots)
            if keysym in KEY_RETURN:
                self._typed.append(self._input)
                self._input = ''
            elif keysym == KEY_BACKSPACE:
                self._input = self._input[:-1]
            elif 0x20 <= keysym <= 0x7e and len(self._input) < _MAX_INPUT:
                self._input += chr(keysym)
            else:
                return False
            return True

    def lines(self):
        """The screen as ROWS lines of COLUMNS characters.

        :returns: a list of ROWS lines, each a tuple of Segment (text,
            foreground and background colour names).
        """
        device = self._device
        power = device.power_state
        if power != 2:
            return self._no_signal(power)
        history = device.boot_history
        with self._lock:
            self._follow_boots(len(history))
            typed = list(self._typed)
            current = self._input
        last = history[-1] if history else None
        source = last['source'] if last else device.default_boot
        how = ('one-time override from AMT' if last and last['override']
               else 'default boot order')
        rows = [
            _line(' Intel(R) AMT KVM  -  simulated host %s' % device.name,
                  'white', 'blue'),
            _line(),
            _line(' Simulated UEFI firmware, AMT profile %s'
                  % device.profile, 'white'),
            _line(' Host MAC %s' % device.mac_addresses[0]),
            _line(),
            _line(' Power state : %s' % POWER_NAMES.get(power, power),
                  'yellow'),
            _line(' Boot source : %s (%s)' % (source, how), 'yellow'),
            _line(' Boots       : %d' % len(history), 'yellow'),
            _line(),
            _line(' ' + BOOT_MESSAGES.get(source, '>> Booting %s ...'
                                          % source), 'green'),
            _line(),
        ]
        prompt = '%s login: ' % device.name
        rows.extend(_line(prompt + text) for text in typed)
        rows.append(_line(prompt + current + '_', 'white'))
        while len(rows) < ROWS - 1:
            rows.append(_line())
        rows.append(_line(' F2 Setup   F12 Network boot   '
                          'Typed keys appear on the console',
                          'black', 'cyan'))
        return rows[:ROWS]

    @staticmethod
    def _no_signal(power):
        rows = [_line() for _row in range(ROWS)]
        middle = ROWS // 2
        box = 'No Signal'.center(21)
        left = (COLUMNS - len(box)) // 2
        for offset, text in ((-1, ''), (0, box), (1, '')):
            rows[middle + offset] = (
                Segment(' ' * left, 'grey', 'black'),
                Segment(text.ljust(len(box)), 'white', 'darkgrey'),
                Segment(' ' * (COLUMNS - left - len(box)), 'grey', 'black'))
        status = 'host power state: %s' % POWER_NAMES.get(power, power)
        rows[middle + 3] = _line(status.center(COLUMNS), 'grey')
        return rows
