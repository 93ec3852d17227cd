"""Validate a CDA document as ANS does, with a checkout of ANS's TestContenuCDA.

A campaign may name a checkout of ANS's public repository TestContenuCDA (``cda: {testcontenucda: PATH}``).
The CDA proof then validates the document in ANS's two stages:

1. the CDA R2 XML schema of the checkout (``infrastructure/cda/CDA_extended.xsd``, lxml ``XMLSchema``);
2. the "structuration minimale" schematron (``schematrons/profils/structurationMinimale/
   ASIP-STRUCT-MIN-StrucMin.sch``, ``queryBinding="xslt2"``) through the ISO pipeline of the checkout
   (``schematrons/moteur/``: include → abstract expand → compile to XSLT → run, giving SVRL). XSLT 2 is
   run by SaxonC-HE (``saxonche``); lxml's XSLT 1 cannot run it.

The SVRL report is returned as it is (the proof keeps it as evidence) and each ``failed-assert`` (and
each ``successful-report``) becomes one :class:`Finding` with ANS's text, its role and its location
(an XPath in the document).

**Value sets.** The schematron reads its value sets with ``doc('include/voc-….xml')`` relative to the
compiled XSLT, so the referenced files are copied beside it in the cache. A referenced file the
checkout lacks (ANS's commit 7cd489b lacks ``voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml``) would stop
the whole run with an I/O error; instead, the assertions that read it are left out of the compiled
schematron and listed (:attr:`Compiled.not_evaluated`, each naming the missing file) so the proof
says which rules could not be evaluated and why. A rule whose context or variables read a missing
file is left out whole, its assertions listed the same way.

**Cache.** Compiling takes seconds (the pipeline, then Saxon's compilation of a 10 MB stylesheet).
The compiled XSLT is kept under the user's cache folder (``$SEGUR_CDA_CACHE``, else
``$XDG_CACHE_HOME/segur-proofs/cda``, else ``~/.cache/segur-proofs/cda``), one folder per checkout
(its resolved path), commit (the checkout's ``COMMIT`` file, else ``git rev-parse HEAD``) and state
of the schematron folder (names, sizes and times of its files, so a value set added to a checkout is
taken into account without a new commit). Within one process (a warm kernel runs proof after proof)
Saxon's compiled stylesheet is kept in memory too.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lxml import etree

from .errors import UserError

SCHEMA = Path("infrastructure/cda/CDA_extended.xsd")
SCHEMATRON = Path("schematrons/profils/structurationMinimale/ASIP-STRUCT-MIN-StrucMin.sch")
ENGINE = Path("schematrons/moteur")
PIPELINE = ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl", "iso_svrl_for_xslt2.xsl")
REQUIRED = (SCHEMA, SCHEMATRON, *(ENGINE / name for name in PIPELINE))
COMPILED_NAME = "structuration-minimale.xsl"
META_NAME = "compilation.json"
CACHE_FORMAT = 1

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
_DOC_REF = re.compile(r"""\bdoc\(\s*(['"])([^'"]+)\1\s*\)""")
_FAILING_ROLES = {"error", "fatal", ""}  # an assertion without a role is an error, as in ANS's validator


# ---------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class SchemaError:
    """One error of the XML schema validation (libxml2's message, line and path)."""

    line: int
    path: str
    message: str


@dataclass(frozen=True)
class Finding:
    """One assertion of the schematron that the document does not satisfy (or one report that fired).

    ``role`` is ANS's (``error``, ``warning``, ``info``; empty counts as ``error``); ``location`` the
    XPath of the node in the document; ``text`` ANS's message, whitespace collapsed."""

    kind: str          # failed-assert | successful-report
    role: str
    location: str
    test: str
    text: str
    rule_id: str = ""
    see: str = ""

    @property
    def failing(self) -> bool:
        return self.role.lower() in _FAILING_ROLES


@dataclass(frozen=True)
class NotEvaluated:
    """An assertion left out of the compiled schematron because a value set it reads is missing."""

    value_sets: tuple[str, ...]
    role: str
    text: str
    context: str


@dataclass
class Compiled:
    """The compiled schematron of one checkout, as kept in the cache."""

    xslt: Path
    checkout: str
    commit: str
    missing_value_sets: list[str]
    not_evaluated: list[NotEvaluated]
    pipeline_s: float          # include + expand + compile to XSLT, when it was made
    from_cache: bool = False


@dataclass
class AnsValidation:
    """The outcome of :func:`validate`: schema errors, the SVRL report and its findings, timings."""

    checkout: str
    commit: str
    well_formed: bool
    schema_errors: list[SchemaError]
    svrl: bytes
    findings: list[Finding]
    fired_rules: int
    missing_value_sets: list[str]
    not_evaluated: list[NotEvaluated]
    from_cache: bool
    pipeline_s: float          # 0 when the compiled XSLT came from the cache
    saxon_compile_s: float     # 0 when the stylesheet was already compiled in this process
    run_s: float
    error: str = ""            # the schematron could not run (message), the schema result still stands
    timings: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.failing]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.failing]

    @property
    def passed(self) -> bool:
        return self.well_formed and not self.schema_errors and not self.error and not self.failed


