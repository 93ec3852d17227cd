"""Run folders: the record (``run.json``), the manifest, its optional signature, verification, status.

``manifest.json`` lists the SHA-256 of every file of the run folder but itself and its signature.
The signature (``manifest.json.sig``) is made with the user's private key by the plain ``openssl``
command, so a reviewer checks it with ``openssl`` alone::

    openssl dgst -sha256 -verify public.pem -signature manifest.json.sig manifest.json
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
from dataclasses import dataclass, field
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
    """Atomic JSON write (temporary name, flushed to disk, then rename); the temporary file never stays
    behind, even when the disk is full or read-only (the error is raised, the former file is intact)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, ensure_ascii=False, indent=2))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def walk_run(run_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """Every regular file of a run folder but the manifest and its signature (``.tmp`` files included:
    nothing is skipped), and every other entry — a symbolic link, a pipe — as a problem line."""
    files: dict[str, Path] = {}
    odd: list[str] = []
    for root, dirs, names in os.walk(run_dir, followlinks=False):
        base = Path(root)
        for d in list(dirs):
            if (base / d).is_symlink():
                dirs.remove(d)
                odd.append(f"{(base / d).relative_to(run_dir).as_posix()}: a symbolic link, not a folder of the run")
        for n in names:
            path = base / n
            rel = path.relative_to(run_dir).as_posix()
            if rel in NOT_HASHED:
                continue
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                files[rel] = path
            else:
                what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
                odd.append(f"{rel}: {what} (a run folder holds regular files only)")
    return dict(sorted(files.items())), odd


def run_files(run_dir: Path) -> list[Path]:
    return list(walk_run(run_dir)[0].values())


def write_manifest(run_dir: Path, sign_key: Path | None = None) -> dict[str, str]:
    files = {rel: sha256_file(p) for rel, p in walk_run(run_dir)[0].items()}
    (run_dir / SIGNATURE).unlink(missing_ok=True)   # a stale signature would lie
    write_json(run_dir / MANIFEST, {"algorithm": "sha256", "files": files})
    if sign_key:
        sign_manifest(run_dir, sign_key)
    return files


# -- the run record ------------------------------------------------------------------------------------
_RECORD_FIELDS = {"campaign": str, "run_id": str, "params_path": str, "status": str, "scope": list, "proofs": list}


def read_run_record(run_dir: Path) -> dict:
    """``run.json`` of a run folder, checked enough for ``--resume`` and ``rerun`` to rely on it: one
    :class:`UserError` line naming the file and the key otherwise."""
    path = run_dir / RUN_RECORD
    shown = str(path)
    try:
        record = read_json(path)
    except FileNotFoundError:
        raise UserError("missing; expected the run record of a run folder made by segur run", file=shown) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not JSON"
        raise UserError(f"cannot be read ({why}); expected the run record written by segur run", file=shown) from None
    if not isinstance(record, dict):
        raise UserError(f"expected a JSON object (the run record), got {type(record).__name__}", file=shown)
    for key, kind in _RECORD_FIELDS.items():
        if key not in record:
            raise UserError("missing; expected the run record written by segur run", file=shown, key=key)
        if not isinstance(record[key], kind):
            raise UserError(f"expected {'a list' if kind is list else 'text'}, got {type(record[key]).__name__}",
                            file=shown, key=key)
    for i, sid in enumerate(record["scope"]):
        if not isinstance(sid, str):
            raise UserError("expected a scenario id", file=shown, key=f"scope[{i}]")
    for i, e in enumerate(record["proofs"]):
        if not isinstance(e, dict):
            raise UserError("expected an object (a proof's entry)", file=shown, key=f"proofs[{i}]")
        for key in ("scenario", "verdict"):
            if not isinstance(e.get(key), str):
                raise UserError("missing; expected the proof's " + key, file=shown, key=f"proofs[{i}].{key}")
        if e["scenario"] not in record["scope"]:
            raise UserError(f"{e['scenario']} is not in the run's scope; expected one of its scenarios", file=shown,
                            key=f"proofs[{i}].scenario")
        for key, default in (("attempts", 1), ("duration_s", 0.0), ("pdf", None), ("error", None)):
            e.setdefault(key, default)
    return record


def _openssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, stdin=subprocess.DEVNULL)


