"""``segur verify`` cannot be fooled: every tampering of a sealed, signed run folder is reported.

One synthetic run (bench/synthetic.py), signed with a key whose public half the campaign names
(``signing.public_key``); each tampering is applied to a copy of it. ``verify`` checks the signature by
itself (run.json records the key's fingerprint, the campaign gives the key) and with ``--pubkey``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bench.synthetic import Target, make_synthetic
from conftest import run_segur
from segur_helpers.evidence import sha256_file


def _keys(folder: Path, name: str) -> tuple[Path, Path]:
    key, pub = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True, capture_output=True)
    return key, pub


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """A complete synthetic run of 2 proofs, signed for the campaign's public key."""
    base = tmp_path_factory.mktemp("tamper")
    target = Target()
    try:
        params = make_synthetic(base / "syn", target.url, 2, data={"SYN/T.001": {"shots": 1}})
        keys = base / "syn" / "keys"
        keys.mkdir()
        key, pub = _keys(keys, "vendor")
        data = yaml.safe_load(params.read_text(encoding="utf-8"))
        data["signing"] = {"public_key": "keys/vendor.pub.pem"}
        params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        env = dict(os.environ, SEGUR_CATALOG_EXTRA=str(base / "syn"))
        # a campaign that names its public key wants signed runs: refused without the matching key
        proc = run_segur("run", str(params), "--outputs", str(base / "out"), env=env)
        assert proc.returncode == 2 and "--sign-key" in proc.stderr and "signing.public_key" in proc.stderr
        foreign_key, foreign_pub = _keys(base, "foreign")
        proc = run_segur("run", str(params), "--outputs", str(base / "out"), "--sign-key", str(foreign_key), env=env)
        assert proc.returncode == 2 and "not the private key of the campaign" in proc.stderr
        proc = run_segur("run", str(params), "--outputs", str(base / "out"), "--sign-key", str(key), env=env)
        assert proc.returncode == 0, proc.stderr
    finally:
        target.stop()
    run = next(p for p in (base / "out" / "synthetic").iterdir() if not p.name.startswith("."))
    return {"run": run, "base": base, "key": key, "pub": pub, "foreign_key": foreign_key,
            "foreign_pub": foreign_pub, "params": params}


def _verify(run: Path, *extra: str):
    from segur_helpers.cli import main
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["verify", str(run), *extra])
    return code, out.getvalue(), err.getvalue()


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def _evidence(run: Path, suffix: str) -> Path:
    return next(p for p in sorted((run / "SYN_T.001.01" / "evidence").iterdir()) if p.suffix == suffix)


def _recompute_manifest(run: Path) -> None:
    files = {p.relative_to(run).as_posix(): sha256_file(p) for p in sorted(run.rglob("*"))
             if p.is_file() and p.name not in ("manifest.json", "manifest.json.sig")}
    (run / "manifest.json").write_text(json.dumps({"algorithm": "sha256", "files": files}, indent=2))


def _sign(run: Path, key: Path) -> None:
    subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key), "-out", str(run / "manifest.json.sig"),
                    str(run / "manifest.json")], check=True, capture_output=True)


