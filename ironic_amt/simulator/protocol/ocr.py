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

"""WS-Man classes of One-Click Recovery HTTPS boot trust.

AMT_PublicKeyManagementService.AddTrustedRootCertificate and the stored
AMT_PublicKeyCertificate instances (``amt-redirection.md`` 5.4; the
recorded AddTrustedRootCertificate answer of Intel's go-wsman-messages
fixtures names the created certificate by reference). The OCR switch,
CIM_BootService.RequestStateChange, is protocol.features.
"""

import base64
import binascii

from cryptography import x509

from ironic_amt.simulator.model import values
from ironic_amt.simulator.protocol import registry

STORE_SERVICE_NAME = 'Intel(r) AMT Certificate Store Service'


@registry.resource('AMT_PublicKeyManagementService')
def _store_service(device):
    return [{'CreationClassName': 'AMT_PublicKeyManagementService',
             'ElementName': STORE_SERVICE_NAME, 'EnabledState': 5,
             'Name': STORE_SERVICE_NAME, 'RequestedState': 12,
             'SystemCreationClassName': 'CIM_ComputerSystem',
             'SystemName': values.AMT_SYSTEM_NAME}]


def _names(der):
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return '', ''
    return cert.issuer.rfc4514_string(), cert.subject.rfc4514_string()


@registry.resource('AMT_PublicKeyCertificate')
def _certificates(device):
    result = []
    for handle, der in list(device.ocr.certificates):
        issuer, subject = _names(der)
        result.append({'ElementName': 'Intel(r) AMT Certificate',
                       'InstanceID': handle, 'Issuer': issuer,
                       'Subject': subject,
                       # AMT's spelling of the property.
                       'TrustedRootCertficate': True,
                       'X509Certificate': base64.b64encode(der).decode()})
    return result


@registry.method('AMT_PublicKeyManagementService',
                 'AddTrustedRootCertificate')
def _add_trusted_root(call, args):
    text = args.get('CertificateBlob')
    try:
        blob = base64.b64decode(text if isinstance(text, str) else '',
                                validate=True)
    except (binascii.Error, ValueError):
        blob = b''
    return_value, handle = call.device.ocr.add_trusted_root(blob)
    call.note(CertificateBlob='%d bytes' % len(blob), Handle=handle)
    if handle is None:
        return return_value
    created = values.EPR(values.class_uri('AMT_PublicKeyCertificate'),
                         [('InstanceID', handle)])
    return return_value, [('CreatedCertificate', created)]
