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

"""What a KVM viewer should see of a simulated device, as an image.

The simulator draws its screen from text lines; tests render the same
lines here, independently of any RFB code, and compare the pictures a
real viewer (vncdotool, noVNC in Chromium) received through the relay.
The relay passes AMT's RGB565 pixels on, so each colour channel may
differ by the 5/6-bit rounding: :data:`TOLERANCE`.
"""

from PIL import Image
from PIL import ImageChops

from ironic_amt.simulator.model import screen
from ironic_amt.simulator.protocol import rfb as sim_rfb

# Largest per-channel difference RGB565 rounding can make (8-bit scale).
TOLERANCE = 8
_RGBX = sim_rfb.PixelFormat(32, 24, False, (255, 255, 255), (0, 8, 16))


def expected_image(device):
    """The device's screen as the simulator draws it now.

    :param device: a simulator device.
    :returns: an RGB PIL image of screen.WIDTH x screen.HEIGHT.
    """
    renderer = sim_rfb.Renderer(_RGBX)
    rows = []
    for line in device.kvm.screen.lines():
        rows.extend(renderer.line(line))
    rows.extend([renderer.blank()]
                * (screen.HEIGHT - len(rows)))
    return Image.frombytes('RGBX', (screen.WIDTH, screen.HEIGHT),
                           b''.join(rows)).convert('RGB')


def mismatches(actual, expected, tolerance=TOLERANCE):
    """Count pixels differing by more than ``tolerance`` in a channel.

    :param actual: a PIL image of the same size as ``expected``.
    :param expected: the reference PIL image.
    :returns: the number of differing pixels (the sizes must match).
    """
    if actual.size != expected.size:
        return actual.size[0] * actual.size[1]
    difference = ImageChops.difference(actual.convert('RGB'),
                                       expected.convert('RGB'))
    bands = [band.point(lambda v: 255 if v > tolerance else 0)
             for band in difference.split()]
    worst = ImageChops.lighter(ImageChops.lighter(bands[0], bands[1]),
                               bands[2])
    return worst.histogram()[255]


def find_text_row(device, text):
    """The screen row showing ``text``, or None."""
    for index, line in enumerate(device.kvm.screen.lines()):
        if text in ''.join(segment.text for segment in line):
            return index
    return None
