"""Campaign params: load, validate (before anything runs) and resolve secret references.

A campaign file (YAML) says which vendor, product and version, which target and driver, which
requirements are in scope and the data each scenario uses. Secrets are *references* (``env:NAME``),
resolved inside the kernel only: never a value in a params file, a notebook, a PDF or a log.

Every problem is a :class:`~segur_helpers.errors.UserError` naming the file, the key and what was
expected, so the CLI prints one line and exits with code 2.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from . import catalog
from .errors import UserError
from .ids import OLD_IDS, normalize_requirement_id, renamed_notice
from .paramschema import Problem
from .paths import confined_path

# key names that hold a secret: their value must be a reference env:NAME
SECRET_KEYS = re.compile(r"(password|passwd|passphrase|passwort|secret|token|api_?key|apikey|private_?key|"
                         r"credential|(?:^|[_.-])(?:pass|pwd|mdp)|mot_?de_?passe)s?$", re.I)
ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
CAMPAIGN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# Secrets are scrubbed from every artefact by replacing their value: a value this short would also match
# ordinary text (JSON, base64 images) and corrupt the artefacts, so the campaign refuses it up front.
MIN_SECRET_LENGTH = 8

DEFAULT_TIMEOUTS = {"step_s": 90.0, "mail_s": 30.0, "proof_s": 600.0}


@dataclass
class Campaign:
    """A validated campaign. ``raw`` keeps the YAML as written (secrets still as references)."""

    path: Path
    name: str
    vendor: str
    product: str
    version: str
    operator: str
    target_url: str
    driver: str
    requirements: dict[str, dict[str, Any]]
    raw: dict[str, Any] = field(repr=False)
    timeouts: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    rem_path: Path | None = None  # the imported REM catalogue (JSON written by ``segur catalog import``)
    allowed_dirs: tuple[Path, ...] = ()   # folders besides the params file's from which files may be named
    public_key: Path | None = None        # signing.public_key: the key runs of this campaign are signed for
    rem_project: str | None = None  # the REM project ``segur catalog import`` takes from a Squash workbook
    # one line each, printed by the CLI: e.g. a requirement key read under its new id (ids.OLD_IDS)
    notices: list[str] = field(default_factory=list)
    profile: str | None = None  # the product's family in the REM's terms (DPI…): out-of-profile requirements

    def rem(self):
        """The imported REM (:class:`~segur_helpers.catalog.rem.RemCatalog`), or None when none is."""
        if self.rem_path is None or not self.rem_path.is_file():
            return None
        return load_rem_catalogue(self.rem_path)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve_path(self, value: str, key: str = "") -> Path:
        """A file the campaign names: relative to the params file's folder, symbolic links resolved, and
        inside that folder or one of ``allowed_dirs`` (:class:`UserError` otherwise)."""
        return confined_path(value, base_dir=self.base_dir, allowed=self.allowed_dirs, file=str(self.path),
                             key=key)

    def section(self, name: str) -> dict[str, Any]:
        return self.raw.get(name) or {}

    def secret_refs(self) -> list[tuple[str, str]]:
        """Every ``(key path, variable name)`` of an ``env:NAME`` reference in the file."""
        found: list[tuple[str, str]] = []

        def walk(node: Any, where: str) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(v, f"{where}.{k}" if where else str(k))
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{where}[{i}]")
            elif isinstance(node, str) and (m := ENV_REF.match(node)):
                found.append((where, m.group(1)))

        walk(self.raw, "")
        return found

    def check_secrets_available(self) -> None:
        """Fail (one line) when a referenced variable is unset or too short; never writes the value anywhere."""
        for where, var in self.secret_refs():
            value = os.environ.get(var)
            if not value:
                raise UserError(f"environment variable {var} is unset or empty; expected the secret "
                                f"referenced as env:{var}", file=str(self.path), key=where)
            if len(value) < MIN_SECRET_LENGTH:
                raise UserError(f"the secret in {var} has {len(value)} characters; expected at least "
                                f"{MIN_SECRET_LENGTH} (a shorter one cannot be told apart from ordinary text "
                                "when it is scrubbed from the artefacts)", file=str(self.path), key=where)


def _fail(path: Path, key: str, msg: str) -> UserError:
    return UserError(msg, file=str(path), key=key)


def _typename(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number",
            bool: "a boolean", type(None): "nothing"}.get(type(v), type(v).__name__)


# credential shapes: a value looking like one of these is a secret whatever its key's name
_CREDENTIAL_SHAPES = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a PEM private key"),
    (re.compile(r"^eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*$"), "a JSON Web Token"),
    (re.compile(r"^(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|glpat-[\w-]{20,}|xox[abprs]-[\w-]{10,}|"
                r"sk-[A-Za-z0-9_-]{20,}|(?:sk|rk)_live_[A-Za-z0-9]{16,}|AKIA[0-9A-Z]{16}|AIza[\w-]{35})$"),
     "an API token"),
    (re.compile(r"^(?:Basic|Bearer|Token|Digest)\s+\S{8,}$", re.I), "an HTTP Authorization value"),
    (re.compile(r"[?&#](?:access_token|id_token|refresh_token|token|password|passwd|pwd|secret|client_secret|"
                r"api_?key|apikey)=[^&#\s]{6,}", re.I), "a URL carrying a credential in its query"),
]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PATHLIKE = re.compile(r"[/\\].*\.[A-Za-z0-9]{1,5}$")
_WORDLIKE = re.compile(r"[a-z0-9]+|[A-Z0-9]+|[a-z]*[0-9]*(?:[A-Z](?:[a-z]+[0-9]*|[0-9]+))+")
_PATH_START = re.compile(r"^(?:/|\./|\.\./|~|[A-Za-z]:[\\/])")


def _shannon(text: str) -> float:
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def credential_shape(value: str) -> str | None:
    """What ``value`` looks like when it looks like a credential (a PEM key, a token, a URL with a password,
    a long random string…), else None. Not a reference ``env:NAME``, not an e-mail address, not a path."""
    v = value.strip()
    if not v or ENV_REF.match(v) or "{uniq}" in v:
        return None
    for pattern, what in _CREDENTIAL_SHAPES:
        if pattern.search(v):
            return what
    if re.match(r"^[a-z][a-z0-9+.-]*://", v, re.I):
        from urllib.parse import urlsplit
        try:
            if urlsplit(v).password:
                return "a URL with a password in it"
        except ValueError:
            pass
        return None
    if any(ch.isspace() for ch in v) or _EMAIL.match(v) or _PATHLIKE.search(v) or _PATH_START.match(v):
        return None
    lower, upper, digit = (any(c.islower() for c in v), any(c.isupper() for c in v), any(c.isdigit() for c in v))
    if len(v) < 12 or not (lower and upper and (digit or len(v) >= 16)):
        return None
    # identifiers (vendor_pkg.module:Driver, Release2024Q3, drv_3f9a1b:Driver) are words, numbers and
    # CamelCase between separators; random strings are not
    if all(_WORDLIKE.fullmatch(seg) for seg in re.split(r"[._:/@+-]+", v) if seg):
        return None
    # random strings keep switching between lower case, upper case, digits and symbols; words, names,
    # identifiers and paths come in runs of one kind
    kinds = ["l" if c.islower() else "u" if c.isupper() else "d" if c.isdigit() else "s" for c in v]
    switches = sum(a != b for a, b in zip(kinds, kinds[1:])) / (len(v) - 1)
    if switches >= 0.35 and _shannon(v) >= 3.3:
        return "a random-looking string (a password, key or token)"
    return None


def _check_no_literal_secrets(raw: dict, path: Path, exempt: set[str]) -> None:
    """No secret as a value: a key named like one (password, secret, token, passwd, api_key…) must hold a
    reference ``env:NAME``, and so must any value shaped like a credential, whatever its key; the
    campaign's ``not_secrets:`` list names keys whose values only look like credentials.

    The walk is iterative: the loader has already bounded the file's size once aliases are expanded."""
    stack: list[tuple[Any, str, bool]] = [(raw, "", False)]
    while stack:
        node, where, named = stack.pop()
        if where in exempt:
            continue
        if isinstance(node, dict):
            for k, v in reversed(list(node.items())):
                key = f"{where}.{k}" if where else str(k)
                stack.append((v, key, bool(SECRET_KEYS.search(str(k)))))
        elif isinstance(node, list):
            for i, v in reversed(list(enumerate(node))):
                stack.append((v, f"{where}[{i}]", named))
        elif named and not (isinstance(node, str) and ENV_REF.match(node)):
            raise _fail(path, where, "expected a secret reference such as env:DPI_ADMIN_PASSWORD, "
                                     "not a value (secrets never go in params files)")
        elif isinstance(node, str) and (shape := credential_shape(node)):
            raise _fail(path, where, f"the value looks like {shape}; expected a secret reference such as "
                                     "env:DPI_ADMIN_PASSWORD (secrets never go in params files), or this key "
                                     "listed under not_secrets: if the value is not a secret")


