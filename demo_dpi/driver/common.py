"""Screens of the demo DPI shared by several demo capabilities (verification messages and links)."""
from __future__ import annotations

import re

from segur_helpers.drivers.base import MailMessage, Verification, VerificationView

VERIFY_RESULT = "[data-testid=verify-result]"


async def created_id(page, path: str, what: str) -> str:
    """After a creation form was submitted: the new record's id, read from the screen the demo DPI
    redirected to (``<path>/<id>``), else RuntimeError with the errors the DPI flashed."""
    m = re.search(re.escape(path) + r"/(\d+)$", page.url)
    if not m:
        flash = await page.locator(".flash.error").all_inner_texts()
        raise RuntimeError(f"{what}: " + ("; ".join(flash) or f"landed on {page.url}"))
    return m.group(1)


def extract_verification(message: MailMessage, link_path: str) -> Verification:
    """The code and the link of a demo DPI verification message whose link goes to ``link_path``."""
    text = message.text
    link = re.search(rf"https?://\S+{re.escape(link_path)}\?token=[\w-]+", text)
    code = re.search(r"Code de vérification\s*:\s*(\w+)", text)
    return Verification(code=code.group(1) if code else None, link=link.group(0) if link else None)


async def follow_verification(driver, verification: Verification) -> VerificationView:
    """The professional opens the link in their own browser context; the outcome shown to them."""
    if not verification.link:
        raise RuntimeError("the demo target verifies through its link; the message carries none")
    page = await driver.professional_page()
    await page.goto(verification.link)
    outcome = page.locator(VERIFY_RESULT)
    observed = (await outcome.inner_text()).strip() if await outcome.count() else ""
    return VerificationView(page=page, highlight=VERIFY_RESULT, observed=observed, url=page.url,
                            accepted=observed.startswith("Adresse vérifiée"))
