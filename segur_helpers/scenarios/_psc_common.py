"""Helpers shared by the Pro Santé Connect scenarios (PSC.01, PSC.02, PSC.08, DMP/PSC.01).

They read and show what was captured; every call to the product's driver stays in the scenario modules,
where ``segur driver check`` reads it.
"""
from __future__ import annotations

import asyncio

from ..drivers.identity import Hop, mask_url, query_params
from ..drivers.psc import PscSession, psc_provider
from ..evidence import esc
from ..proof import Proof

DEFAULT_SCOPE = "openid scope_all"


def provider(proof: Proof):
    return psc_provider(proof.data["psc"], secrets=proof.secrets)


def expected_acr(proof: Proof) -> str:
    return str(proof.data["psc"].get("acr") or "eidas1")


def password(proof: Proof, who: str) -> str:
    return proof.secrets.resolve(proof.data[who]["password"], f"data.{who}.password")


async def discovery(proof: Proof) -> dict:
    """PSC's discovery document, kept as evidence; its endpoints (issuer, authorization, end session …)."""
    psc = provider(proof)
    doc, exchange = await asyncio.to_thread(psc.get_json, psc.discovery_url)
    proof.recorder.exchange(exchange["request"], exchange["response"],
                            "Pro Santé Connect : document de découverte (points d'accès, niveaux, scopes)")
    return doc


def authorization_request(hops: list[Hop], doc: dict) -> Hop | None:
    endpoint = (doc or {}).get("authorization_endpoint") or "\0"
    return next((h for h in hops if h.url.startswith(endpoint + "?")), None)


def code_return(hops: list[Hop], after: Hop | None) -> Hop | None:
    return next((h for h in hops if "code=" in h.url and h is not after and "state=" in h.url), None)


def request_summary(q: dict) -> str:
    keys = ("response_type", "client_id", "scope", "acr_values", "redirect_uri", "code_challenge_method")
    shown = ", ".join(f"{k}={q[k]}" for k in keys if q.get(k))
    present = [k for k in ("state", "nonce") if q.get(k)]
    return shown + (f" ; {' et '.join(present)} présents" if present else " ; ni state ni nonce")


def check_request(proof: Proof, hops: list[Hop], doc: dict, chain, *, scope: str | None = None) -> dict:
    """The authorization request sent to PSC: code flow, scopes, eIDAS level, state and nonce (checks)."""
    authorize = authorization_request(hops, doc)
    proof.check("Le produit renvoie le navigateur vers le point d'autorisation de Pro Santé Connect",
                expected=doc.get("authorization_endpoint", "le point d'autorisation annoncé par PSC"),
                observed=mask_url(authorize.url.split("?")[0]) if authorize else "aucune redirection vers PSC",
                passed=authorize is not None, evidence=[chain])
    q = query_params(authorize.url) if authorize else {}
    scopes = (scope or str(proof.data["psc"].get("scope") or DEFAULT_SCOPE)).split()
    acr = expected_acr(proof)
    missing = [k for k in ("client_id", "redirect_uri", "state", "nonce") if not q.get(k)]
    ok = (q.get("response_type") == "code" and all(s in q.get("scope", "").split() for s in scopes)
          and q.get("acr_values") == acr and not missing)
    proof.check("La demande d'autorisation suit le référentiel Pro Santé Connect : flux « code », scopes, "
                "niveau eIDAS (acr_values), state et nonce",
                expected=f"response_type=code, scope {' '.join(scopes)}, acr_values={acr}, state, nonce",
                observed=(request_summary(q) + (f" ; absents : {', '.join(missing)}" if missing else ""))
                if q else "pas de demande d'autorisation", passed=ok, evidence=[chain])
    return q


def check_code_return(proof: Proof, hops: list[Hop], doc: dict, chain) -> None:
    authorize = authorization_request(hops, doc)
    back = code_return(hops, authorize)
    leaked = [h for h in hops if any(t in h.url for t in ("id_token=", "access_token="))]
    proof.check("Le retour vers le produit porte un code d'autorisation et aucun jeton dans l'URL",
                expected="un code (masqué ici) dans l'URL de retour, aucun jeton",
                observed=(f"retour : {mask_url(back.url)}" if back else "aucun retour avec un code")
                + (f" ; jeton dans {len(leaked)} URL" if leaked else ""),
                passed=back is not None and not leaked, evidence=[chain])


def keep_session(proof: Proof, result: PscSession, caption: str):
    """What the product showed after the return (claims, practice situations), kept as an observation."""
    return proof.recorder.observation({"session": result.session_open, "qui": result.who, "comment": result.how,
                                       "compte": result.account, "rpps_du_compte": result.account_rpps,
                                       "éléments utilisés": result.claims, "situations d'exercice": result.practice,
                                       "rapprochement": result.reconciliation, "refus": result.reason}, caption)


def came_back_with_code(result: PscSession) -> bool:
    return any("code=" in h.url and "state=" in h.url for h in result.hops)


def show_table(proof: Proof, title: str, header: list[str], rows: list[list], caption: str = "") -> None:
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows) or \
        f"<tr><td colspan='{len(header)}'>aucune ligne</td></tr>"
    proof.recorder.show(f'<div class="segur-card"><h4>{esc(title)}</h4><table><tr>'
                        + "".join(f"<th>{esc(h)}</th>" for h in header) + f"</tr>{body}</table>"
                        + (f'<div class="caption">{esc(caption)}</div>' if caption else "") + "</div>")
