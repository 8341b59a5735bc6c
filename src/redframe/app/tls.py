"""A self-signed certificate for ``redframe serve --https``.

Browsers give the camera (getUserMedia) only to secure contexts: ``https://`` or
localhost. A phone on the LAN opening ``http://192.168.1.20:8000`` gets no camera, so
``--https`` makes a certificate for this machine's names and addresses (ECDSA P-256,
SHA-256, serverAuth), kept in the data folder and reused while it still covers every
address and has more than 30 days left. The phone shows a warning once; the printed
SHA-256 fingerprint lets the user check it is this certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

__all__ = ["ensure_certificate", "fingerprint"]


def _names(hosts: list[str]) -> tuple[list[str], list]:
    dns, ips = [], []
    for h in hosts:
        h = h.strip("[]")
        try:
            ips.append(ipaddress.ip_address(h))
        except ValueError:
            if h:
                dns.append(h)
    return sorted(set(dns)), sorted(set(ips), key=str)


def fingerprint(cert_path: str | os.PathLike) -> str:
    """SHA-256 fingerprint of a PEM certificate, as ``AB:CD:...``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _covers(cert_path: Path, dns: list[str], ips: list) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:  # noqa: BLE001 - unreadable: make a new one
        return False
    left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ips = set(san.get_values_for_type(x509.IPAddress))
    return left > dt.timedelta(days=30) and set(dns) <= have_dns and set(ips) <= have_ips


def ensure_certificate(folder: str | os.PathLike, hosts: list[str],
                       days: int = 397) -> tuple[Path, Path]:
    """(certificate, private key) PEM paths in ``folder`` valid for ``hosts`` (names or
    IP addresses), made or renewed as needed; the key file is readable by its owner only."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    dns, ips = _names(list(hosts) + ["localhost", "127.0.0.1"])
    if cert_path.is_file() and key_path.is_file() and _covers(cert_path, dns, ips):
        return cert_path, key_path

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redframe camera (self-signed)")])
    now = dt.datetime.now(dt.UTC)
    san = [x509.DNSName(d) for d in dns] + [x509.IPAddress(i) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False,
                                     content_commitment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    tmp_key = folder / ".key.pem.part"
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_bytes)
    os.replace(tmp_key, key_path)
    tmp_cert = folder / ".cert.pem.part"
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp_cert, cert_path)
    return cert_path, key_path
