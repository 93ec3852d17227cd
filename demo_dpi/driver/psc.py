"""Demo implementations for Pro Santé Connect (PSC.01, PSC.02, PSC.08, DMP/PSC.01): demo_dpi's sign-in with
its PSC stand-in (``demo_dpi.psc_provider``), the administrator's reconciliation screen, and the
stand-in's test switch."""
from __future__ import annotations

import base64
import json
import re
import urllib.parse
import urllib.request

from segur_helpers.drivers.identity import NavigationRecorder, mask_url
from segur_helpers.drivers.patients import ActionView
from segur_helpers.drivers.psc import (LinksView, LogoutView, Psc, PscProvider, PscReconciliation, PscSession,
                                       PscStart, SessionState, SignInPage)

SESSION = "[data-testid=session-user]"
ERROR = "[data-testid=login-error]"


async def _text(page, selector: str) -> str:
    loc = page.locator(selector)
    return " ".join((await loc.first.inner_text()).split()) if await loc.count() else ""


class DemoPsc(Psc):
    def __init__(self, driver):
        super().__init__(driver)
        self._page = None
        self._nav = None

    async def _fresh_page(self):
        context = await self.driver.new_context()
        self.driver._contexts.append(context)
        page = await context.new_page()
        self._page, self._nav = page, NavigationRecorder(page)
        return page

    async def sign_in_page(self):
        page = await self._fresh_page()
        await page.goto(self.driver.url("/care/login"))
        local = bool(await page.locator("#care-login").count())
        psc = bool(await page.locator("#psc-login").count())
        # the texts of the two means, as the page writes them (both inside the outlined block)
        means = [x for x in (await _text(page, "main p") if local else "",
                             await _text(page, "#psc-login") if psc else "") if x]
        return SignInPage(page=page, highlight="main", observed=means[-1] if means else "", url=mask_url(page.url),
                          local_login=local, psc_button=psc, means=means)

    async def start(self, *, same_browser=False):
        page = self._page if (same_browser and self._page is not None) else await self._fresh_page()
        self._nav.hops.clear()
        await page.goto(self.driver.url("/care/login"))
        await page.click("#psc-login")
        await page.wait_for_load_state("load")
        if await page.locator("#idp-login").count():
            return PscStart(page=page, highlight="main", observed=await _text(page, "[data-testid=client]"),
                            url=mask_url(page.url), at_provider=True)
        result = await self._read_result(page)
        return PscStart(page=page, highlight=result.highlight, observed=result.observed, url=mask_url(page.url),
                        at_provider=False, session=result)

    async def sign_in(self, username, password):
        page = self._page
        await page.fill("#idp-username", username)
        await page.fill("#idp-password", password)
        await page.click("#idp-submit")
        await page.wait_for_load_state("load")
        return await self._read_result(page)

    async def _read_result(self, page) -> PscSession:
        claims, practice = {}, []
        for row in await page.locator("#claims tr[data-claim]").all():
            cells = await row.locator("td").all_inner_texts()
            claims[await row.get_attribute("data-claim")] = cells[1].strip() if len(cells) > 1 else ""
        for row in await page.locator("#practice tbody tr").all():
            practice.append(" — ".join(c.strip() for c in await row.locator("td").all_inner_texts() if c.strip()))
        hops = list(self._nav.hops)
        if await page.locator(SESSION).count():
            who = await _text(page, SESSION)
            m = re.search(r"compte n° (\d+)", who)
            return PscSession(page=page, highlight="#psc-session", observed=who, url=mask_url(page.url), session_open=True,
                              claims=claims, hops=hops, who=who, how=await _text(page, "[data-testid=login-method]"),
                              account=m.group(1) if m else "", account_rpps=claims.get("n° RPPS", ""),
                              practice=practice, reconciliation=await _text(page, "[data-testid=reconciliation]"))
        reason = await _text(page, ERROR)
        outcome = await page.locator(ERROR).first.get_attribute("data-outcome") if reason else ""
        return PscSession(page=page, highlight=ERROR if reason else None,
                          observed=reason or f"ni session ni refus affiché ({mask_url(page.url)})", url=mask_url(page.url),
                          refused=bool(reason) and outcome != "rapprochement", reason=reason, hops=hops,
                          reconciliation_offered=outcome == "rapprochement")

    async def logout(self):
        page = self._page
        self._nav.hops.clear()
        if not await page.locator("#psc-logout, #logout").count():
            await page.goto(self.driver.url("/psc/moi"))
        await page.locator("#psc-logout, #logout").first.click()
        await page.wait_for_load_state("load")
        sel = "[data-testid=logout-result]"
        return LogoutView(page=page, highlight=sel, observed=await _text(page, sel), url=mask_url(page.url),
                          hops=list(self._nav.hops))

    async def protected_page(self):
        page = self._page
        await page.goto(self.driver.url("/patients"))
        sel = "[data-testid=current-professional]"
        if await page.locator(sel).count():
            return SessionState(page=page, highlight=".probar", url=mask_url(page.url), session_open=True,
                                observed=await _text(page, ".probar"))
        return SessionState(page=page, highlight="main", url=mask_url(page.url), session_open=False,
                            observed=await _text(page, "main h1"))

    async def open_patient_file(self, patient):
        page = self._page
        await page.goto(self.driver.url(f"/patients/{patient.id}"))
        return await self.driver.patients._read_file(page)

    async def consult_dmp(self, patient):
        page = self._page
        await page.goto(self.driver.url(f"/patients/{patient.id}/dmp"))
        sel = "[data-testid=dmp-consult-result]"
        observed = await _text(page, sel)
        return ActionView(page=page, highlight=sel, observed=observed, url=mask_url(page.url),
                          accepted=observed.startswith("DMP consulté"))


