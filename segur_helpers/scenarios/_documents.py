"""Steps shared by the document scenarios: have the target produce a validated document."""
from __future__ import annotations

from ..drivers.documents import DocumentRef, DocumentView
from ..proof import Proof
from ..testpatients import TEST_INS_OIDS, allowed_non_test, check_patient


def ensure_test_ins(proof: Proof, *patients: str) -> None:
    """Refuse (ERREUR, nothing touched) any patient of the data whose INS is not under a test OID.

    Documents name their patient by INS; its OID is ``data.ins_oid`` (default: the test NIR OID).
    """
    allow = allowed_non_test(proof.campaign.raw, str(proof.campaign.path))
    oid = str(proof.data.get("ins_oid", TEST_INS_OIDS[0]))
    for ins in patients or (proof.data["document"]["patient"],):
        check_patient({"ins_oid": oid, "nom": f"INS {ins}"}, allow_non_test=allow, where="data")


async def write_and_validate(proof: Proof, document: dict, *, what: str = "document") -> tuple[DocumentRef, DocumentView]:
    """Write ``document`` as its author and validate it (capturing the form and the validated screen).

    Leaves the "send to DMP" control as the product sets it. Returns the document and the screen shown
    after validation; checks that the document is validated.
    """
    docs = proof.driver.documents
    form = await docs.open_new(document)
    await proof.screenshot(form, f"Rédaction du {what} par le médecin auteur")
    ref = await docs.save(form)
    view = await docs.validate(ref)
    view = await docs.show(ref, focus="status")
    shot = await proof.screenshot(view, f"{what.capitalize()} n° {ref.id} après validation par son auteur",
                                  names=view.observed)
    proof.check(f"Le {what} est validé par son auteur", expected="statut « Validé »",
                observed=view.observed or "aucun statut affiché", passed=view.validated, evidence=[shot])
    return ref, view