_REM_CACHE: dict[tuple[str, int, int], Any] = {}


def load_rem_catalogue(path: Path):
    """Read an imported REM catalogue once per file version (it is quoted by every proof's cover)."""
    from .catalog.rem import RemCatalog

    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _REM_CACHE:
        _REM_CACHE.clear()
        _REM_CACHE[key] = RemCatalog.load(path)
    return _REM_CACHE[key]


JUSTIFICATION_EXPECTED = ("a mapping with explanation (how the product works), reason (why the condition "
                          "does not arise), signatory {name, role}, date, expires and optional attachments")


def today_paris() -> dt.date:
    from zoneinfo import ZoneInfo
    return dt.datetime.now(ZoneInfo("Europe/Paris")).date()


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def attachment_entries(justification: dict) -> list[dict[str, str]]:
    """The attachments of a (validated) justification as ``{path, caption}`` mappings."""
    out = []
    for item in justification.get("attachments") or []:
        if isinstance(item, str):
            out.append({"path": item, "caption": ""})
        else:
            out.append({"path": str(item["path"]), "caption": str(item.get("caption") or "")})
    return out


def justification_problems(path: Path, base_dir: Path, rid_raw: str, entry: dict, conditional: bool,
                           today: dt.date | None = None, *, allowed: tuple[Path, ...] = ()) -> list[UserError]:
    """Every problem of one requirement's condition/justification, each a one-line :class:`UserError`.

    A requirement whose condition is declared unmet (``condition_met: false``) must be conditional and
    carry a complete, unexpired justification whose attachments exist inside the campaign's folder (or
    ``allowed`` folders). Keys and types are the schema's (``params.schema.json``); this says what a
    schema cannot: what is required when, dates and their order, expiry, the files.
    """
    today = today or today_paris()
    key = f"requirements.{rid_raw}"
    met = entry.get("condition_met", True)
    just = entry.get("justification")
    problems: list[UserError] = []

    def bad(where: str, msg: str) -> None:
        problems.append(_fail(path, f"{key}.{where}" if where else key, msg))

    if not isinstance(met, bool):
        return problems               # the schema said so
    if not conditional:
        if not met:
            bad("condition_met", "this requirement is not conditional (no LORSQUE clause); expected true, "
                                 "and a proof instead of a justification")
        elif just is not None:
            bad("justification", "this requirement is not conditional (no LORSQUE clause); expected no "
                                 "justification, a proof is filed")
        return problems
    if met:
        if just is not None:
            bad("justification", "given while condition_met is true; expected condition_met: false "
                                 "(or remove the justification)")
        return problems
    if just is None:
        bad("justification", f"missing while condition_met is false; expected {JUSTIFICATION_EXPECTED}")
        return problems
    if not isinstance(just, dict):
        return problems               # the schema said so
    for k, what in (("explanation", "how the product works, in French"),
                    ("reason", "why the situation the condition targets does not arise, in French")):
        v = just.get(k)
        if v is None or (isinstance(v, str) and not v.strip()):
            bad(f"justification.{k}", f"missing explanation; expected {what}")
    if just.get("signatory") is None:
        bad("justification.signatory", "missing signatory; expected {name, role} of the person who signs")
    signed = expires = None
    for k in ("date", "expires"):
        v = just.get(k)
        d = _as_date(v)
        if v is None:
            bad(f"justification.{k}", "missing; expected a date YYYY-MM-DD"
                + (" (when the justification was signed)" if k == "date" else " (until when it is valid)"))
        elif d is None:
            if isinstance(v, str):
                bad(f"justification.{k}", f"{v!r} is not a date; expected YYYY-MM-DD")
        elif k == "date":
            signed = d
        else:
            expires = d
    if signed and signed > today:
        bad("justification.date", f"{signed.isoformat()} is in the future; expected the signature date")
    if signed and expires and expires <= signed:
        bad("justification.expires", f"{expires.isoformat()} is not after the date {signed.isoformat()}; "
                                     "expected a later expiry date")
    elif expires and expires < today:
        bad("justification.expires", f"justification expired on {expires.isoformat()}; expected a "
                                     "justification still valid today (renew it: new date and expires)")
    atts = just.get("attachments")
    if isinstance(atts, list):
        for i, item in enumerate(atts):
            where = f"justification.attachments[{i}]"
            rel = item.get("path") if isinstance(item, dict) else item
            if not isinstance(rel, str) or not rel.strip():
                continue              # the schema said so
            try:
                p = confined_path(rel, base_dir=base_dir, allowed=allowed, file=str(path), key=f"{key}.{where}")
            except UserError as exc:
                problems.append(exc)
                continue
            if not p.is_file():
                bad(where, f"attachment file not found: {p}; expected an existing file "
                           "(paths are relative to the params file)")
    return problems


