"""Importer for the official REM wording, from the Excel workbooks ANS's tooling produces.

Three layouts are recognised by their header row (searched in the first rows of every sheet):

- ``convergence``: the Convergence export, one row per requirement × scenario × proof
  (ID, Chapitre, Fonction, Exigence, N° scénario, Scénario de conformité, N° preuve, Preuve, …);
- ``wide``: the Squash "Ségur" report, one row per requirement × scenario with up to ten
  ``N° preuve k`` / ``Preuve k`` column pairs and the conditional flag;
- ``squash`` / ``squash-update``: a Squash requirement export (sheet ``REQUIREMENT``,
  ``REQ_VERSION_REFERENCE``, ``REQ_VERSION_DESCRIPTION`` in HTML, …) or the update sheet of the same
  shape with an ``ACTION`` column. Squash rows carry no scenarios. A Squash workbook holds several REM
  projects (``PROJECT_NAME``, else the first part of ``REQ_PATH``: ``REM_HOP-DPI_Hôpital [va2]``,
  ``SC_SSI_Sécurité [va2]``…): one is imported at a time, named by its short code
  (:func:`project_code`: ``HOP-DPI``, ``BIO``, ``SC_SSI``…); a workbook holding several refuses to be
  imported without one. Within the project, when one reference has several versions,
  :func:`_squash_rank` says which one is kept (OBSOLETE versions never are). Sheet ``LINK_REQ_REQ``
  links a project's requirement to its socle parent (``SC_…`` projects) and the other way round: a
  requirement without wording of its own quotes its parent's, and says so.

The result is a :class:`RemCatalog` that is saved as JSON so proofs can quote the official wording
without the project ever storing REM sentences in its own sources.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import UserError
from ..ids import normalize_requirement_id

__all__ = [
    "LAYOUT_CONVERGENCE",
    "LAYOUT_SQUASH",
    "LAYOUT_SQUASH_UPDATE",
    "LAYOUT_WIDE",
    "MAX_PROOFS",
    "RemCatalog",
    "RemLink",
    "RemProof",
    "RemRequirement",
    "RemScenario",
    "canonical_requirement_id",
    "html_to_text",
    "import_rem",
    "project_code",
]

LAYOUT_CONVERGENCE = "convergence"
LAYOUT_WIDE = "wide"
LAYOUT_SQUASH = "squash"
LAYOUT_SQUASH_UPDATE = "squash-update"

MAX_PROOFS = 10
HEADER_SEARCH_ROWS = 10

# ---------------------------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------------------------


@dataclass
class RemProof:
    """One expected proof element of a scenario: ``<requirement>.NN.NN``."""

    id: str
    number: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemProof:
        return cls(id=str(data["id"]), number=int(data["number"]), text=str(data["text"]))


@dataclass
class RemScenario:
    """A conformity scenario ``<requirement>.NN`` and its proofs (at most ten)."""

    id: str
    number: int
    text: str
    proofs: list[RemProof] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemScenario:
        return cls(
            id=str(data["id"]),
            number=int(data["number"]),
            text=str(data["text"]),
            proofs=[RemProof.from_dict(p) for p in data.get("proofs", [])],
        )


@dataclass
class RemLink:
    """A requirement of another REM project linked to one of the imported project (sheet LINK_REQ_REQ):
    its socle parent, or a requirement derived from it. ``reference`` is written as in the workbook."""

    id: str
    reference: str
    project: str  # the Squash project's name, e.g. "SC_SSI_Sécurité [va2]"
    version: int | None = None
    status: str | None = None

    @property
    def project_code(self) -> str:
        return project_code(self.project)

    @property
    def key(self) -> str:
        """Where :attr:`RemCatalog.linked` keeps this requirement: ``SC_SSI:SSI/IE.31``."""
        return f"{self.project_code}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemLink:
        return cls(id=str(data["id"]), reference=str(data["reference"]), project=str(data["project"]),
                   version=data.get("version"), status=data.get("status"))


@dataclass
class RemRequirement:
    """One REM requirement with its official wording, as far as the source layout knows it.

    ``id`` is the Convergence form (``SSI/IE.31``); ``squash_ref`` the Squash reference as the workbook
    writes it (``SC.SSI/IE.31``, or ``SSI/IE.31`` in a business REM) when the source gives it, never
    derived. ``chapter`` is the chapter's title and ``chapter_code`` its code (``SSI/IE``) when the layout
    gives them. ``project``, ``version`` and ``status`` are those of the Squash version kept;
    ``parents`` its socle parents and ``children`` the requirements derived from it (LINK_REQ_REQ).
    Fields a layout does not carry are ``None`` (or empty).
    """

    id: str
    squash_ref: str | None = None
    chapter: str | None = None
    function: str | None = None
    nature: str | None = None  # EXIGENCE / PRECONISATION
    conditional: bool | None = None
    statement: str = ""
    scenarios: list[RemScenario] = field(default_factory=list)
    criticality: str | None = None  # Majeure / Mineure
    profile: str | None = None
    status: str | None = None  # Squash status: APPROVED, UNDER_REVIEW, WORK_IN_PROGRESS
    project: str | None = None
    version: int | None = None
    chapter_code: str | None = None
    parents: list[RemLink] = field(default_factory=list)
    children: list[RemLink] = field(default_factory=list)
    # the product families a Squash version says it concerns (REQ_VERSION_CUF_SEGUR_REM, "DPI|PFI" →
    # ["DPI", "PFI"]); empty when the workbook says nothing (then it concerns every product of the REM)
    families: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemRequirement:
        return cls(
            id=str(data["id"]),
            squash_ref=data.get("squash_ref"),
            chapter=data.get("chapter"),
            function=data.get("function"),
            nature=data.get("nature"),
            conditional=data.get("conditional"),
            statement=str(data.get("statement", "")),
            scenarios=[RemScenario.from_dict(s) for s in data.get("scenarios", [])],
            criticality=data.get("criticality"),
            profile=data.get("profile"),
            status=data.get("status"),
            project=data.get("project"),
            version=data.get("version"),
            chapter_code=data.get("chapter_code"),
            parents=[RemLink.from_dict(x) for x in data.get("parents", [])],
            children=[RemLink.from_dict(x) for x in data.get("children", [])],
            families=[str(x) for x in data.get("families") or []],
        )

    def scenario(self, number: int) -> RemScenario | None:
        """The scenario numbered ``number``, if any."""
        return next((s for s in self.scenarios if s.number == number), None)


@dataclass
class RemCatalog:
    """The requirements of one REM (one project of a Squash workbook), keyed by Convergence id.

    ``project`` is the Squash project's name (``REM_HOP-DPI_Hôpital [va2]``) or, for a layout that
    holds one REM without naming it, the code given at import (else ``None``). ``linked`` holds the
    requirements of other projects linked to this one's (socle parents, derived requirements), keyed
    by :attr:`RemLink.key`: they are quoted where the project's own version has no wording.
    """

    layout: str
    source: str  # file name of the workbook
    sha256: str  # of the workbook's bytes
    requirements: dict[str, RemRequirement] = field(default_factory=dict)
    project: str | None = None
    linked: dict[str, RemRequirement] = field(default_factory=dict)

    @property
    def project_code(self) -> str | None:
        return project_code(self.project) if self.project else None

    @property
    def project_version(self) -> str | None:
        """``va2`` for ``REM_HOP-DPI_Hôpital [va2]``; ``None`` when the name carries none."""
        m = re.search(r"\[([^\]]+)\]", self.project or "")
        return m.group(1).strip() if m else None

    def get(self, req_id: str) -> RemRequirement | None:
        """Look a requirement of the project up by ``SSI/IE.31`` or ``SC.SSI/IE.31``."""
        return self.requirements.get(canonical_requirement_id(req_id))

    def linked_requirement(self, link: RemLink) -> RemRequirement | None:
        """The linked requirement a :class:`RemLink` names, when the workbook gives it."""
        return self.linked.get(link.key)

    def linked_socle(self, req_id: str) -> RemRequirement | None:
        """A socle requirement that is not the project's own but the parent of one of them
        (e.g. ``SSI/IAM.94`` of SC_SSI, parent of ``SSI/IAM.87`` in REM HOP-DPI); ``None`` otherwise."""
        rid = canonical_requirement_id(req_id)
        found = [r for r in self.linked.values() if r.id == rid and r.children]
        return min(found, key=lambda r: _STATUS_ORDER.get(r.status or "", 9)) if found else None

    def wording_parent(self, req: RemRequirement) -> RemRequirement | None:
        """The socle parent whose wording a requirement without its own quotes: a live parent with a
        statement, the one with the same id first, then by status (APPROVED, UNDER_REVIEW, WORK_IN_PROGRESS)."""
        candidates = []
        for link in req.parents:
            parent = self.linked_requirement(link)
            if parent is not None and parent.statement and parent.status != "OBSOLETE":
                candidates.append(parent)
        candidates.sort(key=lambda p: (p.id != req.id, _STATUS_ORDER.get(p.status or "", 9)))
        return candidates[0] if candidates else None

    def __contains__(self, req_id: object) -> bool:
        return isinstance(req_id, str) and self.get(req_id) is not None

    def __len__(self) -> int:
        return len(self.requirements)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "source": self.source,
            "sha256": self.sha256,
            "project": self.project,
            "requirements": {rid: req.to_dict() for rid, req in self.requirements.items()},
            "linked": {key: req.to_dict() for key, req in self.linked.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemCatalog:
        return cls(
            layout=str(data["layout"]),
            source=str(data["source"]),
            sha256=str(data["sha256"]),
            requirements={
                str(rid): RemRequirement.from_dict(req) for rid, req in data["requirements"].items()
            },
            project=data.get("project"),
            linked={str(k): RemRequirement.from_dict(req) for k, req in (data.get("linked") or {}).items()},
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the catalogue as UTF-8 JSON (atomically: a reader never sees half a file)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RemCatalog:
        """Read a catalogue written by :meth:`save`; bad input raises :class:`UserError`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read REM catalogue: {exc}", file=str(path)) from exc
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(
                f"not a REM catalogue (expected keys layout, source, sha256, requirements): {exc!r}",
                file=str(path),
            ) from exc