class DemoPscReconciliation(PscReconciliation):
    async def smoke(self):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url("/psc/rapprochements"))
        if not await page.locator("#psc-links").count():
            raise RuntimeError("the administrator's Pro Santé Connect screen is missing (/psc/rapprochements)")

    async def _read(self, rpps: str) -> LinksView:
        page = await self.driver.admin_page()
        await page.goto(self.driver.url("/accounts"))
        found = bool(await page.locator(f"#accounts tbody tr:has(td:text-is('{rpps}'))").count())
        await page.goto(self.driver.url("/psc/rapprochements"))
        links, texts = [], []
        for row in await page.locator(f'#psc-links tbody tr[data-rpps="{rpps}"]').all():
            texts.append(" ".join((await row.inner_text()).split()))
            cells = await row.locator("td").all_inner_texts()
            links.append({"sub": cells[3].strip(), "idnat": cells[4].strip(), "rpps": cells[2].strip(),
                          "linked_at": cells[5].strip(), "account": cells[0].strip(), "name": cells[1].strip()})
        refusals = []
        for row in await page.locator('#psc-events tbody tr[data-kind="refus"]').all():
            cells = await row.locator("td").all_inner_texts()
            if rpps in cells[5]:
                refusals.append({"at": cells[0].strip(), "sub": cells[3].strip(), "idnat": cells[4].strip(),
                                 "detail": cells[5].strip()})
        table = await _text(page, "#psc-links")   # no row for this RPPS: the table as it reads
        return LinksView(page=page, highlight="#psc-links", url=mask_url(page.url), account_found=found, links=links,
                         refusals=refusals, observed=texts[0] if texts else (table[:160] + ("…" if len(table) > 160 else "")))

    async def links(self, rpps):
        return await self._read(rpps)

    async def undo(self, rpps):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url("/psc/rapprochements"))
        while await page.locator(f'#psc-links tbody tr[data-rpps="{rpps}"] button.unlink').count():
            await page.locator(f'#psc-links tbody tr[data-rpps="{rpps}"] button.unlink').first.click()
            await page.wait_for_load_state("load")
        return await self._read(rpps)


class DemoPscProvider(PscProvider):
    def _switch(self, values: dict) -> dict:
        switch = self.conf.get("test_switch") or {}
        user = switch.get("username", "admin")
        password = self.secrets.resolve(switch.get("password", ""), f"{self.where}.test_switch.password")
        url = f"{self.issuer.split('/auth/realms/')[0]}/test/next-id-token"
        values = {k: v for k, v in values.items() if v}
        req = urllib.request.Request(url, data=urllib.parse.urlencode(values).encode(), method="POST", headers={
            "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = json.loads(resp.read())
            status = resp.status
        return {"request": {"method": "POST", "url": url, "authentification": f"HTTP Basic ({user}, mot de passe masqué)",
                            "body": values},
                "response": {"status": status, "body": body}}

    def issue_wrong_audience(self, audience, login=""):
        return self._switch({"aud": audience, "login": login})

    def issue_lower_acr(self, acr, login=""):
        return self._switch({"acr": acr, "login": login})

    def issue_other_subject(self, sub, login=""):
        return self._switch({"sub": sub, "login": login})