def check_sign_key(key: Path) -> str:
    """Before a run: the key must be a private key openssl can read (one line otherwise). Returns the
    fingerprint of its public half (:func:`key_fingerprint`), which run.json records."""
    if not Path(key).is_file():
        raise UserError("no such file; expected a PEM private key", file=str(key), key="--sign-key")
    proc = _openssl("pkey", "-in", str(key), "-pubout", "-outform", "DER")
    if proc.returncode != 0 or not proc.stdout:
        raise UserError("openssl cannot read it; expected an unencrypted PEM private key (RSA, EC or Ed25519 "
                        "is not supported by dgst: use RSA or EC)", file=str(key), key="--sign-key")
    return hashlib.sha256(proc.stdout).hexdigest()


def public_key_fingerprint(pubkey: Path, *, key: str = "--pubkey") -> str:
    """SHA-256 of the public key's DER form (SubjectPublicKeyInfo); « clé publique illisible » when openssl
    cannot read it as a public key."""
    if not Path(pubkey).is_file():
        raise UserError("no such file; expected a PEM public key", file=str(pubkey), key=key)
    proc = _openssl("pkey", "-pubin", "-in", str(pubkey), "-outform", "DER")
    if proc.returncode != 0 or not proc.stdout:
        raise UserError("clé publique illisible: openssl cannot read it; expected a PEM public key "
                        "(openssl pkey -in key.pem -pubout)", file=str(pubkey), key=key)
    return hashlib.sha256(proc.stdout).hexdigest()


def sign_manifest(run_dir: Path, key: Path) -> Path:
    sig = run_dir / SIGNATURE
    proc = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key), "-out", str(sig),
                           str(run_dir / MANIFEST)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sig.unlink(missing_ok=True)
        raise UserError(f"openssl could not sign the manifest: {proc.stderr.strip()[:200]}", file=str(key),
                        key="--sign-key")
    return sig


@dataclass
class Verification:
    """What ``segur verify`` found: the problems (empty: the folder is what its manifest says), the number
    of files checked, and what was said of the signature."""
    problems: list[str] = field(default_factory=list)
    files: int = 0
    signature: str = "not present (the run is not signed)"
    signature_checked: bool = False


def _manifest_files(path: Path) -> dict[str, str]:
    shown = str(path)
    try:
        data = read_json(path)
    except (OSError, UnicodeDecodeError, ValueError):
        raise UserError("not JSON; expected the manifest written by segur run", file=shown) from None
    if not isinstance(data, dict):
        raise UserError(f"expected a JSON object, got {type(data).__name__}", file=shown)
    files = data.get("files")
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) and
                                              re.fullmatch(r"[0-9a-f]{64}", v) for k, v in files.items()):
        raise UserError(f"expected a mapping of file → SHA-256 (64 hex digits), got "
                        f"{type(files).__name__ if not isinstance(files, dict) else 'other values'}",
                        file=shown, key="files")
    return files


def _campaign_public_key(record: dict) -> Path | None:
    """``signing.public_key`` of the run's campaign file, if it names one (read, not validated again)."""
    from .paths import confined_path
    from .yamlsafe import load_yaml

    params = Path(str(record.get("params_path") or ""))
    if not params.is_file():
        return None
    try:
        raw = load_yaml(params)
        value = raw.get("signing", {}).get("public_key") if isinstance(raw, dict) else None
    except (UserError, AttributeError):
        return None
    if not isinstance(value, str):
        return None
    allowed = tuple((params.parent / d).resolve() for d in raw.get("allowed_dirs") or [] if isinstance(d, str))
    return confined_path(value, base_dir=params.resolve().parent, allowed=allowed, file=str(params),
                         key="signing.public_key", must_exist="a PEM public key")


