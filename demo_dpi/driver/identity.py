"""Demo implementations for SSI/IAM.80 (DEMO): demo_dpi's sign-in through the demo OpenID Connect
provider (``demo_dpi.oidc_provider``), and that provider's test switch for a wrong-audience ID token."""
from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request

from segur_helpers.drivers.base import View
from segur_helpers.drivers.identity import (FederatedLogin, FederatedSession, IdentityProvider, NavigationRecorder,
                                            mask_url)


class DemoFederatedLogin(FederatedLogin):
    def __init__(self, driver):
        super().__init__(driver)
        self._page = None
        self._nav = None

    async def start(self):
        context = await self.driver.new_context()
        self.driver._contexts.append(context)
        page = await context.new_page()
        self._page, self._nav = page, NavigationRecorder(page)
        await page.goto(self.driver.url("/connexion"))
        await page.click("#oidc-login")
        await page.wait_for_selector("#idp-login")
        client = page.locator("[data-testid=client]")
        observed = (await client.inner_text()).strip() if await client.count() else ""
        return View(page=page, highlight="#idp-login", observed=observed, url=mask_url(page.url))

    async def sign_in(self, username, password):
        page = self._page
        await page.fill("#idp-username", username)
        await page.fill("#idp-password", password)
        await page.click("#idp-submit")
        await page.wait_for_load_state("load")
        ok, err = page.locator("[data-testid=session-user]"), page.locator("[data-testid=login-error]")
        claims = {}
        for row in await page.locator("#claims tr[data-claim]").all():
            cells = await row.locator("td").all_inner_texts()
            claims[await row.get_attribute("data-claim")] = cells[1].strip() if len(cells) > 1 else ""
        if await ok.count():
            text = " ".join((await ok.inner_text()).split())
            return FederatedSession(page=page, highlight="#claims", observed=text, url=mask_url(page.url), session_open=True,
                                    claims=claims, hops=list(self._nav.hops))
        reason = " ".join((await err.inner_text()).split()) if await err.count() else ""
        return FederatedSession(page=page, highlight="[data-testid=login-error]" if reason else None,
                                observed=reason or f"ni session ni refus affiché ({mask_url(page.url)})", url=mask_url(page.url),
                                refused=bool(reason), reason=reason, hops=list(self._nav.hops))


class DemoIdentityProvider(IdentityProvider):
    def issue_wrong_audience(self, audience):
        switch = self.conf.get("test_switch") or {}
        user = switch.get("username", "admin")
        password = self.secrets.resolve(switch.get("password", ""), f"{self.where}.test_switch.password")
        url = f"{self.issuer}/test/next-id-token"
        data = urllib.parse.urlencode({"aud": audience}).encode()
        req = urllib.request.Request(url, data=data, method="POST", headers={
            "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = json.loads(resp.read())
            status = resp.status
        return {"request": {"method": "POST", "url": url, "authentification": f"HTTP Basic ({user}, mot de passe masqué)",
                            "body": {"aud": audience}},
                "response": {"status": status, "body": body}}
