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

"""One simulated AMT device: identity, state parts, faults and log.

A Device aggregates the state parts listed in PARTS (each an attribute:
``device.power``, ``device.boot``, ...), the generated inventory, the
armed faults and the request log.  It speaks neither HTTP nor SOAP.  All
parts share the device lock, so every public method is safe to call from
any thread: the asyncio endpoints and the Python/control APIs share it.

To add state (say, a redirection service), write a class taking the
device in its own module of this package, with optional ``snapshot()``/
``restore(state)`` for persistence, and add it to PARTS.
"""

import os
import threading

from ironic_amt.simulator import faults
from ironic_amt.simulator.model import boot
from ironic_amt.simulator.model import bootreason
from ironic_amt.simulator.model import consent
from ironic_amt.simulator.model import features
from ironic_amt.simulator.model import inventory
from ironic_amt.simulator.model import kvm
from ironic_amt.simulator.model import ocr
from ironic_amt.simulator.model import power
from ironic_amt.simulator.model import redirection
from ironic_amt.simulator import profiles
from ironic_amt.simulator import requestlog

# State parts of every device: (attribute, class taking the device).
# Order matters only for construction: later parts may use earlier ones.
PARTS = (
    ('power', power.PowerModel),
    ('features', features.FeatureModel),
    ('boot', boot.BootModel),
    ('redirection', redirection.RedirectionModel),
    ('kvm', kvm.KVMModel),
    ('consent', consent.ConsentModel),
    ('boot_reason', bootreason.BootReasonModel),
    ('ocr', ocr.OcrModel),
)


def random_realm():
    """A fresh AMT-style digest realm.

    :returns: 'Digest:' followed by 32 upper-case hex digits.
    """
    return 'Digest:' + os.urandom(16).hex().upper()


