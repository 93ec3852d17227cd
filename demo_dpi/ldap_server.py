"""A real LDAPS directory for the demo: Debian's ``slapd`` on 127.0.0.1, with its own test CA.

``DirectoryServer(workdir, port=...).start()`` makes a CA and a server certificate (``cryptography``),
writes a ``slapd.conf`` (mdb database, suffix ``dc=hopital-demo,dc=test``), loads the seed (test
professionals under ``ou=people``, groups under ``ou=groups``, the DPI's read-only service account
under ``ou=services``) with ``slapadd``, starts ``slapd`` listening on ``ldaps://127.0.0.1:PORT`` only,
and waits until ``ldapsearch`` (ldap-utils) answers over TLS with the CA.

Passwords: the directory administrator's comes from ``$DEMO_LDAP_ADMIN_PASSWORD`` (the notebooks use
it, as the hospital's directory team would); the DPI's service account gets a fresh random one
(:attr:`DirectoryServer.sync_password`). Only salted hashes are written to disk.

``python -m demo_dpi.ldap_server --dir DIR --port 6636`` runs it alone until Ctrl-C.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import ipaddress
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

SUFFIX = "dc=hopital-demo,dc=test"
ADMIN_DN = f"cn=admin,{SUFFIX}"
SYNC_DN = f"cn=dpi-sync,ou=services,{SUFFIX}"
# groupOfNames needs one member at least: this technical entry belongs to every group, so that the last
# professional can leave a group (the DPI ignores members that are not people)
PLACEHOLDER_DN = f"cn=membre-technique,ou=services,{SUFFIX}"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")

# uid, givenName, sn, profession (title), RPPS (employeeNumber; '' = none), groups
PEOPLE_SEED = [
    ("ldupont", "Louise", "DUPONT", "Infirmier", "10101234571", ["dpi-ide"]),
    ("mgarnier", "Marc", "GARNIER", "Médecin", "10101234572", ["dpi-medecins", "dpi-bris-glace"]),
    ("asimon", "Anne", "SIMON", "Pharmacien", "10101234573", ["dpi-pharmaciens"]),
    ("tblanc", "Théo", "BLANC", "Secrétaire médical", "", ["dpi-secretariat"]),
]
GROUP_SEED = {
    "dpi-admins": "Administrateurs fonctionnels du DPI",
    "dpi-bris-glace": "Accès bris de glace au dossier patient",
    "dpi-medecins": "Médecins prescripteurs",
    "dpi-ide": "Infirmiers",
    "dpi-pharmaciens": "Pharmaciens",
    "dpi-secretariat": "Secrétariat médical",
}


def find_slapd() -> str:
    for cand in (shutil.which("slapd"), "/usr/sbin/slapd"):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise RuntimeError("slapd not found; install Debian's slapd and ldap-utils (scripts/bootstrap.sh does)")


def ssha(password: str) -> str:
    salt = secrets.token_bytes(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def _ldif_line(attr: str, value: str) -> str:
    if value.isascii() and not value.startswith((" ", ":", "<")):
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(value.encode('utf-8')).decode()}"


def _entry(dn: str, attrs: list[tuple[str, str]]) -> str:
    return "\n".join([_ldif_line("dn", dn)] + [_ldif_line(a, v) for a, v in attrs]) + "\n"


def seed_ldif(sync_password: str) -> str:
    entries = [
        _entry(SUFFIX, [("objectClass", "top"), ("objectClass", "dcObject"), ("objectClass", "organization"),
                        ("dc", "hopital-demo"), ("o", "Hôpital de démonstration")]),
        *[_entry(f"ou={ou},{SUFFIX}", [("objectClass", "organizationalUnit"), ("ou", ou)])
          for ou in ("people", "groups", "services")],
        _entry(SYNC_DN, [("objectClass", "organizationalRole"), ("objectClass", "simpleSecurityObject"),
                         ("cn", "dpi-sync"), ("description", "Compte de service du DPI (lecture seule)"),
                         ("userPassword", ssha(sync_password))]),
        _entry(PLACEHOLDER_DN, [("objectClass", "organizationalRole"), ("cn", "membre-technique"),
                                ("description", "Membre technique des groupes (groupOfNames exige un membre)")]),
    ]
    members: dict[str, list[str]] = {g: [] for g in GROUP_SEED}
    for uid, given, sn, title, rpps, groups in PEOPLE_SEED:
        dn = f"uid={uid},{PEOPLE}"
        attrs = [("objectClass", "inetOrgPerson"), ("uid", uid), ("cn", f"{given} {sn}"), ("sn", sn),
                 ("givenName", given), ("mail", f"{uid}@hopital-demo.test"), ("title", title)]
        if rpps:
            attrs.append(("employeeNumber", rpps))
        entries.append(_entry(dn, attrs))
        for g in groups:
            members[g].append(dn)
    for cn, description in GROUP_SEED.items():
        ms = [PLACEHOLDER_DN] + members[cn]
        entries.append(_entry(f"cn={cn},{GROUPS}", [("objectClass", "groupOfNames"), ("cn", cn),
                                                     ("description", description)] + [("member", m) for m in ms]))
    return "\n".join(entries)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1 / localhost; returns (ca, cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hôpital de démonstration"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "AC de test de l'annuaire (démonstration)")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hôpital de démonstration"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "annuaire.hopital-demo.test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.DNSName("annuaire.hopital-demo.test"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


SLAPD_CONF = """# generated by demo_dpi.ldap_server — the demo's LDAPS directory
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath {modules}
moduleload back_mdb
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
TLSProtocolMin 3.3