# ---------------------------------------------------------------------------------------------
# Identifiers
# ---------------------------------------------------------------------------------------------

# A requirement id: a domain, optional /chapter parts, ending in .<number>. The real workbooks use
# SSI/IE.31, DMP/ALI/PROG.01, DB/VI-CS.16, MSS/UX.DPI.1 and chapter-less ids such as PSC.01.
_ID_RE = re.compile(r"^[^\W\d_][\w /.-]*\.\d+$")
_PREFIX_BLANK_RE = re.compile(r"^([A-Z]{2,3})\.\s+")


def canonical_requirement_id(raw: object) -> str:
    """The Convergence form of a requirement id (``SC.SSI/IE.31`` → ``SSI/IE.31``)."""
    return normalize_requirement_id(str(raw))


# Squash statuses, best first; OBSOLETE versions are never imported.
_STATUS_ORDER = {"APPROVED": 0, "UNDER_REVIEW": 1, "WORK_IN_PROGRESS": 2}
OBSOLETE = "OBSOLETE"

_PROJECT_CODE = re.compile(r"^(REM|SC)_([A-Za-z0-9-]+)")
# The business prefixes a Squash reference may carry (``SGL.CDA/DD.05``) and the REM project each
# belongs to: such a version is another REM's, never quoted for a different project.
BUSINESS_PREFIXES = {"SGL": "BIO", "LGC": "LGC", "PFI": "HOP-PFI", "DB": "DB"}
_BUSINESS_PREFIX = re.compile(r"^(" + "|".join(BUSINESS_PREFIXES) + r")\.\s*(?=[A-Z0-9 ]+[/.])")


