"""Campaign params: load, validate (before anything runs) and resolve secret references.

A campaign file (YAML) says which vendor, product and version, which target and driver, which
requirements are in scope and the data each scenario uses. Secrets are *references* (``env:NAME``),
resolved inside the kernel only: never a value in a params file, a notebook, a PDF or a log.

Every problem is a :class:`~segur_helpers.errors.UserError` naming the file, the key and what was
expected, so the CLI prints one line and exits with code 2.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from . import catalog
from .errors import UserError
from .ids import normalize_requirement_id

SECRET_KEYS = re.compile(r"(password|secret|token|passphrase|api_key)$", re.I)
ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
CAMPAIGN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DRIVER_SPEC = re.compile(r"^([a-z][a-z0-9_]*|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$")

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
        """Fail (one line) when a referenced variable is unset; never reads the value into anything."""
        for where, var in self.secret_refs():
            if not os.environ.get(var):
                raise UserError(f"environment variable {var} is unset or empty; expected the secret "
                                f"referenced as env:{var}", file=str(self.path), key=where)


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


def load_campaign(path: str | Path) -> Campaign:
    """Read and validate a campaign file. Raises :class:`UserError` (one line) on any problem."""
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

    driver = _req(raw, "driver", str, shown, "", "a driver name (demo) or module:Class")
    if not DRIVER_SPEC.match(driver):
        raise _fail(shown, "driver", f"{driver!r}; expected a built-in driver name such as demo, "
                                     "or vendor_pkg.module:Driver")

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
        else:
            raise _fail(shown, "mailbox.kind", f"{kind!r}; expected maildir or imap")

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
    known = catalog.catalog()
    requirements: dict[str, dict[str, Any]] = {}
    for rid_raw, entry in reqs_raw.items():
        rid = normalize_requirement_id(str(rid_raw))
        key = f"requirements.{rid_raw}"
        if rid not in known:
            raise _fail(shown, key, f"unknown requirement id; expected one of {', '.join(sorted(known))}")
        entry = {} if entry is None else entry
        if not isinstance(entry, dict):
            raise _fail(shown, key, f"expected a mapping (condition_met, data), got {_typename(entry)}")
        met = entry.get("condition_met", True)
        if not isinstance(met, bool):
            raise _fail(shown, f"{key}.condition_met", f"expected true or false, got {met!r}")
        if not met and not known[rid].conditional:
            raise _fail(shown, f"{key}.condition_met", "this requirement is not conditional; expected true")
        data = entry.get("data", {})
        if not isinstance(data, dict):
            raise _fail(shown, f"{key}.data", f"expected a mapping, got {_typename(data)}")
        for dotted, expected in (known[rid].data_required if met else ()):
            node: Any = data
            for part in dotted.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is None or node == "":
                raise _fail(shown, f"{key}.data.{dotted}", f"missing; expected {expected}")
        requirements[rid] = {"condition_met": met, "data": data,
                             "justification": entry.get("justification")}

    _check_no_literal_secrets(raw, shown)
    from .testpatients import allowed_non_test
    allowed_non_test(raw, str(shown))
    return Campaign(path=path, name=name, vendor=vendor, product=pname, version=str(pversion),
                    operator=operator, target_url=url, driver=driver, requirements=requirements,
                    raw=raw, timeouts=timeouts)


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
