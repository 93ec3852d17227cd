"""demo_dpi: a small but real reference DPI (web UI, SQLite, SMTP) for the demo campaign and the tests.

The toolkit (``segur_helpers``) never imports this package; only the demo driver talks to it, over
HTTP, the way a vendor's driver talks to its product. Defects (``--defect SSI/IE.31``) switch off a
requirement's behaviour so every check is shown to fail when the product is wrong.
"""

KNOWN_DEFECTS = {
    "SSI/IE.31": "accounts are active at once: no verification mail, e-mail shown as verified",
    "DMP/CONF.16": "minor's secret connection kept on the patient: shown after discharge, not asked again",
    "DMP/CONF.16-admission": "the connexion secrète carried by an admission message (IHE PAM, ADT A01/A04) is "
                             "acknowledged but ignored",
    "DMP/CONF.16-discharge": "after a discharge message (ADT A03) the connexion secrète stays shown on the patient file",
    "DMP/UX.15": "new DMP documents shown only after a click on the patient file",
    "CDA/DD.05": "a document integrated from the DMP is not checked against the DMP when opened",
    "DMP/CONF.06": "the DMP is consulted even when the patient's non-opposition is not recorded",
    "DMP/CONF.09": "documents are sent to the DMP even when the patient's non-opposition is not recorded",
    "STAT/ES 01.01": "DMP usage rates computed over every episode instead of external consultations",
    "DMP/CONF.04": "validated letters are coded as CRH (34112-3), lack the CI-SIS header templateId and are "
                 "titled with the author's free text (no type, date or patient)",
    "MSS/CONF.16": "MSSanté messages are sent without the X-MSS-NIL header",
    "HOP VA 1.06": "the documents' circuit help page leaves out the review stage",
    "HOP VA 1.04": "\"send to DMP\" is unticked by default on new documents",
    "DMP/ALI/PROG.01": "a DMP send that fails because the DMP is unreachable is abandoned, never retried",
    "SSI/IAM.80": "the DPI does not check the audience of the ID token (a token for another application opens a session)",
    "SSI/IAM.85": "the directory synchronisation ignores permissions (group memberships never become roles)",
    "SSI/IAM.87": "the account export leaves out the permissions (roles, privileged rights)",
    "SSI/IAM.94": "an extract request is acknowledged but no extract is ever sent",
    "SSI/IE.32": "a new e-mail address replaces the old one at once: no re-verification, no notice to the old address",
    "SSI/IE.32-sms": "an e-mail change is notified to the old address only: no SMS to the account's mobile number",
    "PSC.08": "the DPI does not check the eIDAS level (acr) of the Pro Santé Connect ID token",
    "PSC.01-audience": "the DPI does not check the audience of the Pro Santé Connect ID token",
    "PSC.01-logout": "logging out ends the Pro Santé Connect session but leaves the DPI's session open",
    "PSC.02": "a second Pro Santé Connect identity claiming an account already reconciled is accepted (and linked)",
    "DMP/PSC.01": "the DPI calls the DMP without the professional's Pro Santé Connect identity (no token exchange)",
    "SSI/IE.39": "no automatic logout after inactivity, and the security settings offer no inactivity setting",
}

# Defect names of earlier versions, still accepted (the requirements took the REM's ids)
DEFECT_ALIASES = {"DMP/CS.01": "DMP/CONF.16", "CDA/N1.01": "DMP/CONF.04"}


def defect_name(name: str) -> str:
    """The current name of a defect given by its current or former name."""
    return DEFECT_ALIASES.get(name, name)