# ---------------------------------------------------------------------------------------------------
# The checkout


def check_checkout(path: Path, *, source: str = "", key: str = "cda.testcontenucda") -> Path:
    """The checkout's root, after checking that it holds what the validation reads (else UserError)."""
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"expected a checkout of ANS's TestContenuCDA, got {str(root)!r} (not a folder)",
                        file=source or None, key=key)
    missing = [str(p) for p in REQUIRED if not (root / p).is_file()]
    if missing:
        raise UserError(f"{str(root)!r} is not a checkout of ANS's TestContenuCDA: missing {', '.join(missing)}",
                        file=source or None, key=key)
    return root.resolve()


def commit_of(root: Path) -> str:
    """The checkout's commit: its ``COMMIT`` file (first word), else ``git rev-parse HEAD``, else ``inconnu``."""
    stamp = root / "COMMIT"
    if stamp.is_file():
        words = stamp.read_text(encoding="utf-8", errors="replace").split()
        if words:
            return words[0]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "inconnu"
    head = out.stdout.strip()
    return head if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", head) else "inconnu"


def cache_root() -> Path:
    env = os.environ.get("SEGUR_CDA_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "segur-proofs" / "cda"


def _state(root: Path) -> str:
    """Names, sizes and times of the files the compilation reads (schematron folder and engine)."""
    h = hashlib.sha256()
    for folder in (root / SCHEMATRON.parent, root / ENGINE):
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                st = path.stat()
                h.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def cache_dir(root: Path, commit: str) -> Path:
    where = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    state = hashlib.sha256(f"{CACHE_FORMAT}\0{_state(root)}".encode()).hexdigest()[:12]
    safe_commit = re.sub(r"[^0-9A-Za-z]", "", commit)[:12] or "inconnu"
    return cache_root() / f"{root.name}-{where}" / f"{safe_commit}-{state}"


# ---------------------------------------------------------------------------------------------------
# Saxon (one processor per process; compiled stylesheets kept in memory)

_lock = threading.Lock()
_processor = None
_executables: dict[str, object] = {}
_schemas: dict[str, etree.XMLSchema] = {}


def _saxon():
    global _processor
    if _processor is None:
        try:
            from saxonche import PySaxonProcessor
        except ImportError as exc:  # pragma: no cover — a pinned dependency
            raise RuntimeError("saxonche (SaxonC-HE) is required to run ANS's schematron") from exc
        _processor = PySaxonProcessor(license=False)
        # ANS's compiled schematron is a 10 MB stylesheet run on documents of a few kilobytes: Saxon's
        # optimiser costs more at compile time (about 30 %) than it saves on such a run.
        _processor.set_configuration_property("http://saxon.sf.net/feature/optimizationLevel", "0")
    return _processor


def _transform(stylesheet: Path, source_text: str | None = None, *, source_file: Path | None = None) -> str:
    proc = _saxon()
    executable = proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))
    if source_file is not None:
        out = executable.transform_to_string(source_file=str(source_file))
    else:
        node = proc.parse_xml(xml_text=source_text)
        out = executable.transform_to_string(xdm_node=node)
    if out is None:
        raise RuntimeError(f"{stylesheet.name}: no output")
    return out


