"""The batch at scale, on small synthetic campaigns (bench/synthetic.py): parallel workers, faults,
interrupt and resume, rerun of failed proofs with attempt history, verify (and openssl signature),
status, selection, the Dask executor. The demo DPI's own proofs are covered by test_ie31_e2e.py."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from bench.synthetic import Target, make_synthetic
from conftest import ROOT, files_under, run_segur
from segur_helpers.evidence import sha256_file


@pytest.fixture
def syn(tmp_path, admin_password):
    """A synthetic catalogue + campaign factory, the env that makes the CLI and its kernels see it."""
    targets = []

    def make(n=3, data=None, timeouts=None, **kw):
        target = Target()
        targets.append(target)
        params = make_synthetic(tmp_path / "syn", target.url, n, data=data, timeouts=timeouts, **kw)
        env = dict(os.environ, SEGUR_CATALOG_EXTRA=str(tmp_path / "syn"))
        return params, env, target

    yield make
    for t in targets:
        try:
            t.stop()
        except Exception:  # noqa: BLE001
            pass


def _runs(out: Path, campaign: str = "synthetic") -> list[Path]:
    base = out / campaign
    return sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def _result(run: Path, rid: str) -> dict:
    return json.loads((run / f"{rid.replace('/', '_')}.01" / "result.json").read_text(encoding="utf-8"))


def _pdf_text(path: Path) -> str:
    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages).split())


def _hashes(run: Path) -> dict:
    return {p: sha256_file(p) for p in files_under(run)}


def test_faults_each_proof_erreur_with_cause_others_complete_then_rerun(syn, tmp_path, admin_password):
    out = tmp_path / "out"
    flag = tmp_path / "broken"
    flag.write_text("on")
    modes = {"SYN/T.003": "fail", "SYN/T.004": "raise", "SYN/T.005": "raise_cell", "SYN/T.006": "kill",
             "SYN/T.007": "hang", "SYN/T.008": "diskfull"}
    data = {rid: {"mode": m, "broken_while": str(flag)} for rid, m in modes.items()}
    params, env, _ = syn(8, data=data, timeouts={"step_s": 60, "proof_s": 25})

    # an earlier run, which nothing afterwards may touch
    proc = run_segur("run", str(params), "--outputs", str(out), "--only", "SYN/T.001", env=env)
    assert proc.returncode == 0, proc.stderr
    earlier = _runs(out)[0]
    earlier_hashes = _hashes(earlier)

    proc = run_segur("run", str(params), "--outputs", str(out), "--workers", "2", env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    run = [r for r in _runs(out) if r != earlier][0]
    for rid in ("SYN/T.001", "SYN/T.002"):
        assert _result(run, rid)["verdict"] == "CONFORME"
    assert _result(run, "SYN/T.003")["verdict"] == "NON CONFORME"
    causes = {rid: _result(run, rid) for rid in modes if modes[rid] != "fail"}
    assert all(r["verdict"] == "ERREUR" for r in causes.values())
    assert "erreur volontaire du carnet synthétique" in causes["SYN/T.004"]["error"]["message"]
    assert causes["SYN/T.005"]["error"]["kind"] == "notebook_error"
    assert "erreur volontaire hors étape" in causes["SYN/T.005"]["error"]["message"]
    assert causes["SYN/T.006"]["error"]["kind"] == "kernel_died"
    assert "étape 1 « Relevé synthétique »" in causes["SYN/T.006"]["error"]["message"]
    hung = causes["SYN/T.007"]["error"]
    assert hung["kind"] == "proof_timeout" and hung["step"] == 1
    assert "délai de la preuve dépassé (25 s)" in hung["message"] and "Relevé synthétique" in hung["message"]
    assert "No space left on device" in causes["SYN/T.008"]["error"]["message"]
    # every failed proof still has its PDF saying why, and the summary lists every proof
    text = _pdf_text(run / "SYN_T.007.01" / "SYN_T.007.01.pdf")
    assert "ERREUR" in text and "délai de la preuve dépassé" in text
    with open(run / "summary.csv", encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh, delimiter=";"))
    assert [r["N° scénario"] for r in table] == [f"SYN/T.{i:03d}.01" for i in range(1, 9)]
    assert {"ID", "Chapitre", "N° scénario", "N° preuve", "Preuve", "Verdict", "Tentatives",
            "SHA-256 du fichier de preuve"} <= set(table[0])
    assert table[6]["Verdict"] == "ERREUR"
    assert table[0]["SHA-256 du fichier de preuve"] == sha256_file(run / table[0]["Fichier de preuve"])
    assert (run / "summary.xlsx").is_file() and (run / "summary.pdf").is_file()
    summary = _pdf_text(run / "summary.pdf")
    assert "Conformité et relecture sont deux choses distinctes" in summary and "SYN/T.008.01" in summary
    assert run_segur("verify", str(run), env=env).returncode == 0
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "complete" and record["counts"] == {"CONFORME": 2, "NON CONFORME": 1, "ERREUR": 5}
    assert record["params_sha256"] and record["notebooks"] and record["version"] == "1.0"
    for f in files_under(run):
        assert admin_password.encode() not in f.read_bytes(), f

    # the faults go away: rerun only the failed ones, into the same run, keeping the attempts
    flag.unlink()
    conformes_before = {p: sha256_file(p) for p in files_under(run / "SYN_T.001.01")}
    proc = run_segur("rerun", str(run), "--failed", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "6 failed proof(s)" in proc.stdout
    for i in range(1, 9):
        assert _result(run, f"SYN/T.{i:03d}")["verdict"] == "CONFORME"
    assert {p: sha256_file(p) for p in files_under(run / "SYN_T.001.01")} == conformes_before
    redone = _result(run, "SYN/T.007")
    assert [a["verdict"] for a in redone["attempts"]] == ["ERREUR", "CONFORME"]
    assert (run / "SYN_T.007.01" / "attempts" / "1" / "SYN_T.007.01.pdf").is_file()
    text = _pdf_text(run / "SYN_T.007.01" / "SYN_T.007.01.pdf")
    assert "Historique des tentatives" in text and "délai de la preuve dépassé" in text
    record = json.loads((run / "run.json").read_text())
    assert record["counts"] == {"CONFORME": 8} and [h["action"] for h in record["history"]] == ["run", "rerun-failed"]
    with open(run / "summary.csv", encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh, delimiter=";"))
    assert table[6]["Tentatives"] == "2" and table[0]["Tentatives"] == "1"
    assert run_segur("verify", str(run), env=env).returncode == 0
    assert _hashes(earlier) == earlier_hashes

    # verify names a changed file
    victim = run / "SYN_T.002.01" / "evidence" / sorted(os.listdir(run / "SYN_T.002.01" / "evidence"))[0]
    victim.write_bytes(victim.read_bytes() + b" ")
    proc = run_segur("verify", str(run), env=env)
    assert proc.returncode == 1 and f"FAIL SYN_T.002.01/evidence/{victim.name}: changed" in proc.stdout


def test_target_down_mid_run_then_rerun(syn, tmp_path):
    out = tmp_path / "out"
    data = {f"SYN/T.{i:03d}": {"mode": "ping", "sleep": 1} for i in range(1, 5)}
    params, env, target = syn(4, data=data)
    proc = subprocess.Popen([sys.executable, "-m", "segur_helpers.cli", "run", str(params), "--outputs", str(out),
                             "--workers", "1"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(out.glob("synthetic/*/SYN_T.001.01/result.json")):
        time.sleep(0.1)
    port = int(target.url.rsplit(":", 1)[1].strip("/"))
    target.stop()
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 2, stderr
    run = _runs(out)[0]
    assert _result(run, "SYN/T.001")["verdict"] == "CONFORME"
    last = _result(run, "SYN/T.004")
    assert last["verdict"] == "ERREUR" and "cible injoignable" in last["error"]["message"]
    assert "cible injoignable" in stderr
    assert run_segur("verify", str(run), env=env).returncode == 0
    back = Target(port)
    try:
        proc = run_segur("rerun", str(run), "--failed", "--workers", "1", env=env)
    finally:
        back.stop()
    assert proc.returncode == 0, proc.stderr
    assert all(_result(run, f"SYN/T.{i:03d}")["verdict"] == "CONFORME" for i in range(1, 5))
    assert run_segur("verify", str(run), env=env).returncode == 0


def test_interrupt_leaves_consistent_signed_folder_and_resume_finishes(syn, tmp_path):
    out = tmp_path / "out"
    key, pub = tmp_path / "key.pem", tmp_path / "pub.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True, capture_output=True)
    data = {f"SYN/T.{i:03d}": {"sleep": 1.5} for i in range(1, 6)}
    params, env, _ = syn(5, data=data)
    proc = subprocess.Popen([sys.executable, "-m", "segur_helpers.cli", "run", str(params), "--outputs", str(out),
                             "--workers", "1", "--sign-key", str(key)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(out.glob("synthetic/*/SYN_T.002.01/*.pdf")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "segur run --resume" in stderr
    run = _runs(out)[0]
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "interrupted" and record["remaining"]
    done = [p["scenario"] for p in record["proofs"]]
    assert len(done) >= 2 and len(done) + len(record["remaining"]) == 5
    folders = sorted(p.name for p in run.iterdir() if p.is_dir())
    assert folders == sorted(s.replace("/", "_") for s in done)      # no half-written proof folder
    for name in folders:
        assert (run / name / "result.json").is_file() and (run / name / f"{name}.pdf").is_file()
    assert not (run / "summary.pdf").exists()
    assert run_segur("verify", str(run), "--pubkey", str(pub), env=env).returncode == 0

    proc = run_segur("run", "--resume", str(run), "--sign-key", str(key), env=env)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "complete" and record["counts"] == {"CONFORME": 5} and not record["remaining"]
    assert [h["status"] for h in record["history"]] == ["interrupted", "complete"]
    proc = run_segur("verify", str(run), "--pubkey", str(pub), env=env)
    assert proc.returncode == 0 and "signature valid" in proc.stdout
    # the reviewer's own check, with openssl alone
    plain = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pub), "-signature",
                            str(run / "manifest.json.sig"), str(run / "manifest.json")], capture_output=True, text=True)
    assert plain.returncode == 0 and "Verified OK" in plain.stdout
    manifest = run / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"sha256"', '"sha256" ', 1))
    proc = run_segur("verify", str(run), "--pubkey", str(pub), env=env)
    assert proc.returncode == 1 and "signature does not verify" in proc.stdout

    # status: the latest verdict per scenario; another product version makes them stale
    proc = run_segur("status", "synthetic", "--outputs", str(out), env=env)
    assert proc.returncode == 0 and "SYN/T.005.01" in proc.stdout and "0 stale" in proc.stdout
    proc = run_segur("status", "synthetic", "--outputs", str(out), "--version", "2.0", env=env)
    assert "STALE: made against version 1.0, not 2.0" in proc.stdout and "5 stale" in proc.stdout


def test_dask_executor_same_verdicts_and_folder_as_local(syn, tmp_path):
    distributed = pytest.importorskip("distributed")
    data = {"SYN/T.002": {"mode": "fail"}}
    params, env, _ = syn(3, data=data)
    local_out, dask_out = tmp_path / "local", tmp_path / "dask"
    proc = run_segur("run", str(params), "--outputs", str(local_out), env=env)
    assert proc.returncode == 1, proc.stderr
    old = os.environ.get("SEGUR_CATALOG_EXTRA")
    os.environ["SEGUR_CATALOG_EXTRA"] = env["SEGUR_CATALOG_EXTRA"]   # the workers inherit it
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      host="127.0.0.1") as cluster:
            proc = run_segur("run", str(params), "--outputs", str(dask_out), "--executor", "dask",
                             "--scheduler", cluster.scheduler_address, env=env)
    finally:
        if old is None:
            os.environ.pop("SEGUR_CATALOG_EXTRA", None)
        else:
            os.environ["SEGUR_CATALOG_EXTRA"] = old
    assert proc.returncode == 1, proc.stderr
    local, remote = _runs(local_out)[0], _runs(dask_out)[0]
    assert ({p.relative_to(local).as_posix() for p in files_under(local)}
            == {p.relative_to(remote).as_posix() for p in files_under(remote)})
    for i in (1, 2, 3):
        assert _result(local, f"SYN/T.{i:03d}")["verdict"] == _result(remote, f"SYN/T.{i:03d}")["verdict"]
    assert _result(remote, "SYN/T.002")["verdict"] == "NON CONFORME"
    assert json.loads((remote / "run.json").read_text())["executor"] == "dask"
    assert run_segur("verify", str(remote), env=env).returncode == 0


def test_selection_and_bad_batch_input(syn, tmp_path):
    params, env, _ = syn(6, families=2)
    from segur_helpers import catalog
    from segur_helpers.batch.plan import plan
    from segur_helpers.params import load_campaign

    old = os.environ.get("SEGUR_CATALOG_EXTRA")
    os.environ["SEGUR_CATALOG_EXTRA"] = env["SEGUR_CATALOG_EXTRA"]
    catalog.catalog.cache_clear()
    try:
        campaign = load_campaign(params)
        assert [p.requirement.id for p in plan(campaign, family="TST")] == ["TST/T.002", "TST/T.004", "TST/T.006"]
        assert [p.requirement.id for p in plan(campaign, tags=["pair"], family=["SYN"])] == [
            "SYN/T.001", "SYN/T.003", "SYN/T.005"]
        assert [p.requirement.id for p in plan(campaign, only=["SYN/T.001,TST/T.002"])] == ["SYN/T.001", "TST/T.002"]
    finally:
        if old is None:
            os.environ.pop("SEGUR_CATALOG_EXTRA", None)
        else:
            os.environ["SEGUR_CATALOG_EXTRA"] = old
        catalog.catalog.cache_clear()
    out = tmp_path / "out"
    for args, words in ((["--family", "NOPE"], "--family NOPE"),
                        (["--executor", "dask"], "--scheduler"),
                        (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"], "no Dask scheduler answers"),
                        (["--sign-key", str(tmp_path / "missing.pem")], "missing.pem")):
        proc = run_segur("run", str(params), "--outputs", str(out), *args, env=env)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]
        assert not out.exists() or not _runs(out)
    # an outputs folder that cannot be written (full disk, read-only mount): one line, nothing half-written
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "synthetic").write_text("a file where the campaign folder should be")
    proc = run_segur("run", str(params), "--outputs", str(blocked), env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error:") and "writable outputs folder" in proc.stderr
    proc = run_segur("verify", str(tmp_path), env=env)
    assert proc.returncode == 2 and "expected a run folder" in proc.stderr
    proc = run_segur("rerun", str(tmp_path / "nothing"), "--failed", env=env)
    assert proc.returncode == 2 and "expected a run folder" in proc.stderr
