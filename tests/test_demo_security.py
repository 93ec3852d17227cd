"""The demo DPI's security screens (issue 14), through Flask's test client: what the guided proofs capture is
real behaviour — automatic logout after inactivity (and its defect), blocking after 5 failed sign-ins, the
administration password policy, and the journal of sign-ins and password changes with its exports."""
from __future__ import annotations

import time

import pytest

from demo_dpi.app import Settings, create_app

PASSWORD = "initial-demo-password-1"


@pytest.fixture
def make_app(tmp_path):
    def make(defects=()):
        return create_app(Settings(db_path=str(tmp_path / f"dpi{len(list(tmp_path.iterdir()))}.sqlite"),
                                   admin_user="admin", admin_password=PASSWORD, public_url="http://127.0.0.1:1",
                                   defects=set(defects)))
    return make


def _login(client, password=PASSWORD, user="admin"):
    return client.post("/login", data={"username": user, "password": password})


def test_inactivity_logs_out_every_session_and_the_defect_removes_it(make_app):
    app = make_app()
    client = app.test_client()
    assert _login(client).status_code == 302
    page = client.get("/admin/securite").get_data(as_text=True)
    assert 'id="inactivity_min"' in page and "Fermeture du navigateur" in page
    with client.session_transaction() as s:
        s["seen"] = time.time() - 16 * 60     # 16 minutes without a request (default: 15)
    answer = client.get("/accounts")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    journal = client.application.test_client()
    assert _login(journal).status_code == 302
    assert "déconnexion automatique" in journal.get("/admin/journal?type=session").get_data(as_text=True)
    # a professional's session too
    pro = app.test_client()
    assert pro.post("/care/login", data={"rpps": "10101234567", "nom": "Dr TEST"}).status_code == 302
    with pro.session_transaction() as s:
        s["seen"] = time.time() - 16 * 60
    assert "/care/login" in pro.get("/patients").headers["Location"]

    defective = make_app(["SSI/IE.39"]).test_client()
    assert _login(defective).status_code == 302
    assert 'id="inactivity_min"' not in defective.get("/admin/securite").get_data(as_text=True)
    with defective.session_transaction() as s:
        s["seen"] = time.time() - 16 * 60
    assert defective.get("/accounts").status_code == 200


def test_five_failed_sign_ins_block_the_account_and_are_journalled(make_app):
    client = make_app().test_client()
    for _ in range(5):
        assert _login(client, "wrong-password").status_code == 401
    blocked = _login(client)   # the right password, but blocked
    assert blocked.status_code == 423 and "Compte bloqué" in blocked.get_data(as_text=True)
    assert _login(client, user="other").status_code == 401   # another identifier is not blocked


def test_password_policy_history_and_traces_exported(make_app):
    client = make_app().test_client()
    assert _login(client).status_code == 302
    for new, missing in (("short-1A!", "au moins 15 caractères"), ("longbutnocapital1!", "une majuscule"),
                         (PASSWORD, "une majuscule")):
        page = client.post("/admin/mot-de-passe", data={"current": PASSWORD, "new": new, "confirm": new})
        assert page.status_code == 400 and missing in page.get_data(as_text=True)
    good = "Nouveau-Mot-de-passe-2026!"
    assert client.post("/admin/mot-de-passe", data={"current": PASSWORD, "new": good, "confirm": good}).status_code == 302
    again = client.post("/admin/mot-de-passe", data={"current": good, "new": good, "confirm": good})
    assert again.status_code == 400 and "différent des 5 derniers" in again.get_data(as_text=True)
    other = client.application.test_client()
    assert _login(other, PASSWORD).status_code == 401   # the former password no longer opens a session
    assert _login(other, good).status_code == 302
    csv_text = client.get("/admin/journal.csv?type=password").get_data(as_text=True)
    assert csv_text.count("changement de mot de passe") == 5 and ";refus;" in csv_text and ";réussite;" in csv_text
    syslog = client.get("/admin/journal.log?type=auth").get_data(as_text=True).splitlines()
    assert syslog and all(line.startswith(("<84>1 ", "<86>1 ")) and 'user="admin"' in line for line in syslog)
    assert any('outcome="échec"' in line for line in syslog) and any('outcome="réussite"' in line for line in syslog)