class Device(object):
    """A simulated AMT device (see the module docstring)."""

    def __init__(self, spec, sink=None, scheduler=None):
        """Create the device from its spec.

        :param spec: a config.DeviceSpec; without a realm the device gets
            a random one (the digest realm, also
            AMT_GeneralSettings.DigestRealm).
        :param sink: called with every log entry (dict) after it is
            recorded, e.g. to append it to the log file.
        :param scheduler: called as scheduler(delay, fn) to run fn later;
            without one, pending changes apply when next looked at.
        """
        self.spec = spec
        self.name = spec.name
        self.address = spec.address
        self.http_port = spec.http_port
        self.https_port = spec.https_port
        self.redirection_port = spec.redirection_port
        self.redirection_tls_port = spec.redirection_tls_port
        self.username = spec.username
        self.password = spec.password
        self.realm = spec.realm or random_realm()
        self.profile = spec.profile
        self.profile_info = profiles.get_profile(spec.profile)
        self.timing = profiles.get_timing(spec.timing)
        self.default_boot = spec.default_boot
        self.lock = threading.RLock()
        self.faults = faults.FaultSet()
        self.log = requestlog.RequestLog(spec.name, spec.log_limit, sink)
        self.system_uuid = str(inventory.system_uuid(self.name))
        self.mac_addresses = list(inventory.mac_addresses(self.name))
        self.inventory = inventory.apply_overrides(
            inventory.generate(self.name, self.profile_info, self.realm,
                               self.profile_info.power_states),
            spec.inventory)
        self.boot_hooks = []
        self._scheduler = scheduler
        self._boot_history = []
        self.parts = {}
        for attribute, part_class in PARTS:
            self.parts[attribute] = part_class(self)
            setattr(self, attribute, self.parts[attribute])

    def schedule(self, delay, callback):
        """Run ``callback`` about ``delay`` seconds from now.

        :param delay: seconds.
        :param callback: called without arguments, from the loop thread.
        """
        if self._scheduler is not None:
            self._scheduler(delay, callback)

    # Logging --------------------------------------------------------------

    def record(self, entry):
        """Add an entry to the request log (see requestlog.RequestLog).

        :param entry: a dict with at least ``event``.
        :returns: the recorded entry.
        """
        return self.log.record(entry)

    @property
    def request_log(self):
        """The request log: requests and boot events, oldest first."""
        self.power.settle()
        return self.log.entries()

    def log_since(self, seq):
        """Log entries with a sequence number above ``seq``.

        :param seq: the last sequence number already seen.
        :returns: a list of entries.
        """
        self.power.settle()
        return self.log.entries(seq)

    def clear_log(self):
        """Empty the in-memory request log (numbering continues)."""
        self.log.clear()

    # Faults ---------------------------------------------------------------

    def inject(self, fault, count=None, probability=None, **params):
        """Arm a fault (see faults.FaultSet.inject).

        :param fault: the fault name.
        :param count: apply to the next N matching events only.
        :param probability: apply with this probability.
        :param params: fault parameters, e.g. seconds=2.
        :raises: ValueError for an unknown fault or parameter.
        """
        self.faults.inject(fault, count=count, probability=probability,
                           **params)

    def clear_faults(self):
        """Disarm every fault."""
        self.faults.clear()

    # Power ----------------------------------------------------------------

    @property
    def power_state(self):
        """The current PowerState (2 on, 8 off, 4 sleep, 7 hibernate)."""
        return self.power.state

    @property
    def power_change_pending(self):
        """Whether an accepted RequestPowerStateChange has not applied."""
        return self.power.pending

    @property
    def power_delay(self):
        """Seconds between an accepted power change and its effect."""
        return self.power.delay

    @power_delay.setter
    def power_delay(self, seconds):
        self.power.delay = seconds

    def set_power_state(self, value):
        """Force the power state, as a person at the machine would.

        :param value: 2, 4, 7 or 8.
        :raises: ValueError for another value.
        """
        self.power.force(value)

    # Boot -----------------------------------------------------------------

    def os_boot(self):
        """Simulate a reboot initiated by the host OS.

        :returns: the boot event.
        :raises: ValueError when the host is not on.
        """
        with self.lock:
            if self.power.state != power.POWER_ON:
                raise ValueError('%s is not powered on' % self.name)
            return self.boot_host('os')

    def boot_host(self, via):
        """The host starts booting now: take the override, log the boot.

        Called by the power model (``via`` is the PowerState that caused
        the boot) and by os_boot ('os').  Every function in boot_hooks
        is then called with the boot event and the settings it used.

        :param via: what caused the boot.
        :returns: the boot event (a request-log entry).
        """
        with self.lock:
            source, settings = self.boot.consume()
            entry = self.record({
                'event': 'boot', 'source': source or self.default_boot,
                'override': source is not None, 'via': via})
            self._boot_history.append(entry)
            for hook in self.boot_hooks:
                hook(entry, settings)
            return entry

    @property
    def boot_history(self):
        """Boot events, oldest first (dicts as in the request log)."""
        self.power.settle()
        with self.lock:
            return list(self._boot_history)

    @property
    def last_boot_source(self):
        """Source of the last boot ('pxe', 'disk', ...), or None."""
        history = self.boot_history
        return history[-1]['source'] if history else None

    @property
    def boot_sources(self):
        """CIM_BootSourceSetting InstanceID -> source name."""
        return self.boot.sources

    @property
    def boot_override(self):
        """What is armed for the next boot.

        :returns: dict with source (name or None), instance_id, role,
            armed (whether the next boot will use it), bios_setup,
            bios_pause, use_sol, use_ider, boot_media_index and
            options_cleared.
        """
        self.power.settle()
        return self.boot.describe()

    # Persistence ----------------------------------------------------------

    def snapshot(self):
        """The state worth keeping across simulator restarts.

        :returns: a JSON-serialisable dict, one key per state part.
        """
        with self.lock:
            state = {name: part.snapshot()
                     for name, part in self.parts.items()
                     if hasattr(part, 'snapshot')}
            state['boot_history'] = list(self._boot_history)
            return state

    def restore(self, state):
        """Load a snapshot() taken by an earlier run.

        :param state: the dict snapshot() returned.
        """
        with self.lock:
            for name, part in self.parts.items():
                if name in state and hasattr(part, 'restore'):
                    part.restore(state[name])
            self._boot_history = list(state.get('boot_history', ()))
