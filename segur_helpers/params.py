"""Campaign params: load, validate (before anything runs) and resolve secret references.

A campaign file (YAML) says which vendor, product and version, which target and driver, which
requirements are in scope and the data each scenario uses. Secrets are *references* (``env:NAME``),
resolved inside the kernel only: never a value in a params file, a notebook, a PDF or a log.

Every problem is a :class:`~segur_helpers.errors.UserError` naming the file, the key and what was
expected, so the CLI prints one line and exits with code 2.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from . import catalog
from .errors import UserError
from .ids import OLD_IDS, normalize_requirement_id, renamed_notice

SECRET_KEYS = re.compile(r"(password|secret|token|passphrase|api_key)$", re.I)
ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
CAMPAIGN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DRIVER_SPEC = re.compile(r"^([a-z][a-z0-9_]*|[A-Za-z_][\w.]*:[A-Za-z_]\w*|yaml:\S.*)$")

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

    def resolve_path(self, value: str) -> Path:
        """Relative paths in a params file are relative to that file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

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


def _req(node: dict, key: str, kind: type | tuple, path: Path, where: str, expected: str) -> Any:
    full = f"{where}.{key}" if where else key
    if key not in node:
        raise _fail(path, full, f"missing; expected {expected}")
    value = node[key]
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise _fail(path, full, f"expected {expected}, got {_typename(value)}")
    return value


def _check_no_literal_secrets(node: Any, path: Path, where: str = "") -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{where}.{k}" if where else str(k)
            if SECRET_KEYS.search(str(k)) and not (isinstance(v, str) and ENV_REF.match(v)):
                raise _fail(path, key, "expected a secret reference such as env:DPI_ADMIN_PASSWORD, "
                                       "not a value (secrets never go in params files)")
            _check_no_literal_secrets(v, path, key)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _check_no_literal_secrets(v, path, f"{where}[{i}]")


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


JUSTIFICATION_KEYS = ("explanation", "reason", "attachments", "signatory", "date", "expires")
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
                           today: dt.date | None = None) -> list[UserError]:
    """Every problem of one requirement's condition/justification, each a one-line :class:`UserError`.

    A requirement whose condition is declared unmet (``condition_met: false``) must be conditional and
    carry a complete, unexpired justification whose attachments exist (paths relative to the params file).
    """
    today = today or today_paris()
    key = f"requirements.{rid_raw}"
    met = entry.get("condition_met", True)
    just = entry.get("justification")
    problems: list[UserError] = []

    def bad(where: str, msg: str) -> None:
        problems.append(_fail(path, f"{key}.{where}" if where else key, msg))

    if not isinstance(met, bool):
        bad("condition_met", f"expected true or false, got {met!r}")
        return problems
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
        bad("justification", f"expected {JUSTIFICATION_EXPECTED}, got {_typename(just)}")
        return problems
    for k in just:
        if k not in JUSTIFICATION_KEYS:
            bad(f"justification.{k}", f"unknown key; expected one of {', '.join(JUSTIFICATION_KEYS)}")
    for k, what in (("explanation", "how the product works, in French"),
                    ("reason", "why the situation the condition targets does not arise, in French")):
        v = just.get(k)
        if v is None or (isinstance(v, str) and not v.strip()):
            bad(f"justification.{k}", f"missing explanation; expected {what}")
        elif not isinstance(v, str):
            bad(f"justification.{k}", f"expected {what} as text, got {_typename(v)}")
    sig = just.get("signatory")
    if sig is None:
        bad("justification.signatory", "missing signatory; expected {name, role} of the person who signs")
    elif not isinstance(sig, dict):
        bad("justification.signatory", f"expected a mapping {{name, role}}, got {_typename(sig)}")
    else:
        for k, what in (("name", "the signatory's full name"), ("role", "the signatory's role (fonction)")):
            v = sig.get(k)
            if not isinstance(v, str) or not v.strip():
                bad(f"justification.signatory.{k}", f"missing signatory {k}; expected {what}")
    signed = expires = None
    for k in ("date", "expires"):
        v = just.get(k)
        d = _as_date(v)
        if v is None:
            bad(f"justification.{k}", "missing; expected a date YYYY-MM-DD"
                + (" (when the justification was signed)" if k == "date" else " (until when it is valid)"))
        elif d is None:
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
    if atts is not None:
        if not isinstance(atts, list):
            bad("justification.attachments", f"expected a list of files (path, caption), got {_typename(atts)}")
        else:
            for i, item in enumerate(atts):
                where = f"justification.attachments[{i}]"
                if isinstance(item, dict):
                    rel = item.get("path")
                    if not isinstance(rel, str) or not rel.strip():
                        bad(f"{where}.path", "missing; expected a file path relative to the params file")
                        continue
                elif isinstance(item, str) and item.strip():
                    rel = item
                else:
                    bad(where, f"expected a file path or a mapping {{path, caption}}, got {_typename(item)}")
                    continue
                p = Path(rel).expanduser()
                p = p if p.is_absolute() else base_dir / p
                if not p.is_file():
                    bad(where, f"attachment file not found: {p}; expected an existing file "
                               "(paths are relative to the params file)")
    return problems