def load_campaign(path: str | Path, *, problems: list[UserError] | None = None,
                  require_rem: bool = True) -> Campaign:
    """Read and validate a campaign file. Raises :class:`UserError` (one line) on any problem.

    Validation is exhaustive and comes before anything runs: the YAML itself (size, depth, aliases,
    duplicate keys: :mod:`.yamlsafe`), every key, type and range against ``params.schema.json``
    (:mod:`.paramschema`), then what a schema cannot say: requirement ids known to the catalogue, the
    data each scenario needs (types included), conditions and justifications, manual steps, every file
    the campaign names confined to its folder (or ``allowed_dirs``), and no secret as a value.

    With ``problems`` (a list), the problems of the conditions and justifications are appended to it
    rather than raised, so ``segur justify --check`` reports them all. ``require_rem=False`` accepts a
    ``rem:`` key naming a catalogue that does not exist yet (``segur catalog import`` writes it).
    """
    from . import paramschema
    from .yamlsafe import load_yaml

    path = Path(path)
    shown = path
    if path.is_dir():
        raise UserError("is a folder; expected a campaign params file (YAML)", file=str(shown))
    if not path.is_file():
        raise UserError("no such file; expected a campaign params file (YAML)", file=str(shown))
    raw = load_yaml(path, shown=str(shown), what="a YAML mapping of campaign params")
    if not isinstance(raw, dict):
        raise UserError(f"expected a YAML mapping at the top level, got {_typename(raw)}", file=str(shown))
    path = path.resolve()

    for p in paramschema.problems(raw):
        err = _fail(shown, p.key, p.message)
        if problems is not None and _JUSTIFICATION_KEY.match(p.key):
            problems.append(err)
        else:
            raise err
    allowed = _allowed_dirs(raw, path, shown)
    confine = functools.partial(confined_path, base_dir=path.parent, allowed=allowed, file=str(shown))

    name, vendor, operator = raw["campaign"], raw["vendor"], raw["operator"]
    pname, pversion = raw["product"]["name"], raw["product"]["version"]
    url, driver = raw["target"]["url"], raw["driver"]

    mailbox = raw.get("mailbox")
    if mailbox is not None:
        if mailbox["kind"] == "maildir":
            confine(mailbox["path"], key="mailbox.path")
        if mailbox.get("ca_file") is not None:
            confine(mailbox["ca_file"], key="mailbox.ca_file", must_exist="a PEM CA certificate file")

    if raw.get("sms") is not None:       # the SMS gateway's folder (kind: folder): read, never copied
        confine(raw["sms"]["path"], key="sms.path")
    if (raw.get("cda") or {}).get("testcontenucda") is not None:
        checkout = confine(raw["cda"]["testcontenucda"], key="cda.testcontenucda")
        from .cda_ans import check_checkout
        check_checkout(checkout, source=str(shown))

    timeouts = dict(DEFAULT_TIMEOUTS)
    timeouts.update({k: float(v) for k, v in (raw.get("timeouts") or {}).items()})

    reqs_raw = raw["requirements"]
    rem_path = None
    rem_catalogue = None
    if "rem" in raw:
        rem_path = confine(raw["rem"], key="rem")
        if require_rem and not rem_path.is_file():
            raise _fail(shown, "rem", f"file not found: {rem_path}; expected the REM catalogue written "
                                      "by segur catalog import FILE.xlsx --campaign PARAMS")
        if rem_path.is_file():
            rem_catalogue = load_rem_catalogue(rem_path)  # a bad catalogue is bad input, before anything runs
    profile = raw["profile"].strip() if "profile" in raw else None
    known = catalog.catalog()
    requirements: dict[str, dict[str, Any]] = {}
    seen: dict[str, str] = {}
    notices: list[str] = []
    renamed: dict[str, str] = {}  # params key as written -> id
    for rid_raw, entry in reqs_raw.items():
        rid = normalize_requirement_id(str(rid_raw))
        key = f"requirements.{rid_raw}"
        if rid in OLD_IDS:  # an id of an earlier version of the toolkit: read under the REM's id
            notices.append(renamed_notice(rid, f"{shown}: {key}"))
            rid = OLD_IDS[rid]
            if rid in requirements or any(normalize_requirement_id(str(k)) == rid for k in reqs_raw):
                raise _fail(shown, key, f"{rid_raw} is the former id of {rid}, which the file also names; "
                                        "expected it once")
        renamed[str(rid_raw)] = rid
        rem_entry = rem_catalogue.get(rid) if rem_catalogue is not None else None
        if rid not in known and rem_entry is None:
            if not require_rem and rem_catalogue is None and "rem" in raw:
                continue   # segur catalog import is writing the REM these ids come from
            where = (f" or of the imported REM ({rem_catalogue.source})" if rem_catalogue is not None else
                     " (or import the REM to name its requirements: segur catalog import FILE.xlsx --campaign PARAMS)")
            raise _fail(shown, key, f"unknown requirement id; expected one of {', '.join(sorted(known))}{where}")
        if rid in seen:
            raise _fail(shown, key, f"the same requirement as requirements.{seen[rid]}; expected each "
                                    "requirement once")
        seen[rid] = str(rid_raw)
        entry = {} if entry is None else entry
        if rid in known:
            conditional = known[rid].conditional
        else:
            from .dossier import rem_conditional
            conditional = rem_conditional(rem_catalogue, rem_entry)
        guided = None
        if entry.get("guided") is not None:
            if rid in known:
                raise _fail(shown, f"{key}.guided", "the toolkit automates this requirement (scenario notebook "
                            f"{', '.join(s.notebook for s in known[rid].scenarios)}); expected no guided proof")
            if entry.get("condition_met") is False:
                raise _fail(shown, f"{key}.guided", "given while condition_met is false; expected either a guided "
                                                    "proof or a justification")
            from .guided_spec import parse_guided
            guided = parse_guided(entry["guided"], rid=rid, params_path=shown, base_dir=path.parent,
                                  target_url=url, rem_entry=rem_entry, key=f"{key}.guided", allowed=allowed)
        elif rid not in known and entry.get("condition_met", True) is not False:
            raise _fail(shown, key, "no scenario of the toolkit proves this requirement of the REM; expected "
                                    "guided: (a guided proof, see README « Le dossier complet ») or "
                                    "condition_met: false with a justification")
        found = justification_problems(shown, path.parent, str(rid_raw), entry, conditional, allowed=allowed)
        if found and problems is None:
            raise found[0]
        if problems is not None:
            problems.extend(found)
        met = entry.get("condition_met", True) is not False
        data = entry.get("data") or {}
        if met and problems is None and rid in known:   # justify --check and catalog import: justifications only
            for p in data_problems(known[rid], data, f"{key}.data", confine):
                raise _fail(shown, p.key, p.message)
        if rid not in known and entry.get("manual") is not None:
            raise _fail(shown, f"{key}.manual", "manual steps belong to an automated scenario; expected the "
                                                "guided proof's elements instead (file: or attestation:)")
        manual = _manual_steps(entry.get("manual"), known[rid], shown, f"{key}.manual", confine) if rid in known else {}
        requirements[rid] = {"condition_met": met, "data": data,
                             "justification": entry.get("justification"), "manual": manual, "guided": guided}

    if rem_path is not None and require_rem:
        if rem_catalogue is not None:
            for rid_raw in reqs_raw:
                official = rem_catalogue.get(renamed[str(rid_raw)])
                if official is not None and official.conditional is False and \
                        not requirements[renamed[str(rid_raw)]]["condition_met"]:
                    found = _fail(shown, f"requirements.{rid_raw}.condition_met", f"the imported REM "
                                  f"({rem_catalogue.source}) says this requirement is not conditional; expected true")
                    if problems is None:
                        raise found
                    problems.append(found)
    public_key = None
    if (raw.get("signing") or {}).get("public_key") is not None:
        public_key = confine(raw["signing"]["public_key"], key="signing.public_key", must_exist="a PEM public key")

    rem_project = raw["rem_project"].strip() if "rem_project" in raw else None

    _check_no_literal_secrets(raw, shown, {"not_secrets", *(raw.get("not_secrets") or ())})
    return Campaign(path=path, name=name, vendor=vendor, product=pname, version=str(pversion),
                    operator=operator, target_url=url, driver=driver, requirements=requirements,
                    raw=raw, timeouts=timeouts, rem_path=rem_path, allowed_dirs=allowed, public_key=public_key,
                    rem_project=rem_project, notices=notices, profile=profile)


