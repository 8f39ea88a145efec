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

"""What the redirection port obeys, and the device's one SOL session.

The settings live in model.features (AMT_RedirectionService EnabledState
and ListenerEnabled, which provisioning leaves off): the port accepts
sessions only while ListenerEnabled is true, which gates SOL, IDE-R and
KVM alike (Intel console ``features.go``), and SOL starts only while
EnabledState includes SOL (32770, 32771) (AMT SDK
AMT_RedirectionService).  One SOL session at a time.
"""


class RedirectionModel(object):
    """The SOL session holder; guarded by the device lock."""

    def __init__(self, device):
        """Create the model.

        :param device: the owning device.Device (its ``features`` part
            is built first).
        """
        self._device = device
        self._lock = device.lock
        self._sol_session = None

    @property
    def listening(self):
        """Whether the redirection port accepts sessions at all."""
        features = self._device.features
        with self._lock:
            return features.listener

    @property
    def sol_enabled(self):
        """Whether SOL sessions may start."""
        return self._device.features.sol_enabled

    def claim_sol(self, owner):
        """Take the device's one SOL session.

        :param owner: an object identifying the session.
        :returns: True, or False when another session holds SOL.
        """
        with self._lock:
            if self._sol_session is not None:
                return False
            self._sol_session = owner
            return True

    def release_sol(self, owner):
        """Give SOL back (no-op unless ``owner`` holds it).

        :param owner: the object passed to claim_sol.
        """
        with self._lock:
            if self._sol_session is owner:
                self._sol_session = None

    @property
    def session_open(self):
        """Whether a redirection session holds SOL now."""
        with self._lock:
            return self._sol_session is not None
