"""Test patients only: a proof touches a patient only if its INS is under a test OID.

The national test OIDs are 1.2.250.1.213.1.4.10 (NIR) and 1.2.250.1.213.1.4.11 (NIA); production INS
are under .8 (NIR) and .9 (NIA). A campaign may lift the rule with ``allow_non_test_patients: true``
(top level of the params), e.g. for a vendor's own fictitious patients under another OID.
"""
from __future__ import annotations

from typing import Any

from .errors import PatientRefused, UserError

TEST_INS_OIDS = ("1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11")
ALLOW_KEY = "allow_non_test_patients"


def allowed_non_test(raw: dict[str, Any], file: str | None = None) -> bool:
    value = raw.get(ALLOW_KEY, False)
    if not isinstance(value, bool):
        raise UserError(f"expected true or false, got {value!r}", file=file, key=ALLOW_KEY)
    return value


def check_patient(patient: dict[str, Any], *, allow_non_test: bool, where: str = "") -> None:
    """Raise :class:`PatientRefused` (one French line) unless ``patient`` is a test patient."""
    oid = str(patient.get("ins_oid", "")).removeprefix("urn:oid:")
    if oid in TEST_INS_OIDS or allow_non_test:
        return
    who = f"{patient.get('prenom', '')} {patient.get('nom', '')}".strip() or "?"
    raise PatientRefused(
        f"refus : le patient « {who} »{f' ({where})' if where else ''} a un INS sous l'OID {oid or '(absent)'}, "
        f"qui n'est pas un OID de test ({' ou '.join(TEST_INS_OIDS)}) ; la preuve s'arrête sans rien "
        f"toucher. Pour l'autoriser, la campagne doit le dire explicitement ({ALLOW_KEY}: true).")


def ensure_test_patients(proof, *keys: str) -> None:
    """Check the patients ``proof.data[key]`` before any step touches them."""
    allow = allowed_non_test(proof.campaign.raw, str(proof.campaign.path))
    for key in keys:
        check_patient(proof.data[key], allow_non_test=allow, where=f"data.{key}")