def _swap(a: Path, b: Path) -> None:
    tmp = a.with_name(a.name + ".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


TAMPERINGS = {   # name: (change(run, ctx), words expected in the report)
    "one byte of a proof PDF": (lambda r, c: _flip(r / "SYN_T.001.01" / "SYN_T.001.01.pdf"), ["SYN_T.001.01.pdf: changed"]),
    "one byte of run.json": (lambda r, c: _flip(r / "run.json", 10), ["run.json: changed"]),
    "one byte of a screenshot": (lambda r, c: _flip(_evidence(r, ".png")), [".png: changed"]),
    "one byte of result.json": (lambda r, c: _flip(r / "SYN_T.002.01" / "result.json"), ["result.json: changed"]),
    "one byte of the notebook": (lambda r, c: _flip(r / "SYN_T.002.01" / "notebook.ipynb"), ["notebook.ipynb: changed"]),
    "one byte of summary.csv": (lambda r, c: _flip(r / "summary.csv"), ["summary.csv: changed"]),
    "one byte of the manifest": (lambda r, c: (r / "manifest.json").write_text(
        (r / "manifest.json").read_text().replace('"sha256"', '"sha256" ', 1)), ["signature does not verify"]),
    "one byte of the signature": (lambda r, c: _flip(r / "manifest.json.sig", 20), ["signature does not verify"]),
    "a proof PDF deleted": (lambda r, c: (r / "SYN_T.002.01" / "SYN_T.002.01.pdf").unlink(), ["SYN_T.002.01.pdf: missing"]),
    "an evidence file deleted": (lambda r, c: _evidence(r, ".json").unlink(), [".json: missing"]),
    "run.json deleted": (lambda r, c: (r / "run.json").unlink(), ["run.json: missing"]),
    "summary.pdf deleted": (lambda r, c: (r / "summary.pdf").unlink(), ["summary.pdf: missing"]),
    "manifest deleted": (lambda r, c: (r / "manifest.json").unlink(), ["manifest.json: missing"]),
    "signature deleted": (lambda r, c: (r / "manifest.json.sig").unlink(), ["manifest.json.sig: missing"]),
    "a stray file": (lambda r, c: (r / "notes.txt").write_text("x"), ["notes.txt: not in the manifest"]),
    "a stray evidence file": (lambda r, c: (r / "SYN_T.001.01" / "evidence" / "99-extra.png").write_bytes(b"\x89PNG"),
                              ["99-extra.png: not in the manifest"]),
    "a stray .tmp file": (lambda r, c: (r / "SYN_T.001.01" / "evidence" / "extra.png.tmp").write_bytes(b"x"),
                          ["extra.png.tmp: not in the manifest"]),
    "a stray hidden file": (lambda r, c: (r / ".hidden").write_text("x"), [".hidden: not in the manifest"]),
    "a stray symbolic link": (lambda r, c: (r / "SYN_T.001.01" / "passwd").symlink_to("/etc/passwd"),
                              ["passwd: a symbolic link"]),
    "a stray folder with a file": (lambda r, c: ((r / "extra").mkdir(), (r / "extra" / "a.pdf").write_bytes(b"%PDF"))
                                   , ["extra/a.pdf: not in the manifest"]),
    "two proof PDFs swapped": (lambda r, c: _swap(r / "SYN_T.001.01" / "SYN_T.001.01.pdf",
                                                  r / "SYN_T.002.01" / "SYN_T.002.01.pdf"),
                               ["SYN_T.001.01.pdf: changed", "SYN_T.002.01.pdf: changed"]),
    "an evidence file renamed": (lambda r, c: _evidence(r, ".png").rename(r / "SYN_T.001.01" / "evidence" / "x.png"),
                                 [".png: missing", "x.png: not in the manifest"]),
    "manifest recomputed, signature removed": (lambda r, c: (_flip(r / "SYN_T.001.01" / "SYN_T.001.01.pdf"),
                                                             _recompute_manifest(r),
                                                             (r / "manifest.json.sig").unlink()),
                                               ["manifest.json.sig: missing"]),
    "manifest recomputed, signature and run.json's key removed": (
        lambda r, c: (_flip(r / "SYN_T.001.01" / "SYN_T.001.01.pdf"), (r / "run.json").write_text(json.dumps(
            {k: v for k, v in json.loads((r / "run.json").read_text()).items() if k != "signature"})),
                      _recompute_manifest(r), (r / "manifest.json.sig").unlink()),
        ["manifest.json.sig: missing"]),
    "manifest recomputed and signed with another key": (
        lambda r, c: (_flip(r / "SYN_T.001.01" / "SYN_T.001.01.pdf"), _recompute_manifest(r), _sign(r, c["foreign_key"])),
        ["signature does not verify"]),
    "a foreign signature of the true manifest": (lambda r, c: _sign(r, c["foreign_key"]), ["signature does not verify"]),
    "an empty signature": (lambda r, c: (r / "manifest.json.sig").write_bytes(b""), ["signature does not verify"]),
}


def test_the_sealed_run_verifies_and_its_signature_is_checked_by_itself(sealed):
    code, out, err = _verify(sealed["run"])
    assert code == 0 and "signature valid (the campaign's signing.public_key" in out, out + err
    record = json.loads((sealed["run"] / "run.json").read_text())
    assert record["signature"]["public_key_sha256"]
    code, out, err = _verify(sealed["run"], "--pubkey", str(sealed["pub"]))
    assert code == 0 and "signature valid (--pubkey" in out
    code, out, err = _verify(sealed["run"], "--pubkey", str(sealed["foreign_pub"]))
    assert code == 1 and "signature does not verify" in out


def test_a_signature_without_a_key_is_said_not_checked(sealed, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(sealed["run"], run)
    record = json.loads((run / "run.json").read_text())
    record["params_path"] = str(tmp_path / "elsewhere.yaml")     # the campaign (and its key) is not there
    (run / "run.json").write_text(json.dumps(record))
    _recompute_manifest(run)
    _sign(run, sealed["key"])
    code, out, err = _verify(run)
    assert code == 0 and "signature present but NOT checked" in out and "signature valid" not in out


def test_a_garbage_public_key_is_unreadable(sealed, tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(os.urandom(300))
    code, out, err = _verify(sealed["run"], "--pubkey", str(garbage))
    assert code == 2 and "clé publique illisible" in err and len(err.strip().splitlines()) == 1


def test_the_corpus_covers_at_least_22_tamperings():
    assert len(TAMPERINGS) >= 22


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_every_tampering_is_reported(name, sealed, tmp_path):
    change, words = TAMPERINGS[name]
    run = tmp_path / "run"
    shutil.copytree(sealed["run"], run, symlinks=True)
    change(run, sealed)
    for extra in ((), ("--pubkey", str(sealed["pub"]))):
        code, out, err = _verify(run, *extra)
        assert code != 0, (name, extra, out)
        assert not out.startswith("OK"), out
        for w in words:
            assert w in out + err, (name, extra, w, out, err)