def project_code(name: str) -> str:
    """The short code users type for a Squash REM project: ``REM_HOP-DPI_Hôpital [va2]`` → ``HOP-DPI``,
    ``REM_BIO_Biologie [va2]`` → ``BIO``, ``SC_SSI_Sécurité [va2]`` → ``SC_SSI``; another name is its
    own code."""
    name = " ".join(str(name).split())
    m = _PROJECT_CODE.match(name)
    if not m:
        return name
    return m.group(2) if m.group(1) == "REM" else f"SC_{m.group(2)}"


def is_socle(project: str) -> bool:
    """A socle project (``SC_SSI_…``, ``_SC_Tous les socles``): the parent side of a LINK_REQ_REQ row."""
    return project.lstrip("_").startswith("SC_")


def _clean_reference(raw: str) -> str:
    """A Squash reference without stray blanks (``SC.\\xa0DMP/HISTO.01`` → ``SC.DMP/HISTO.01``)."""
    return _PREFIX_BLANK_RE.sub(r"\1.", " ".join(raw.split()))


# ---------------------------------------------------------------------------------------------
# HTML to plain text
# ---------------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "address article aside blockquote caption center details dd div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hr legend main nav p pre section summary table "
    "tbody tfoot thead tr".split()
)
_INLINE_TAGS = frozenset(
    "a abbr acronym b bdi bdo big body br cite code col colgroup data del dfn em font html i img "
    "input ins kbd label li mark meta link nobr ol q s samp small span strike strong sub sup td th "
    "time tt u ul var wbr".split()
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})
_KNOWN_TAGS = _BLOCK_TAGS | _INLINE_TAGS | _SKIP_TAGS
_LOOKS_LIKE_HTML = re.compile(
    r"</?(?:" + "|".join(sorted(_KNOWN_TAGS)) + r")\b[^>]*>"
    r"|&(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#[xX][0-9a-fA-F]+);"
)
_EMBEDDED_TAG = re.compile(r"</?(?:" + "|".join(sorted(_KNOWN_TAGS)) + r")\b[^<>]*>")
_SPACES = re.compile(r"[ \t\n\r\f\v\u00a0]+")
_INDENT = "\x00"  # placeholder for list indentation, survives line stripping


class _TextRenderer(HTMLParser):
    """Renders HTML as lines: blocks and ``<br>`` break lines, list items become bullets.

    Tags that are not HTML (``<location>``, ``<nom>``: placeholders written without escaping in
    the REM texts) are kept literally; their stray closing tags are dropped.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._at_line_start = True
        self._after_space = False
        self._lists: list[list[int]] = []  # per open list: [ordered (0/1), next item number]
        self._cells: list[int] = []  # per open table row: cells seen so far
        self._skip = 0
        self._pre = 0

    # -- output primitives ------------------------------------------------------------------
    def _emit(self, text: str) -> None:
        if self._at_line_start or self._after_space:
            text = text.lstrip(" ")
        if text:
            self._out.append(text)
            self._at_line_start = False
            self._after_space = text.endswith(" ")

    def _newline(self) -> None:
        self._out.append("\n")
        self._at_line_start = True
        self._after_space = False

    def _soft_newline(self) -> None:
        if not self._at_line_start:
            self._newline()

    # -- parser callbacks -------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif self._skip:
            return
        elif tag == "br":
            self._newline()
        elif tag in ("ul", "ol"):
            self._soft_newline()
            start = next((v for k, v in attrs if k == "start"), None)
            first = int(start) if start and start.strip().isdigit() else 1
            self._lists.append([int(tag == "ol"), first])
        elif tag == "li":
            self._soft_newline()
            depth = max(len(self._lists), 1)
            bullet = "* "
            if self._lists and self._lists[-1][0]:
                bullet = f"{self._lists[-1][1]}. "
                self._lists[-1][1] += 1
            self._out.append(_INDENT * (depth - 1) + bullet)
            self._at_line_start = False
            self._after_space = True
        elif tag == "tr":
            self._soft_newline()
            self._cells.append(0)
        elif tag in ("td", "th"):
            if self._cells:
                if self._cells[-1]:
                    self._emit(" | ")
                self._cells[-1] += 1
        elif tag == "pre":
            self._soft_newline()
            self._pre += 1
        elif tag in _BLOCK_TAGS:
            self._soft_newline()
        elif tag not in _INLINE_TAGS and ":" not in tag:
            # not an HTML element: a placeholder such as <location>, kept as written (minus any
            # real tag the editor wedged inside it, as in "<location</em>>")
            raw = " ".join((self.get_starttag_text() or "").split())
            self._emit(raw[:1] + _EMBEDDED_TAG.sub("", raw[1:]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP_TAGS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(self._skip - 1, 0)
        elif self._skip:
            return
        elif tag in ("ul", "ol"):
            if self._lists:
                self._lists.pop()
            self._soft_newline()
        elif tag == "li":
            self._soft_newline()
        elif tag == "tr":
            if self._cells:
                self._cells.pop()
            self._soft_newline()
        elif tag == "pre":
            self._pre = max(self._pre - 1, 0)
            self._soft_newline()
        elif tag in _BLOCK_TAGS:
            self._soft_newline()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            for i, part in enumerate(data.replace("\r\n", "\n").split("\n")):
                if i:
                    self._newline()
                if part:
                    self._out.append(part.replace("\u00a0", " "))
                    self._at_line_start = False
            return
        self._emit(_SPACES.sub(" ", data))

    def text(self) -> str:
        lines = [line.strip(" \t").replace(_INDENT, "  ") for line in "".join(self._out).split("\n")]
        return _join_lines(lines)


def _join_lines(lines: Iterable[str]) -> str:
    """Join lines, keeping at most one blank line in a row and none at either end."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def html_to_text(value: object) -> str:
    """Plain text of an HTML cell: paragraphs and ``<br>`` become line breaks, ``<li>`` becomes a
    ``* `` line (nested lists indented by two spaces; ``<ol>`` items are numbered ``1. ``),
    entities are decoded (``&nbsp;`` becomes a space), tags are stripped and runs of blank lines
    collapsed. Text without HTML passes through with ``\\r\\n`` normalised; ``None`` gives ``""``.
    """
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    if not _LOOKS_LIKE_HTML.search(text):
        return text.strip()
    renderer = _TextRenderer()
    renderer.feed(text)
    renderer.close()
    return renderer.text()


