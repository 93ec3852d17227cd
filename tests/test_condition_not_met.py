"""A notebook establishing the condition itself: ``proof.condition_not_met(reason)`` → NON APPLICABLE.

The proof object is built as ``open_proof`` builds it (no browser needed: the steps here only record).
"""
from __future__ import annotations

import asyncio
import json
from html import unescape

import nbformat
import pytest

from conftest import campaign_dict
from segur_helpers import catalog
from segur_helpers.export import proof_html
from segur_helpers.params import Secrets, load_campaign
from segur_helpers.proof import Proof, step


@step(1, "Constat de la configuration du produit")
async def constat(proof: Proof, manages_contacts: bool):
    seen = proof.recorder.observation({"coordonnees": "annuaire" if not manages_contacts else "produit"},
                                      "Paramètre « origine des coordonnées » relevé")
    if not manages_contacts:
        proof.condition_not_met("Les coordonnées des professionnels proviennent de l'annuaire de "
                                "l'établissement ; le produit ne les rattache pas lui-même.", evidence=[seen])
        return
    proof.check("Le produit rattache lui-même les coordonnées", expected="oui", observed="oui", passed=True)


@step(2, "Déclaration du compte")
async def declarer(proof: Proof):
    proof.check("Compte déclaré", expected="un compte", observed="un compte", passed=True)


def _proof(tmp_path, write_params, requirement=None) -> Proof:
    camp = load_campaign(write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m")))
    req = requirement or catalog.get("SSI/IE.31")
    folder = tmp_path / "proof"
    folder.mkdir()
    return Proof(camp, req, req.scenarios[0], folder, "run-test", Secrets())


async def _run(proof: Proof, manages_contacts: bool) -> dict:
    await constat(proof, manages_contacts)
    await declarer(proof)
    await proof.close()
    return json.loads((proof.dir / "result.json").read_text(encoding="utf-8"))


def test_condition_established_unmet_gives_non_applicable(tmp_path, write_params):
    result = asyncio.run(_run(_proof(tmp_path, write_params), manages_contacts=False))
    assert result["verdict"] == "NON APPLICABLE" and result["error"] is None
    assert result["condition_not_met"]["step"] == 1
    assert "annuaire de l'établissement" in result["condition_not_met"]["reason"]
    assert result["condition_not_met"]["evidence"] == [result["evidence"][0]["name"]]
    assert [s["status"] for s in result["steps"]] == ["done", "skipped"]  # the rest is without object
    assert result["checks"] == []
    # the PDF's cover says so (the proof PDF is printed from this HTML)
    html = unescape(proof_html(nbformat.v4.new_notebook(), result, "0" * 64))
    assert "NON APPLICABLE" in html and "Condition d'applicabilité non remplie" in html
    assert "constatée non remplie à l'étape 1" in html and "annuaire de l'établissement" in html


def test_condition_met_runs_on(tmp_path, write_params):
    result = asyncio.run(_run(_proof(tmp_path, write_params), manages_contacts=True))
    assert result["verdict"] == "CONFORME" and result["condition_not_met"] is None
    assert [s["status"] for s in result["steps"]] == ["done", "done"]


def test_unconditional_requirement_cannot_be_inapplicable(tmp_path, write_params):
    import dataclasses
    req = dataclasses.replace(catalog.get("SSI/IE.31"), conditional=False)
    result = asyncio.run(_run(_proof(tmp_path, write_params, req), manages_contacts=False))
    assert result["verdict"] == "ERREUR" and "not conditional" in result["error"]["message"]


@pytest.mark.parametrize("verdict", ["CONFORME", "NON APPLICABLE"])
def test_cover_condition_wording(tmp_path, write_params, verdict):
    """Without a REM the cover quotes the project's summary and says so."""
    result = asyncio.run(_run(_proof(tmp_path, write_params), manages_contacts=verdict == "CONFORME"))
    html = unescape(proof_html(nbformat.v4.new_notebook(), result, "0" * 64))
    assert "résumé du projet segur-proofs — aucun REM importé" in html
    assert ("déclarée remplie pour cette campagne" in html) == (verdict == "CONFORME")
