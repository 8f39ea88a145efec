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

"""What an AMT device can do: version, provisioning, consent, features.

Read out of band, over WS-Management, by inspection (which turns it into
node capabilities and traits) and by the consent check that explains an
"access denied" (see :mod:`ironic_amt.drivers.modules.amt.consent`).

Every value that leaves this module is one of the mapped constants below
or a version matched by a regular expression: nothing the device sent is
passed on verbatim.
"""

import collections
import re

from oslo_log import log as logging

from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import ocr
from ironic_amt.wsman import redirection_service
from ironic_amt.wsman import resource_uris

LOG = logging.getLogger(__name__)

# AMT_SetupAndConfigurationService.ProvisioningMode (amt-redirection.md 4).
ACM = 'acm'
CCM = 'ccm'
PROVISIONING_MODE_MAP = {1: ACM, 4: CCM}

# IPS_OptInService.OptInRequired: what needs user consent (notes 4).
CONSENT_NONE = 'none'
CONSENT_KVM = 'kvm'
CONSENT_ALL = 'all'
OPT_IN_REQUIRED_MAP = {0: CONSENT_NONE, 1: CONSENT_KVM,
                       redirection_service.OPT_IN_ALL: CONSENT_ALL}

# AMT_RedirectionService.EnabledState values enabling IDE-R (those
# enabling SOL: redirection_service.SOL_STATES) (amt-redirection.md 3).
IDER_STATES = frozenset([redirection_service.IDER_ENABLED,
                         redirection_service.IDER_SOL_ENABLED])
# CIM_KVMRedirectionSAP.EnabledState values meaning enabled: 2, and 6
# ("enabled but offline", what an idle device reports).
KVM_ENABLED_STATES = frozenset([2, 6])
# CIM_BootService.EnabledState: 32768 + (1 if OCR) + (2 if RPE) (notes 5.2).
BOOT_SERVICE_BASE = ocr.OCR_STATE_BASE
BOOT_SERVICE_OCR = ocr.OCR_BIT
BOOT_SERVICE_RPE = ocr.RPE_BIT
# AMT_BootCapabilities.PlatformErase bit 0: RPE supported (notes 6).
PLATFORM_ERASE_SUPPORTED = 1

SOL = 'sol'
IDER = 'ider'
KVM = 'kvm'
HTTPS_BOOT = 'https_boot'
RPE = 'rpe'
FEATURES = (SOL, IDER, KVM, HTTPS_BOOT, RPE)

# Feature status values, as written into the node capabilities.
ENABLED = 'enabled'
DISABLED = 'disabled'
UNSUPPORTED = 'unsupported'

# Traits: the provisioning mode, and each feature usable now.
TRAIT_PREFIX = 'CUSTOM_AMT_'
MODE_TRAITS = {ACM: 'CUSTOM_AMT_ACM', CCM: 'CUSTOM_AMT_CCM'}
FEATURE_TRAITS = {SOL: 'CUSTOM_AMT_SOL', KVM: 'CUSTOM_AMT_KVM',
                  HTTPS_BOOT: 'CUSTOM_AMT_HTTPS_BOOT', RPE: 'CUSTOM_AMT_RPE'}
ALL_TRAITS = frozenset(list(MODE_TRAITS.values())
                       + list(FEATURE_TRAITS.values()))

_VERSION_RE = re.compile(r'^\s*(\d{1,3})\.(\d{1,3})(\.|\s*$)')

BOOT_SETTING_DATA_SELECTORS = {'InstanceID': 'Intel(r) AMT:BootSettingData 0'}

# (key, resource URI, selectors), in reading order.
FEATURE_CLASSES = (
    ('setup', resource_uris.AMT_SetupAndConfigurationService, None),
    ('opt_in', resource_uris.IPS_OptInService, None),
    ('redirection', resource_uris.AMT_RedirectionService, None),
    ('kvm', resource_uris.CIM_KVMRedirectionSAP, None),
    ('boot_capabilities', resource_uris.AMT_BootCapabilities, None),
    ('boot_settings', resource_uris.AMT_BootSettingData,
     BOOT_SETTING_DATA_SELECTORS),
    ('boot_service', resource_uris.CIM_BootService,
     {'Name': 'Intel(r) AMT Boot Service'}),
)

# The classes telling whether user consent blocks boot control.
CONSENT_CLASSES = FEATURE_CLASSES[:2]

Consent = collections.namedtuple('Consent', 'mode required state')
"""Provisioning mode (acm, ccm or None), what needs consent (none, kvm,
all or None when unknown) and the OptInState (an int or None)."""


def read_instances(client, node, classes=FEATURE_CLASSES):
    """Get the instances describing the device's features.

    A class the device answers with a SOAP fault (older firmware lacks
    some) is logged and left out; transport and authentication errors are
    raised.

    :param client: a :class:`wsman.Client`.
    :param node: the node, for log messages.
    :param classes: (key, resource URI, selectors) tuples to read.
    :returns: dict of key to the instance (a dict) for the classes read.
    :raises: WSManError (but WSManFault) from the client.
    """
    raw = {}
    for key, resource_uri, selectors in classes:
        try:
            raw[key] = client.get(resource_uri, selectors=selectors)
        except wsman_exc.WSManFault as e:
            LOG.debug('Node %(node)s does not serve %(class)s: %(error)s',
                      {'node': node.uuid,
                       'class': resource_uri.rpartition('/')[2],
                       'error': e})
    return raw


