"""The demo DPI's documents screens (``/documents``), behind the :class:`Documents` capability."""
from __future__ import annotations

import re
import time

from segur_helpers.drivers.base import View
from segur_helpers.drivers.documents import DocumentFormView, DocumentRef, Documents, DocumentView, WorkflowDocView, WorkflowStage

from .common import created_id

DMP_STATUS = "[data-testid=dmp-status]"
DOC_STATUS = "[data-testid=doc-status]"
SEND_DMP_FIELD = "[data-testid=send-dmp-field]"
HELP_LINK = "#workflow-help"
# demo_dpi's data-state → the capability's normalised DMP states
STATES = {"non_demande": "none", "demande": "requested", "programme": "scheduled", "en_attente": "queued",
          "envoye": "sent", "annule": "cancelled", "echec": "failed"}


class DemoDocuments(Documents):
    async def _page(self):
        return await self.driver.admin_page()

    async def _click_and_load(self, page, selector: str) -> float:
        t0 = time.monotonic()
        async with page.expect_navigation(wait_until="load"):
            await page.click(selector)
        return round((time.monotonic() - t0) * 1000, 1)

    async def open_new(self, document):
        page = await self._page()
        await page.goto(self.driver.url("/documents/new"))
        await page.select_option("#patient", value=str(document["patient"]))
        labels = await page.locator("#doc-type option").all_inner_texts()
        wanted = str(document.get("type", "Lettre de liaison de sortie"))
        label = next((lab for lab in labels if lab.strip().lower().startswith(wanted.lower())), None)
        if label is None:
            raise RuntimeError(f"document type {wanted!r} not offered; the form offers: {', '.join(labels)}")
        await page.select_option("#doc-type", label=label)
        await page.fill("#title", str(document.get("title") or wanted))
        if document.get("content"):
            await page.fill("#content", str(document["content"]))
        author = document.get("author") or {}
        await page.fill("#author-nom", str(author.get("nom", "")))
        await page.fill("#author-prenom", str(author.get("prenom", "")))
        await page.fill("#author-rpps", str(author.get("rpps", "")))
        checked = await page.is_checked("#send-dmp")
        observed = ("« Envoyer au DMP » coché" if checked else "« Envoyer au DMP » décoché")
        return DocumentFormView(page=page, highlight=SEND_DMP_FIELD, observed=observed, url=page.url,
                                send_to_dmp=checked)

    async def save(self, form):
        page = form.page
        await self._click_and_load(page, "#create-document")
        doc_id = await created_id(page, "/documents", "document not saved")
        title = (await page.locator("h1").inner_text()).split("—", 1)[-1].strip()
        ins = re.search(r"INS (\S+)", await page.locator("#document-detail").inner_text())
        unique_id = (await page.locator("[data-testid=unique-id]").inner_text()).strip()
        return DocumentRef(id=doc_id, patient=ins.group(1) if ins else "", title=title,
                           type=(await page.locator("[data-testid=doc-type]").inner_text()).split(" (")[0],
                           unique_id=unique_id)

    async def _view(self, page, focus: str, elapsed_ms: float | None = None) -> DocumentView:
        status = (await page.locator(DOC_STATUS).inner_text()).strip()
        dmp = page.locator(DMP_STATUS)
        dmp_text = " ".join((await dmp.inner_text()).split())
        state = STATES.get(await dmp.get_attribute("data-state") or "", "none")
        highlight = DMP_STATUS if focus == "dmp" else DOC_STATUS
        return DocumentView(page=page, highlight=highlight, observed=dmp_text if focus == "dmp" else status,
                            url=page.url, status=status, validated=status == "Validé",
                            can_validate=await page.locator("#validate").count() > 0, dmp_state=state,
                            dmp_text=dmp_text, elapsed_ms=elapsed_ms)

    async def show(self, doc, focus="status"):
        page = await self._page()
        await page.goto(self.driver.url(f"/documents/{doc.id}"))
        return await self._view(page, focus)

    async def validate(self, doc):
        page = await self._page()
        await page.goto(self.driver.url(f"/documents/{doc.id}"))
        if not await page.locator("#validate").count():
            raise RuntimeError(f"document {doc.id} offers no validation (status "
                               f"{(await page.locator(DOC_STATUS).inner_text()).strip()})")
        elapsed = await self._click_and_load(page, "#validate")
        return await self._view(page, "dmp", elapsed)

    async def cancel_dmp_send(self, doc):
        page = await self._page()
        await page.goto(self.driver.url(f"/documents/{doc.id}"))
        if not await page.locator("#cancel-dmp").count():
            return await self._view(page, "dmp")
        elapsed = await self._click_and_load(page, "#cancel-dmp")
        return await self._view(page, "dmp", elapsed)

    async def fetch_cda(self, doc):
        page = await self._page()
        await page.goto(self.driver.url(f"/documents/{doc.id}"))
        link = page.locator("#download-cda")
        if not await link.count():
            raise RuntimeError(f"document {doc.id} has no CDA to download (not validated?)")
        href = await link.get_attribute("href")
        response = await page.context.request.get(self.driver.url(href))
        if not response.ok:
            raise RuntimeError(f"CDA download answered HTTP {response.status}")
        return await response.body()

    async def send_mss(self, doc, to):
        page = await self._page()
        await page.goto(self.driver.url(f"/documents/{doc.id}"))
        await page.fill("#mss-to", to)
        elapsed = await self._click_and_load(page, "#mss-send")
        view = await self._view(page, "status", elapsed)
        flash = page.locator(".flash").first
        view.highlight, view.observed = ".flash", (await flash.inner_text()).strip() if await flash.count() else ""
        return view

    async def documentation_entry(self):
        page = await self._page()
        await page.goto(self.driver.url("/documents/new"))
        link = page.locator(HELP_LINK)
        observed = (await link.inner_text()).strip() if await link.count() else ""
        return View(page=page, highlight=HELP_LINK, observed=observed, url=page.url)

    async def open_documentation(self):
        page = await self._page()
        if not await page.locator(HELP_LINK).count():
            await page.goto(self.driver.url("/documents/new"))
        if not await page.locator(HELP_LINK).count():
            raise RuntimeError("no link to the documentation of the document circuit on the documents screen")
        await self._click_and_load(page, HELP_LINK)
        stages = []
        for section in await page.locator("section.stage").all():
            title = (await section.locator("h2").inner_text()).strip()
            actors_el = section.locator(".actors")
            actors = (await actors_el.inner_text()).strip() if await actors_el.count() else ""
            actors = re.sub(r"^Acteurs\s*:\s*", "", actors)
            text = " ".join((await section.inner_text()).split())
            stages.append(WorkflowStage(title=title, actors=actors, text=text))
        heading = (await page.locator("h1").first.inner_text()).strip()
        source = (await page.content()).encode("utf-8")
        return WorkflowDocView(page=page, highlight="#workflow-doc", observed=heading, url=page.url, stages=stages,
                               source=source, source_ext="html")
