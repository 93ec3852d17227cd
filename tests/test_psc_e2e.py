"""Pro Santé Connect end to end (PSC.01, PSC.02, PSC.08, DMP/PSC.01): the demo DPI, its DMP simulator and
the PSC stand-in started here on free ports, the real CLI.

One compliant run of the four requirements together (all CONFORME, in parallel workers, as `make demo`
runs them), then each defect NON CONFORME naming exactly its own failed checks: the acr, the audience,
the second identity and the DMP call without identity in one run (one defect per requirement), the
logout in another. Every artefact is grepped for the passwords and for tokens or codes.
"""
from __future__ import annotations

import copy
import re

import pytest
import yaml

from conftest import ROOT, campaign_dict, run_segur
from identity_e2e import (PSC_ADMIN_PASSWORD, PSC_USER_PASSWORD, assert_no_secret, failed_labels, pdf_text,
                          result)
from segur_helpers.drivers.identity import mask_url

REQS = ("PSC.01", "PSC.08", "PSC.02", "DMP/PSC.01")
JWT = re.compile(rb"eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.")  # a JWS: base64url JSON header, then payload
# the checks each defect must make fail, and only them
DEFECT_CHECKS = {
    "PSC.01-audience": ("PSC.01", ["Le produit refuse un jeton d'identité dont l'audience est une autre application"]),
    "PSC.01-logout": ("PSC.01", ["Après la déconnexion, la session du produit est terminée"]),
    "PSC.08": ("PSC.08", ["Le produit refuse un jeton d'identité de niveau « 0 », inférieur au niveau eidas1 exigé"]),
    "PSC.02": ("PSC.02", ["Le produit refuse une seconde identité Pro Santé Connect pour un compte déjà rapproché",
                          "Le compte reste rapproché de la seule première identité",
                          "L'administrateur voit le rapprochement : compte, n° RPPS, identité Pro Santé Connect et date",
                          "Le refus de la seconde identité est journalisé et visible par l'administrateur"]),
    "DMP/PSC.01": ("DMP/PSC.01", [
        "Le produit échange le jeton d'accès Pro Santé Connect du professionnel contre un jeton du DMP, "
        "que le DMP a vérifié auprès de Pro Santé Connect",
        "Chaque requête reçue par le DMP pour ce patient porte l'identité Pro Santé Connect du professionnel",
        "Les requêtes utilisent le jeton obtenu par l'échange (même empreinte)"]),
}


def _campaign(stack, only=REQS) -> dict:
    data = campaign_dict(stack.url, stack.maildir, only=only,
                         dmp={"url": stack.dmp_url, "control_url": stack.dmp_control_url})
    data["requirements"] = copy.deepcopy(data["requirements"])
    for entry in data["requirements"].values():
        entry["data"]["psc"] = dict(entry["data"]["psc"], issuer=stack.psc_issuer)
    return data


def _run(tmp_path, write_params, stack, name, only=REQS):
    out = tmp_path / ("outputs-" + name)
    params = write_params(_campaign(stack, only), name + ".yaml")
    proc = run_segur("run", str(params), "--outputs", str(out), timeout=900)
    runs = [p for p in (out / "test").iterdir() if p.is_dir()] if (out / "test").is_dir() else []
    assert len(runs) == 1, proc.stderr + proc.stdout
    return proc, runs[0]


def _assert_nothing_leaks(run, proc, admin_password):
    for secret in (admin_password, PSC_USER_PASSWORD, PSC_ADMIN_PASSWORD):
        assert_no_secret(run, secret, proc.stdout, proc.stderr)
    for req in REQS:
        assert not JWT.search(pdf_text(run, req).replace(" ", "").encode()), f"a JWT in the PDF of {req}"
    for f in run.rglob("*"):
        if not f.is_file():
            continue
        data = f.read_bytes()
        assert not JWT.search(data), f"a JWT is reproduced in {f}"        # ID and access tokens never kept
        for name in (rb"code", rb"id_token_hint", rb"subject_token"):
            values = re.findall(rb"[?&#]" + name + rb"=([^&#\"\s]*)", data)
            assert all(v.startswith("[masqué]".encode()) for v in values), f"{name!r} value in {f}"