def _text(instance, field):
    value = (instance or {}).get(field)
    return value.strip() if isinstance(value, str) else None


def _flag(instance, field):
    return _text(instance, field) == 'true'


def _integer(instance, field):
    value = _text(instance, field)
    return int(value) if value and value.isdigit() else None


def major_minor(version):
    """The major.minor part of an AMT firmware version.

    :param version: e.g. '16.1.25', or None.
    :returns: e.g. '16.1', or None if it does not start like a version.
    """
    match = _VERSION_RE.match(version or '')
    if not match:
        return None
    return '%d.%d' % (int(match.group(1)), int(match.group(2)))


def parse_consent(raw):
    """Provisioning mode and user-consent policy from the raw instances.

    In client control mode consent is always required (SDK
    ``userconsent1.htm``), whatever OptInRequired says.

    :param raw: the result of :func:`read_instances`.
    :returns: a :class:`Consent`.
    """
    mode = PROVISIONING_MODE_MAP.get(_integer(raw.get('setup'),
                                              'ProvisioningMode'))
    required = OPT_IN_REQUIRED_MAP.get(_integer(raw.get('opt_in'),
                                                'OptInRequired'))
    if mode == CCM:
        required = CONSENT_ALL
    state = _integer(raw.get('opt_in'), 'OptInState')
    return Consent(mode, required, state)


def consent_blocks_boot_control(consent):
    """Whether boot control needs a consent that has not been given.

    :param consent: a :class:`Consent`.
    :returns: bool.
    """
    return (consent.required == CONSENT_ALL
            and consent.state not in redirection_service.OPT_IN_GRANTED)


def _boot_service_bits(raw):
    state = _integer(raw.get('boot_service'), 'EnabledState')
    if state is None or state < BOOT_SERVICE_BASE:
        return 0
    return state - BOOT_SERVICE_BASE


def parse_features(raw):
    """Whether each feature is supported and enabled.

    * SOL and IDE-R: supported per AMT_BootCapabilities, enabled per
      AMT_RedirectionService (its state and ListenerEnabled);
    * KVM: supported when CIM_KVMRedirectionSAP is served, enabled when
      its state is 2 or 6 and the redirection listener is on;
    * One-Click Recovery HTTPS boot: supported per
      AMT_BootCapabilities.ForceUEFIHTTPSBoot, enabled when the BIOS
      enables it (UEFIHTTPSBootEnabled) and the boot service has OCR on;
    * Remote Platform Erase: supported per bit 0 of
      AMT_BootCapabilities.PlatformErase, enabled when the BIOS enables
      it (RPEEnabled) and the boot service has RPE on.

    :param raw: the result of :func:`read_instances`.
    :returns: dict of feature name (:data:`FEATURES`) to a dict with
        ``supported`` and ``enabled`` (bools).
    """
    caps = raw.get('boot_capabilities')
    settings = raw.get('boot_settings')
    redirection = raw.get('redirection')
    state = _integer(redirection, 'EnabledState')
    sol_on = state in redirection_service.SOL_STATES
    ider_on = state in IDER_STATES
    listener = _flag(redirection, 'ListenerEnabled')
    service_bits = _boot_service_bits(raw)
    erase_bits = _integer(caps, 'PlatformErase') or 0
    result = {
        SOL: (_flag(caps, 'SOL'), sol_on and listener),
        IDER: (_flag(caps, 'IDER'), ider_on and listener),
        KVM: ('kvm' in raw, listener and _integer(
            raw.get('kvm'), 'EnabledState') in KVM_ENABLED_STATES),
        HTTPS_BOOT: (_flag(caps, 'ForceUEFIHTTPSBoot'),
                     _flag(settings, 'UEFIHTTPSBootEnabled')
                     and bool(service_bits & BOOT_SERVICE_OCR)),
        RPE: (bool(erase_bits & PLATFORM_ERASE_SUPPORTED),
              _flag(settings, 'RPEEnabled')
              and bool(service_bits & BOOT_SERVICE_RPE)),
    }
    return {name: {'supported': supported,
                   'enabled': bool(supported and enabled)}
            for name, (supported, enabled) in result.items()}


def status(feature):
    """The capability value of a feature.

    :param feature: a value of :func:`parse_features`.
    :returns: 'enabled', 'disabled' or 'unsupported'.
    """
    if feature['enabled']:
        return ENABLED
    return DISABLED if feature['supported'] else UNSUPPORTED


def capabilities(version, consent, features):
    """The node capabilities describing the device.

    :param version: the AMT firmware version string, or None.
    :param consent: a :class:`Consent`.
    :param features: the result of :func:`parse_features`.
    :returns: dict of capability name to value; a value that was not
        reported is left out.
    """
    result = {'amt_version': major_minor(version),
              'amt_provisioning_mode': consent.mode,
              'amt_user_consent': consent.required}
    result.update(('amt_%s' % name, status(features[name]))
                  for name in FEATURES)
    return {key: value for key, value in result.items() if value}


def traits(consent, features):
    """The CUSTOM_AMT_* traits the node should have.

    :param consent: a :class:`Consent`.
    :param features: the result of :func:`parse_features`.
    :returns: a set of trait names.
    """
    result = {trait for name, trait in FEATURE_TRAITS.items()
              if features[name]['enabled']}
    if consent.mode in MODE_TRAITS:
        result.add(MODE_TRAITS[consent.mode])
    return result
