"""SSI/IE.31 end to end against the real demo DPI: compliant, defective, unreachable."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
from pypdf import PdfReader

from conftest import campaign_dict, files_under, run_segur
from segur_helpers.evidence import sha256_file

EXPECTED_ELEMENTS = ("SSI/IE.31.01.01", "SSI/IE.31.01.02", "SSI/IE.31.01.03")


def _run(tmp_path, write_params, stack, **overrides):
    out = tmp_path / "outputs"
    params = write_params(campaign_dict(stack.url if stack else "http://127.0.0.1:9",
                                        stack.maildir if stack else tmp_path / "maildir", **overrides))
    proc = run_segur("run", str(params), "--outputs", str(out))
    runs = [p for p in (out / "test").iterdir() if p.is_dir()] if (out / "test").is_dir() else []
    return proc, runs


def _pdf_text(path: Path) -> str:
    """The PDF's text with line breaks folded into spaces (as a reviewer's search sees it)."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return " ".join(text.split())


def _result(run: Path) -> dict:
    return json.loads((run / "SSI_IE.31.01" / "result.json").read_text(encoding="utf-8"))


def _assert_no_secret(run: Path, password: str, *texts: str) -> None:
    files = files_under(run)
    assert files, "empty run folder"
    for f in files:
        assert password.encode() not in f.read_bytes(), f"secret found in {f}"
    for t in texts:
        assert password not in t


def test_compliant_target_gives_conforme_pdf(tmp_path, write_params, demo_stack, admin_password):
    stack = demo_stack()
    proc, runs = _run(tmp_path, write_params, stack)
    assert proc.returncode == 0, proc.stderr
    assert len(runs) == 1
    run = runs[0]
    result = _result(run)
    assert result["verdict"] == "CONFORME"
    assert len(result["checks"]) >= 7 and all(c["passed"] for c in result["checks"])
    kinds = [e["kind"] for e in result["evidence"]]
    assert kinds.count("screenshot") >= 3 and kinds.count("email") >= 2

    pdf = run / "SSI_IE.31.01" / "SSI_IE.31.01.pdf"
    assert str(pdf) in proc.stdout
    text = _pdf_text(pdf)
    assert "Verdict" in text and "CONFORME" in text and "NON CONFORME" not in text
    for element in EXPECTED_ELEMENTS:
        assert element in text
    for words in ("en attente de vérification", "Message de vérification reçu", "Adresse vérifiée"):
        assert words in text
    assert "page 1/" in text  # footer page X/Y
    reader = PdfReader(str(pdf))
    w, h = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2  # A4 portrait

    # the executed notebook carries the verdict in its metadata, and no secret anywhere
    nb = nbformat.read(str(run / "SSI_IE.31.01" / "notebook.ipynb"), as_version=4)
    assert nb.metadata["segur"]["result"]["verdict"] == "CONFORME"
    assert "environment_variables" not in nb.metadata.get("papermill", {})
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "env:" not in injected[0].source
    _assert_no_secret(run, admin_password, proc.stdout, proc.stderr)
    for log in (stack.workdir).glob("*.log"):
        assert admin_password not in log.read_text(errors="replace")

    # the manifest hashes every file of the run folder
    manifest = json.loads((run / "manifest.json").read_text())["files"]
    on_disk = {p.relative_to(run).as_posix() for p in files_under(run)} - {"manifest.json"}
    assert set(manifest) == on_disk
    for rel, digest in manifest.items():
        assert sha256_file(run / rel) == digest
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "complete" and record["proofs"][0]["verdict"] == "CONFORME"

    # a second run never reuses or overwrites the first
    before = {p: sha256_file(p) for p in files_under(run)}
    proc2, runs2 = _run(tmp_path, write_params, stack)
    assert proc2.returncode == 0, proc2.stderr
    assert len(runs2) == 2
    assert {p: sha256_file(p) for p in files_under(run)} == before


def test_defect_gives_non_conforme_naming_failed_check(tmp_path, write_params, demo_stack, admin_password):
    stack = demo_stack(defects=["SSI/IE.31"])
    proc, runs = _run(tmp_path, write_params, stack)
    assert proc.returncode == 1, proc.stderr
    result = _result(runs[0])
    assert result["verdict"] == "NON CONFORME"
    failed = [c["label"] for c in result["checks"] if not c["passed"]]
    assert any("en attente de vérification" in f for f in failed)
    assert any("Message de vérification reçu" in f for f in failed)
    text = _pdf_text(runs[0] / "SSI_IE.31.01" / "SSI_IE.31.01.pdf")
    assert "NON CONFORME" in text
    assert "Vérifications en échec" in text and "en attente de vérification" in text
    assert "ÉCHEC" in text
    _assert_no_secret(runs[0], admin_password, proc.stdout, proc.stderr)


def test_unreachable_target_is_erreur_with_cause(tmp_path, write_params):
    proc, runs = _run(tmp_path, write_params, None)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "http://127.0.0.1:9" in lines[0] and "ERREUR" in lines[0]
    result = _result(runs[0])
    assert result["verdict"] == "ERREUR"
    assert result["error"]["kind"] == "target_unreachable"
    assert "cible injoignable" in result["error"]["message"]
    text = _pdf_text(runs[0] / "SSI_IE.31.01" / "SSI_IE.31.01.pdf")
    assert "ERREUR" in text and "cible injoignable" in text
    assert json.loads((runs[0] / "run.json").read_text())["status"] == "complete"


def test_imap_mailbox_gives_same_verdict(tmp_path, write_params, admin_password, monkeypatch):
    """The professional's mailbox read over IMAPS (a real dovecot serving the demo's Maildir)."""
    import shutil
    import tempfile

    from demo_dpi.stack import DemoStack
    from imap_server import Dovecot

    imap_password = "imap-" + admin_password[::-1]
    monkeypatch.setenv("SEGUR_TEST_IMAP_PASSWORD", imap_password)
    # dovecot's unprivileged processes must traverse to the Maildir: pytest's tmp_path is 0700
    base = Path(tempfile.mkdtemp(prefix="segur-imap-"))
    base.chmod(0o755)
    try:
        with DemoStack(base / "target") as stack:
            imap = Dovecot(base / "dovecot", stack.maildir, "pro", imap_password).start()
            try:
                mailbox = {"kind": "imap", "host": "127.0.0.1", "port": imap.port, "username": "pro",
                           "password": "env:SEGUR_TEST_IMAP_PASSWORD", "ca_file": str(imap.ca_file)}
                # the IMAP server's CA lies outside the campaign's folder: the campaign allows that folder
                proc, runs = _run(tmp_path, write_params, stack, mailbox=mailbox, allowed_dirs=[str(base)])
            finally:
                imap.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr
    result = _result(runs[0])
    assert result["verdict"] == "CONFORME", result["checks"]
    _assert_no_secret(runs[0], admin_password, proc.stdout, proc.stderr)
    _assert_no_secret(runs[0], imap_password)
