"""The toolkit's LDAP directory client against a real slapd (LDAPS): certificate seen, validated or not."""
from __future__ import annotations

import pytest

from demo_dpi.ldap_server import DirectoryServer, make_certificates
from demo_dpi.stack import free_port
from identity_e2e import LDAP_PASSWORD
from segur_helpers.drivers.directory import LdapDirectory
from segur_helpers.errors import UserError
from segur_helpers.params import Secrets


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    server = DirectoryServer(tmp_path_factory.mktemp("ldap"), port=free_port(), admin_password=LDAP_PASSWORD).start()
    yield server
    server.stop()


def _directory(server, ca_file, **over):
    conf = {"url": server.url, "ca_file": str(ca_file), "bind_dn": "cn=admin,dc=hopital-demo,dc=test",
            "password": "env:DEMO_LDAP_ADMIN_PASSWORD", "people_base": "ou=people,dc=hopital-demo,dc=test",
            "groups_base": "ou=groups,dc=hopital-demo,dc=test"} | over
    return LdapDirectory(conf, secrets=Secrets(), resolve_path=lambda p: p)


def test_certificate_validated_with_the_hospital_ca_and_operations_recorded(slapd):
    d = _directory(slapd, slapd.ca_file)
    cert = d.tls_certificate()
    assert cert.verified and cert.verify_error == ""
    assert "127.0.0.1" in cert.san and "annuaire.hopital-demo.test" in cert.subject
    assert cert.protocol in ("TLSv1.2", "TLSv1.3") and len(cert.sha256.split(":")) == 32
    entry, op = d.find_person("asimon")
    assert op.ok and entry["sn"] == "SIMON" and op.request["filter"] == "(uid=asimon)"
    assert LDAP_PASSWORD not in repr(op)
    op = d.set_member("dpi-pharmaciens", entry["dn"], True)      # already a member: the directory says so
    assert not op.ok and op.result == "attributeOrValueExists"
    d.close()


def test_certificate_from_another_ca_is_reported_not_verified(slapd, tmp_path):
    other_ca, _, _ = make_certificates(tmp_path / "other")
    cert = _directory(slapd, other_ca).tls_certificate()
    assert not cert.verified and "certificate" in cert.verify_error.lower()
    assert "annuaire.hopital-demo.test" in cert.subject   # still recorded, for the evidence


def test_bad_directory_settings_name_the_key(slapd, tmp_path):
    with pytest.raises(UserError) as exc:
        _directory(slapd, tmp_path / "missing.pem")
    assert "data.directory.ca_file" in str(exc.value)
    with pytest.raises(UserError) as exc:
        _directory(slapd, slapd.ca_file, url="http://127.0.0.1:1")
    assert "data.directory.url" in str(exc.value)