# ---------------------------------------------------------------------------------------------------
# Compilation


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _value_set_refs(expression: str) -> list[str]:
    return [m.group(2) for m in _DOC_REF.finditer(expression or "")]


def _neutralise_missing(expanded: str, base: Path) -> tuple[bytes, list[str], list[str], list[NotEvaluated]]:
    """Leave out of the expanded schematron whatever reads a value set missing from ``base``.

    Returns (schematron, files present, files missing, assertions left out)."""
    tree = etree.fromstring(expanded.encode("utf-8"),
                            etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    present: set[str] = set()
    missing: set[str] = set()

    def missing_in(expression: str | None) -> list[str]:
        out = []
        for ref in _value_set_refs(expression or ""):
            (present if (base / ref).is_file() else missing).add(ref)
            if not (base / ref).is_file():
                out.append(ref)
        return out

    left_out: list[NotEvaluated] = []
    ns = {"sch": SCH_NS}
    for rule in list(tree.iter(f"{{{SCH_NS}}}rule")):
        context = rule.get("context") or ""
        whole = missing_in(context)
        for let in rule.findall("sch:let", ns):
            whole += missing_in(let.get("value"))
        tests = rule.xpath("sch:assert | sch:report", namespaces=ns)
        if whole:
            for t in tests:
                left_out.append(NotEvaluated(tuple(sorted(set(whole))), t.get("role") or "", _text(t), context))
            rule.getparent().remove(rule)
            continue
        for t in tests:
            refs = missing_in(t.get("test"))
            if refs:
                left_out.append(NotEvaluated(tuple(sorted(set(refs))), t.get("role") or "", _text(t), context))
                rule.remove(t)
    for el in tree.iter():  # any other expression (a pattern's let …): counted, the run fails if it is read
        if isinstance(el.tag, str) and el.tag != f"{{{SCH_NS}}}rule":
            for name in ("value", "select", "test"):
                missing_in(el.get(name))
    data = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    return data, sorted(present), sorted(missing), left_out


def compile_schematron(root: Path) -> Compiled:
    """The compiled "structuration minimale" schematron of the checkout ``root``, from the cache or made now."""
    root = Path(root).resolve()
    commit = commit_of(root)
    folder = cache_dir(root, commit)
    meta_path = folder / META_NAME
    if meta_path.is_file() and (folder / COMPILED_NAME).is_file():
        try:
            return _load_meta(folder, meta_path)
        except (ValueError, KeyError, TypeError, OSError):
            pass  # a damaged cache entry is made again
    with _lock:
        started = time.perf_counter()
        sch = root / SCHEMATRON
        engine = root / ENGINE
        included = _transform(engine / PIPELINE[0], source_file=sch)
        expanded = _transform(engine / PIPELINE[1], included)
        schematron, present, missing, left_out = _neutralise_missing(expanded, sch.parent)
        xslt = _transform(engine / PIPELINE[2], schematron.decode("utf-8"))
        elapsed = time.perf_counter() - started

        folder.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
        try:
            (work / COMPILED_NAME).write_text(xslt, encoding="utf-8")
            for ref in present:  # the value sets, where doc() looks for them: beside the compiled XSLT
                target = (work / ref).resolve()
                if work.resolve() not in target.parents:
                    continue  # a reference leaving the folder is read in place (never written outside)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(sch.parent / ref, target)
            meta = {"format": CACHE_FORMAT, "checkout": str(root), "commit": commit, "pipeline_s": round(elapsed, 3),
                    "missing_value_sets": missing, "not_evaluated": [asdict(n) for n in left_out],
                    "saxon": _saxon().version}
            (work / META_NAME).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
            try:
                work.rename(folder)
            except OSError:  # another process made it meanwhile: keep theirs
                shutil.rmtree(work, ignore_errors=True)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    compiled = _load_meta(folder, folder / META_NAME)
    compiled.from_cache = False
    compiled.pipeline_s = elapsed
    return compiled


def _load_meta(folder: Path, meta_path: Path) -> Compiled:
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != CACHE_FORMAT:
        raise ValueError("cache format")
    return Compiled(xslt=folder / COMPILED_NAME, checkout=meta["checkout"], commit=meta["commit"],
                    missing_value_sets=list(meta["missing_value_sets"]),
                    not_evaluated=[NotEvaluated(tuple(n["value_sets"]), n["role"], n["text"], n["context"])
                                   for n in meta["not_evaluated"]],
                    pipeline_s=float(meta["pipeline_s"]), from_cache=True)


def _executable(xslt: Path) -> tuple[object, float]:
    key = str(xslt)
    if key in _executables:
        return _executables[key], 0.0
    started = time.perf_counter()
    executable = _saxon().new_xslt30_processor().compile_stylesheet(stylesheet_file=key)
    _executables[key] = executable
    return executable, time.perf_counter() - started


def _schema(root: Path) -> etree.XMLSchema:
    key = str(root / SCHEMA)
    if key not in _schemas:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        _schemas[key] = etree.XMLSchema(etree.parse(key, parser))
    return _schemas[key]


# ---------------------------------------------------------------------------------------------------
# Validation


def parse_svrl(svrl: bytes) -> tuple[list[Finding], int]:
    """The findings of an SVRL report, in document order, and the number of rules that fired."""
    root = etree.fromstring(svrl, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    findings = []
    for el in root.iter(f"{{{SVRL_NS}}}failed-assert", f"{{{SVRL_NS}}}successful-report"):
        text_el = el.find(f"{{{SVRL_NS}}}text")
        findings.append(Finding(kind=etree.QName(el).localname, role=(el.get("role") or "").strip(),
                                location=el.get("location") or "", test=el.get("test") or "",
                                text=_text(text_el) if text_el is not None else "",
                                rule_id=el.get("id") or "", see=el.get("see") or ""))
    fired = len(root.findall(f"{{{SVRL_NS}}}fired-rule"))
    return findings, fired


def validate(xml: bytes, checkout: Path) -> AnsValidation:
    """Validate ``xml`` with the checkout's CDA schema, then its "structuration minimale" schematron.

    Never raises on the document: not well-formed, schema errors and a schematron that cannot run are
    all in the result. The checkout itself must be sound (:func:`check_checkout`)."""
    root = check_checkout(checkout)
    commit = commit_of(root)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        doc = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        return AnsValidation(str(root), commit, False, [SchemaError(exc.lineno or 0, "", str(exc))], b"", [], 0,
                             [], [], False, 0.0, 0.0, 0.0)
    schema = _schema(root)
    schema.validate(doc)
    schema_errors = [SchemaError(e.line, e.path or "", e.message) for e in schema.error_log]

    compiled = compile_schematron(root)
    with _lock:
        executable, saxon_s = _executable(compiled.xslt)
        started = time.perf_counter()
        error = ""
        svrl = b""
        try:
            node = _saxon().parse_xml(xml_text=etree.tostring(doc, encoding="unicode"))
            out = executable.transform_to_string(xdm_node=node)
            svrl = (out or "").encode("utf-8")
        except Exception as exc:  # Saxon's PySaxonApiError: the schematron could not run on this document
            error = " ".join(str(exc).split())[:600]
        run_s = time.perf_counter() - started
    findings, fired = parse_svrl(svrl) if svrl else ([], 0)
    if svrl and not fired and not error:
        error = "le schématron ne s'est appliqué à aucun élément du document"
    return AnsValidation(str(root), commit, True, schema_errors, svrl, findings, fired,
                         compiled.missing_value_sets, compiled.not_evaluated, compiled.from_cache,
                         0.0 if compiled.from_cache else compiled.pipeline_s, saxon_s, run_s, error)
