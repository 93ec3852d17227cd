"""The demo driver: reaches demo_dpi through its web UI, like a vendor's driver reaches its product.

This module is the worked example for vendors (see the README): one class per capability, built on
Playwright pages, returning views whose highlighted element the recorder outlines on screenshots.
It never imports the demo target's server modules: it only knows its screens.
"""
from __future__ import annotations

from segur_helpers.drivers.base import AccountRef, Accounts, AccountView, Driver, MailMessage, Verification
from segur_helpers.drivers.mailboxes import mailbox_from_params
from segur_helpers.drivers.sms import sms_from_params

from .account_review import DemoAccountReview
from .admissions import DemoAdmissions
from .common import created_id, extract_verification, follow_verification
from .contact import DemoContactChanges
from .directory_sync import DemoDirectorySync
from .dmp import DemoDmp
from .dmp_link import DemoDmpLink
from .documents import DemoDocuments
from .identity import DemoFederatedLogin
from .patients import DemoPatients, DemoStatistics
from .psc import DemoPsc, DemoPscReconciliation

STATUS = "[data-testid=email-status]"


class DemoAccounts(Accounts):
    async def smoke(self):
        await self.driver.admin_page()   # the administrator can log in; nothing is created

    async def create(self, professional):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url("/accounts/new"))
        for field in ("nom", "prenom", "rpps", "email"):
            await page.fill(f"#{field}", str(professional[field]))
        if professional.get("mobile"):
            await page.fill("#mobile", str(professional["mobile"]))
        await page.select_option("#profession", label=professional.get("profession", "Médecin"))
        await page.click("#create-account")
        await page.wait_for_load_state("load")
        return AccountRef(id=await created_id(page, "/accounts", "account not created"), email=str(professional["email"]),
                          label=f"{professional['prenom']} {professional['nom']}")

    async def show(self, account):
        page = await self.driver.admin_page()
        await page.goto(self.driver.url(f"/accounts/{account.id}"))
        status = page.locator(STATUS)
        observed = (await status.inner_text()).strip() if await status.count() else ""
        return AccountView(page=page, highlight=STATUS, observed=observed, url=page.url,
                           email_pending="attente" in observed.lower())

    def extract_verification(self, message: MailMessage) -> Verification:
        return extract_verification(message, "/verify")

    async def verify(self, account, verification):
        return await follow_verification(self.driver, verification)


# the test professional a guided proof's "professional" session signs in as (simulated CPS card), unless the
# campaign's driver_settings.professional names another
DEFAULT_PROFESSIONAL = {"rpps": "10101234567", "nom": "TESTSEGUR", "prenom": "Camille"}


class DemoDriver(Driver):
    name = "demo"
    session_roles = {"administrator": "administrateur de Demo DPI (identifiant et mot de passe)",
                     "professional": "professionnel de santé connecté par carte CPS (simulée)"}

    def __init__(self, ctx):
        super().__init__(ctx)
        self.accounts = DemoAccounts(self)
        self.documents = DemoDocuments(self)
        self.mailbox = mailbox_from_params(self)
        self.sms = sms_from_params(self)                  # the SMS gateway's store (SSI/IE.32)
        self.dmp = DemoDmp(self)
        self.dmp_link = DemoDmpLink(self)
        self.patients = DemoPatients(self)
        self.statistics = DemoStatistics(self)
        self.contact_changes = DemoContactChanges(self)   # SSI/IE.32
        self.account_review = DemoAccountReview(self)     # SSI/IAM.87, SSI/IAM.94
        self.directory_sync = DemoDirectorySync(self)     # SSI/IAM.83, SSI/IAM.85
        self.federated_login = DemoFederatedLogin(self)   # SSI/IAM.80
        self.psc = DemoPsc(self)                          # PSC.01, PSC.08, DMP/PSC.01
        self.psc_reconciliation = DemoPscReconciliation(self)  # PSC.02
        self.admissions = DemoAdmissions(self)            # DMP/CONF.16.02 (IHE PAM admission feed, MLLP)
        self._admin = None
        self._professional = None
        self._contexts = []

    def url(self, path: str) -> str:
        return self.ctx.campaign.target_url.rstrip("/") + path

    async def admin_page(self):
        """A page logged in as the administrator (logged in once, then reused)."""
        if self._admin is None:
            context = await self.new_context()
            self._contexts.append(context)
            page = await context.new_page()
            admin = self.ctx.campaign.section("target").get("admin") or {}
            password = self.ctx.secrets.resolve(admin.get("password", ""), "target.admin.password")
            await page.goto(self.url("/login"))
            await page.fill("#username", admin.get("username", "admin"))
            await page.fill("#password", password)
            await page.click("#login-submit")
            await page.wait_for_load_state("load")
            if "/login" in page.url:
                raise RuntimeError(f"administrator login refused at {self.url('/login')}")
            self._admin = page
        return self._admin

    async def session_page(self, role: str):
        """The administrator's page, or a professional signed in with the demo's simulated CPS card."""
        if role == "administrator":
            return await self.admin_page()
        if role == "professional":
            pro = dict(DEFAULT_PROFESSIONAL, **(self.ctx.settings.get("professional") or {}))
            return await self.patients.page_for(pro)
        return await super().session_page(role)

    async def professional_page(self):
        """A page in a separate context: the professional's own browser, not the administrator's."""
        if self._professional is None:
            context = await self.new_context()
            self._contexts.append(context)
            self._professional = await context.new_page()
        return self._professional

    async def close(self):
        for context in self._contexts:
            await context.close()
        self._contexts.clear()
