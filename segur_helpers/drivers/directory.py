"""The hospital's LDAP directory, as the toolkit reaches it (ldap3 over LDAPS): real, not a demo.

SSI/IAM.83 and 85 are about the *product* synchronising from the hospital's directory; to prove it, the
notebook plays the hospital's directory team: it changes an entry and a group membership here, then
looks at the product (:mod:`segur_helpers.drivers.directory_sync`). Every LDAP operation is returned
as an :class:`LdapOperation` (kept as evidence) and the TLS certificate the directory presents is read
and validated against the CA the campaign names (:meth:`LdapDirectory.tls_certificate`).

Configuration (a requirement's ``data.directory`` in the params)::

    directory:
      url: ldaps://annuaire.hopital.test:636
      ca_file: certs/ac-hopital.pem           # relative to the params file
      bind_dn: cn=admin,dc=hopital,dc=test
      password: env:LDAP_ADMIN_PASSWORD       # a reference, never a value
      people_base: ou=people,dc=hopital,dc=test
      groups_base: ou=groups,dc=hopital,dc=test
"""
from __future__ import annotations

import socket
import ssl
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import InfrastructureError, UserError

PIECE = "annuaire de test (LDAP)"

PERSON_ATTRIBUTES = ["uid", "cn", "sn", "givenName", "mail", "title", "employeeNumber"]


@dataclass
class TlsCertificate:
    """What the directory presented during the TLS handshake, and whether it validated."""

    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    sha256: str
    san: list[str]
    verified: bool
    verify_error: str
    protocol: str
    cipher: str
    pem: str = field(repr=False, default="")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("pem")
        return d


@dataclass
class LdapOperation:
    """One LDAP operation as sent and answered (no credentials)."""

    operation: str
    dn: str
    request: dict[str, Any]
    result: str
    code: int
    response: Any = None

    @property
    def ok(self) -> bool:
        return self.code == 0