# ---------------------------------------------------------------------------------------------
# Layouts and header matching
# ---------------------------------------------------------------------------------------------


def _norm_header(value: object) -> str:
    """Header text for matching: no accents, lower case, single spaces, ``N°`` unified."""
    text = str(value).replace("\u00ba", "\u00b0").replace("\u2019", "'")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\bn\s*\u00b0\s*", "n\u00b0 ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class _Column:
    key: str
    label: str  # as shown in messages
    pattern: str  # regex fully matching the normalised header
    required: bool = True


@dataclass(frozen=True)
class _Layout:
    name: str
    title: str
    columns: tuple[_Column, ...]

    def expected(self) -> str:
        return f"{self.title} ({', '.join(c.label for c in self.columns if c.required)})"


_CONVERGENCE = _Layout(
    LAYOUT_CONVERGENCE,
    "Convergence export",
    (
        _Column("id", "ID", r"id"),
        _Column("chapter", "Chapitre", r"chapitre"),
        _Column("function", "Fonction", r"fonction"),
        _Column("statement", "Exigence", r"exigence"),
        _Column("scenario_id", "N° scénario", r"n° scenario"),
        _Column("scenario", "Scénario de conformité", r"scenario de conformite"),
        _Column("proof_id", "N° preuve", r"n° preuve"),
        _Column("proof", "Preuve", r"preuve"),
        _Column("profile", "Profil", r"profil", required=False),
        _Column("criticality", "Criticité", r"criticite", required=False),
    ),
)

_WIDE = _Layout(
    LAYOUT_WIDE,
    "wide report",
    (
        _Column("id", "N° exigence", r"n° exigence"),
        _Column("statement", "Énoncé de l'exigence", r"enonce\b.*"),
        _Column("scenario_id", "N° scénario", r"n° scenario"),
        _Column("scenario", "Scénario de conformité", r"scenario de conformite"),
        _Column("proof_id_1", "N° preuve 1", r"n° preuve 1"),
        _Column("proof_1", "Preuve 1", r"preuve 1"),
        _Column("conditional", "Exigence conditionnelle OUI/NON", r"exigence conditionnelle\b.*", False),
        _Column("profile", "Profil", r"profil", required=False),
        _Column("chapter", "Section", r"section", required=False),
        _Column("chapter_code", "ID Section", r"id section", required=False),
        _Column("function", "Fonction", r"fonction", required=False),
        _Column("nature", "Nature de l'exigence", r"nature\b.*", required=False),
        *(
            col
            for k in range(2, MAX_PROOFS + 1)
            for col in (
                _Column(f"proof_id_{k}", f"N° preuve {k}", rf"n° preuve {k}", required=False),
                _Column(f"proof_{k}", f"Preuve {k}", rf"preuve {k}", required=False),
            )
        ),
    ),
)

_SQUASH_OPTIONAL = (
    "ACTION PROJECT_NAME REQ_PATH REQ_ID REQ_VERSION_NUM REQ_VERSION_ID REQ_VERSION_STATUS "
    "REQ_VERSION_CATEGORY REQ_VERSION_CRITICALITY REQ_VERSION_CREATED_ON "
    "REQ_VERSION_LAST_MODIFIED_ON REQ_VERSION_CUF_SECTION REQ_VERSION_CUF_FONCTION "
    "REQ_VERSION_CUF_PROFIL REQ_VERSION_CUF_SEGUR_REM"
).split()

