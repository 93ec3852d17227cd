"""What a campaign declares for a guided proof, read and checked before anything runs.

A requirement of the imported REM that no scenario of the toolkit automates may be proved by a *guided
proof* (:mod:`segur_helpers.guided`): the REM's own scenario and proof elements, each captured in one of
three ways and decided by the operator. The campaign says it per requirement, inline or in a file of
its own under the campaign's folder::

    requirements:
      SSI/IE.39:
        guided: guided/SSI_IE.39.yaml      # or the mapping itself

    # guided/SSI_IE.39.yaml
    scenario: Paramétrage de la déconnexion automatique   # title, when the REM carries no scenario
    elements:
      1:
        text: L'écran des paramètres de sécurité fixe la durée d'inactivité   # when the REM gives none
        live: {role: administrator, url: /admin/securite, outline: "#inactivity", click: [], expect: […]}
        decision: conforme
        comment: Paramètre modifiable par l'administrateur, appliqué à toutes les sessions.
      2:
        file: fichiers/extrait.log                 # a screenshot, PDF, .eml, log extract or document
        caption: Extrait du journal
        decision: conforme
      3:
        attestation: {text: …, signatory: {name: …, role: …}, date: 2026-11-20}
        decision: non conforme
        comment: …

An element with none of ``live``, ``file`` and ``attestation`` is *missing*: the proof runs and says so
(never CONFORME). Bad input — a missing file, a file outside the campaign's folder, a URL outside the
target, a decision other than conforme / non conforme, an unknown key — is one line naming the
requirement, the element and what was expected (exit 2, nothing runs). The role of a live capture is
checked against the driver's sessions by :func:`check_roles`, once the driver is known.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

from .errors import UserError
from .ids import proof_id, scenario_id

MODES = ("live", "file", "attestation")
MODE_FR = {"live": "capture en direct", "file": "fichier fourni", "attestation": "attestation", "": "manquant"}
DECISIONS = ("conforme", "non conforme")
ELEMENT_KEYS = ("text", *MODES, "caption", "pages", "decision", "comment")
LIVE_KEYS = ("role", "url", "outline", "click", "expect", "caption")
ATTESTATION_KEYS = ("text", "signatory", "date")
GUIDED_KEYS = ("scenario", "elements")
MAX_ELEMENTS = 10
ANONYMOUS = "anonymous"   # every driver offers it: a fresh browser context, nobody signed in


@dataclass
class ElementSpec:
    """One proof element of a guided proof: its id (``<req>.NN.NN``), number, what it must show, and how
    it is captured (``mode``: live, file, attestation, or "" when the campaign gives nothing)."""

    id: str
    number: int
    text: str
    text_source: str            # "rem" (the REM's wording) or "campaign"
    mode: str = ""
    live: dict[str, Any] | None = None
    file: Path | None = None
    file_label: str = ""        # the path as the campaign writes it
    caption: str = ""
    pages: int = 2              # a PDF's first pages shown
    attestation: dict[str, Any] | None = None
    decision: str | None = None
    comment: str = ""
    key: str = ""               # where it is declared (file: key) for messages


@dataclass
class GuidedSpec:
    requirement: str
    scenario: int
    scenario_id: str
    scenario_title: str         # the campaign's title ('' when the REM gives the scenario)
    elements: list[ElementSpec] = field(default_factory=list)
    rem_numbered: bool = False  # True: the elements are the REM's own <req>.NN.NN; else the campaign's
    declared_in: str = ""       # the file that declares it (the params file or guided/<ID>.yaml)


def _type(v: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", int: "an integer", float: "a number",
            bool: "a boolean", type(None): "nothing"}.get(type(v), type(v).__name__)


def normalise_decision(value: Any) -> str | None:
    """``conforme`` / ``non conforme`` (any case, ``non-conforme`` too) → the canonical word; None otherwise."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("-", " ").replace("_", " ").split()).casefold()
    return text if text in DECISIONS else None


def inside_target(url: str, target_url: str) -> str | None:
    """The absolute URL of ``url`` (``/admin/securite`` or a full URL) when it is on the target's origin
    (scheme, host, port), else None."""
    if not isinstance(url, str) or not url.strip():
        return None
    full = urljoin(target_url.rstrip("/") + "/", url.strip()) if url.strip().startswith("/") else url.strip()
    a, b = urlparse(full), urlparse(target_url)
    if a.scheme not in ("http", "https") or (a.scheme, a.netloc) != (b.scheme, b.netloc):
        return None
    return full