def load_campaign(path: str | Path, *, problems: list[UserError] | None = None,
                  require_rem: bool = True) -> Campaign:
    """Read and validate a campaign file. Raises :class:`UserError` (one line) on any problem.

    With ``problems`` (a list), the problems of the conditions and justifications are appended to it
    rather than raised, so ``segur justify --check`` reports them all. ``require_rem=False`` accepts a
    ``rem:`` key naming a catalogue that does not exist yet (``segur catalog import`` writes it).
    """
    path = Path(path)
    shown = path
    if not path.is_file():
        raise UserError("no such file; expected a campaign params file (YAML)", file=str(shown))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot be read as UTF-8 text ({exc.__class__.__name__})", file=str(shown)) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or "syntax error"
        raise UserError(f"malformed YAML at {where}: {problem}; expected a YAML mapping", file=str(shown)) from None
    if not isinstance(raw, dict):
        raise UserError(f"expected a YAML mapping at the top level, got {_typename(raw)}", file=str(shown))
    path = path.resolve()

    name = _req(raw, "campaign", str, shown, "", "a campaign name (letters, digits, - _ .)")
    if not CAMPAIGN_NAME.match(name):
        raise _fail(shown, "campaign", f"{name!r} is not a usable folder name; expected letters, digits, - _ .")
    vendor = _req(raw, "vendor", str, shown, "", "the vendor's name")
    product = _req(raw, "product", dict, shown, "", "a mapping with name and version")
    pname = _req(product, "name", str, shown, "product", "the product's name")
    pversion = _req(product, "version", (str, int, float), shown, "product", "the product's version")
    operator = _req(raw, "operator", str, shown, "", "who runs the campaign (name or team)")

    target = _req(raw, "target", dict, shown, "", "a mapping with the target's url")
    url = _req(target, "url", str, shown, "target", "an http(s) URL")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise _fail(shown, "target.url", f"{url!r} is not an http(s) URL; expected e.g. https://dpi.example.test")

    driver = _req(raw, "driver", str, shown, "", "a driver name (demo), module:Class or yaml:MAP.yaml")
    if not DRIVER_SPEC.match(driver):
        raise _fail(shown, "driver", f"{driver!r}; expected a built-in driver name such as demo, "
                                     "vendor_pkg.module:Driver or yaml:path/to/map.yaml")

    mailbox = raw.get("mailbox")
    if mailbox is not None:
        if not isinstance(mailbox, dict):
            raise _fail(shown, "mailbox", f"expected a mapping, got {_typename(mailbox)}")
        kind = _req(mailbox, "kind", str, shown, "mailbox", "maildir or imap")
        if kind == "maildir":
            _req(mailbox, "path", str, shown, "mailbox", "the Maildir folder")
        elif kind == "imap":
            _req(mailbox, "host", str, shown, "mailbox", "the IMAP server's host name")
            _req(mailbox, "username", str, shown, "mailbox", "the IMAP user name")
            _req(mailbox, "password", str, shown, "mailbox", "a secret reference env:NAME")
            port = mailbox.get("port")
            if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536):
                raise _fail(shown, "mailbox.port", f"expected a TCP port number, got {port!r}")
            if not isinstance(mailbox.get("ssl", True), bool):
                raise _fail(shown, "mailbox.ssl", "expected true or false")
            ca_file = mailbox.get("ca_file")
            if ca_file is not None:
                ca = Path(ca_file) if Path(ca_file).is_absolute() else path.resolve().parent / ca_file
                if not ca.is_file():
                    raise _fail(shown, "mailbox.ca_file", f"{ca} not found; expected a PEM CA certificate file")
        else:
            raise _fail(shown, "mailbox.kind", f"{kind!r}; expected maildir or imap")

    sms = raw.get("sms")
    if sms is not None:
        if not isinstance(sms, dict):
            raise _fail(shown, "sms", f"expected a mapping (kind: folder, path), got {_typename(sms)}")
        if _req(sms, "kind", str, shown, "sms", "folder") != "folder":
            raise _fail(shown, "sms.kind", f"{sms['kind']!r}; expected folder")
        _req(sms, "path", str, shown, "sms", "the folder where the SMS gateway keeps each message")
    cda_section = raw.get("cda")
    if cda_section is not None:
        if not isinstance(cda_section, dict):
            raise _fail(shown, "cda", f"expected a mapping (testcontenucda: PATH), got {_typename(cda_section)}")
        if "testcontenucda" in cda_section:
            checkout = _req(cda_section, "testcontenucda", str, shown, "cda", "a checkout of ANS's TestContenuCDA")
            from .cda_ans import check_checkout
            check_checkout(path.parent / Path(checkout).expanduser(), source=str(shown))

    timeouts = dict(DEFAULT_TIMEOUTS)
    for k, v in (raw.get("timeouts") or {}).items():
        if k not in DEFAULT_TIMEOUTS:
            raise _fail(shown, f"timeouts.{k}", f"unknown timeout; expected one of {', '.join(DEFAULT_TIMEOUTS)}")
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v <= 0:
            raise _fail(shown, f"timeouts.{k}", f"expected a positive number of seconds, got {v!r}")
        timeouts[k] = float(v)

    reqs_raw = _req(raw, "requirements", dict, shown, "", "a mapping of requirement ids (e.g. SSI/IE.31)")
    if not reqs_raw:
        raise _fail(shown, "requirements", "empty; expected at least one requirement id")
    rem_path = None
    rem_catalogue = None
    if "rem" in raw:
        rem = _req(raw, "rem", str, shown, "", "the imported REM catalogue (JSON written by segur catalog import)")
        rem_path = (path.parent / Path(rem).expanduser()).resolve()
        if require_rem and not rem_path.is_file():
            raise _fail(shown, "rem", f"file not found: {rem_path}; expected the REM catalogue written "
                                      "by segur catalog import FILE.xlsx --campaign PARAMS")
        if rem_path.is_file():
            rem_catalogue = load_rem_catalogue(rem_path)  # a bad catalogue is bad input, before anything runs
    profile = None
    if "profile" in raw:
        profile = _req(raw, "profile", str, shown, "", "the product's family as the REM names them (DPI, PFI, "
                                                       "DUI, LGC, RIS, SGL…)").strip()
    known = catalog.catalog()
    requirements: dict[str, dict[str, Any]] = {}
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
        entry = {} if entry is None else entry
        if not isinstance(entry, dict):
            raise _fail(shown, key, f"expected a mapping (condition_met, data), got {_typename(entry)}")
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
                                  target_url=url, rem_entry=rem_entry, key=f"{key}.guided")
        elif rid not in known and entry.get("condition_met", True) is not False:
            raise _fail(shown, key, "no scenario of the toolkit proves this requirement of the REM; expected "
                                    "guided: (a guided proof, see README « Le dossier complet ») or "
                                    "condition_met: false with a justification")
        found = justification_problems(shown, path.parent, str(rid_raw), entry, conditional)
        if found and problems is None:
            raise found[0]
        if problems is not None:
            problems.extend(found)
        met = entry.get("condition_met", True) is not False
        data = entry.get("data", {})
        if not isinstance(data, dict):
            raise _fail(shown, f"{key}.data", f"expected a mapping, got {_typename(data)}")
        for dotted, expected in (known[rid].data_required if met and rid in known else ()):
            node: Any = data
            for part in dotted.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is None or node == "":
                raise _fail(shown, f"{key}.data.{dotted}", f"missing; expected {expected}")
        if rid not in known and entry.get("manual") is not None:
            raise _fail(shown, f"{key}.manual", "manual steps belong to an automated scenario; expected the "
                                                "guided proof's elements instead (file: or attestation:)")
        manual = _manual_steps(entry.get("manual"), known[rid], shown, f"{key}.manual") if rid in known else {}
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

    rem_project = None
    if "rem_project" in raw:
        rem_project = _req(raw, "rem_project", str, shown, "", "the REM project to import from a Squash workbook, "
                                                                "e.g. HOP-DPI (segur catalog import --rem-project)").strip()

    _check_no_literal_secrets(raw, shown)
    from .testpatients import allowed_non_test
    allowed_non_test(raw, str(shown))
    return Campaign(path=path, name=name, vendor=vendor, product=pname, version=str(pversion),
                    operator=operator, target_url=url, driver=driver, requirements=requirements,
                    raw=raw, timeouts=timeouts, rem_path=rem_path, rem_project=rem_project, notices=notices,
                    profile=profile)


