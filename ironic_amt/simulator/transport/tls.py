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

"""TLS material: a simulator CA and one server certificate it signs.

The server certificate carries IP SANs for every device address plus
127.0.0.1, ::1 and the DNS name localhost, so a client may verify it
against the CA (``amt_verify_ca``).  An existing CA in the directory is
reused, so the path a client trusts stays valid across restarts.
"""

import datetime
import ipaddress
import os
import ssl

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

CA_CERT = 'ca.pem'
CA_KEY = 'ca-key.pem'
SERVER_CERT = 'server.pem'
SERVER_KEY = 'server-key.pem'

# Plain-RSA key exchange suites, as old AMT firmware offers.
LEGACY_CIPHERS = 'RSA+AES:!aNULL:!MD5:!DSS:@SECLEVEL=0'


def _key():
    # RSA, because legacy AMT suites need RSA key exchange.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, 0o600)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'ironic-amt simulator'),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _load_or_create_ca(directory):
    cert_path = os.path.join(directory, CA_CERT)
    key_path = os.path.join(directory, CA_KEY)
    if os.path.exists(cert_path) and os.path.exists(key_path):
        with open(cert_path, 'rb') as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(key_path, 'rb') as f:
            key = serialization.load_pem_private_key(f.read(), None)
        return cert, key
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    name = _name('ironic-amt simulator CA')
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                           critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write(key_path, _pem_key(key))
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _san(addresses):
    names = [x509.DNSName('localhost')]
    seen = set()
    for address in ['127.0.0.1', '::1'] + list(addresses):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            entry = x509.DNSName(address)
        else:
            entry = x509.IPAddress(ip)
        if entry not in seen:
            seen.add(entry)
            names.append(entry)
    return x509.SubjectAlternativeName(names)


def create_certificates(directory, addresses):
    """Write the CA (unless present) and a fresh server certificate.

    :param directory: where to write the PEM files.
    :param addresses: the device addresses (IPs or host names).
    :returns: dict with ca_cert, cert and key paths.
    """
    ca_cert, ca_key = _load_or_create_ca(directory)
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name('ironic-amt simulated device'))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=True, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(_san(addresses), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {'ca_cert': os.path.join(directory, CA_CERT),
             'cert': os.path.join(directory, SERVER_CERT),
             'key': os.path.join(directory, SERVER_KEY)}
    _write(paths['key'], _pem_key(key))
    _write(paths['cert'], cert.public_bytes(serialization.Encoding.PEM)
           + ca_cert.public_bytes(serialization.Encoding.PEM))
    return paths


def server_context(paths, profile):
    """An SSL context for a device of the given firmware profile.

    TLS 1.2 is the highest version offered.  A legacy profile offers
    only plain-RSA suites and accepts TLS 1.0 and 1.1.

    :param paths: the dict create_certificates() returned.
    :param profile: a profiles.Profile.
    :returns: an ssl.SSLContext.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if profile.legacy_ciphers:
        context.set_ciphers(LEGACY_CIPHERS)
    context.minimum_version = profile.tls_minimum
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(paths['cert'], paths['key'])
    return context
