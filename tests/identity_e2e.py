"""Helpers shared by the identity and access end-to-end tests (SSI/IE.32, SSI/IAM.*)."""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pypdf import PdfReader

from conftest import campaign_dict, files_under, run_segur
from segur_helpers.ids import safe_name

# The directory administrator's password (LDAPS directory of SSI/IAM.83/85): fresh per session, grepped for.
LDAP_PASSWORD_ENV = "DEMO_LDAP_ADMIN_PASSWORD"
LDAP_PASSWORD = os.environ.setdefault(LDAP_PASSWORD_ENV, "ldap-" + secrets.token_urlsafe(18))
# The demo identity provider's test professional and test-switch passwords (SSI/IAM.80).
OIDC_USER_PASSWORD = os.environ.setdefault("DEMO_OIDC_USER_PASSWORD", "idp-" + secrets.token_urlsafe(18))
OIDC_ADMIN_PASSWORD = os.environ.setdefault("DEMO_OIDC_ADMIN_PASSWORD", "idpadm-" + secrets.token_urlsafe(18))
# The Pro Santé Connect stand-in's test identities' code and test-switch password (PSC.01, 02, 08, DMP/PSC.01).
PSC_USER_PASSWORD = os.environ.setdefault("DEMO_PSC_USER_PASSWORD", "psc-" + secrets.token_urlsafe(18))
PSC_ADMIN_PASSWORD = os.environ.setdefault("DEMO_PSC_ADMIN_PASSWORD", "pscadm-" + secrets.token_urlsafe(18))


def with_directory(stack, requirements: dict, **sync) -> dict:
    """The requirements' ``data.directory`` pointed at the test stack's slapd (URL and CA file)."""
    for entry in requirements.values():
        directory = (entry.get("data") or {}).get("directory")
        if directory:
            entry["data"]["directory"] = dict(directory, url=stack.ldap_url, ca_file=str(stack.ldap_ca))
            if sync:
                entry["data"]["sync"] = dict(sync)
    return requirements


def run_requirements(tmp_path: Path, write_params, stack, only: tuple[str, ...], name: str = "campaign.yaml",
                     **overrides):
    """Run the real CLI on the demo campaign restricted to ``only``; returns (process, run folder)."""
    out = tmp_path / ("outputs-" + Path(name).stem)
    params = write_params(campaign_dict(stack.url, stack.maildir, only=only, **overrides), name)
    proc = run_segur("run", str(params), "--outputs", str(out))
    runs = sorted(p for p in (out / "test").iterdir() if p.is_dir()) if (out / "test").is_dir() else []
    assert len(runs) == 1, proc.stderr
    return proc, runs[0]


def result(run: Path, requirement: str) -> dict:
    return json.loads((run / safe_name(f"{requirement}.01") / "result.json").read_text(encoding="utf-8"))


def pdf_text(run: Path, requirement: str) -> str:
    path = run / safe_name(f"{requirement}.01") / f"{safe_name(requirement + '.01')}.pdf"
    text = "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return " ".join(text.split())


def failed_labels(res: dict) -> list[str]:
    return [c["label"] for c in res["checks"] if not c["passed"]]


def assert_no_secret(run: Path, secret: str, *texts: str) -> None:
    files = files_under(run)
    assert files, "empty run folder"
    for f in files:
        assert secret.encode() not in f.read_bytes(), f"secret found in {f}"
    for t in texts:
        assert secret not in t
