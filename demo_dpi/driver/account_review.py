"""Demo implementation of ``account_review`` (DEMO: demo_dpi's "Revue des comptes" screen, CSV format)."""
from __future__ import annotations

import io
import re

from segur_helpers.drivers.account_review import AccountReview, CountView, Extract, RequestView
from segur_helpers.drivers.base import View, download_bytes


class DemoAccountReview(AccountReview):
    async def _review_page(self):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url("/admin/account-review"))
        return page

    async def export(self):
        page = await self._review_page()
        async with page.expect_download() as info:
            await page.click("#export-accounts")
        download = await info.value
        data = await download_bytes(download)
        view = View(page=page, highlight="#export-section", observed=f"fichier {download.suggested_filename} "
                    f"téléchargé ({len(data)} octets)", url=page.url)
        return view, Extract(data=data, filename=download.suggested_filename, how="export")

    async def request_extract(self, requester):
        page = await self._review_page()
        await page.fill("#requester", str(requester["name"]))
        await page.fill("#requester_email", str(requester["email"]))
        await page.fill("#reason", str(requester.get("reason", "Revue périodique des comptes")))
        await page.click("#request-extract")
        await page.wait_for_load_state("load")
        flash = " ".join(t.strip() for t in await page.locator(".flash").all_inner_texts())
        m = re.search(r"\bEXT-[\w-]+", flash)
        return RequestView(page=page, highlight=".flash", observed=flash, url=page.url,
                           reference=m.group(0) if m else "")

    async def receive_extract(self, request, requester, timeout):
        subject = request.reference or "Extraction des comptes"
        message = await self.driver.mailbox.wait_for(str(requester["email"]), subject_contains=subject,
                                                     timeout=timeout)
        if message is None:
            return None
        for part in message.parsed.iter_attachments():
            if (part.get_filename() or "").endswith(".csv"):
                return Extract(data=part.get_payload(decode=True), filename=part.get_filename(), how="request",
                               message=message, reference=request.reference)
        return Extract(data=b"", filename="", how="request", message=message, reference=request.reference)

    async def account_count(self):
        page = await self._review_page()
        loc = page.locator("[data-testid=account-count]")
        text = (await loc.inner_text()).strip() if await loc.count() else ""
        m = re.search(r"(\d+)", text)
        return CountView(page=page, highlight="[data-testid=account-count]", observed=text, url=page.url,
                         count=int(m.group(1)) if m else None)

    async def documentation(self, how):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url("/aide/revue-des-comptes"))
        selector = "#procedure-export" if how == "export" else "#procedure-request"
        loc = page.locator(selector)
        text = (await loc.inner_text()).strip() if await loc.count() else ""
        return View(page=page, highlight=selector, observed=" ".join(text.split()), url=page.url)

    def to_frame(self, extract):
        import pandas as pd

        df = pd.read_csv(io.BytesIO(extract.data), sep=";", dtype=str, keep_default_na=False, encoding="utf-8")
        out = pd.DataFrame(index=df.index)
        for col in ("identifiant", "nom", "prenom", "email", "rpps", "profession"):
            if col in df:
                out[col] = df[col].str.strip()
        if "statut" in df:
            out["actif"] = df["statut"].eq("actif")
        if "roles" in df:
            out["roles"] = df["roles"].map(lambda s: [r for r in s.split(";") if r])
        if "droits_privilegies" in df:
            out["privilegie"] = df["droits_privilegies"].eq("oui")
        if "derniere_connexion" in df:
            out["derniere_connexion"] = pd.to_datetime(df["derniere_connexion"].replace("", None), utc=True,
                                                       errors="coerce")
        return out