ATTESTATION_KEYS = {"by": "who did it (name, role)", "at": "when (e.g. \"2026-11-25T14:05\")",
                    "action": "what was done, in the operator's words"}


def _manual_steps(node: Any, requirement: "catalog.Requirement", path: Path, where: str) -> dict[int, dict]:
    """``manual: {STEP: {evidence: FILE | [FILES], attestation: {by, at, action}}}``: steps the driver
    cannot perform, whose evidence the operator supplies (paths relative to the params file)."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        raise _fail(path, where, f"expected a mapping of step numbers (e.g. 2: {{evidence: …}}), got {_typename(node)}")
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
        if not isinstance(v, dict):
            raise _fail(path, key, f"expected a mapping with evidence and attestation, got {_typename(v)}")
        for extra in set(v) - {"evidence", "attestation"}:
            raise _fail(path, f"{key}.{extra}", "unknown key; expected evidence or attestation")
        evidence = v.get("evidence")
        files = [evidence] if isinstance(evidence, str) else evidence
        if not files or not isinstance(files, list) or not all(isinstance(f, str) and f.strip() for f in files):
            raise _fail(path, f"{key}.evidence", "expected the file (or list of files) the operator supplies, "
                                                 "relative to the params file")
        att = v.get("attestation") or {}
        if not isinstance(att, dict):
            raise _fail(path, f"{key}.attestation", f"expected a mapping with by, at, action, got {_typename(att)}")
        for extra in set(att) - set(ATTESTATION_KEYS):
            raise _fail(path, f"{key}.attestation.{extra}", f"unknown key; expected {', '.join(ATTESTATION_KEYS)}")
        for k2, value in att.items():
            if not isinstance(value, (str, int, float)) and not hasattr(value, "isoformat"):
                raise _fail(path, f"{key}.attestation.{k2}", f"expected {ATTESTATION_KEYS[k2]}")
        out[number] = {"evidence": files, "title": steps[number],
                       "attestation": {k2: (value.isoformat() if hasattr(value, "isoformat") else str(value))
                                       for k2, value in att.items()}}
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
        for v in sorted(self._values, key=len, reverse=True):
            text = text.replace(v, self.MASK)
        return text

    def redact_bytes(self, data: bytes) -> bytes:
        for v in sorted(self._values, key=len, reverse=True):
            data = data.replace(v.encode("utf-8"), self.MASK.encode("utf-8"))
        return data

    @classmethod
    def for_campaign(cls, campaign: Campaign) -> "Secrets":
        """All of a campaign's referenced secrets (for scrubbing artefacts outside the kernel)."""
        s = cls()
        for where, var in campaign.secret_refs():
            if os.environ.get(var):
                s.resolve(f"env:{var}", where)
        return s
