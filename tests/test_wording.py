"""What a cover quotes: the imported REM's statement, scenario and proofs, else the project's summary.

The REM texts here are invented (never copied from ANS's workbooks).
"""
from __future__ import annotations

from segur_helpers import catalog
from segur_helpers.catalog.rem import RemCatalog, RemProof, RemRequirement, RemScenario
from segur_helpers.catalog.wording import PROJECT_SOURCE, condition_clause, condition_excerpt, wording


def rem(**req) -> RemCatalog:
    r = RemRequirement(id="SSI/IE.31", **req)
    return RemCatalog(layout="convergence", source="rem-essai.xlsx", sha256="0" * 64, requirements={r.id: r})


def test_no_rem_quotes_the_project_and_says_so():
    req = catalog.get("SSI/IE.31")
    w = wording(req, req.scenarios[0], None)
    assert w["summary"] == req.summary and w["wording_source"] == PROJECT_SOURCE + " — aucun REM importé"
    assert w["condition"] == req.condition and w["condition_source"] == PROJECT_SOURCE
    assert [e["id"] for e in w["expected"]] == [p for p, _ in req.scenarios[0].proofs]
    assert w["scenario_text"] == ""


def test_convergence_rem_quotes_statement_scenario_and_proofs():
    req = catalog.get("SSI/IE.31")
    imported = rem(statement="Lorsque le produit fait X (et Y, Z), il DOIT faire W.\n* puce",
                   scenarios=[RemScenario("SSI/IE.31.01", 1, "Scénario inventé", [
                       RemProof("SSI/IE.31.01.01", 1, "Preuve une"), RemProof("SSI/IE.31.01.02", 2, "Preuve deux")])])
    w = wording(req, req.scenarios[0], imported)
    source = "libellé officiel du REM importé — rem-essai.xlsx, export Convergence"
    assert (w["summary"], w["wording_source"]) == (imported.get("SSI/IE.31").statement, source)
    # the condition is the whole sentence (never cut at a comma); the statement has more: « extrait »
    assert (w["condition"], w["condition_source"]) == ("Lorsque le produit fait X (et Y, Z), il DOIT faire W.",
                                                       "extrait de l'énoncé ci-dessus")
    assert w["condition_extract"] is True
    assert (w["scenario_text"], w["scenario_source"]) == ("Scénario inventé", source)
    assert w["expected"] == [{"id": "SSI/IE.31.01.01", "text": "Preuve une"},
                             {"id": "SSI/IE.31.01.02", "text": "Preuve deux"}]
    assert w["expected_source"] == source


def test_rem_without_the_requirement_or_its_statement_falls_back():
    req = catalog.get("SSI/IE.31")
    other = RemCatalog(layout="squash", source="x.xlsx", sha256="0" * 64, requirements={})
    assert wording(req, req.scenarios[0], other)["wording_source"].endswith(" — exigence absente du REM importé")
    w = wording(req, req.scenarios[0], rem(statement=""))
    assert w["summary"] == req.summary and "ne donne pas l'énoncé" in w["wording_source"]


def test_condition_is_made_of_whole_sentences():
    # a second condition later in the same sentence is kept: the sentence is never cut
    text = "Si le système fait A (par opposition à B), le système DOIT C lorsque D sert à E."
    assert condition_excerpt(text) == (text, False)
    assert condition_clause("Dans le cas où A est vrai ALORS le produit DOIT B") == \
        "Dans le cas où A est vrai ALORS le produit DOIT B"
    assert condition_clause("Le système DOIT B LORSQUE A survient, sans délai.") == \
        "Le système DOIT B LORSQUE A survient, sans délai."
    assert condition_clause("Le système DOIT B.") == ""
    # only the sentences that carry a condition, each whole; the rest of the statement is left out
    statement = ("Afin de faire F :\nSi le système a G (détail 3.1.3.1. du guide), il DOIT H :\n- point un ;\n"
                 "- point deux. Cette vérification peut se faire par I.")
    assert condition_excerpt(statement) == ("Si le système a G (détail 3.1.3.1. du guide), il DOIT H :", True)
    two = "Si A, le système DOIT B. Il DOIT aussi C. Lorsque D, il DOIT E."
    assert condition_excerpt(two) == ("Si A, le système DOIT B.\n[…]\nLorsque D, il DOIT E.", True)
