"""Helpers shared by the DMP scenarios: uniqueIds per proof, a small CDA for simulated third parties."""
from __future__ import annotations

from datetime import datetime, timezone
from xml.sax.saxutils import escape

from .. import fr

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
    item = keep_exchange(proof, x, caption)
    if x.status != 201:
        raise RuntimeError(f"le DMP a refusé le document {uid} (HTTP {x.status})")
    return item


def _summary(body) -> list[tuple[str, str]]:
    """The few fields of a DocumentReference / Bundle / log a reviewer reads, as (label, value)."""
    if not isinstance(body, dict):
        return []
    if body.get("resourceType") == "Bundle":
        out = [("Résultats", str(body.get("total", 0)))]
        for e in body.get("entry", [])[:5]:
            r = e.get("resource", {})
            out.append(("Document", f"{(r.get('masterIdentifier') or {}).get('value', '?')} — statut {r.get('status', '?')}"))
        return out
    if body.get("resourceType") == "DocumentReference":
        coding = ((body.get("type") or {}).get("coding") or [{}])[0]
        ext = {x.get("url"): x.get("valueString") or x.get("valueDateTime") for x in body.get("extension") or []}
        out = [("Identifiant unique", (body.get("masterIdentifier") or {}).get("value", "")),
               ("Statut", body.get("status", "")),
               ("Type", f"{coding.get('display', '')} ({coding.get('code', '')})"), ("Date", fr.when(body.get("date", ""))),
               ("Auteur", ((body.get("author") or [{}])[0]).get("display", "")),
               ("Structure", (body.get("custodian") or {}).get("display", "")),
               ("Patient (INS)", ((body.get("subject") or {}).get("identifier") or {}).get("value", "")),
               ("Confidentialité / visibilité", ", ".join(s.get("code", "") for s in body.get("securityLabel") or []))]
        if ext:
            out.append(("Suppression", f"par {ext.get('deletedBy', '?')} le {fr.when(ext.get('deletedAt')) or '?'}"))
        return [(k, v) for k, v in out if v]
    if "transactions" in body:
        rows = body["transactions"]
        return [("Transactions", str(len(rows)))] + [
            (f"n° {t.get('seq')}", f"{fr.when(t.get('at'))} — {t.get('method')} {t.get('path')} → {t.get('status')}")
            for t in rows[:8]]
    return []


def keep_exchange(proof, x, caption: str):
    """Keep a DMP exchange whole (JSON file, hashed) and show the reviewer a compact summary of it."""
    import json

    from ..evidence import esc

    data = json.dumps({"request": x.request, "response": x.response}, ensure_ascii=False, indent=2).encode()
    item = proof.recorder.attach(data, f"Échange avec le DMP — {caption}", name=caption[:40] + ".json")
    req = x.request
    rows = [("Requête", f"{req.get('method')} {req.get('url')}"), ("Réponse", f"HTTP {x.status}")]
    sent = req.get("body") if isinstance(req.get("body"), dict) else {}
    if sent.get("resourceType"):  # a submission: what was sent, and the id the DMP gave it
        rows += _summary(sent) + [("Identifiant attribué par le DMP",
                                   x.body.get("id", "—") if isinstance(x.body, dict) else "—")]
    else:                         # a search, a deletion, the log: what came back
        rows += _summary(x.body)
    table = "".join(f"<tr><th style='width:30%'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    proof.recorder.show(f'<div class="segur-card"><h4>Échange avec le DMP — {esc(caption)}</h4><table>{table}</table>'
                        f'<div class="caption">Échange complet conservé : {esc(item.name)}</div></div>')
    return item
