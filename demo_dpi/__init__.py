"""demo_dpi: a small but real reference DPI (web UI, SQLite, SMTP) for the demo campaign and the tests.

The toolkit (``segur_helpers``) never imports this package; only the demo driver talks to it, over
HTTP, the way a vendor's driver talks to its product. Defects (``--defect SSI/IE.31``) switch off a
requirement's behaviour so every check is shown to fail when the product is wrong.
"""

KNOWN_DEFECTS = {
    "SSI/IE.31": "accounts are active at once: no verification mail, e-mail shown as verified",
    "SSI/IAM.80": "the DPI does not check the audience of the ID token (a token for another application opens a session)",
    "SSI/IAM.85": "the directory synchronisation ignores permissions (group memberships never become roles)",
    "SSI/IAM.87": "the account export leaves out the permissions (roles, privileged rights)",
    "SSI/IAM.94": "an extract request is acknowledged but no extract is ever sent",
    "SSI/IE.32": "a new e-mail address replaces the old one at once: no re-verification, no notice to the old address",
}
