"""Demo implementation of ``directory_sync`` (DEMO: demo_dpi's "Annuaire" and account access screens)."""
from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

from segur_helpers.drivers.directory_sync import AccessView, DirectorySync, SyncView

LAST = "[data-testid=last-sync]"
FIELDS = ("login", "nom", "prenom", "email", "profession", "rpps", "source", "active")


class DemoDirectorySync(DirectorySync):
    async def _read(self, page) -> SyncView:
        row = page.locator(LAST)
        if not await row.count():
            return SyncView(page=page, highlight=None, observed="aucune synchronisation affichée", url=page.url)
        cells = [" ".join(t.split()) for t in await row.locator("td").all_inner_texts()]
        n, start, trigger, status, people, created, updated, roles, off = (cells + [""] * 9)[:9]
        text = (f"n° {n} du {start} ({trigger}) : {status} — {people} personne(s) lue(s), {created} compte(s) "
                f"créé(s), {updated} modifié(s), {roles} rôle(s) modifié(s), {off} désactivé(s)")
        return SyncView(page=page, highlight="#syncs", observed=text, url=page.url,
                        sync_id=int(await row.get_attribute("data-sync-id")),
                        trigger=await row.get_attribute("data-trigger") or "",
                        running=await row.get_attribute("data-status") == "en cours",
                        succeeded=await row.get_attribute("data-status") == "réussie")

    async def status(self):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url("/admin/directory"))
        return await self._read(page)

    async def trigger(self, timeout: float = 60.0):
        """Press "synchronise now" and show the first synchronisation that started after the press once it has
        finished (another one may be under way, e.g. a scheduled run or another proof's: the DPI queues them)."""
        before = await self.status()
        page = before.page
        await page.click("#sync-now")
        await page.wait_for_load_state("load")
        deadline = time.monotonic() + timeout
        while True:
            view = await self._read(page)
            if (view.sync_id is not None and view.sync_id > (before.sync_id or 0) and not view.running) \
                    or time.monotonic() >= deadline:
                return view
            await asyncio.sleep(0.5)
            await page.goto(self.driver.url("/admin/directory"))

    async def wait_for_sync(self, after, timeout):
        deadline = time.monotonic() + timeout
        while True:
            view = await self.status()
            if (view.sync_id is not None and view.sync_id > (after.sync_id or 0) and view.trigger == "périodique"
                    and not view.running):
                return view
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(1.0)

    async def account(self, login):
        page = await self.driver.admin_page()
        response = await page.goto(self.driver.url(f"/accounts/by-login/{quote(login)}"))
        if response is None or response.status == 404:
            return AccessView(page=page, highlight=None, observed=f"aucun compte pour {login}", url=page.url)
        identity = {}
        for f in FIELDS:
            loc = page.locator(f"[data-testid={f}]")
            identity[f] = (await loc.inner_text()).strip() if await loc.count() else ""
        roles = [await r.get_attribute("data-role") for r in await page.locator("#roles tr[data-role]").all()]
        observed = (f"{identity['prenom']} {identity['nom']} <{identity['email']}>, rôles : "
                    f"{', '.join(roles) or 'aucun'}")
        return AccessView(page=page, highlight="#identity", observed=observed, url=page.url, found=True,
                          identity=identity, roles=roles, roles_highlight="#roles")
