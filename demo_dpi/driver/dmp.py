"""The demo DMP client: talks to ``demo_dpi.dmp_sim`` over HTTP (FHIR DocumentReference shaped JSON).

The DMP's base URL is the campaign's ``dmp.url``. Requests run in a worker thread (urllib) so the
kernel's event loop stays free.
"""
from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from segur_helpers.drivers.dmp import RPPS_OID, Dmp, DmpDocument, DmpExchange
from segur_helpers.errors import InfrastructureError, TargetUnreachable

CONFIDENTIALITY_OID = "2.16.840.1.113883.5.25"
VISIBILITY_OID = "1.2.250.1.213.1.1.4.13"


def _parse_document(res: dict) -> DmpDocument:
    coding = ((res.get("type") or {}).get("coding") or [{}])[0]
    author = (res.get("author") or [{}])[0]
    ext = {e.get("url"): e.get("valueString") for e in res.get("extension") or []}
    return DmpDocument(id=res.get("id", ""), unique_id=(res.get("masterIdentifier") or {}).get("value", ""),
                       status=res.get("status", ""), type_code=coding.get("code", ""),
                       type_display=coding.get("display", ""), date=res.get("date", ""),
                       author=author.get("display", ""), custodian=(res.get("custodian") or {}).get("display", ""),
                       security=[s.get("code", "") for s in res.get("securityLabel") or []],
                       deleted_by=ext.get("deletedBy") or "")


class DemoDmp(Dmp):
    @property
    def base(self) -> str:
        url = (self.driver.ctx.campaign.section("dmp") or {}).get("url", "")
        if not url:
            raise TargetUnreachable("aucun DMP configuré : la campagne n'a pas de dmp.url")
        return url.rstrip("/")

    def _call(self, method: str, path: str, body: dict | None = None) -> DmpExchange:
        url = self.base + path
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/fhir+json",
                                              "Accept": "application/fhir+json"})
        shown_body = body
        if body and body.get("content"):  # keep the evidence readable: the CDA is attached separately
            shown_body = json.loads(json.dumps(body))
            for c in shown_body["content"]:
                if "data" in c.get("attachment", {}):
                    c["attachment"]["data"] = f"<{len(c['attachment']['data'])} caractères base64>"
        request = {"method": method, "url": url, "body": shown_body}
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            # the DMP (test platform, or the simulator) is the team's test infrastructure, not the product
            raise InfrastructureError("plateforme DMP de test",
                                      f"DMP injoignable : {url} ({getattr(exc, 'reason', exc)})") from None
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = None
        return DmpExchange(request=request, response={"status": status, "body": parsed if parsed is not None
                                                      else raw.decode(errors="replace")[:4000]},
                           status=status, body=parsed)

    async def _acall(self, *a) -> DmpExchange:
        return await asyncio.to_thread(self._call, *a)

    async def health(self):
        return await self._acall("GET", "/health")

    async def submit(self, *, unique_id, ins, ins_oid, type_code, type_display, date, author_rpps, author_name,
                     custodian_id, custodian_name, title, cda, confidentiality="N", visibility=()):
        resource = {
            "resourceType": "DocumentReference", "masterIdentifier": {"value": unique_id}, "status": "current",
            "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1", "code": type_code,
                                 "display": type_display}]},
            "subject": {"identifier": {"system": f"urn:oid:{ins_oid}", "value": ins}}, "date": date,
            "author": [{"identifier": {"system": f"urn:oid:{RPPS_OID}", "value": author_rpps},
                        "display": author_name}],
            "custodian": {"identifier": {"value": custodian_id}, "display": custodian_name},
            "securityLabel": [{"system": f"urn:oid:{CONFIDENTIALITY_OID}", "code": confidentiality}]
            + [{"system": f"urn:oid:{VISIBILITY_OID}", "code": v} for v in visibility],
            "description": title,
            "content": [{"attachment": {"contentType": "text/xml", "title": title,
                                        "data": base64.b64encode(cda).decode()}}],
        }
        return await self._acall("POST", "/fhir/DocumentReference", resource)

    async def search(self, ins, ins_oid, *, unique_id=None, since=None):
        q = [("patient.identifier", f"urn:oid:{ins_oid}|{ins}")]
        if unique_id:
            q.append(("identifier", unique_id))
        if since:
            q.append(("date", f"gt{since}"))
        x = await self._acall("GET", "/fhir/DocumentReference?" + urllib.parse.urlencode(q))
        docs = [_parse_document(e["resource"]) for e in (x.body or {}).get("entry", [])] if x.status == 200 else []
        return x, docs

    async def delete_as_patient(self, unique_id):
        return await self._acall("POST", "/patient/documents/delete", {"uniqueId": unique_id})

    async def transactions(self, since=0):
        x = await self._acall("GET", f"/admin/transactions?since={int(since)}")
        return x, (x.body or {}).get("transactions", []) if x.status == 200 else []