def confined(base_dir: Path, value: str, allowed: tuple[Path, ...] = ()) -> Path | None:
    """``value`` (relative to the campaign's folder) resolved, symbolic links first, when it stays inside
    that folder or one of the campaign's ``allowed_dirs`` (the rule of :func:`.paths.confined_path`)."""
    from .paths import confined_path

    try:
        return confined_path(value, base_dir=base_dir, allowed=allowed)
    except UserError:
        return None


def _date(value: Any) -> dt.date | None:
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


def load_guided_node(node: Any, *, params_path: Path, base_dir: Path, key: str,
                     allowed: tuple[Path, ...] = ()) -> tuple[dict, str]:
    """The guided mapping, read from the params or from the per-requirement file it names (with the
    campaign's YAML limits: :mod:`.yamlsafe`)."""
    if isinstance(node, str):
        path = confined(base_dir, node, allowed)
        if path is None:
            raise UserError(f"{node!r} is outside the campaign's folder; expected a file under {base_dir}",
                            file=str(params_path), key=key)
        if not path.is_file():
            raise UserError(f"file not found: {path}; expected the guided proof's file (e.g. guided/<ID>.yaml, "
                            "relative to the params file)", file=str(params_path), key=key)
        from .yamlsafe import load_yaml
        data = load_yaml(path, what="a YAML mapping with scenario and elements")
        if not isinstance(data, dict):
            raise UserError(f"expected a mapping with scenario and elements, got {_type(data)}", file=str(path))
        return data, str(path)
    if not isinstance(node, dict):
        raise UserError(f"expected a mapping (scenario, elements) or the path of a file holding it, got "
                        f"{_type(node)}", file=str(params_path), key=key)
    return node, str(params_path)


def parse_guided(node: Any, *, rid: str, params_path: Path, base_dir: Path, target_url: str, rem_entry,
                 key: str, today: dt.date | None = None, allowed: tuple[Path, ...] = ()) -> GuidedSpec:
    """Read and check one requirement's guided proof (see the module's docstring). ``rem_entry`` is the
    requirement in the imported REM (its scenarios and proofs, when the layout carries them)."""
    data, declared_in = load_guided_node(node, params_path=params_path, base_dir=base_dir, key=key, allowed=allowed)
    in_file = declared_in != str(params_path)
    prefix = "" if in_file else f"{key}."

    def fail(where: str, message: str) -> UserError:
        return UserError(message, file=declared_in, key=f"{prefix}{where}" if where else (key if not in_file else None))

    for k in data:
        if k not in GUIDED_KEYS:
            raise fail(str(k), f"unknown key; expected one of {', '.join(GUIDED_KEYS)}")
    rem_scenarios = list(getattr(rem_entry, "scenarios", None) or [])
    title = data.get("scenario", "")
    number = 1
    if rem_scenarios:
        if isinstance(title, int) and not isinstance(title, bool):
            number = title
        elif title not in ("", None):
            raise fail("scenario", f"{title!r}; the REM gives the scenarios of {rid}: expected the number of "
                                   f"one of them ({', '.join(str(s.number) for s in rem_scenarios)})")
        rem_scenario = next((s for s in rem_scenarios if s.number == number), None)
        if rem_scenario is None:
            raise fail("scenario", f"no scenario {number} in the REM for {rid}; expected one of "
                                   f"{', '.join(str(s.number) for s in rem_scenarios)}")
        title = ""
    else:
        rem_scenario = None
        if not isinstance(title, str) or not title.strip():
            raise fail("scenario", "missing; expected the scenario's title (French): the imported REM carries no "
                                   f"scenario for {rid}")
        title = " ".join(title.split())
    sid = scenario_id(rid, number)
    elements = data.get("elements")
    if not isinstance(elements, dict) or not elements:
        raise fail("elements", f"expected a mapping of proof element numbers (1: {{live: …}}, 2: {{file: …}}), "
                               f"got {_type(elements)}")
    rem_proofs = {p.number: p for p in (rem_scenario.proofs if rem_scenario else [])}
    parsed: dict[int, ElementSpec] = {}
    for raw_number, spec in elements.items():
        where = f"elements.{raw_number}"
        try:
            n = int(str(raw_number))
        except ValueError:
            n = 0
        if not 1 <= n <= MAX_ELEMENTS:
            raise fail(where, f"{raw_number!r} is not a proof element number; expected 1 to {MAX_ELEMENTS}")
        eid = proof_id(rid, number, n)
        if rem_proofs and n not in rem_proofs:
            raise fail(where, f"{eid}: no such proof element in the REM; expected one of "
                              f"{', '.join(p.id for p in rem_proofs.values())}")
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise fail(where, f"{eid}: expected a mapping (text, live | file | attestation, decision, comment), "
                              f"got {_type(spec)}")
        el = _element(spec, eid=eid, number=n, rem_proof=rem_proofs.get(n), fail=lambda w, m, _w=where: fail(
            f"{_w}.{w}" if w else _w, m), base_dir=base_dir, target_url=target_url, today=today, allowed=allowed)
        el.key = f"{declared_in}: {prefix}{where}"
        parsed[n] = el
    if rem_proofs:   # every element the REM expects is part of the proof, declared or not (then missing)
        for n, p in rem_proofs.items():
            parsed.setdefault(n, ElementSpec(id=p.id, number=n, text=p.text, text_source="rem",
                                             key=f"{declared_in}: {prefix}elements.{n}"))
    return GuidedSpec(requirement=rid, scenario=number, scenario_id=sid, scenario_title=title,
                      elements=[parsed[n] for n in sorted(parsed)], rem_numbered=bool(rem_proofs),
                      declared_in=declared_in)