database mdb
suffix "{suffix}"
rootdn "{admin_dn}"
rootpw {rootpw}
directory {dir}/data
maxsize 33554432
index objectClass,uid,member eq
access to dn.base="" by * read
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact="{sync_dn}" read by users read by * none
"""


class DirectoryServer:
    """slapd on ``ldaps://127.0.0.1:port`` with a fresh database and CA under ``workdir``."""

    def __init__(self, workdir: Path, *, port: int, admin_password: str, log_path: Path | None = None):
        self.dir = Path(workdir).resolve()
        self.port = port
        self.admin_password = admin_password
        self.sync_password = secrets.token_urlsafe(18)
        self.log_path = Path(log_path) if log_path else self.dir / "slapd.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ldaps://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.dir / "tls" / "ca.pem"

    def _tool_env(self) -> dict:
        env = os.environ.copy()
        env["LDAPTLS_CACERT"] = str(self.ca_file)
        env["LDAPTLS_REQCERT"] = "demand"
        return env

    def prepare(self) -> Path:
        if (self.dir / "data").exists():
            shutil.rmtree(self.dir / "data")
        (self.dir / "data").mkdir(parents=True)
        ca, cert, key = make_certificates(self.dir / "tls")
        conf = self.dir / "slapd.conf"
        conf.write_text(SLAPD_CONF.format(schema=SCHEMA_DIR, dir=self.dir, modules=MODULE_DIR, ca=ca, cert=cert,
                                          key=key, suffix=SUFFIX, admin_dn=ADMIN_DN, sync_dn=SYNC_DN,
                                          rootpw=ssha(self.admin_password)), encoding="utf-8")
        conf.chmod(0o600)
        seed = self.dir / "seed.ldif"
        seed.write_text(seed_ldif(self.sync_password), encoding="utf-8")
        slapadd = shutil.which("slapadd") or "/usr/sbin/slapadd"
        done = subprocess.run([slapadd, "-f", str(conf), "-l", str(seed)], capture_output=True, text=True)
        seed.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"slapadd failed: {done.stderr.strip().splitlines()[-1:]}")
        return conf

    def start(self, timeout: float = 20.0) -> "DirectoryServer":
        conf = self.prepare()
        log = open(self.log_path, "ab")
        # -d stats: foreground, one log line per LDAP operation (kept in the log as the server's journal)
        self.proc = subprocess.Popen([find_slapd(), "-f", str(conf), "-h", f"{self.url}/", "-d", "stats"],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        ldapsearch = shutil.which("ldapsearch") or "/usr/bin/ldapsearch"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited with code {self.proc.returncode} (log {self.log_path})")
            probe = subprocess.run([ldapsearch, "-LLL", "-x", "-H", self.url, "-b", "", "-s", "base",
                                    "namingContexts"], capture_output=True, text=True, env=self._tool_env(),
                                   timeout=10)
            if probe.returncode == 0 and SUFFIX in probe.stdout:
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"slapd did not answer on {self.url} in time: {probe.stderr.strip()[:200]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi.ldap_server", description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("outputs/demo-target/ldap"))
    ap.add_argument("--port", type=int, default=6636)
    ap.add_argument("--admin-password-env", default="DEMO_LDAP_ADMIN_PASSWORD")
    args = ap.parse_args(argv)
    password = os.environ.get(args.admin_password_env)
    if not password:
        print(f"error: environment variable {args.admin_password_env} is unset; expected the directory "
              "administrator's password", file=sys.stderr)
        return 2
    server = DirectoryServer(args.dir, port=args.port, admin_password=password).start()
    print(f"directory up: {server.url} (CA {server.ca_file})", flush=True)
    try:
        server.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