_SQUASH = _Layout(
    LAYOUT_SQUASH,
    "Squash REQUIREMENT sheet",
    (
        _Column("REQ_VERSION_REFERENCE", "REQ_VERSION_REFERENCE", r"req_version_reference"),
        _Column("REQ_VERSION_DESCRIPTION", "REQ_VERSION_DESCRIPTION", r"req_version_description"),
        *(_Column(name, name, re.escape(name.lower()), required=False) for name in _SQUASH_OPTIONAL),
    ),
)

_LAYOUTS = (_SQUASH, _WIDE, _CONVERGENCE)


@dataclass
class _Sheet:
    """A sheet whose header row was recognised: where each known column is, and the rows."""

    file: str
    title: str
    layout: _Layout
    header_row: int  # 1-based
    columns: dict[str, int]  # key -> 0-based index
    labels: dict[str, str]  # key -> header as written in the file
    rows: list[tuple[Any, ...]]

    def records(self) -> Iterable[tuple[int, dict[str, Any]]]:
        """(Excel row number, {column key: raw value}) for every non-empty row below the header."""
        for offset, row in enumerate(self.rows, start=1):
            if not any(_is_filled(v) for v in row):
                continue
            values = {key: (row[i] if i < len(row) else None) for key, i in self.columns.items()}
            yield self.header_row + offset, values

    def error(self, row: int, key: str, message: str) -> UserError:
        where = f"sheet '{self.title}', row {row}, column '{self.labels.get(key, key)}'"
        return UserError(f"{where}: {message}", file=self.file)


def _match_header(cells: tuple[Any, ...], layout: _Layout) -> dict[str, int] | None:
    normalised = [_norm_header(c) if _is_filled(c) else "" for c in cells]
    found: dict[str, int] = {}
    for col in layout.columns:
        index = next((i for i, text in enumerate(normalised) if re.fullmatch(col.pattern, text)), None)
        if index is not None:
            found[col.key] = index
        elif col.required:
            return None
    return found


def _find_sheet(workbook: Any, file: str) -> _Sheet:
    for ws in workbook.worksheets:
        rows = ws.iter_rows(values_only=True)
        head = list(itertools.islice(rows, HEADER_SEARCH_ROWS))
        for r, cells in enumerate(head):
            for layout in _LAYOUTS:
                columns = _match_header(cells, layout)
                if columns is not None:
                    labels = {k: " ".join(str(cells[i]).split()) for k, i in columns.items()}
                    body = head[r + 1 :] + list(rows)
                    return _Sheet(file, ws.title, layout, r + 1, columns, labels, body)
    expected = ", ".join(layout.expected() for layout in (_CONVERGENCE, _WIDE, _SQUASH))
    raise UserError(f"unknown REM layout; expected one of: {expected}", file=file)


# ---------------------------------------------------------------------------------------------
# Cell helpers
# ---------------------------------------------------------------------------------------------


