"""Run folders: the record (``run.json``), the manifest, its optional signature, verification, status.

``manifest.json`` lists the SHA-256 of every file of the run folder but itself and its signature.
The signature (``manifest.json.sig``) is made with the user's private key by the plain ``openssl``
command, so a reviewer checks it with ``openssl`` alone::

    openssl dgst -sha256 -verify public.pem -signature manifest.json.sig manifest.json
"""
from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from .errors import UserError
from .evidence import sha256_file
from .ids import current_id

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
RUN_RECORD = "run.json"
NOT_HASHED = {MANIFEST, SIGNATURE}


def write_json(path: Path, data) -> None:
    """Atomic JSON write (temporary name, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def run_files(run_dir: Path) -> list[Path]:
    return [p for p in sorted(run_dir.rglob("*")) if p.is_file() and p.relative_to(run_dir).as_posix()
            not in NOT_HASHED and not p.name.endswith(".tmp")]


def write_manifest(run_dir: Path, sign_key: Path | None = None) -> dict[str, str]:
    files = {p.relative_to(run_dir).as_posix(): sha256_file(p) for p in run_files(run_dir)}
    write_json(run_dir / MANIFEST, {"algorithm": "sha256", "files": files})
    (run_dir / SIGNATURE).unlink(missing_ok=True)   # a stale signature would lie
    if sign_key:
        sign_manifest(run_dir, sign_key)
    return files


def check_sign_key(key: Path) -> None:
    """Before a run: the key must be a private key openssl can read (one line otherwise)."""
    if not Path(key).is_file():
        raise UserError("no such file; expected a PEM private key", file=str(key), key="--sign-key")
    proc = subprocess.run(["openssl", "pkey", "-in", str(key), "-noout"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise UserError("openssl cannot read it; expected an unencrypted PEM private key (RSA, EC or Ed25519 "
                        "is not supported by dgst: use RSA or EC)", file=str(key), key="--sign-key")


def sign_manifest(run_dir: Path, key: Path) -> Path:
    sig = run_dir / SIGNATURE
    proc = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key), "-out", str(sig),
                           str(run_dir / MANIFEST)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise UserError(f"openssl could not sign the manifest: {proc.stderr.strip()[:200]}", file=str(key),
                        key="--sign-key")
    return sig


def verify_run(run_dir: Path, pubkey: Path | None = None) -> list[str]:
    """Problems found (empty: the folder is exactly what the manifest says, signature valid if asked)."""
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        raise UserError("no manifest.json; expected a run folder (outputs/<campaign>/<run-id>)", file=str(run_dir))
    try:
        listed = read_json(manifest_path)["files"]
    except (ValueError, KeyError, TypeError):
        return ["manifest.json: not a valid manifest"]
    problems = []
    on_disk = {p.relative_to(run_dir).as_posix(): p for p in run_files(run_dir)}
    for rel, digest in sorted(listed.items()):
        path = on_disk.get(rel)
        if path is None:
            problems.append(f"{rel}: missing")
        elif sha256_file(path) != digest:
            problems.append(f"{rel}: changed (SHA-256 differs from the manifest)")
    for rel in sorted(set(on_disk) - set(listed)):
        problems.append(f"{rel}: not in the manifest (added after the run was sealed)")
    if pubkey is not None:
        sig = run_dir / SIGNATURE
        if not sig.is_file():
            problems.append(f"{SIGNATURE}: missing (the run was not signed)")
        else:
            proc = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pubkey), "-signature", str(sig),
                                   str(manifest_path)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                problems.append(f"{SIGNATURE}: signature does not verify with {pubkey}")
    return problems


def find_run(ref: str | Path, outputs: Path) -> Path:
    """A run given as a folder, or as ``<campaign>/<run-id>`` under the outputs folder."""
    for cand in (Path(ref), outputs / str(ref)):
        if (cand / RUN_RECORD).is_file():
            return cand.resolve()
    raise UserError("no run.json there; expected a run folder (outputs/<campaign>/<run-id>) or "
                    "<campaign>/<run-id>", key=str(ref))


# -- status across runs ------------------------------------------------------------------------------
def latest_per_requirement(outputs: Path, campaign: str | None, max_age_days: float,
                           product_version: str | None, now: datetime) -> list[dict]:
    """The latest proof of each scenario across runs (of one campaign or all), flagged when stale."""
    latest: dict[tuple[str, str], dict] = {}
    campaigns = [outputs / campaign] if campaign else sorted(p for p in outputs.iterdir() if p.is_dir())
    for cdir in campaigns:
        if not cdir.is_dir():
            raise UserError("no runs for this campaign; expected a folder under the outputs folder",
                            key=str(cdir))
        for run in sorted(p for p in cdir.iterdir() if (p / RUN_RECORD).is_file()):
            try:
                record = read_json(run / RUN_RECORD)
            except ValueError:
                continue
            for proof in record.get("proofs", []):
                when = proof.get("finished") or record.get("started")
                # a proof made under an id renamed since (ids.OLD_IDS) counts as its requirement's today
                scenario = current_id(proof["scenario"])
                key = (cdir.name, scenario)
                if key not in latest or (when or "") >= (latest[key]["when"] or ""):
                    latest[key] = {"campaign": cdir.name, "scenario": scenario,
                                   "renamed_from": proof["scenario"] if scenario != proof["scenario"] else "",
                                   "requirement": current_id(proof.get("requirement", "")) if proof.get(
                                       "requirement") else "", "verdict": proof["verdict"],
                                   "when": when, "run_id": record.get("run_id", run.name),
                                   "version": record.get("version", ""), "product": record.get("product", "")}
    rows = []
    for row in sorted(latest.values(), key=lambda r: (r["campaign"], r["scenario"])):
        why = []
        try:
            age = now - datetime.fromisoformat(row["when"])
            if age > timedelta(days=max_age_days):
                why.append(f"older than {max_age_days:g} days")
        except (TypeError, ValueError):
            why.append("no date")
        if product_version and row["version"] != product_version:
            why.append(f"made against version {row['version']}, not {product_version}")
        rows.append(row | {"stale": "; ".join(why)})
    return rows


def writable_check(folder: Path) -> None:
    """Fail in one line when the run folder cannot be written (full disk, read-only mount)."""
    probe = folder / ".write-probe"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"x" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise UserError(f"cannot write there ({exc.strerror}); expected a writable outputs folder",
                        key=str(folder)) from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