_JUSTIFICATION_KEY = re.compile(r"^requirements\.[^.]+(?:\.[^.]+)*?\.(?:justification|condition_met)(?:[.\[]|$)")


def _allowed_dirs(raw: dict, params: Path, shown: Path) -> tuple[Path, ...]:
    """The campaign's ``allowed_dirs`` (relative to the params file, symbolic links resolved; a folder that
    does not exist yet, such as the demo target's, is allowed: nothing inside it can be named until it does)."""
    out = []
    for i, value in enumerate(raw.get("allowed_dirs") or []):
        folder = Path(value).expanduser()
        folder = (folder if folder.is_absolute() else params.parent / folder).resolve()
        if folder.exists() and not folder.is_dir():
            raise _fail(shown, f"allowed_dirs[{i}]", f"{folder} is a file; expected a folder (relative to the "
                                                     "params file)")
        if folder == Path(folder.anchor):
            raise _fail(shown, f"allowed_dirs[{i}]", f"{folder} is the root of the file system; expected a "
                                                     "folder of the campaign's own files")
        out.append(folder)
    return tuple(out)


def data_problems(requirement: "catalog.Requirement", data: dict, where: str, confine=None) -> list[Problem]:
    """What the scenario's data lacks or has of the wrong type (the catalogue's ``data_required``), the
    first problem found; a ``file`` entry must also lie inside the campaign's folder (or ``allowed_dirs``)."""
    for spec in requirement.data_required:
        node: Any = data
        walked = where
        parts = spec.path.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, dict):
                prefix = ".".join(parts[:i]) + "."
                under = sorted({s.path[len(prefix):].split(".")[0] for s in requirement.data_required
                                if s.path.startswith(prefix)})
                if node is None:
                    return [Problem(walked, f"missing; expected a mapping with {', '.join(under)}")]
                return [Problem(walked, f"expected a mapping with {', '.join(under)}, got {_typename(node)}")]
            walked = f"{walked}.{part}"
            node = node.get(part)
        if node is None or node == "":
            if spec.optional:
                continue
            return [Problem(walked, f"missing; expected {spec.expected}")]
        why = spec.type_problem(node)
        if why and why.startswith(("a ", "an ")):
            return [Problem(walked, f"expected {spec.expected} ({why}), got {_typename(node)}")]
        if why:
            return [Problem(walked, f"{_shown(node)} {why}; expected {spec.expected}")]
        if spec.type == "file" and confine is not None:
            try:
                confine(str(node), key=walked)   # may be made when the target starts: read when used
            except UserError as exc:
                return [Problem(walked, str(exc).split(f"{walked}: ", 1)[-1])]
    return []


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "…"