def _is_filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def _cell_text(value: Any) -> str:
    """A cell as one clean line of text (numbers without a spurious ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return " ".join(str(value).split())


def _optional(value: Any) -> str | None:
    return _cell_text(value) or None


def _requirement_id(sheet: _Sheet, row: int, key: str, raw: Any) -> str:
    rid = canonical_requirement_id(raw)
    if not _ID_RE.match(rid):
        raise sheet.error(
            row, key, f"malformed requirement id {_cell_text(raw)!r}; expected a form like SSI/IE.31"
        )
    return rid


def _child_number(sheet: _Sheet, row: int, key: str, raw: Any, parent: str, what: str) -> tuple[str, int]:
    """Check ``raw`` is ``<parent>.NN``; return its canonical id and number."""
    child = canonical_requirement_id(raw)
    head, _, tail = child.rpartition(".")
    if head != parent or not tail.isdigit() or int(tail) < 1:
        raise sheet.error(row, key, f"{what} id {_cell_text(raw)!r} is not of the form {parent}.NN")
    number = int(tail)
    if what == "proof" and number > MAX_PROOFS:
        raise sheet.error(row, key, f"proof id {child!r}: at most {MAX_PROOFS} proofs per scenario")
    return child, number


def _fill(req: RemRequirement, **values: Any) -> None:
    """Set the fields of ``req`` that are still empty (the first row that gives a value wins)."""
    for name, value in values.items():
        if value not in (None, "") and getattr(req, name) in (None, ""):
            setattr(req, name, value)


def _add_scenario(req: RemRequirement, sid: str, number: int, text: str) -> RemScenario:
    scenario = next((s for s in req.scenarios if s.id == sid), None)
    if scenario is None:
        scenario = RemScenario(id=sid, number=number, text=text)
        req.scenarios.append(scenario)
    elif not scenario.text:
        scenario.text = text
    return scenario


def _add_proof(scenario: RemScenario, pid: str, number: int, text: str) -> None:
    existing = next((p for p in scenario.proofs if p.id == pid), None)
    if existing is None:
        scenario.proofs.append(RemProof(id=pid, number=number, text=text))
    elif not existing.text:
        existing.text = text


def _sort_tree(requirements: dict[str, RemRequirement]) -> None:
    for req in requirements.values():
        req.scenarios.sort(key=lambda s: s.number)
        for scenario in req.scenarios:
            scenario.proofs.sort(key=lambda p: p.number)


_NATURES = {
    "EXIGENCE": "EXIGENCE",
    "CRI": "EXIGENCE",
    "PRECONISATION": "PRECONISATION",
    "PRECO": "PRECONISATION",
}
_CRITICALITIES = {"MAJOR": "Majeure", "MINOR": "Mineure"}


def _nature(value: Any) -> str | None:
    text = _norm_header(value).upper() if _is_filled(value) else ""
    return _NATURES.get(text, text or None)


def _yes_no(value: Any) -> bool | None:
    text = _norm_header(value) if _is_filled(value) else ""
    return {"oui": True, "o": True, "yes": True, "non": False, "n": False, "no": False}.get(text)


# ---------------------------------------------------------------------------------------------
# Layout readers
# ---------------------------------------------------------------------------------------------


def _read_convergence(sheet: _Sheet) -> dict[str, RemRequirement]:
    reqs: dict[str, RemRequirement] = {}
    for row, v in sheet.records():
        if not _is_filled(v["id"]):
            continue
        rid = _requirement_id(sheet, row, "id", v["id"])
        req = reqs.setdefault(rid, RemRequirement(id=rid))
        _fill(
            req,
            chapter=_optional(v["chapter"]),
            function=_optional(v["function"]),
            statement=html_to_text(v["statement"]),
            profile=_optional(v.get("profile")),
            criticality=_optional(v.get("criticality")),
        )
        if not _is_filled(v["scenario_id"]):
            if _is_filled(v["proof_id"]):
                raise sheet.error(row, "scenario_id", "missing while the row has a proof number")
            continue
        sid, snum = _child_number(sheet, row, "scenario_id", v["scenario_id"], rid, "scenario")
        scenario = _add_scenario(req, sid, snum, html_to_text(v["scenario"]))
        if _is_filled(v["proof_id"]):
            pid, pnum = _child_number(sheet, row, "proof_id", v["proof_id"], sid, "proof")
            _add_proof(scenario, pid, pnum, html_to_text(v["proof"]))
    _sort_tree(reqs)
    return reqs


def _read_wide(sheet: _Sheet) -> dict[str, RemRequirement]:
    reqs: dict[str, RemRequirement] = {}
    for row, v in sheet.records():
        if not _is_filled(v["id"]):
            continue
        rid = _requirement_id(sheet, row, "id", v["id"])
        req = reqs.setdefault(rid, RemRequirement(id=rid))
        _fill(
            req,
            chapter=_optional(v.get("chapter")),
            chapter_code=_optional(v.get("chapter_code")),
            function=_optional(v.get("function")),
            nature=_nature(v.get("nature")),
            conditional=_yes_no(v.get("conditional")),
            statement=html_to_text(v["statement"]),
            profile=_optional(v.get("profile")),
        )
        if not _is_filled(v["scenario_id"]):
            continue
        sid, snum = _child_number(sheet, row, "scenario_id", v["scenario_id"], rid, "scenario")
        scenario = _add_scenario(req, sid, snum, html_to_text(v["scenario"]))
        for k in range(1, MAX_PROOFS + 1):
            # A slot is a proof only when it is numbered: ANS pads unused slots, and the template
            # repeats placeholder text in unnumbered slots.
            if f"proof_id_{k}" in v and _is_filled(v[f"proof_id_{k}"]):
                key = f"proof_id_{k}"
                pid, pnum = _child_number(sheet, row, key, v[key], sid, "proof")
                _add_proof(scenario, pid, pnum, html_to_text(v.get(f"proof_{k}")))
    _sort_tree(reqs)
    return reqs


@dataclass
class _SquashVersion:
    row: int
    rid: str
    reference: str
    statement: str
    status: str
    date: str
    number: int
    version_id: int
    values: dict[str, Any]
    project: str  # "" when the sheet does not say
    path: str


def _int(value: Any) -> int:
    try:
        return int(float(str(value).strip()))
    except (TypeError, ValueError):
        return 0


def _squash_rank(version: _SquashVersion) -> tuple[int, str, bool, int, int, int]:
    """Which version of a reference is kept within its project (the highest rank wins):

    1. the status: APPROVED, then UNDER_REVIEW, then WORK_IN_PROGRESS (then any other; OBSOLETE
       versions are left out before ranking);
    2. between versions of equal status only, the latest (``REQ_VERSION_LAST_MODIFIED_ON``, else
       ``REQ_VERSION_CREATED_ON``);
    3. one with wording over one without;
    4. the highest ``REQ_VERSION_NUM``, then the highest ``REQ_VERSION_ID``;
    5. the row further down the sheet.

    A kept version without wording of its own quotes its socle parent's (:meth:`RemCatalog.wording_parent`).
    """
    return (
        -_STATUS_ORDER.get(version.status, len(_STATUS_ORDER)),
        version.date,
        bool(version.statement),
        version.number,
        version.version_id,
        version.row,
    )


_SECTION = re.compile(r"^([A-Z][A-Z0-9/-]*)_\s*(.*)$", re.S)
_PATH_PARTS = re.compile(r"(?<!\\)/")


def _path_root(path: str) -> str:
    """The project a ``REQ_PATH`` starts with (``/REM_HOP-DPI_Hôpital [va2]/…``); "" when none."""
    return next((part.strip() for part in _PATH_PARTS.split(path) if part.strip()), "")


def _business_project(reference: str) -> str:
    """``REM_BIO`` for a reference such as ``SGL.CDA/DD.05``; "" for a socle or unprefixed one."""
    m = _BUSINESS_PREFIX.match(reference)
    return f"REM_{BUSINESS_PREFIXES[m.group(1)]}" if m else ""


def _squash_versions(sheet: _Sheet) -> list[_SquashVersion]:
    out = []
    for row, v in sheet.records():
        raw_ref = v["REQ_VERSION_REFERENCE"]
        if not _is_filled(raw_ref):
            continue
        if _cell_text(v.get("ACTION")).upper() == "D":  # update sheet: a deletion, not a requirement
            continue
        rid = _requirement_id(sheet, row, "REQ_VERSION_REFERENCE", raw_ref)
        reference = _clean_reference(str(raw_ref))
        path = _cell_text(v.get("REQ_PATH"))
        project = _cell_text(v.get("PROJECT_NAME")) or _path_root(path) or _business_project(reference)
        date = _cell_text(v.get("REQ_VERSION_LAST_MODIFIED_ON")) or _cell_text(v.get("REQ_VERSION_CREATED_ON"))
        out.append(_SquashVersion(
            row=row, rid=rid, reference=reference, statement=html_to_text(v["REQ_VERSION_DESCRIPTION"]),
            status=_cell_text(v.get("REQ_VERSION_STATUS")).upper(), date=date,
            number=_int(v.get("REQ_VERSION_NUM")), version_id=_int(v.get("REQ_VERSION_ID")), values=v,
            project=project, path=path))
    return out


def _choose_project(versions: list[_SquashVersion], wanted: str | None, file: str) -> str | None:
    """The project to import: the one named (by code or name), or the only one the sheet holds.

    Rows that name no project (a sheet without ``PROJECT_NAME`` and ``REQ_PATH``) count as one more
    project when others are named (by a business prefix such as ``SGL.``); a project named at import
    that the sheet does not list takes them.
    """
    live: dict[str, set[str]] = {}
    for v in versions:
        ids = live.setdefault(v.project, set())
        if v.status != OBSOLETE:
            ids.add(v.rid)

    def count(ids: set[str]) -> str:
        return f"{len(ids)} requirement{'s' if len(ids) != 1 else ''}"

    listing = ", ".join(f"{project_code(name) if name else '(no project named)'} ({count(ids)})"
                        for name, ids in sorted(live.items(), key=lambda kv: (not kv[0], project_code(kv[0]))))
    if wanted is None:
        if len(live) > 1:
            raise UserError(f"holds {len(live)} REM projects: {listing}; expected --rem-project CODE "
                            "(or rem_project: CODE in the campaign) naming the one to import", file=file)
        return next((name for name in live if name), None)
    label = " ".join(wanted.split())
    found = [name for name in live if name and label.casefold() in (project_code(name).casefold(), name.casefold())]
    if found:
        return found[0]
    if "" in live:
        return label
    raise UserError(f"no REM project {wanted!r} in this workbook; expected one of: {listing}", file=file)


def _squash_requirement(best: _SquashVersion) -> RemRequirement:
    v = best.values
    m = _SECTION.match(_cell_text(v.get("REQ_VERSION_CUF_SECTION")))
    section = _cell_text(v.get("REQ_VERSION_CUF_SECTION"))
    criticality = _cell_text(v.get("REQ_VERSION_CRITICALITY")).upper()
    return RemRequirement(
        id=best.rid,
        squash_ref=best.reference,
        chapter=(m.group(2).strip() if m else section) or None,
        chapter_code=m.group(1) if m else None,
        function=_optional(v.get("REQ_VERSION_CUF_FONCTION")),
        nature=_nature(v.get("REQ_VERSION_CATEGORY")),
        conditional=None,
        statement=best.statement,
        scenarios=[],
        criticality=_CRITICALITIES.get(criticality, criticality or None),
        profile=_optional(v.get("REQ_VERSION_CUF_PROFIL")),
        families=[f.strip() for f in _cell_text(v.get("REQ_VERSION_CUF_SEGUR_REM")).split("|") if f.strip()],
        status=best.status or None,
        project=best.project or None,
        version=best.number or None,
    )


def _link_of(version: _SquashVersion) -> RemLink:
    return RemLink(id=version.rid, reference=version.reference, project=version.project,
                   version=version.number or None, status=version.status or None)


@dataclass
class _LinkRow:
    path: str
    version: int
    related_path: str
    related_version: int
    role: str


def _read_links(workbook: Any) -> list[_LinkRow]:
    """Rows of sheet LINK_REQ_REQ (REQ_PATH, REQ_VERSION_NUM, RELATED_REQ_PATH, RELATED_REQ_VERSION_NUM,
    RELATED_REQ_ROLE); none when the workbook has no such sheet."""
    ws = next((w for w in workbook.worksheets if w.title.strip().upper() == "LINK_REQ_REQ"), None)
    if ws is None:
        return []
    rows = ws.iter_rows(values_only=True)
    header = [_norm_header(c) if _is_filled(c) else "" for c in next(rows, ())]
    names = ("req_path", "req_version_num", "related_req_path", "related_req_version_num", "related_req_role")
    if not all(n in header for n in names[:4]):
        return []
    at = {n: header.index(n) for n in names if n in header}
    out = []
    for row in rows:
        cell = lambda n: row[at[n]] if n in at and at[n] < len(row) else None  # noqa: E731
        if _is_filled(cell("req_path")) and _is_filled(cell("related_req_path")):
            out.append(_LinkRow(_cell_text(cell("req_path")), _int(cell("req_version_num")),
                                _cell_text(cell("related_req_path")), _int(cell("related_req_version_num")),
                                _cell_text(cell("related_req_role")).upper()))
    return out


def _live_version(version: _SquashVersion, by_path: dict[str, list[_SquashVersion]]) -> _SquashVersion | None:
    """The version a link names when it is live, else the best live version of the same requirement."""
    if version.status != OBSOLETE:
        return version
    live = [v for v in by_path.get(version.path, []) if v.status != OBSOLETE and v.rid == version.rid]
    return max(live, key=_squash_rank) if live else None


def _attach_links(reqs: dict[str, RemRequirement], project: str | None, versions: list[_SquashVersion],
                  links: list[_LinkRow]) -> dict[str, RemRequirement]:
    """Fill ``parents``/``children`` of the project's requirements from LINK_REQ_REQ; return the linked
    requirements of other projects (socle parents with their wording, keyed by :attr:`RemLink.key`).

    A row links two requirement versions; the socle end (``SC_…`` project) is the parent. Between two
    projects of the same kind, the row's REQ_PATH side is taken as the parent, as the export writes them.
    """
    if not project or not links:
        return {}
    by_version = {(v.path, v.number): v for v in versions if v.path}
    by_path: dict[str, list[_SquashVersion]] = {}
    for v in versions:
        by_path.setdefault(v.path, []).append(v)
    linked: dict[str, RemRequirement] = {}
    for link in links:
        a = by_version.get((link.path, link.version))
        b = by_version.get((link.related_path, link.related_version))
        if a is None or b is None or a.project == b.project:
            continue
        parent, child = (b, a) if is_socle(b.project) and not is_socle(a.project) else (a, b)
        for own, other, side in ((child, parent, "parents"), (parent, child, "children")):
            if own.project != project or own.status == OBSOLETE or own.rid not in reqs:
                continue
            quoted = _live_version(other, by_path) or other
            ref = _link_of(quoted)
            links_of = getattr(reqs[own.rid], side)
            if any(x.key == ref.key for x in links_of):
                continue
            links_of.append(ref)
            if side == "parents" and quoted.status != OBSOLETE:
                entry = linked.get(ref.key)
                if entry is None:
                    entry = linked[ref.key] = _squash_requirement(quoted)
                if not any(x.key == f"{project_code(project)}:{own.rid}" for x in entry.children):
                    entry.children.append(RemLink(id=own.rid, reference=reqs[own.rid].squash_ref or own.rid,
                                                  project=project, version=reqs[own.rid].version,
                                                  status=reqs[own.rid].status))
    for req in reqs.values():
        req.parents.sort(key=lambda p: (p.status == OBSOLETE, p.id != req.id,
                                        _STATUS_ORDER.get(p.status or "", 9), p.project, p.id))
    return linked


def _read_squash(sheet: _Sheet, project: str | None = None, links: list[_LinkRow] | None = None
                 ) -> tuple[dict[str, RemRequirement], str | None, dict[str, RemRequirement]]:
    """The requirements of one project of a Squash sheet, that project's name and its linked requirements."""
    versions = _squash_versions(sheet)
    chosen = _choose_project(versions, project, sheet.file)
    chosen_code = project_code(chosen) if chosen else None
    by_rid: dict[str, list[_SquashVersion]] = {}
    for v in versions:
        if chosen and v.project and v.project != chosen:
            continue  # another REM project's version
        foreign = _business_project(v.reference)
        if foreign and chosen_code and project_code(foreign) != chosen_code:
            continue  # another REM's version filed under this project (LGC.… in SC_DMP)
        if v.status == OBSOLETE:
            continue
        by_rid.setdefault(v.rid, []).append(v)
    reqs = {rid: _squash_requirement(max(cands, key=_squash_rank)) for rid, cands in by_rid.items()}
    for req in reqs.values():
        req.project = req.project or chosen
    linked = _attach_links(reqs, chosen, versions, links or [])
    return reqs, chosen, linked


