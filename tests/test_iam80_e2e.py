"""SSI/IAM.80 end to end: sign-in through the demo OpenID Connect provider, wrong-audience token refused."""
from __future__ import annotations

import copy
import re

import yaml

from conftest import ROOT
from identity_e2e import (OIDC_ADMIN_PASSWORD, OIDC_USER_PASSWORD, assert_no_secret, failed_labels, pdf_text,
                          result, run_requirements)
from segur_helpers.drivers.identity import mask_url

REQ = "SSI/IAM.80"


def _requirements(stack) -> dict:
    data = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    entry = copy.deepcopy(data["requirements"][REQ])
    entry["data"]["identity_provider"]["issuer"] = stack.oidc_url
    return {REQ: entry}


def test_mask_url_hides_codes_tokens_and_states_only():
    url = ("http://dpi.test/cb?code=SECRETCODE&state=STATE1#id_token=JWT&x=1&code_challenge=CH"
           "&code_challenge_method=S256&response_type=code")
    masked = mask_url(url)
    assert "SECRETCODE" not in masked and "JWT" not in masked and "STATE1" not in masked
    assert "x=1" in masked and masked.count("[masqué]") == 3
    assert "code_challenge=CH" in masked and "code_challenge_method=S256" in masked and "response_type=code" in masked
    # wherever a URL is written: HTML, JSON, and URL-encoded inside another URL
    from segur_helpers.params import Secrets
    s = Secrets()
    for text in ('<a href="/cb?code=C0DE&amp;state=ST4TE">', '{"u": "/cb?code=C0DE\\u0026state=ST4TE"}',
                 "redirect=https%3A%2F%2Fdpi%2Fcb%3Fcode%3DC0DE%26state%3DST4TE"):
        assert "C0DE" not in s.redact(text) and "ST4TE" not in s.redact(text), s.redact(text)
        assert b"C0DE" not in s.redact_bytes(text.encode())


def test_oidc_sign_in_compliant_then_wrong_audience_accepted(tmp_path, write_params, demo_stack, admin_password):
    # the whole demo target, as `make demo` starts it (directory too): the provider's user is one of its staff
    stack = demo_stack(with_oidc=True, with_ldap=True)
    proc, run = run_requirements(tmp_path, write_params, stack, (REQ,), requirements=_requirements(stack))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    res = result(run, REQ)
    assert res["verdict"] == "CONFORME", (failed_labels(res), res.get("error"))
    assert len(res["checks"]) == 6
    text = pdf_text(run, REQ)
    for words in ("Chaîne de redirections", "code_challenge_method=S256", "[masqué]", "preferred_username",
                  "Connexion refusée", "audience incorrecte"):
        assert words in text, words
    assert "NON CONFORME" not in text
    for secret in (admin_password, OIDC_USER_PASSWORD, OIDC_ADMIN_PASSWORD):
        assert_no_secret(run, secret, proc.stdout, proc.stderr)
    for f in (run / "SSI_IAM.80.01" / "evidence").iterdir():
        data = f.read_bytes()
        assert b"eyJ" not in data, f"a JWT is reproduced in {f.name}"   # tokens never reproduced
        codes = re.findall(rb"[?&#;](?:code|state)=([^&#\"\s]*)", data)
        assert all(c.startswith("[masqué]".encode()) for c in codes), f"an authorization code or state in {f.name}"
    # nor in the notebook (captions, cards) and the HAR-like chain of redirections
    notebook = (run / "SSI_IAM.80.01" / "notebook.ipynb").read_bytes()
    found = re.findall(rb"[?&#;](?:code|state)=([^&#\"\s\\]*)", notebook)
    assert found and all(c.startswith("[masqué]".encode()) for c in found), found[:3]

    bad = demo_stack(defects=[REQ], with_oidc=True)
    proc, run = run_requirements(tmp_path, write_params, bad, (REQ,), name="defect.yaml",
                                 requirements=_requirements(bad))
    assert proc.returncode == 1, proc.stderr
    res = result(run, REQ)
    assert res["verdict"] == "NON CONFORME"
    assert failed_labels(res) == ["Le produit refuse un jeton d'identité dont l'audience est une autre application"]
    text = pdf_text(run, REQ)
    assert "NON CONFORME" in text and "autre-application" in text
