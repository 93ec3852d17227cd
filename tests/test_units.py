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


def test_reviewer_french_formats():
    from segur_helpers import fr

    assert (fr.result_word(True), fr.result_word(False)) == ("RÉUSSI", "ÉCHEC")
    assert fr.seconds(3.74) == "3,7 s" and fr.num(1234.5) == "1\u202f234,5" and fr.num(12.3, 2, group=False) == "12,30"
    # one time zone: Paris with its offset, winter and summer, whatever zone the instant came in
    assert fr.when("2026-12-04T13:05:03Z") == "04/12/2026 à 14:05:03 (heure de Paris, UTC+01:00)"
    assert fr.when("2026-07-04T12:05:03+00:00") == "04/07/2026 à 14:05:03 (heure de Paris, UTC+02:00)"
    assert fr.when("2026-12-04T10:00") == "04/12/2026 à 10:00"   # an operator's time, as written
    assert fr.mail_date("Fri, 04 Dec 2026 02:45:29 +0000") == "04/12/2026 à 03:45:29 (heure de Paris, UTC+01:00)"
    assert fr.paris_iso_text('{"at": "2026-12-04T02:45:47Z", "day": "2026-12-04"}') == \
        '{"at": "2026-12-04T03:45:47+01:00", "day": "2026-12-04"}'
    assert (fr.de("Éditeur de démonstration"), fr.de("Camille"), fr.le("hôpital")) == \
        ("d'Éditeur de démonstration", "de Camille", "l'hôpital")


def test_caption_names_must_be_inside_the_outline():
    from segur_helpers.evidence import EvidenceItem, names_inside, outline_caption

    item = EvidenceItem("a.png", "screenshot", "0" * 64, 1, "c", 3, outlined=True,
                        outlined_text="Aucun épisode en cours. Nouvel épisode de soins",
                        names=["Accès au DMP bloqué"])
    assert names_inside(item) == ["Accès au DMP bloqué"]
    assert "absent de l'élément encadré : « Accès au DMP bloqué »" in outline_caption(item, True)
    item.names = ["aucun  ÉPISODE en cours…"]   # blanks, case and a final ellipsis do not matter
    assert names_inside(item) == [] and "absent" not in outline_caption(item, True)
    item.outlined = False
    assert names_inside(item) == item.names   # nothing outlined: a named text is never inside


def test_rem_order_is_natural():
    from segur_helpers.summary import in_rem_order

    proofs = [{"chapter": "SSI/IE", "requirement": r, "scenario": r + ".01"} for r in ("SSI/IE.31", "SSI/IE.9")]
    proofs.append({"chapter": "DMP/CONF", "requirement": "DMP/CONF.16", "scenario": "DMP/CONF.16.01"})
    assert [p["requirement"] for p in in_rem_order(proofs)] == ["DMP/CONF.16", "SSI/IE.9", "SSI/IE.31"]


def test_notebook_parts_of_proof_elements():
    from segur_helpers.export import _element_numbers, element_number

    assert _element_numbers("Preuves 2 et 3 — Connexion") == [2, 3]
    assert _element_numbers("Preuve 1 — Le fournisseur") == [1]
    assert _element_numbers("Preuves 2 à 4 — x") == [2, 3, 4]
    assert _element_numbers("Verdict et récapitulatif des vérifications") == []
    assert element_number("SSI/IAM.80.01.03") == 3
