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

"""The host's serial port as a SOL session sees it.

Each boot of the device prints a firmware banner, the boot source it
booted (and whether an AMT override chose it), then a login prompt
(BIOS setup prints its own line instead).  Typed bytes are echoed while
the host is on, like a getty; CR ends a line and shows the prompt again.
Nothing is printed or echoed while the host is off.  Output of boots
that happened before the session started is not replayed, as on a real
serial line.
"""

# Boot source -> how the firmware names it.
SOURCE_NAMES = {
    'pxe': 'PXE (network)', 'disk': 'hard disk', 'cdrom': 'CD/DVD',
    'bios': 'BIOS setup', 'https': 'UEFI HTTPS (One-Click Recovery)',
    'uefi': 'UEFI boot option', 'default': 'the default boot order',
}
POWER_ON = 2
# Bytes of typed input held for the current line.
MAX_LINE = 256


class SerialHost(object):
    """One session's view of a device's serial console.

    :param device: the simulated device (boot_history, power_state,
        name, profile_info).
    """

    def __init__(self, device):
        self.device = device
        self._seen = len(device.boot_history)
        self._line = bytearray()
        self._after_cr = False

    @property
    def power_on(self):
        """Whether the host is powered on."""
        return self.device.power_state == POWER_ON

    def _prompt(self):
        return ('\r\n%s login: ' % self.device.name).encode()

    def boot_output(self, event):
        """What the host prints for one boot event.

        :param event: a boot entry of the request log.
        :returns: a list of byte strings, one per line.
        """
        source = event.get('source')
        how = ('one-time override from Intel AMT' if event.get('override')
               else 'no override')
        lines = [
            '\r\nIntel(R) AMT simulated firmware %s (%s)\r\n'
            % (self.device.profile_info.version, self.device.name),
            'Boot source: %s [%s] (%s)\r\n'
            % (source, SOURCE_NAMES.get(source, source), how),
        ]
        self._line.clear()
        if source == 'bios':
            lines.append('Entering BIOS setup\r\n')
            return [line.encode() for line in lines]
        lines.append('Booting from %s ...\r\n'
                     % SOURCE_NAMES.get(source, source))
        return [line.encode() for line in lines] + [self._prompt()]

    def poll(self):
        """Output produced since the last poll.

        :returns: a list of byte strings.
        """
        history = self.device.boot_history
        new, self._seen = history[self._seen:], len(history)
        output = []
        for event in new[-4:]:
            output.extend(self.boot_output(event))
        return output

    def type(self, data):
        """Bytes typed on the SOL console.

        :param data: the bytes received from the client.
        :returns: the bytes echoed back (empty while the host is off).
        """
        if not self.power_on:
            return b''
        echo = bytearray()
        for byte in data:
            after_cr, self._after_cr = self._after_cr, byte == 0x0D
            if byte == 0x0A and after_cr:
                continue    # CR LF is one end of line
            if byte in (0x0D, 0x0A):
                self._line.clear()
                echo += self._prompt()
            elif byte in (0x08, 0x7F):
                if self._line:
                    self._line.pop()
                    echo += b'\b \b'
            elif len(self._line) < MAX_LINE:
                self._line.append(byte)
                echo.append(byte)
        return bytes(echo)
