"""HOP VA 1.06 — the document circuit (creation → review → validation → sending) is documented, and the
user reaches that documentation from the application.

Two proof elements: (1) the application shows the user a way to the documentation and following it
opens the documentation, captured as delivered; (2) the documentation describes each stage of the
circuit — creation, review, validation, sending — with its actors, in that order.
"""
from __future__ import annotations

import unicodedata

from ..drivers.documents import WorkflowDocView, WorkflowStage
from ..proof import Proof, step

#: Expected stages, in circuit order: (name shown to reviewers, words that identify its title).
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Création", ("creation", "redaction")),
    ("Relecture", ("relecture", "revue")),
    ("Validation", ("validation",)),
    ("Envoi", ("envoi", "transmission", "diffusion")),
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _find(stages: list[WorkflowStage], words: tuple[str, ...]) -> int | None:
    for n, stage in enumerate(stages):
        if any(w in _fold(stage.title) for w in words):
            return n
    return None


@step(1, "Accès à la documentation du circuit des documents depuis l'application")
async def acces_documentation(proof: Proof) -> WorkflowDocView | None:
    docs = proof.driver.documents
    entry = await docs.documentation_entry()
    shot = await proof.screenshot(entry, "Écran des documents : accès à la documentation du circuit",
                                  names=entry.observed)
    proof.check("L'application propose à l'utilisateur un accès à la documentation du circuit",
                expected="un lien ou une entrée de menu visible", observed=entry.observed or "aucun accès trouvé",
                passed=bool(entry.observed), evidence=[shot])
    if not entry.observed:
        return None
    doc = await docs.open_documentation()
    shot = await proof.screenshot(doc, "Documentation du circuit des documents ouverte depuis l'application")
    source = proof.recorder.attach(doc.source, "Documentation telle que délivrée par l'application",
                                   name=f"documentation-circuit.{doc.source_ext}")
    proof.recorder.observation({"titre": doc.observed, "adresse": doc.url,
                                "etapes": [vars(s) for s in doc.stages]},
                               "Étapes et acteurs relevés dans la documentation")
    proof.check("La documentation s'ouvre depuis l'application", expected="la documentation du circuit",
                observed=(f"« {doc.observed} », {len(doc.stages)} étape(s) décrite(s)" if doc.stages
                          else f"« {doc.observed} » sans étape décrite"),
                passed=bool(doc.stages), evidence=[shot, source])
    return doc


@step(2, "Chaque étape du circuit et ses acteurs sont décrits")
async def etapes_et_acteurs(proof: Proof, doc: WorkflowDocView | None) -> None:
    if doc is None:
        proof.check("Étapes du circuit décrites", expected="la documentation ouverte à l'étape 1",
                    observed="documentation inaccessible", passed=False)
        return
    positions = []
    for name, words in STAGES:
        n = _find(doc.stages, words)
        if n is None:
            proof.check(f"Étape « {name} » décrite avec ses acteurs",
                        expected=f"une partie « {name} » nommant ses acteurs",
                        observed="étape absente de la documentation (étapes décrites : "
                                 + (", ".join(s.title for s in doc.stages) or "aucune") + ")", passed=False)
            continue
        positions.append((n, name))
        stage = doc.stages[n]
        proof.check(f"Étape « {name} » décrite avec ses acteurs", expected=f"une partie « {name} » nommant ses acteurs",
                    observed=f"« {stage.title} » — acteurs : {stage.actors or 'non précisés'}",
                    passed=bool(stage.actors.strip()) and len(stage.text) > len(stage.title) + len(stage.actors))
    order = [name for _, name in sorted(positions)]
    expected = [name for name, _ in STAGES]
    proof.check("Les étapes sont présentées dans l'ordre du circuit", expected=" → ".join(expected),
                observed=" → ".join(order) or "aucune étape reconnue", passed=order == expected)