def _element(spec: dict, *, eid: str, number: int, rem_proof, fail, base_dir: Path, target_url: str,
             today: dt.date | None, allowed: tuple[Path, ...] = ()) -> ElementSpec:
    for k in spec:
        if k not in ELEMENT_KEYS:
            raise fail(str(k), f"{eid}: unknown key; expected one of {', '.join(ELEMENT_KEYS)}")
    text = spec.get("text")
    if rem_proof is not None:
        if text not in (None, ""):
            raise fail("text", f"{eid}: the REM gives this element's text; expected no text here")
        text, source = rem_proof.text, "rem"
    else:
        if not isinstance(text, str) or not text.strip():
            raise fail("text", f"{eid}: missing; expected what this proof element shows (French): the imported "
                               "REM gives no proof elements for this requirement")
        text, source = " ".join(text.split()), "campaign"
    modes = [m for m in MODES if spec.get(m) is not None]
    if len(modes) > 1:
        raise fail(modes[1], f"{eid}: one capture mode per element; expected one of live, file, attestation, "
                             f"got {' and '.join(modes)}")
    el = ElementSpec(id=eid, number=number, text=text, text_source=source, mode=modes[0] if modes else "")
    caption = spec.get("caption")
    if caption is not None and (not isinstance(caption, str) or not caption.strip()):
        raise fail("caption", f"{eid}: expected a caption (French text)")
    el.caption = " ".join((caption or "").split())
    if el.mode == "live":
        el.live = _live(spec["live"], eid=eid, fail=lambda w, m: fail(f"live.{w}" if w else "live", m),
                        target_url=target_url)
    elif el.mode == "file":
        value = spec["file"]
        if not isinstance(value, str) or not value.strip():
            raise fail("file", f"{eid}: expected the path of the file the team supplies, relative to the params "
                               f"file, got {_type(value)}")
        path = confined(base_dir, value, allowed)
        if path is None:
            raise fail("file", f"{eid}: {value!r} is outside the campaign's folder; expected a file under "
                               f"{base_dir}")
        if not path.is_file():
            raise fail("file", f"{eid}: file not found: {path}; expected the file the team supplies (screenshot, "
                               "PDF, .eml, log extract, document), relative to the params file")
        el.file, el.file_label = path, value
        pages = spec.get("pages", 2)
        if isinstance(pages, bool) or not isinstance(pages, int) or not 1 <= pages <= 10:
            raise fail("pages", f"{eid}: expected the number of a PDF's first pages to show (1 to 10), got "
                                f"{pages!r}")
        el.pages = pages
    elif el.mode == "attestation":
        el.attestation = _attestation(spec["attestation"], eid=eid, today=today,
                                      fail=lambda w, m: fail(f"attestation.{w}" if w else "attestation", m))
    if "pages" in spec and el.mode != "file":
        raise fail("pages", f"{eid}: pages apply to a supplied PDF only; expected file: …")
    decision = spec.get("decision")
    if decision is not None:
        el.decision = normalise_decision(decision)
        if el.decision is None:
            raise fail("decision", f"{eid}: {decision!r}; expected conforme or non conforme")
    comment = spec.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise fail("comment", f"{eid}: expected the operator's comment (French text), got {_type(comment)}")
    el.comment = " ".join((comment or "").split())
    return el


