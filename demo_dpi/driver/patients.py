"""Demo implementation of the patients and statistics capabilities: demo_dpi's care screens.

Each professional gets their own browser context, logged in with demo_dpi's simulated CPS card
(RPPS + name), so what one sees is never the other's session.
"""
from __future__ import annotations

import re

from segur_helpers.drivers.patients import ActionView, AdmissionView, DocumentView, PatientFileView, PatientRef, Patients
from segur_helpers.drivers.statistics import Statistics, StatsView

from .common import created_id

SECRET = "[data-testid=secret-connection]"
BANNER = "[data-testid=dmp-banner]"
DMP_STATUS = "[data-testid=dmp-status]"
AREAS = {"identity": "#identity", "episode": "[data-testid=episode], [data-testid=no-episode]",
         "new_documents": BANNER, "dmp": "#dmp-documents", "local_documents": "#local-documents",
         "last_visit": "[data-testid=last-visit]", "secret_connection": SECRET, "dmp_status": DMP_STATUS}


async def _text(page, selector: str, *, visible_only: bool = False) -> str:
    loc = page.locator(selector)
    if not await loc.count():
        return ""
    if visible_only and not await loc.first.is_visible():
        return ""
    return " ".join((await loc.first.inner_text()).split())


class DemoPatients(Patients):
    def __init__(self, driver):
        super().__init__(driver)
        self._pages: dict[str, object] = {}

    async def page_for(self, pro: dict):
        """A page logged in as ``pro`` (its own browser context, logged in once)."""
        key = str(pro["rpps"])
        if key not in self._pages:
            context = await self.driver.new_context()
            self.driver._contexts.append(context)
            page = await context.new_page()
            await page.goto(self.driver.url("/care/login"))
            await page.fill("#rpps", str(pro["rpps"]))
            await page.fill("#nom", f"{pro.get('titre', 'Dr')} {pro.get('prenom', '')} {pro['nom']}".replace("  ", " "))
            await page.click("#care-login")
            await page.wait_for_load_state("load")
            if "/care/login" in page.url:
                raise RuntimeError(f"professional login refused at {self.driver.url('/care/login')}")
            self._pages[key] = page
        return self._pages[key]

    async def _read_file(self, page, highlight: str | None = None) -> PatientFileView:
        state = "blocked" if await page.locator(DMP_STATUS).count() else "ok"
        message = await _text(page, DMP_STATUS)
        if state == "blocked" and message.startswith("DMP indisponible"):
            state = "error"
        # one round trip per list, not one per row: a patient's DMP may list hundreds of documents
        counts = {}
        for kind, text in await page.locator("[data-testid=dmp-count]").evaluate_all(
                "items => items.filter(e => { const r = e.getBoundingClientRect();"
                " return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; })"
                ".map(e => [e.dataset.type || '', e.innerText])"):
            m = re.search(r":\s*(\d+)\s*$", text.strip())
            counts[kind] = int(m.group(1)) if m else 0
        uids = await page.locator("#dmp-documents tbody tr[data-unique-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.uniqueId || '')")
        local = dict(await page.locator("#local-documents tbody tr[data-doc-id]").evaluate_all(
            "rows => rows.map(r => [r.dataset.uniqueId || '', r.dataset.docId || ''])"))
        banner = await _text(page, BANNER, visible_only=True)
        secret = await _text(page, SECRET, visible_only=True)
        if highlight is None:
            highlight = SECRET if secret else (BANNER if banner else (DMP_STATUS if message else "#identity"))
        return PatientFileView(page=page, highlight=highlight, url=page.url,
                               observed=secret or banner or message or await _text(page, "[data-testid=episode]"),
                               secret_connection=secret, episode=await _text(page, "[data-testid=episode]"),
                               dmp_state=state, dmp_message=message, new_documents=banner, new_counts=counts,
                               dmp_unique_ids=uids, local_documents=local,
                               last_visit=await _text(page, "[data-testid=last-visit]"), areas=dict(AREAS))

    async def prepare(self, patient):
        pro = self.driver.ctx.campaign.section("driver_settings").get("registrar") or {"rpps": "10100000001",
                                                                                        "nom": "ACCUEIL"}
        page = await self.page_for(pro)
        await page.goto(self.driver.url("/patients/new"))
        for f in ("nom", "prenom", "naissance", "ins"):
            await page.fill(f"#{f}", str(patient[f]))
        await page.select_option("#sexe", str(patient.get("sexe", "F")))
        await page.select_option("#ins_oid", str(patient["ins_oid"]))
        await page.click("#create-patient")
        await page.wait_for_load_state("load")
        patient_id = await created_id(page, "/patients", "patient not registered")
        if await page.locator("#discharge").count():
            await page.click("#discharge")
            await page.wait_for_load_state("load")
        return PatientRef(id=patient_id, label=f"{patient['prenom']} {str(patient['nom']).upper()}",
                          ins=str(patient["ins"]), ins_oid=str(patient["ins_oid"]))

    async def open_file(self, patient, pro):
        page = await self.page_for(pro)
        await page.goto(self.driver.url(f"/patients/{patient.id}"))
        return await self._read_file(page)

    async def admission_form(self, patient, pro, kind, *, answers=None):
        page = await self.page_for(pro)
        await page.goto(self.driver.url(f"/patients/{patient.id}/episodes/new?kind={kind}"))
        secret = page.locator("[data-testid=secret-question]")
        offers_secret = bool(await secret.count())
        offers_consent = bool(await page.locator("#consent").count())
        if answers is not None and await page.locator("#admission-form").count():
            await self._fill_admission(page, offers_secret, **answers)
        # the outline is the answer box (the drop-down list and its note); the question's label is beside it
        highlight = "[data-testid=secret-question]" if offers_secret else "#admission-form"
        observed = await _text(page, "label[for=secret_connection]") if offers_secret else "aucune question de connexion secrète"
        answer = ""
        if offers_secret:
            answer = await page.locator("#secret_connection").evaluate(
                "s => s.value ? s.selectedOptions[0].text.trim() : ''")
        return AdmissionView(page=page, highlight=highlight, observed=observed, url=page.url,
                             offers_secret_connection=offers_secret, offers_consent=offers_consent,
                             secret_answer=answer)

    @staticmethod
    async def _fill_admission(page, offers_secret, *, information, consent, secret_connection=None):
        if information:
            await page.check("#information")
        await page.select_option("#consent", consent)
        if offers_secret and secret_connection is not None:
            await page.select_option("#secret_connection", "oui" if secret_connection else "non")

    async def admit(self, patient, pro, kind, *, information, consent, secret_connection=None, form=None):
        answers = {"information": information, "consent": consent, "secret_connection": secret_connection}
        if form is None or "/episodes/new" not in form.page.url:
            form = await self.admission_form(patient, pro, kind, answers=answers)
        page = form.page
        if not await page.locator("#admission-form").count():
            raise RuntimeError(f"no admission form for patient {patient.id}: " + await _text(page, ".flash"))
        await self._fill_admission(page, form.offers_secret_connection, **answers)  # the same answers: no change
        await page.click("#admit")
        await page.wait_for_load_state("load")
        return await self._read_file(page)

    async def discharge(self, patient, pro):
        view = await self.open_file(patient, pro)
        await view.page.click("#discharge")
        await view.page.wait_for_load_state("load")
        return await self._read_file(view.page)

    async def set_consent(self, patient, pro, consent):
        view = await self.open_file(patient, pro)
        await view.page.select_option("#consent", consent)
        await view.page.click("#save-consent")
        await view.page.wait_for_load_state("load")
        return await self._read_file(view.page)

    async def consult_dmp(self, patient, pro):
        page = await self.page_for(pro)
        await page.goto(self.driver.url(f"/patients/{patient.id}/dmp"))
        sel = "[data-testid=dmp-consult-result]"
        observed = await _text(page, sel)
        return ActionView(page=page, highlight=sel, observed=observed, url=page.url,
                          accepted=observed.startswith("DMP consulté"))

    async def integrate(self, patient, pro, unique_id):
        view = await self.open_file(patient, pro)
        row = view.page.locator(f'#dmp-documents tr[data-unique-id="{unique_id}"] button.integrate')
        if not await row.count():
            raise RuntimeError(f"document {unique_id} is not offered for integration in the file")
        await row.click()
        await view.page.wait_for_load_state("load")
        return await self._read_file(view.page, highlight="#local-documents")

    async def open_document(self, patient, pro, local_id):
        page = await self.page_for(pro)
        await page.goto(self.driver.url(f"/documents/{local_id}"))
        notice = await _text(page, "[data-testid=dmp-deleted]")
        return DocumentView(page=page, highlight="[data-testid=dmp-deleted]" if notice else "#document-detail",
                            observed=notice or await _text(page, "#document-detail"), url=page.url,
                            origin=await _text(page, "[data-testid=origin]"),
                            unique_id=await _text(page, "[data-testid=unique-id]"), deleted_notice=notice,
                            offers_local_delete=bool(await page.locator("#delete-local").count()))

    async def delete_local_copy(self, patient, pro, local_id):
        view = await self.open_document(patient, pro, local_id)
        if not view.offers_local_delete:
            raise RuntimeError(f"document {local_id}: no offer to delete the local copy")
        await view.page.click("#delete-local")
        await view.page.wait_for_load_state("load")
        return await self._read_file(view.page, highlight="#local-documents")

    async def write_document(self, patient, pro, title, text):
        page = await self.page_for(pro)
        await page.goto(self.driver.url(f"/patients/{patient.id}/documents/new"))
        await page.fill("#title", title)
        await page.fill("#text", text)
        await page.click("#save-document")
        await page.wait_for_load_state("load")
        m = re.search(r"/documents/(\d+)$", page.url)
        if not m:
            raise RuntimeError(f"document not written: landed on {page.url}")
        return await self.open_document(patient, pro, m.group(1))

    async def send_to_dmp(self, patient, pro, local_id):
        doc = await self.open_document(patient, pro, local_id)
        await doc.page.click("#send-dmp")
        await doc.page.wait_for_load_state("load")
        sel = ".flash"
        observed = await _text(doc.page, sel)
        return ActionView(page=doc.page, highlight=sel, observed=observed, url=doc.page.url,
                          accepted=observed.startswith("Document envoyé au DMP"))


class DemoStatistics(Statistics):
    async def dmp_usage(self, start, end):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url(f"/stats/dmp?from={start}&to={end}"))
        rows = {}
        table = await page.locator("#dmp-stats tbody tr").evaluate_all(
            "trs => trs.map(tr => [tr.dataset.month || '', ...['n', 'r1', 'r2', 'r3'].map("
            "c => (tr.querySelector('td.' + c) || {innerText: ''}).innerText)])")
        for month, n, *ratios in table:
            values = {"n": int(n.strip())}
            for k, text in zip(("1", "2", "3"), ratios):
                m = re.match(r"\s*(\d+)\s*/", text)
                values[f"k{k}"] = int(m.group(1)) if m else -1
            rows[month] = values
        total = rows.get("total", {})
        return StatsView(page=page, highlight="#dmp-stats", url=page.url, rows=rows,
                         observed=f"{total.get('n', '?')} consultations externes sur la période")

    async def external_consultations(self, start, end):
        page = await self.driver.admin_page()
        resp = await page.context.request.get(self.driver.url(f"/stats/dmp/consultations.csv?from={start}&to={end}"))
        if not resp.ok:
            raise RuntimeError(f"extract refused: HTTP {resp.status}")
        return await resp.body()