def _certificate_info(der: bytes, verified: bool, error: str, protocol: str, cipher: str) -> TlsCertificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    cert = x509.load_der_x509_certificate(der)
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        san = [str(v) for v in san_ext.get_values_for_type(x509.DNSName)] + \
              [str(v) for v in san_ext.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        san = []
    return TlsCertificate(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(), serial=f"{cert.serial_number:x}",
        not_before=cert.not_valid_before_utc.isoformat(), not_after=cert.not_valid_after_utc.isoformat(),
        sha256=cert.fingerprint(hashes.SHA256()).hex(":"), san=san, verified=verified, verify_error=error,
        protocol=protocol, cipher=cipher, pem=cert.public_bytes(serialization.Encoding.PEM).decode())


class LdapDirectory:
    """An LDAP directory reached with ldap3, bound as the configured account (synchronous methods:
    call them through ``asyncio.to_thread`` from a notebook)."""

    def __init__(self, conf: dict, *, secrets, resolve_path, where: str = "data.directory"):
        for key in ("url", "bind_dn", "password", "people_base", "groups_base"):
            if not conf.get(key):
                raise UserError(f"missing {key}; expected the directory's {key}", key=f"{where}.{key}")
        u = urlparse(conf["url"])
        if u.scheme not in ("ldaps", "ldap") or not u.hostname:
            raise UserError(f"{conf['url']!r}; expected ldaps://host:port", key=f"{where}.url")
        self.url, self.host = conf["url"], u.hostname
        self.port = u.port or (636 if u.scheme == "ldaps" else 389)
        self.use_ssl = u.scheme == "ldaps"
        self.ca_file = str(resolve_path(conf["ca_file"])) if conf.get("ca_file") else None
        if self.ca_file and not Path(self.ca_file).is_file():
            raise UserError(f"no such file {self.ca_file}; expected the CA certificate (PEM) the hospital trusts",
                            key=f"{where}.ca_file")
        self.bind_dn = conf["bind_dn"]
        self._password = secrets.resolve(conf["password"], f"{where}.password")
        self.people_base, self.groups_base = conf["people_base"], conf["groups_base"]
        self.uid_attribute = conf.get("uid_attribute", "uid")
        self._conn = None

    # -- TLS -------------------------------------------------------------------------------------
    def tls_certificate(self) -> TlsCertificate:
        """Handshake with the directory: the certificate seen, validated with the CA file and the host name.
        A directory that cannot be reached is the test infrastructure's fault (:class:`InfrastructureError`)."""
        try:
            return self._tls_certificate()
        except (OSError, ssl.SSLError) as exc:
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise
            raise InfrastructureError(PIECE, f"{self.host}:{self.port} injoignable ({type(exc).__name__}: "
                                             f"{(str(exc).splitlines() or [''])[0][:200]})") from None

    def _tls_certificate(self) -> TlsCertificate:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        try:
            with socket.create_connection((self.host, self.port), timeout=10) as sock, \
                    ctx.wrap_socket(sock, server_hostname=self.host) as tls:
                return _certificate_info(tls.getpeercert(binary_form=True), True, "", tls.version() or "",
                                         (tls.cipher() or ("",))[0])
        except ssl.SSLCertVerificationError as exc:
            error = exc.verify_message or str(exc)
        loose = ssl.create_default_context()
        loose.check_hostname, loose.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection((self.host, self.port), timeout=10) as sock, \
                loose.wrap_socket(sock, server_hostname=self.host) as tls:
            return _certificate_info(tls.getpeercert(binary_form=True), False, error, tls.version() or "",
                                     (tls.cipher() or ("",))[0])

    # -- LDAP ------------------------------------------------------------------------------------
    def _connection(self):
        if self._conn is None:
            import ldap3
            from ldap3.core.exceptions import LDAPException

            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_file, version=ssl.PROTOCOL_TLS_CLIENT)
            server = ldap3.Server(self.host, port=self.port, use_ssl=self.use_ssl, tls=tls, connect_timeout=10)
            try:
                self._conn = ldap3.Connection(server, user=self.bind_dn, password=self._password, auto_bind=True,
                                              receive_timeout=20, raise_exceptions=False)
            except (LDAPException, OSError) as exc:
                raise InfrastructureError(PIECE, f"connexion à {self.host}:{self.port} impossible "
                                                 f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]})"
                                          ) from None
        return self._conn

    def _op(self, operation: str, dn: str, request: dict, response: Any = None) -> LdapOperation:
        r = self._connection().result or {}
        return LdapOperation(operation=operation, dn=dn, request=request, result=str(r.get("description", "")),
                             code=int(r.get("result", -1)), response=response)

    def find_person(self, uid: str) -> tuple[dict | None, LdapOperation]:
        from ldap3.utils.conv import escape_filter_chars

        conn = self._connection()
        flt = f"({self.uid_attribute}={escape_filter_chars(uid)})"
        conn.search(self.people_base, flt, attributes=PERSON_ATTRIBUTES)
        entries = [{"dn": e["dn"], **{k: (v[0] if isinstance(v, list) and len(v) == 1 else v)
                                      for k, v in e["attributes"].items() if v not in ([], None)}}
                   for e in conn.response if e.get("type") == "searchResEntry"]
        op = self._op("search", self.people_base, {"scope": "subtree", "filter": flt, "attributes": PERSON_ATTRIBUTES},
                      entries)
        return (entries[0] if entries else None), op

    def groups_of(self, person_dn: str) -> tuple[list[str], LdapOperation]:
        from ldap3.utils.conv import escape_filter_chars

        conn = self._connection()
        flt = f"(&(objectClass=groupOfNames)(member={escape_filter_chars(person_dn)}))"
        conn.search(self.groups_base, flt, attributes=["cn"])
        cns = sorted(str(e["attributes"]["cn"][0]) for e in conn.response if e.get("type") == "searchResEntry")
        return cns, self._op("search", self.groups_base, {"scope": "subtree", "filter": flt, "attributes": ["cn"]},
                             cns)

    def replace(self, dn: str, changes: dict[str, str]) -> LdapOperation:
        import ldap3

        self._connection().modify(dn, {k: [(ldap3.MODIFY_REPLACE, [v])] for k, v in changes.items()})
        return self._op("modify", dn, {"replace": changes})

    def set_member(self, group_cn: str, person_dn: str, member: bool) -> LdapOperation:
        import ldap3

        dn = f"cn={group_cn},{self.groups_base}"
        self._connection().modify(dn, {"member": [(ldap3.MODIFY_ADD if member else ldap3.MODIFY_DELETE, [person_dn])]})
        return self._op("modify", dn, {"add" if member else "delete": {"member": person_dn}})

    def close(self) -> None:
        if self._conn is not None:
            self._conn.unbind()
            self._conn = None
