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

"""Firmware profiles: what differs between AMT generations."""

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
