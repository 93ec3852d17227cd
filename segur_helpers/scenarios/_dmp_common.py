"""Helpers shared by the DMP scenarios: uniqueIds per proof, a small CDA for simulated third parties."""
from __future__ import annotations

from datetime import datetime, timezone
from xml.sax.saxutils import escape

UNIQUE_ROOT = "1.2.250.1.999.66"  # fictitious OID root of the documents the toolkit adds as a third party


def unique_id(proof, n: int) -> str:
    """A uniqueId (OID form) proper to this proof and document ``n``."""
    return f"{UNIQUE_ROOT}.{int(proof.uniq, 16)}.{n}"


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def third_party_cda(uid: str, patient: dict, doc: dict) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.2.8.2.1"/><templateId root="1.2.250.1.213.1.1.1.1"/>
  <id root="{escape(uid)}"/>
  <code code="{escape(doc['type_code'])}" codeSystem="2.16.840.1.113883.6.1" displayName="{escape(doc['type_display'])}"/>
  <title>{escape(doc['title'])}</title>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole><id root="{escape(patient['ins_oid'])}" extension="{escape(str(patient['ins']))}"/></patientRole></recordTarget>
</ClinicalDocument>
""".encode()


async def submit_third_party(proof, patient: dict, doc: dict, uid: str, date: str, caption: str):
    """A producer outside the target's structure adds ``doc`` to the DMP; the exchange is kept."""
    x = await proof.driver.dmp.submit(
        unique_id=uid, ins=str(patient["ins"]), ins_oid=str(patient["ins_oid"]), type_code=doc["type_code"],
        type_display=doc["type_display"], date=date, author_rpps=str(doc.get("author_rpps", "10109999999")),
        author_name=doc.get("author", "Dr TIERS"), custodian_id=str(doc.get("custodian_id", "")),
        custodian_name=doc.get("custodian", ""), title=doc["title"], cda=third_party_cda(uid, patient, doc))
    item = proof.recorder.exchange(x.request, x.response, caption)
    if x.status != 201:
        raise RuntimeError(f"le DMP a refusé le document {uid} (HTTP {x.status})")
    return item
