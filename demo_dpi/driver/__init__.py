"""The demo driver: how the toolkit reaches demo_dpi, the worked example of a vendor's driver module.

It lives beside the demo target it drives, apart from the contract a vendor reads
(``segur_helpers/drivers/``). It imports the toolkit's contract like any vendor's driver, and talks to
the demo target only over HTTP, LDAP and SMTP, as a vendor's driver talks to its product: it never
imports the target's own modules. Campaigns name it ``driver: demo`` (the ``segur.drivers`` entry
point of this project, see pyproject.toml) or ``driver: demo_dpi.driver:DemoDriver``.

| module | capability |
|---|---|
| ``driver.py`` | ``DemoDriver`` (administrator and professional sessions) and ``accounts`` (SSI/IE.31) |
| ``contact.py`` | ``contact_changes`` (SSI/IE.32) |
| ``account_review.py`` | ``account_review`` (SSI/IAM.87, SSI/IAM.94) |
| ``directory_sync.py`` | ``directory_sync`` (SSI/IAM.83, SSI/IAM.85) |
| ``identity.py`` | ``federated_login`` (SSI/IAM.80) and the demo OpenID Connect provider's test switch |
| ``psc.py`` | ``psc`` and ``psc_reconciliation`` (PSC.01, 02, 08, DMP/PSC.01) and the Pro Santé Connect stand-in's test switch |
| ``patients.py`` | ``patients`` and ``statistics`` (DMP consent, consultation, usage statistics) |
| ``documents.py`` | ``documents`` (writing, review circuit, DMP feeding, MSSanté) |
| ``dmp.py``, ``dmp_link.py`` | ``dmp`` (the DMP simulator read as the proof's witness), ``dmp_link`` (its availability) |
| ``common.py`` | what several capabilities share: the created record's id, the verification link |
"""
from .driver import DemoAccounts, DemoDriver
from .identity import DemoIdentityProvider
from .psc import DemoPscProvider

__all__ = ["DemoAccounts", "DemoDriver", "DemoIdentityProvider", "DemoPscProvider"]