_READERS: dict[str, Callable[[_Sheet], dict[str, RemRequirement]]] = {
    LAYOUT_CONVERGENCE: _read_convergence,
    LAYOUT_WIDE: _read_wide,
}


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def import_rem(path: str | os.PathLike[str], project: str | None = None) -> RemCatalog:
    """Read an ANS REM workbook (.xlsx) in one of the supported layouts.

    ``project`` names the REM project to import from a Squash workbook (a code such as ``HOP-DPI`` or
    ``SC_SSI``, or the project's full name); a workbook that holds several refuses without it. For the
    Convergence and wide layouts (one REM each) it is only a label kept with the catalogue.

    Raises :class:`UserError` (one line naming the file) when the file cannot be opened as an
    .xlsx, when no sheet has a recognised header row, on a malformed id, or on a missing or unknown
    project.
    """
    from openpyxl import load_workbook  # imported here: only the importer needs it

    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read file: {exc.strerror or exc}", file=file) from exc
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException, XML errors…
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise UserError(f"cannot open as an Excel workbook (.xlsx): {reason}", file=file) from exc
    try:
        sheet = _find_sheet(workbook, file)
        links = _read_links(workbook) if sheet.layout.name == LAYOUT_SQUASH else []
    finally:
        workbook.close()
    layout = sheet.layout.name
    if layout == LAYOUT_SQUASH and "ACTION" in sheet.columns:
        layout = LAYOUT_SQUASH_UPDATE
    linked: dict[str, RemRequirement] = {}
    if sheet.layout.name == LAYOUT_SQUASH:
        requirements, chosen, linked = _read_squash(sheet, project, links)
    else:
        requirements = _READERS[sheet.layout.name](sheet)
        chosen = " ".join(project.split()) if project and project.strip() else None
        for req in requirements.values():
            req.project = chosen
    return RemCatalog(
        layout=layout,
        source=Path(path).name,
        sha256=hashlib.sha256(data).hexdigest(),
        requirements=requirements,
        project=chosen,
        linked=linked,
    )
