"""Demo implementation of ``contact_changes`` (DEMO: demo_dpi's "Coordonnées" screen of an account)."""
from __future__ import annotations

import re

from segur_helpers.drivers.base import Verification
from segur_helpers.drivers.contact import ContactChanges, ContactView

from .common import extract_verification, follow_verification

DETAIL = "#contact-detail"


class DemoContactChanges(ContactChanges):
    async def _read(self, page) -> ContactView:
        active = page.locator("[data-testid=active-email]")
        pending = page.locator("[data-testid=pending-change]")
        active_email = (await active.inner_text()).strip() if await active.count() else ""
        status = page.locator("[data-testid=active-status]")
        status_text = (await status.inner_text()).strip() if await status.count() else ""
        pending_text = (await pending.inner_text()).strip() if await pending.count() else ""
        m = re.search(r"Nouvelle adresse (\S+@\S+) en attente", pending_text)
        flash = " ".join(t.strip() for t in await page.locator(".flash").all_inner_texts())
        observed = (f"adresse active : {active_email} ({status_text or 'statut non affiché'}) ; "
                    f"modification en cours : {pending_text or 'aucune'}")
        if flash:
            observed = f"{flash} — {observed}"
        return ContactView(page=page, highlight=DETAIL, observed=observed, url=page.url,
                           active_email=active_email, active_verified=status_text == "Adresse vérifiée",
                           pending_email=m.group(1) if m else "")

    async def show(self, account):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url(f"/accounts/{account.id}/contact"))
        return await self._read(page)

    async def request_change(self, account, new_email):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url(f"/accounts/{account.id}/contact"))
        await page.fill("#new_email", new_email)
        await page.click("#request-change")
        await page.wait_for_load_state("load")
        return await self._read(page)

    def extract_verification(self, message) -> Verification:
        return extract_verification(message, "/contact/verify")

    async def verify(self, account, verification):
        return await follow_verification(self.driver, verification)
