"""SSI/IAM.80 — sign-in to the product through a third-party OpenID Connect provider (web mode).

(1) The provider's discovery document and keys are read (evidence). (2) A professional signs in from
the product's sign-in page in a real browser: the redirect chain is recorded (codes masked), the
authorization request must use the code flow with PKCE S256, state and nonce, the return must carry a
code and no token, and a session must open for that professional, on a signed ID token from the
provider. (3) The provider is made to issue an ID token for another application: the product must
refuse it.
"""
from __future__ import annotations

import asyncio

from ..drivers.identity import FederatedSession, identity_provider, mask_url, query_params
from ..proof import Proof, step
from ._identity_common import capability, show_hops


def _provider(proof: Proof):
    return identity_provider(proof.data["identity_provider"], secrets=proof.secrets)


@step(1, "Fournisseur d'identité tiers : document de découverte et clés de signature")
async def decouverte(proof: Proof) -> dict:
    idp = _provider(proof)
    doc, exchange = await asyncio.to_thread(idp.get_json, idp.discovery_url)
    proof.recorder.exchange(exchange["request"], exchange["response"], "Document de découverte OpenID Connect")
    jwks, exchange = await asyncio.to_thread(idp.get_json, doc["jwks_uri"])
    proof.recorder.exchange(exchange["request"], exchange["response"], "Clés publiques de signature (JWKS)")
    summary = {k: doc.get(k) for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                                       "code_challenge_methods_supported", "id_token_signing_alg_values_supported")}
    summary["kids"] = [k.get("kid") for k in jwks.get("keys", [])]
    proof.recorder.observation(summary, "Relevé du fournisseur d'identité")
    return summary


@step(2, "Connexion d'un professionnel au produit par le fournisseur d'identité (navigateur)")
async def connexion(proof: Proof, provider: dict | None) -> None:
    login = capability(proof, "federated_login")
    who = proof.data["professional"]
    idp_page = await login.start()
    shot_idp = await proof.screenshot(idp_page, "Page de connexion du fournisseur d'identité, ouverte depuis le produit")
    password = proof.secrets.resolve(who["password"], "data.professional.password")
    result = await login.sign_in(str(who["username"]), password)
    shot = await proof.screenshot(result, "Écran du produit au retour du fournisseur d'identité")
    chain = show_hops(proof, result.hops, "Chaîne de redirections suivie par le navigateur")
    proof.recorder.observation({"session": result.session_open, "éléments utilisés": result.claims},
                               "Éléments du jeton d'identité affichés par le produit")
    authorize = next((h for h in result.hops if provider and h.url.startswith(provider["authorization_endpoint"])), None)
    proof.check("Le produit renvoie le navigateur vers le point d'autorisation du fournisseur tiers",
                expected=(provider or {}).get("authorization_endpoint", "le point d'autorisation annoncé"),
                observed=mask_url(authorize.url.split("?")[0]) if authorize else "aucune redirection vers le fournisseur",
                passed=authorize is not None, evidence=[chain, shot_idp])
    q = query_params(authorize.url) if authorize else {}
    missing = [k for k in ("client_id", "redirect_uri", "state", "nonce", "code_challenge") if not q.get(k)]
    flow_ok = (q.get("response_type") == "code" and q.get("code_challenge_method") == "S256" and not missing
               and "openid" in q.get("scope", "").split())
    proof.check("La demande d'autorisation suit le flux « code » avec PKCE (S256), state et nonce",
                expected="response_type=code, scope openid, code_challenge_method=S256, state, nonce",
                observed=(f"response_type={q.get('response_type')}, scope={q.get('scope')}, "
                          f"code_challenge_method={q.get('code_challenge_method')}"
                          + (f" ; absents : {', '.join(missing)}" if missing else "")) if q else "pas de demande",
                passed=flow_ok, evidence=[chain])
    back = next((h for h in result.hops if "code=" in h.url and h is not authorize), None)
    leaked = [h for h in result.hops if any(t in h.url for t in ("id_token=", "access_token="))]
    proof.check("Le retour vers le produit porte un code d'autorisation et aucun jeton dans l'URL",
                expected="un code (masqué ici) dans l'URL de retour, aucun jeton",
                observed=(f"retour : {mask_url(back.url)}" if back else "aucun retour avec un code")
                + (f" ; jeton dans {len(leaked)} URL" if leaked else ""),
                passed=back is not None and not leaked, evidence=[chain])
    expected_user = str(who.get("expected_login") or who["username"])
    seen_user = result.claims.get("preferred_username", "")
    proof.check("Une session s'ouvre dans le produit pour le professionnel authentifié",
                expected=f"session ouverte pour {expected_user}",
                observed=result.observed if result.session_open else (result.reason or result.observed),
                passed=result.session_open and seen_user == expected_user, evidence=[shot])
    signature = result.claims.get("signature", "")
    issuer = result.claims.get("iss", "")
    proof.check("La session repose sur un jeton d'identité signé (RS256) émis par ce fournisseur",
                expected=f"signature RS256 vérifiée, émetteur {(provider or {}).get('issuer', '')}",
                observed=f"signature : {signature or 'non indiquée'} ; émetteur : {issuer or 'non indiqué'}",
                passed=signature.startswith("RS256") and bool(provider) and issuer == provider["issuer"],
                evidence=[shot])


@step(3, "Un jeton d'identité émis pour une autre application est refusé")
async def jeton_autre_audience(proof: Proof) -> None:
    audience = str(proof.data.get("wrong_audience", "autre-application"))
    exchange = await asyncio.to_thread(_provider(proof).issue_wrong_audience, audience)
    proof.recorder.exchange(exchange["request"], exchange["response"],
                            f"Fournisseur d'identité : prochain jeton émis pour l'audience « {audience} »")
    login = capability(proof, "federated_login")
    who = proof.data["professional"]
    await login.start()
    password = proof.secrets.resolve(who["password"], "data.professional.password")
    result: FederatedSession = await login.sign_in(str(who["username"]), password)
    shot = await proof.screenshot(result, f"Écran du produit quand le jeton d'identité est destiné à « {audience} »")
    chain = show_hops(proof, result.hops, "Chaîne de redirections de la tentative avec le jeton d'une autre audience")
    came_back = any("code=" in h.url for h in result.hops)  # the provider did issue a code (and the token)
    proof.check("Le produit refuse un jeton d'identité dont l'audience est une autre application",
                expected="retour du fournisseur avec un code, puis connexion refusée par le produit",
                observed=(f"session ouverte : {result.observed}" if result.session_open
                          else (result.reason or result.observed)),
                passed=not result.session_open and result.refused and came_back, evidence=[shot, chain])