def _manual_steps(node: Any, requirement: "catalog.Requirement", path: Path, where: str, confine) -> dict[int, dict]:
    """``manual: {STEP: {evidence: FILE | [FILES], attestation: {by, at, action}}}``: steps the driver
    cannot perform, whose evidence the operator supplies (paths relative to the params file, inside the
    campaign's folder or ``allowed_dirs``; the files themselves may arrive later: a batch says ERREUR
    when one is missing). Keys and types are the schema's; this checks the step numbers and the paths."""
    if not node:
        return {}
    from .catalog.needs import analyse_module, scenario_modules

    steps: dict[int, str] = {}
    aware: set[int] = set()
    for scen in requirement.scenarios:
        for module in scenario_modules(scen):
            needs = analyse_module(module)
            steps.update(needs.step_titles)
            aware |= needs.manual_aware
    out: dict[int, dict] = {}
    for k, v in node.items():
        key = f"{where}.{k}"
        try:
            number = int(str(k))
        except ValueError:
            number = -1
        if number not in steps:
            raise _fail(path, key, f"no such step; expected a step number of the scenario "
                                   f"({', '.join(map(str, sorted(steps)))})")
        if number not in aware:
            raise _fail(path, key, "this step has no manual mode; expected one of "
                                   f"{', '.join(map(str, sorted(aware))) or '(none)'}")
        evidence = v["evidence"]
        files = [evidence] if isinstance(evidence, str) else list(evidence)
        for i, f in enumerate(files):
            confine(f, key=f"{key}.evidence" + (f"[{i}]" if isinstance(evidence, list) else ""))
        att = v.get("attestation") or {}
        out[number] = {"evidence": files, "title": steps[number],
                       "attestation": {k2: str(value) for k2, value in att.items()}}
    return out


