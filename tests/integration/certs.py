"""Test certificates made on the fly (python3-cryptography): a private CA and
leaf certificates for a host name with chosen validity dates."""

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _write(directory, name, data):
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class CA:
    def __init__(self, directory, name="mirrorpool test CA"):
        self.dir = directory
        self.key = _key()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_file = _write(directory, f"{id(self)}-ca.pem",
                                self.cert.public_bytes(serialization.Encoding.PEM))

    def leaf(self, host, days_before=1, days_after=90, name=None):
        """A certificate for `host` valid from now - days_before to now +
        days_after (negative days_after: already expired). Returns (cert, key)."""
        key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=days_before))
                .not_valid_after(now + datetime.timedelta(days=days_after))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), False)
                .sign(self.key, hashes.SHA256()))
        base = name or f"{host}-{days_after}"
        return (_write(self.dir, base + ".crt", cert.public_bytes(serialization.Encoding.PEM)),
                _write(self.dir, base + ".key", _pem_key(key)))


def self_signed(directory, host):
    """A certificate for `host` signed with its own key, trusted by nobody.
    Returns (cert, key)."""
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), False)
            .sign(key, hashes.SHA256()))
    return (_write(directory, f"{host}-selfsigned.crt",
                   cert.public_bytes(serialization.Encoding.PEM)),
            _write(directory, f"{host}-selfsigned.key", _pem_key(key)))
