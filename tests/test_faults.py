"""Faults during a run, on small synthetic campaigns (bench/synthetic.py): each shows that nothing finished
was lost and that ``--resume`` or ``rerun --failed`` finishes the run.

- a proof that disrupts a shared service (as DMP/ALI/PROG.01 stops the DMP) interrupted, then timed out:
  the run-level guard restores the service each time, outside the kernel; the campaign file changed
  meanwhile is refused on resume;
- SIGKILL of the CLI: every proof finished before is in run.json; the next start reaps the orphans
  (browser server, Chromium, kernels, connection files) and restores the service the crash left down;
- a second writer on the same run folder is refused in one line while the first goes on;
- Chromium killed mid-run: restarted, the run goes on and is sealed;
- full disk and read-only folder mid-run: exit 2 and one line, no stray file, ``--resume`` finishes.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.synthetic import Target, make_synthetic
from conftest import ROOT, files_under, run_segur, verdicts_of
from segur_helpers.evidence import sha256_file


@pytest.fixture
def syn(tmp_path):
    targets = []

    def make(n=3, **kw):
        target = Target()
        targets.append(target)
        params = make_synthetic(tmp_path / "syn", target.url, n, **kw)
        env = dict(os.environ, SEGUR_CATALOG_EXTRA=str(tmp_path / "syn"))
        return params, env, target

    yield make
    for t in targets:
        try:
            t.stop()
        except Exception:  # noqa: BLE001
            pass


def _start(args, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "segur_helpers.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run_dir(out: Path) -> Path:
    runs = [p for p in (out / "synthetic").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(runs) == 1, runs
    return runs[0]


def _record(run: Path) -> dict:
    return json.loads((run / "run.json").read_text(encoding="utf-8"))


def _wait(what, timeout=240.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def _proofs_recorded(out: Path, n: int):
    def check():
        try:
            run = _run_dir(out)
            return len(_record(run).get("proofs", [])) >= n and run
        except (AssertionError, OSError, ValueError):
            return None
    return check


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _verified(run: Path) -> None:
    """segur verify, in this process (the real command is tested in test_verify_tamper.py)."""
    from segur_helpers.runfolder import verify_run

    found = verify_run(run)
    assert not found.problems, found.problems


def _no_stray(run: Path) -> None:
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")], "a .tmp file was left behind"


def test_disrupted_service_restored_after_interrupt_and_timeout_changed_params_refused(syn, tmp_path):
    out = tmp_path / "out"
    flag = tmp_path / "cutting"
    flag.write_text("on")
    data = {"SYN/T.001": {"mode": "cut_hang", "broken_while": str(flag)},
            "SYN/T.002": {"mode": "uses_service"}, "SYN/T.003": {"mode": "uses_service"}}
    params, env, target = syn(3, data=data, timeouts={"step_s": 60, "proof_s": 8}, disrupt=("SYN/T.001",),
                              service_users=("SYN/T.002", "SYN/T.003"))
    # the disrupting proof starts first (the campaign's order; the others wait: they use the service it
    # stops) and hangs with the service stopped; SIGINT while it hangs
    proc = _start(["run", str(params), "--outputs", str(out), "--workers", "2"], env)
    _wait(lambda: not target.service_up)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert target.service_up, "the interrupted proof left the service down"
    run = _run_dir(out)
    assert _record(run)["status"] == "interrupted"
    assert not (out / "synthetic" / ".work").exists()
    _verified(run)

    # the campaign file changed meanwhile: refused in one line, nothing written
    original = params.read_text(encoding="utf-8")
    params.write_text(original.replace("operator: Banc de mesure", "operator: Quelqu'un d'autre"), encoding="utf-8")
    before = {p: sha256_file(p) for p in files_under(run)}
    proc = run_segur("run", "--resume", str(run), env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "changed since the run started" in lines[0], proc.stderr
    assert {p: sha256_file(p) for p in files_under(run)} == before
    params.write_text(original, encoding="utf-8")

    # resumed with the fault still there: the proof now times out (its kernel killed), the guard restores
    # the service, and the proofs that use it, run after, are CONFORME
    proc = run_segur("run", "--resume", str(run), "--workers", "2", env=env)
    assert proc.returncode == 2, proc.stderr
    verdicts = verdicts_of(run)
    assert verdicts == {"SYN/T.001.01": "ERREUR", "SYN/T.002.01": "CONFORME", "SYN/T.003.01": "CONFORME"}
    assert "délai de la preuve dépassé" in json.loads((run / "SYN_T.001.01" / "result.json").read_text())["error"][
        "message"]
    assert target.service_up and target.service_calls.count("start") >= 2
    record = _record(run)
    assert record["status"] == "complete" and [h["status"] for h in record["history"]] == ["interrupted", "complete"]
    assert record["params_sha256"] == sha256_file(params)

    # the fault goes: rerun --failed finishes the campaign
    flag.unlink()
    proc = run_segur("rerun", str(run), "--failed", env=env)
    assert proc.returncode == 0, proc.stderr
    assert set(verdicts_of(run).values()) == {"CONFORME"}
    _verified(run)
    _no_stray(run)


def test_sigkill_loses_no_finished_proof_and_the_next_start_reaps_the_orphans(syn, tmp_path):
    out = tmp_path / "out"
    flag = tmp_path / "cutting"
    flag.write_text("on")
    data = {"SYN/T.001": {"sleep": 0.5}, "SYN/T.002": {"sleep": 0.5},
            "SYN/T.003": {"mode": "cut_hang", "broken_while": str(flag)}, "SYN/T.004": {"mode": "uses_service"}}
    params, env, target = syn(4, data=data, timeouts={"step_s": 60, "proof_s": 300}, disrupt=("SYN/T.003",),
                              service_users=("SYN/T.004",))
    proc = _start(["run", str(params), "--outputs", str(out), "--workers", "1"], env)
    run = _wait(_proofs_recorded(out, 2))
    _wait(lambda: not target.service_up)          # the third proof is at work, the service stopped
    work = out / "synthetic" / ".work" / run.name
    pids = json.loads((work / "pids.json").read_text())
    # the kernels' connection files (their HMAC key) are inside the run's private folder, nowhere else
    connection_files = [f for f in work.rglob("*.json") if b'"signature_scheme"' in f.read_bytes()]
    assert connection_files and all(b'"key"' in f.read_bytes() for f in connection_files)
    assert {p["kind"] for p in pids} >= {"browser-server", "kernel"}
    done = {p: sha256_file(p) for p in files_under(run / "SYN_T.001.01")}
    proc.kill()                                    # SIGKILL: no handler, no seal
    proc.communicate(timeout=30)

    record = _record(run)
    assert record["status"] == "running"
    assert set(verdicts_of(run)) == {"SYN/T.001.01", "SYN/T.002.01"}, "a finished proof was lost"
    assert any(_alive(p["pid"]) for p in pids if p["kind"] == "browser-server"), "expected orphans to reap"
    assert not target.service_up

    flag.unlink()
    proc = run_segur("run", "--resume", str(run), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "process(es) left by the crashed session" in proc.stderr and "restored at start" in proc.stderr
    assert not any(_alive(p["pid"]) for p in pids), "an orphan survived the next start"
    assert not work.exists() and not any(f.exists() for f in connection_files)
    assert target.service_up
    assert {p: sha256_file(p) for p in files_under(run / "SYN_T.001.01")} == done   # not run again
    record = _record(run)
    assert record["status"] == "complete" and set(verdicts_of(run).values()) == {"CONFORME"}
    assert [h["status"] for h in record["history"]] == ["crashed", "complete"]
    _verified(run)
    _no_stray(run)


def test_a_second_writer_is_refused_while_the_run_goes_on(syn, tmp_path):
    out = tmp_path / "out"
    data = {f"SYN/T.{i:03d}": {"sleep": 6} for i in range(1, 5)}
    params, env, _ = syn(4, data=data)
    proc = _start(["run", str(params), "--outputs", str(out), "--workers", "1"], env)
    run = _wait(_proofs_recorded(out, 1))
    others = [_start(["run", "--resume", str(run)], env), _start(["rerun", str(run), "--failed"], env)]
    for other in others:
        _, stderr = other.communicate(timeout=120)
        lines = stderr.strip().splitlines()
        assert other.returncode == 2 and len(lines) == 1, stderr
        assert "another segur process is writing this run" in lines[0]
    assert proc.poll() is None, "the first run ended before the second writers came: nothing was shown"
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    record = _record(run)
    assert record["status"] == "complete" and len(record["proofs"]) == 4
    assert [h["action"] for h in record["history"]] == ["run"]
    _verified(run)


def test_chromium_killed_mid_run_is_restarted_and_the_run_sealed(syn, tmp_path):
    out = tmp_path / "out"
    data = {f"SYN/T.{i:03d}": {"sleep": 1, "shots": 1} for i in range(1, 5)}
    params, env, _ = syn(4, data=data)
    proc = _start(["run", str(params), "--outputs", str(out), "--workers", "1"], env)
    run = _wait(_proofs_recorded(out, 1))
    work = out / "synthetic" / ".work" / run.name
    server = next(p for p in json.loads((work / "pids.json").read_text()) if p["kind"] == "browser-server")
    group = subprocess.run(["pgrep", "-g", str(server["pid"])], capture_output=True, text=True).stdout.split()
    chromium = [int(p) for p in group if "chrom" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]
    assert chromium
    for pid in chromium:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode in (0, 2), stderr
    assert "Traceback" not in stderr and "starting it again" in stderr
    record = _record(run)
    assert record["status"] == "complete" and (run / "manifest.json").is_file() and (run / "summary.pdf").is_file()
    assert len(record["proofs"]) == 4
    assert all(p["pdf"] for p in record["proofs"]), "a proof without its PDF"
    _verified(run)
    proc = run_segur("rerun", str(run), "--failed", env=env)
    assert proc.returncode == 0, proc.stderr
    assert set(verdicts_of(run).values()) == {"CONFORME"}
    _verified(run)


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_full_or_read_only_disk_mid_run_stops_resumable(syn, tmp_path, fault):
    out = tmp_path / "out"
    if not _mount_tmpfs(out, "64m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        data = {f"SYN/T.{i:03d}": {"sleep": 1.5} for i in range(1, 5)}
        params, env, _ = syn(4, data=data)
        proc = _start(["run", str(params), "--outputs", str(out), "--workers", "1"], env)
        run = _wait(_proofs_recorded(out, 1))
        first = {p: sha256_file(p) for p in files_under(run / "SYN_T.001.01")}
        filler = out / "filler"
        if fault == "full":
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True)
        else:   # a read-only bind mount over the outputs: every new write fails with EROFS
            assert subprocess.run(["mount", "--bind", str(out), str(out)], capture_output=True).returncode == 0
            assert subprocess.run(["mount", "-o", "remount,bind,ro", str(out)], capture_output=True).returncode == 0
        stdout, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 2, stderr
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and "cannot write the run folder" in lines[0], stderr
        assert "Traceback" not in stderr and "--resume" in lines[0]
        if fault == "full":
            filler.unlink()
        else:
            assert subprocess.run(["umount", str(out)], capture_output=True).returncode == 0   # the bind mount
        _no_stray(run)
        record = _record(run)
        assert record["status"] in ("running", "interrupted") and "SYN/T.001.01" in verdicts_of(run)
        proc = run_segur("run", "--resume", str(run), env=env)
        assert proc.returncode in (0, 2), proc.stderr
        if proc.returncode == 2:      # a proof whose kernel met the full disk: ERREUR, run again
            proc = run_segur("rerun", str(run), "--failed", env=env)
            assert proc.returncode == 0, proc.stderr
        assert {p: sha256_file(p) for p in files_under(run / "SYN_T.001.01")} == first
        record = _record(run)
        assert record["status"] == "complete" and set(verdicts_of(run).values()) == {"CONFORME"}
        assert len(record["proofs"]) == 4
        _verified(run)
        _no_stray(run)
    finally:
        while subprocess.run(["umount", "-l", str(out)], capture_output=True).returncode == 0:
            pass


def test_a_mailbox_that_cannot_be_read_is_erreur_not_non_conforme(syn, tmp_path):
    """The team's own test mailbox missing: ERREUR naming it (exit 2), not « no message received »."""
    import yaml

    params, env, _ = syn(2, data={"SYN/T.001": {"mode": "mail"}, "SYN/T.002": {"mode": "mail"}})
    data = yaml.safe_load(params.read_text(encoding="utf-8"))
    data["mailbox"] = {"kind": "maildir", "path": "boite-absente"}
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    proc = run_segur("run", str(params), "--outputs", str(out), "--only", "SYN/T.001", env=env)
    assert proc.returncode == 2, proc.stderr
    run = _run_dir(out)
    result = json.loads((run / "SYN_T.001.01" / "result.json").read_text(encoding="utf-8"))
    assert result["verdict"] == "ERREUR" and result["error"]["kind"] == "infrastructure"
    assert "boîte aux lettres de test inutilisable" in result["error"]["message"]
    assert "boite-absente" in proc.stderr

    # the same mailbox, there and empty: the product sent nothing, NON CONFORME (exit 1)
    for sub in ("new", "cur", "tmp"):
        (params.parent / "boite-absente" / sub).mkdir(parents=True)
    proc = run_segur("run", str(params), "--outputs", str(out), "--only", "SYN/T.002", env=env)
    assert proc.returncode == 1, proc.stderr


def test_the_mailbox_smoke_call_fails_when_it_cannot_be_read(tmp_path):
    import asyncio
    from types import SimpleNamespace

    from segur_helpers.drivers.mailboxes import MaildirMailbox
    from segur_helpers.errors import InfrastructureError

    box = MaildirMailbox(SimpleNamespace(), tmp_path / "absent")
    with pytest.raises(InfrastructureError, match="boîte aux lettres de test inutilisable"):
        asyncio.run(box.smoke())
