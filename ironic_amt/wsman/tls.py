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

"""TLS contexts shared by every connection with the same settings.

Building an ``ssl.SSLContext`` and loading a trust store costs tens of
milliseconds of CPU and most of a megabyte per context, so there is one
context per distinct setting (verification on or off, CA bundle, legacy
TLS) in the process, built on first use and shared by all devices.

``verify=True`` means the system trust store, as OpenSSL finds it
(``ssl.create_default_context()``; on Debian and Ubuntu
``/etc/ssl/certs``), not the certifi bundle that requests would use.
"""

import os
import ssl
import threading

# Ciphers for AMT 11 and older (plain RSA key exchange, TLS 1.0/1.1).
LEGACY_CIPHERS = 'DEFAULT:@SECLEVEL=0'

_LOCK = threading.Lock()
_CONTEXTS = {}


def _ca_key(verify):
    """Identify a CA path with its size and mtime.

    So that an edited bundle gets a new context.
    """
    if isinstance(verify, bool):
        return verify
    try:
        stat = os.stat(verify)
    except OSError:
        return (verify, None)
    return (verify, stat.st_size, stat.st_mtime_ns)


def _build(verify, legacy):
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif verify is True:
        context = ssl.create_default_context()
    elif os.path.isdir(verify):
        context = ssl.create_default_context(capath=verify)
    else:
        context = ssl.create_default_context(cafile=verify)
    if legacy:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers(LEGACY_CIPHERS)
    return context


def context_for(verify, legacy=False):
    """Return the shared SSL context for a TLS setting.

    :param verify: True (system trust store), False (no verification,
        insecure) or the path of a CA bundle file or directory.
    :param legacy: allow TLS 1.0+ and plain-RSA ciphers (AMT 11 and
        older); the certificate is still verified as ``verify`` says.
    :returns: an ``ssl.SSLContext``, the same object for the same setting.
    :raises: ssl.SSLError or OSError if the CA bundle cannot be loaded.
    """
    key = (_ca_key(verify), bool(legacy))
    context = _CONTEXTS.get(key)
    if context is None:
        with _LOCK:
            context = _CONTEXTS.get(key)
            if context is None:
                context = _CONTEXTS[key] = _build(verify, legacy)
    return context


def create_legacy_ssl_context(verify=True):
    """The shared context for AMT 11 and older firmware.

    :param verify: as for :func:`context_for`.
    :returns: an ``ssl.SSLContext`` accepting TLS 1.0 and later and the
        plain-RSA cipher suites of old firmware.
    """
    return context_for(verify, legacy=True)


def context_count():
    """How many contexts this process has built (for tests and tools)."""
    return len(_CONTEXTS)