def verify_run(run_dir: Path, pubkey: Path | None = None) -> Verification:
    """Re-hash the run folder against ``manifest.json`` (every file, ``.tmp`` ones included, is either in
    the manifest or reported) and check the signature: with ``pubkey``, or else with the campaign's
    ``signing.public_key`` when run.json records that key's fingerprint. A signature present and not
    checked is said so; a signature that does not verify is a problem, never OK."""
    out = Verification()
    record: dict = {}
    try:
        loaded = read_json(run_dir / RUN_RECORD)
        record = loaded if isinstance(loaded, dict) else {}
    except (OSError, UnicodeDecodeError, ValueError):
        pass
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        if not (run_dir / RUN_RECORD).is_file():
            raise UserError("no manifest.json; expected a run folder (outputs/<campaign>/<run-id>)", file=str(run_dir))
        out.problems.append(f"{MANIFEST}: missing (the run was never sealed, or the manifest was removed)")
        return out
    listed = _manifest_files(manifest_path)
    on_disk, odd = walk_run(run_dir)
    out.files = len(listed)
    for rel, digest in listed.items():
        path = on_disk.get(rel)
        if path is None:
            out.problems.append(f"{rel}: missing")
        elif sha256_file(path) != digest:
            out.problems.append(f"{rel}: changed (SHA-256 differs from the manifest)")
    for rel in sorted(set(on_disk) - set(listed)):
        out.problems.append(f"{rel}: not in the manifest (added after the run was sealed)")
    out.problems.extend(odd)

    sig = run_dir / SIGNATURE
    signing = record.get("signature") if isinstance(record.get("signature"), dict) else {}
    recorded = signing.get("public_key_sha256") if isinstance(signing.get("public_key_sha256"), str) else None
    key, origin = (pubkey, "--pubkey") if pubkey is not None else (None, "")
    if key is None and recorded:
        campaign_key = _campaign_public_key(record)
        if campaign_key is not None:
            key, origin = campaign_key, "the campaign's signing.public_key"
    fingerprint = public_key_fingerprint(key, key="--pubkey" if origin == "--pubkey" else "signing.public_key") \
        if key is not None else None
    if not sig.is_file():
        if key is not None:
            out.problems.append(f"{SIGNATURE}: missing (the run was not signed; {origin} expects a signed run)")
        elif recorded:
            out.problems.append(f"{SIGNATURE}: missing although run.json records a signature by key "
                                f"{recorded[:16]}…")
        elif _campaign_public_key(record) is not None:
            out.problems.append(f"{SIGNATURE}: missing although the campaign names signing.public_key (its runs "
                                "are signed)")
        return out
    if key is None:
        out.signature = ("present but NOT checked: no public key (give --pubkey PUB.pem, or name it in the "
                         "campaign as signing.public_key)")
        return out
    proc = _openssl("dgst", "-sha256", "-verify", str(key), "-signature", str(sig), str(manifest_path))
    out.signature_checked = True
    if proc.returncode != 0:
        out.problems.append(f"{SIGNATURE}: signature does not verify with {key} ({origin})")
        out.signature = "INVALID"
    elif recorded and recorded != fingerprint:
        out.problems.append(f"{SIGNATURE}: run.json records key {recorded[:16]}…, not {key} ({fingerprint[:16]}…)")
        out.signature = "INVALID"
    else:
        out.signature = f"valid ({origin}, key {fingerprint[:16]}…)"
    return out


def find_run(ref: str | Path, outputs: Path) -> Path:
    """A run given as a folder, or as ``<campaign>/<run-id>`` under the outputs folder."""
    for cand in (Path(ref), outputs / str(ref)):
        if (cand / RUN_RECORD).is_file() or (cand / MANIFEST).is_file():   # verify says run.json is missing
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
            except (OSError, UnicodeDecodeError, ValueError):
                continue
            if not isinstance(record, dict) or not isinstance(record.get("proofs", []), list):
                continue          # not a run record segur wrote: nothing to say about it
            for proof in record.get("proofs", []):
                if not (isinstance(proof, dict) and isinstance(proof.get("scenario"), str)
                        and isinstance(proof.get("verdict"), str)):
                    continue
                when = proof.get("finished") or record.get("started")
                when = when if isinstance(when, str) else None
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
