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

"""Device specifications and the simulator configuration file."""

import dataclasses
import json
import re

from ironic_amt.simulator.model import features as features_mod
from ironic_amt.simulator import profiles

# What a device boots from when no override applies.
BOOT_SOURCES = ('disk', 'pxe', 'cdrom', 'bios', 'default')

# Power states a device may start in: on, sleep, hibernate, off.
INITIAL_POWER_STATES = (2, 4, 7, 8)

_REALM_RE = re.compile(r'^Digest:[0-9A-F]{32}$')

# Simulator keyword arguments a configuration file may set.
SIMULATOR_KEYS = ('control_port', 'log_path', 'state_dir')


@dataclasses.dataclass
class DeviceSpec(object):
    """What one simulated AMT device looks like.

    ``http_port``/``https_port`` 0 means an OS-assigned port.  ``realm``
    None means a random ``Digest:<32 HEX>``.  ``inventory`` maps a class
    name to a dict (fields merged into the first generated instance) or a
    list of dicts (replacing the generated instances).  ``log_limit``
    bounds the in-memory request log (the log file is not bounded).
    ``timing`` is a timing profile of profiles.TIMINGS: ``fast``
    (``power_delay``, then the new state) or ``realistic``.
    KVM starts disabled, as provisioning leaves it, unless ``kvm_enabled``;
    ``kvm_in_mebx`` False models KVM disabled in MEBx;
    ``control_mode`` is 1 (admin control mode) or 4 (client control
    mode, where KVM and boot control always need user consent).
    ``features`` changes what the profile offers: user consent,
    SOL/IDE-R redirection, OCR and RPE (see model.features.FEATURE_KEYS).
    ``redirection_port``/``redirection_tls_port`` are the redirection
    (SOL, KVM) ports; 0 means an OS-assigned port.
    """

    name: str
    username: str = 'admin'
    password: str = 'P@ssw0rd'
    address: str = '127.0.0.1'
    http_port: int = 0
    https_port: int = 0
    profile: str = '16.1'
    realm: str = None
    power_state: int = 8
    power_delay: float = 0.2
    timing: str = 'fast'
    default_boot: str = 'disk'
    lms: bool = True
    inventory: dict = None
    log_limit: int = 10000
    kvm_in_mebx: bool = True
    kvm_enabled: bool = False
    control_mode: int = 1
    features: dict = None
    redirection_port: int = 0
    redirection_tls_port: int = 0

    def __post_init__(self):
        """Validate the fields.

        :raises: ValueError naming the bad field.
        """
        profiles.get_profile(self.profile)
        self.profile = str(self.profile)
        profiles.get_timing(self.timing)
        if not self.name or '/' in self.name:
            raise ValueError('Device name %r is empty or has a "/"'
                             % self.name)
        if self.realm is not None and not _REALM_RE.match(self.realm):
            raise ValueError('Realm of %s must be Digest:<32 HEX>' % self.name)
        if self.power_state not in INITIAL_POWER_STATES:
            raise ValueError('power_state of %s must be one of %s'
                             % (self.name, INITIAL_POWER_STATES))
        if self.default_boot not in BOOT_SOURCES:
            raise ValueError('default_boot of %s must be one of %s'
                             % (self.name, BOOT_SOURCES))
        if self.control_mode not in (1, 4):
            raise ValueError('control_mode of %s must be 1 (ACM) or 4 '
                             '(CCM)' % self.name)
        if self.power_delay < 0:
            raise ValueError('power_delay of %s is negative' % self.name)
        try:
            features_mod.parse_features(profiles.get_profile(self.profile),
                                        self.features)
        except ValueError as exc:
            raise ValueError('features of %s: %s' % (self.name, exc))


def _read_file(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if path.endswith(('.yaml', '.yml')):
        import yaml  # only needed for YAML configuration files
        return yaml.safe_load(text)
    return json.loads(text)


def load_config(path_or_dict):
    """Read a simulator configuration.

    The configuration is a dict with ``devices`` (a list of DeviceSpec
    fields), optional ``defaults`` (fields applied to every device) and
    the optional simulator keys ``control_port``, ``log_path`` and
    ``state_dir``.

    :param path_or_dict: a dict, or the path of a JSON file (or YAML when
        the name ends in .yaml/.yml and PyYAML is installed).
    :returns: a dict of Simulator keyword arguments, ``devices`` holding
        DeviceSpec objects.
    :raises: ValueError for an invalid configuration.
    """
    data = (path_or_dict if isinstance(path_or_dict, dict)
            else _read_file(path_or_dict))
    if not isinstance(data, dict) or not isinstance(
            data.get('devices'), list):
        raise ValueError('The configuration needs a "devices" list')
    defaults = data.get('defaults') or {}
    unknown = set(data) - set(SIMULATOR_KEYS) - {'devices', 'defaults'}
    if unknown:
        raise ValueError('Unknown configuration keys: %s'
                         % ', '.join(sorted(unknown)))
    specs = []
    for entry in data['devices']:
        fields = dict(defaults)
        fields.update(entry)
        try:
            specs.append(DeviceSpec(**fields))
        except TypeError as exc:
            raise ValueError('Bad device entry %r: %s'
                             % (entry.get('name'), exc))
    result = {key: data[key] for key in SIMULATOR_KEYS if key in data}
    result['devices'] = specs
    return result