class Secrets:
    """Secret values resolved inside the kernel, and the redaction of them from anything written."""

    MASK = "••••••"

    def __init__(self) -> None:
        self._values: set[str] = set()

    def resolve(self, value: Any, where: str = "") -> Any:
        if isinstance(value, str) and (m := ENV_REF.match(value)):
            secret = os.environ.get(m.group(1))
            if not secret:
                raise UserError(f"environment variable {m.group(1)} is unset or empty; expected the secret",
                                key=where or value)
            self._values.add(secret)
            return secret
        return value

    def redact(self, text: str) -> str:
        """``text`` without any secret value, and with every credential a URL carries (code, token, state…
        in a query or fragment: :mod:`segur_helpers.urlmask`) masked."""
        from .urlmask import mask_urls

        for v in sorted(self._values, key=len, reverse=True):
            text = text.replace(v, self.MASK)
        return mask_urls(text)

    def redact_bytes(self, data: bytes, *, urls: bool = True) -> bytes:
        """The same on bytes (text files); ``urls=False``: secret values only (to tell a binary file that
        holds a secret, which cannot be rewritten, from one that merely holds a URL parameter)."""
        from .urlmask import mask_urls_bytes

        for v in sorted(self._values, key=len, reverse=True):
            data = data.replace(v.encode("utf-8"), self.MASK.encode("utf-8"))
        return mask_urls_bytes(data) if urls else data

    @classmethod
    def for_campaign(cls, campaign: Campaign) -> "Secrets":
        """All of a campaign's referenced secrets (for scrubbing artefacts outside the kernel)."""
        s = cls()
        for where, var in campaign.secret_refs():
            if os.environ.get(var):
                s.resolve(f"env:{var}", where)
        return s
