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

"""Firmware profiles (what differs between AMT generations) and timing
profiles (how long the machine takes)."""

import collections
import ssl

Profile = collections.namedtuple('Profile', [
    'name',           # profile key, e.g. '16.1'
    'version',        # full firmware version string
    'http_open',      # whether the non-TLS port 16992 is served
    'tls_minimum',    # minimum TLS version offered on 16993
    'legacy_ciphers',  # offer plain-RSA key exchange suites
    'ocr',            # One-Click Recovery boot sources present
    'power_states',   # RequestedPowerStatesSupported, in AMT's order
    'qop',            # the qop offer of the digest challenge
])

# Versions follow real release numbering; build numbers are simulator
# values except 11.8.50.3425, which was seen on the wire.
PROFILES = {
    '11.8': Profile('11.8', '11.8.50.3425', True,
                    ssl.TLSVersion.TLSv1, True, False,
                    (5, 8, 2, 10, 11, 4, 7, 12, 14), 'auth'),
    '12': Profile('12', '12.0.67.1000', True,
                  ssl.TLSVersion.TLSv1_2, False, False,
                  (5, 8, 2, 10, 11, 4, 7, 12, 14), 'auth'),
    # AMT 14 and later also offer auth-int (SDK, authentication options).
    '16.1': Profile('16.1', '16.1.25.2124', True,
                    ssl.TLSVersion.TLSv1_2, False, True,
                    (5, 8, 2, 10, 11, 4, 7, 12, 14), 'auth-int,auth'),
    '19': Profile('19', '19.0.5.1932', False,
                  ssl.TLSVersion.TLSv1_2, False, True,
                  (5, 8, 2, 10, 11, 4, 7, 12, 14), 'auth-int,auth'),
}


def get_profile(name):
    """Look a firmware profile up by name.

    :param name: a key of PROFILES, e.g. '16.1'.
    :returns: the Profile.
    :raises: ValueError for an unknown profile.
    """
    try:
        return PROFILES[str(name)]
    except KeyError:
        raise ValueError('Unknown AMT profile %r; known: %s'
                         % (name, ', '.join(sorted(PROFILES))))


def server_header(profile):
    """The HTTP Server header value a device of this profile sends.

    :param profile: a Profile.
    :returns: the header value.
    """
    return 'Intel(R) Active Management Technology %s' % profile.version


Timing = collections.namedtuple('Timing', [
    'name',
    # Requested PowerState -> the states the host passes through, as
    # (seconds after the previous step, PowerState) pairs; None: one step
    # to the final state after the device's power_delay.
    'transitions',
    # Seconds from the host starting (power on, reset) to the moment BIOS
    # takes the boot override (POST); 0 takes it at once.
    'post',
    # Seconds the ME spends on each new TLS handshake.
    'tls_handshake',
])

# ``fast`` is for tests: one step after power_delay, no POST, free TLS.
# ``realistic`` follows what AMT clients are told to expect: a power
# change is acknowledged by BIOS within about 10 s (SDK,
# changesystempowerstate), a power cycle passes through off, a graceful
# request waits for the OS to shut down, BIOS takes the override during
# POST seconds after power on, and the ME's RSA handshake takes a few
# hundred milliseconds.  The magnitudes are modelled, not measured.
TIMINGS = {
    'fast': Timing('fast', None, 0.0, 0.0),
    'realistic': Timing('realistic', {
        2: ((2.0, 2),),
        4: ((2.0, 4),),
        5: ((1.0, 8), (2.0, 2)),
        7: ((3.0, 7),),
        8: ((1.0, 8),),
        10: ((0.5, 2),),
        11: ((0.5, None),),
        12: ((4.0, 8),),
        14: ((4.0, 8), (1.0, 2)),
    }, 3.0, 0.3),
}


def get_timing(name):
    """Look a timing profile up by name.

    :param name: a key of TIMINGS.
    :returns: the Timing.
    :raises: ValueError for an unknown timing profile.
    """
    try:
        return TIMINGS[name]
    except KeyError:
        raise ValueError('Unknown timing profile %r; known: %s'
                         % (name, ', '.join(sorted(TIMINGS))))
