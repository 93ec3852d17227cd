"""Small units: ids, secret redaction, params substitution, demo_dpi's verification rules."""
from __future__ import annotations

import mailbox
import time

import pytest

from segur_helpers.ids import normalize_requirement_id, proof_id, safe_name, scenario_id, slug
from segur_helpers.params import Secrets


def test_ids():
    assert normalize_requirement_id("SC.SSI/IE.31") == "SSI/IE.31"
    assert normalize_requirement_id(" SSI/IE.31 ") == "SSI/IE.31"
    assert normalize_requirement_id("SC.\xa0DMP/HISTO.01") == "DMP/HISTO.01"
    assert normalize_requirement_id("SC.PSC.01") == "PSC.01"
    assert normalize_requirement_id("PSC.06") == "PSC.06"
    assert scenario_id("SSI/IE.31", 1) == "SSI/IE.31.01"
    assert proof_id("SSI/IE.31", 1, 3) == "SSI/IE.31.01.03"
    with pytest.raises(ValueError):
        proof_id("SSI/IE.31", 1, 11)
    assert safe_name("SSI/IE.31.01") == "SSI_IE.31.01"
    assert "/" not in safe_name("DMP/ALI/PROG.01.01")
    assert slug("Fiche du compte n° 1 après sa création") == "fiche-du-compte-n-1-apres-sa-creation"


def test_secrets_redaction(monkeypatch):
    monkeypatch.setenv("X_SECRET", "tres-secret")
    s = Secrets()
    assert s.resolve("env:X_SECRET") == "tres-secret"
    assert s.resolve("plain") == "plain"
    assert "tres-secret" not in s.redact("mot de passe tres-secret ici")
    assert b"tres-secret" not in s.redact_bytes(b"x tres-secret y")


@pytest.fixture
def demo_app(tmp_path):
    from aiosmtpd.controller import Controller

    from demo_dpi.app import Settings, create_app
    from demo_dpi.mailsink import MaildirHandler
    from demo_dpi.stack import free_port

    port = free_port()
    controller = Controller(MaildirHandler(tmp_path / "md"), hostname="127.0.0.1", port=port)
    controller.start()

    def make(**kw):
        settings = Settings(db_path=str(tmp_path / "db.sqlite"), admin_user="admin", admin_password="pw",
                            public_url="http://dpi.test", smtp_port=port, **kw)
        client = create_app(settings).test_client()
        assert client.post("/login", data={"username": "admin", "password": "pw"}).status_code == 302
        return client, mailbox.Maildir(str(tmp_path / "md"))

    yield make
    controller.stop()


FORM = {"nom": "TEST", "prenom": "Alix", "profession": "Médecin", "rpps": "10101234567", "email": "a@x.test"}


def _token(box):
    import re
    (msg,) = [box.get_message(k) for k in box.keys()]
    return re.search(r"token=([\w-]+)", msg.get_payload(decode=True).decode()).group(1)


def test_demo_dpi_link_is_single_use(demo_app):
    client, box = demo_app()
    assert client.post("/accounts/new", data=FORM).status_code == 302
    assert "en attente de vérification" in client.get("/accounts/1").get_data(as_text=True)
    token = _token(box)
    assert client.get(f"/verify?token={token}").status_code == 200
    assert "Adresse vérifiée" in client.get("/accounts/1").get_data(as_text=True)
    assert client.get(f"/verify?token={token}").status_code == 410
    assert client.get("/verify?token=forged").status_code == 404


def test_demo_dpi_link_expires(demo_app):
    client, box = demo_app(code_ttl_s=0)
    client.post("/accounts/new", data=FORM)
    time.sleep(0.05)
    page = client.get(f"/verify?token={_token(box)}")
    assert page.status_code == 410 and "expiré" in page.get_data(as_text=True)


def test_demo_dpi_defect_skips_verification(demo_app):
    client, box = demo_app(defects={"SSI/IE.31"})
    client.post("/accounts/new", data=FORM)
    assert "Adresse vérifiée" in client.get("/accounts/1").get_data(as_text=True)
    assert len(box) == 0


def test_demo_dpi_rejects_bad_form_and_anonymous(demo_app):
    client, _ = demo_app()
    assert client.post("/accounts/new", data=FORM | {"rpps": "12"}).status_code == 400
    anonymous = client.application.test_client()
    assert anonymous.get("/accounts").status_code == 302


def test_driver_named_in_params():
    from segur_helpers.drivers import Driver, load_driver_class
    from demo_dpi.driver import DemoDriver
    from segur_helpers.errors import UserError

    assert load_driver_class("demo") is DemoDriver
    assert load_driver_class("demo_dpi.driver:DemoDriver") is DemoDriver  # a vendor's module:Class
    for bad, needle in (("nosuch", "unknown driver"), ("nosuch_pkg.mod:Driver", "cannot import"),
                        ("segur_helpers.ids:safe_name", "not a subclass")):
        with pytest.raises(UserError, match=needle):
            load_driver_class(bad, file="p.yaml")
    assert issubclass(DemoDriver, Driver)