def _live(node: Any, *, eid: str, fail, target_url: str) -> dict:
    if not isinstance(node, dict):
        raise fail("", f"{eid}: expected a mapping (role, url, outline, click), got {_type(node)}")
    for k in node:
        if k not in LIVE_KEYS:
            raise fail(str(k), f"{eid}: unknown key; expected one of {', '.join(LIVE_KEYS)}")
    role = node.get("role")
    if not isinstance(role, str) or not role.strip():
        raise fail("role", f"{eid}: missing; expected the browser session to capture in (administrator, "
                           "professional, anonymous… as the driver offers them)")
    url = node.get("url")
    full = inside_target(url, target_url) if isinstance(url, str) else None
    if full is None:
        raise fail("url", f"{eid}: {url!r} is not a page of the target; expected a path such as /admin/securite "
                          f"or a URL under {target_url}")
    outline = node.get("outline")
    if not isinstance(outline, str) or not outline.strip():
        raise fail("outline", f"{eid}: missing; expected the CSS selector of the element to outline in red")
    clicks = node.get("click") or []
    if isinstance(clicks, str):
        clicks = [clicks]
    if not isinstance(clicks, list) or not all(isinstance(c, str) and c.strip() for c in clicks):
        raise fail("click", f"{eid}: expected a list of CSS selectors clicked in order before the capture")
    expect = node.get("expect") or []
    if isinstance(expect, str):
        expect = [expect]
    if not isinstance(expect, list) or not all(isinstance(c, str) and c.strip() for c in expect):
        raise fail("expect", f"{eid}: expected the text(s) the outlined element must show")
    caption = node.get("caption")
    if caption is not None and (not isinstance(caption, str) or not caption.strip()):
        raise fail("caption", f"{eid}: expected a caption (French text)")
    return {"role": role.strip(), "url": full, "path": url.strip(), "outline": outline.strip(),
            "click": [c.strip() for c in clicks], "expect": [" ".join(e.split()) for e in expect],
            "caption": " ".join((caption or "").split())}


def _attestation(node: Any, *, eid: str, fail, today: dt.date | None) -> dict:
    if not isinstance(node, dict):
        raise fail("", f"{eid}: expected a mapping (text, signatory {{name, role}}, date), got {_type(node)}")
    for k in node:
        if k not in ATTESTATION_KEYS:
            raise fail(str(k), f"{eid}: unknown key; expected one of {', '.join(ATTESTATION_KEYS)}")
    text = node.get("text")
    if not isinstance(text, str) or not text.strip():
        raise fail("text", f"{eid}: missing; expected what is attested (French)")
    sig = node.get("signatory")
    if not isinstance(sig, dict) or not isinstance(sig.get("name"), str) or not sig["name"].strip():
        raise fail("signatory", f"{eid}: expected the signatory {{name, role}}")
    for k in sig:
        if k not in ("name", "role"):
            raise fail(f"signatory.{k}", f"{eid}: unknown key; expected name, role")
    role = sig.get("role", "")
    if not isinstance(role, str):
        raise fail("signatory.role", f"{eid}: expected the signatory's role (fonction)")
    day = _date(node.get("date"))
    if day is None:
        raise fail("date", f"{eid}: {node.get('date')!r}; expected the date of the attestation, YYYY-MM-DD")
    if today is None:
        from zoneinfo import ZoneInfo
        today = dt.datetime.now(ZoneInfo("Europe/Paris")).date()
    if day > today:
        raise fail("date", f"{eid}: {day.isoformat()} is in the future; expected the date it was signed")
    return {"text": str(text).strip(), "signatory": {"name": sig["name"].strip(), "role": role.strip()},
            "date": day.isoformat()}


def check_roles(campaign, driver_cls) -> None:
    """Every live capture names a session the driver offers (or ``anonymous``); one line otherwise."""
    roles = dict(getattr(driver_cls, "session_roles", {}) or {})
    offered = sorted({ANONYMOUS, *roles})
    for rid, entry in campaign.requirements.items():
        spec: GuidedSpec | None = entry.get("guided")
        if spec is None:
            continue
        for el in spec.elements:
            if el.mode == "live" and el.live["role"] not in offered:
                file, _, key = el.key.partition(": ")
                raise UserError(f"{el.id}: unknown role {el.live['role']!r}; expected a session the driver "
                                f"{campaign.driver!r} offers: {', '.join(offered)}", file=file, key=f"{key}.live.role")