def test_mask_url_hides_id_token_hint():
    url = "http://psc.test/logout?id_token_hint=HEADER.PAYLOAD.SIG&post_logout_redirect_uri=http://dpi/x&state=s"
    masked = mask_url(url)
    assert "PAYLOAD" not in masked and "post_logout_redirect_uri=http://dpi/x" in masked


def test_psc_compliant_then_each_defect(tmp_path, write_params, demo_stack, admin_password):
    stack = demo_stack(with_psc=True, with_dmp=True)
    proc, run = _run(tmp_path, write_params, stack, "compliant")
    verdicts = {r: result(run, r)["verdict"] for r in REQS}
    assert verdicts == dict.fromkeys(REQS, "CONFORME"), (
        {r: (failed_labels(result(run, r)), result(run, r).get("error")) for r in REQS}, proc.stdout[-2000:])
    assert proc.returncode == 0, proc.stderr
    assert [len(result(run, r)["checks"]) for r in REQS] == [14, 4, 8, 6]
    text = pdf_text(run, "PSC.01")
    for words in ("Chaîne de redirections", "acr_values=eidas1", "[masqué]", "SubjectNameID", "810100000001",
                  "connecté(e) via Pro Santé Connect, niveau eIDAS eidas1", "audience incorrecte",
                  "professionnel inconnu du DPI", "connexion refusée"):
        assert words in text, words
    assert "logout?id_token_hint=[masqué]&post_logout_redirect_uri=" in text.replace(" ", "")  # lines wrap in URLs
    assert "NON CONFORME" not in text
    assert "niveau d'authentification insuffisant" in pdf_text(run, "PSC.08")
    text = pdf_text(run, "PSC.02")
    assert "déjà rapproché d'une autre identité" in text and "10100000002" in text
    text = pdf_text(run, "DMP/PSC.01")
    assert "POST /as/token" in text and "810100000004" in text
    _assert_nothing_leaks(run, proc, admin_password)

    # one defect per requirement, all in one target: each proof fails exactly its own checks
    bad = demo_stack(defects=["PSC.01-audience", "PSC.08", "PSC.02", "DMP/PSC.01"], with_psc=True, with_dmp=True)
    proc, run = _run(tmp_path, write_params, bad, "defects")
    assert proc.returncode == 1, proc.stderr
    for defect in ("PSC.01-audience", "PSC.08", "PSC.02", "DMP/PSC.01"):
        req, labels = DEFECT_CHECKS[defect]
        res = result(run, req)
        assert res["verdict"] == "NON CONFORME", (req, res.get("error"))
        assert failed_labels(res) == labels, (defect, failed_labels(res))
        assert "NON CONFORME" in pdf_text(run, req)
    _assert_nothing_leaks(run, proc, admin_password)

    bad = demo_stack(defects=["PSC.01-logout"], with_psc=True, with_dmp=True)
    proc, run = _run(tmp_path, write_params, bad, "logout", only=("PSC.01",))
    assert proc.returncode == 1, proc.stderr
    res = result(run, "PSC.01")
    assert res["verdict"] == "NON CONFORME" and failed_labels(res) == DEFECT_CHECKS["PSC.01-logout"][1]


@pytest.mark.parametrize("key", ["issuer", "acr"])
def test_missing_psc_setting_is_one_line(tmp_path, write_params, key):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "maildir", only=("PSC.01",))
    data["requirements"]["PSC.01"]["data"]["psc"] = {k: v for k, v in data["requirements"]["PSC.01"]["data"]["psc"].items()
                                                     if k != key}
    params = write_params(data)
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "out"))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(params) in lines[0] and f"requirements.PSC.01.data.psc.{key}" in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_demo_campaign_names_the_psc_stand_in():
    text = (ROOT / "params" / "demo.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert all(r in data["requirements"] for r in REQS)
    assert data["requirements"]["PSC.01"]["data"]["psc"]["issuer"].startswith("http://127.0.0.1:8770/")
