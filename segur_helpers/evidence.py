"""The evidence recorder: capture first, then check only what was captured.

Every capture writes a raw evidence file (screenshot PNG, ``.eml``, JSON exchange, attachment) into the
proof's ``evidence/`` folder, hashes it (SHA-256), and shows a card inline (JupyterLab, and the PDF,
which is rendered from the executed notebook). Checks compare an expected element with what was
observed in captured evidence and say RÉUSSI or ÉCHEC (``passed`` stays a boolean in result.json). Text
evidence goes through the secrets' redaction before it is written; password fields are masked on screenshots.

A screenshot's card never quotes what a driver says it read elsewhere: at capture time the recorder
reads the outlined element's own text (``outlined_text``, kept with the evidence in result.json) and
the card quotes that. A scenario whose caption names a text of the outlined element says so with
``names=`` (kept as ``names``); the card marks it inside the quote, or says plainly that it is absent,
and the tests fail every proof of the demo campaign where a named text is not inside the outline.
"""
from __future__ import annotations

import base64
import contextvars
import hashlib
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import fr
from .ids import slug
from .params import Secrets
from .style import CSS

PASSWORD_FIELDS = "input[type=password]"
# the mark of evidence a driver composed rather than observed on the target (EvidenceItem.composed)
PRODUCED_BY_DRIVER = "produit par le pilote"


@dataclass
class EvidenceItem:
    name: str          # file name inside evidence/
    kind: str          # screenshot | email | sms | exchange | attachment | observation
    sha256: str
    size: int
    caption: str
    step: int | None
    manual: bool = False
    # screenshots only: the outlined element, its own text read at capture time, and the texts the
    # scenario's caption names in it (each must be inside outlined_text)
    outlined: bool = False
    outlined_text: str = ""
    names: list[str] = field(default_factory=list)
    composed: bool = False     # made by the driver, not observed on the target (« produit par le pilote »)


@dataclass
class Check:
    step: int | None
    label: str
    expected: str
    observed: str
    passed: bool
    evidence: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        return fr.result_word(self.passed)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


# A proof made outside a kernel (a guided proof produced by the batch itself) collects what it shows here,
# as the display outputs of the notebook it records (segur_helpers.guided); one list per proof (task).
DISPLAY_SINK: "contextvars.ContextVar[list | None]" = contextvars.ContextVar("segur_display_sink", default=None)


def show_html(fragment: str, *, tags: tuple[str, ...] = (), metadata: dict | None = None) -> None:
    """Display an HTML card in the running kernel (no-op outside a kernel, e.g. in unit tests), or keep it
    in the current :data:`DISPLAY_SINK`."""
    sink = DISPLAY_SINK.get()
    if sink is not None:
        md = dict(metadata or {})
        if tags:
            md["tags"] = list(tags)
        sink.append({"output_type": "display_data", "data": {"text/html": fragment}, "metadata": md})
        return
    if not _in_kernel():
        return
    from IPython.display import HTML, display

    md = dict(metadata or {})
    if tags:
        md["tags"] = list(tags)
    display(HTML(fragment), metadata=md or None)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def hash_line(name: str, sha256: str, what: str = "") -> str:
    """The file and its SHA-256, the 64 hex digits kept on one line (never cut: reviewers copy them)."""
    return (f'<div class="hash">{esc(name)}{f" ({esc(what)})" if what else ""} · SHA-256 '
            f'<span class="sha">{esc(sha256)}</span></div>')


QUOTE_MAX = 400   # characters of the outlined element's text quoted under a screenshot


def normalise(text: str) -> str:
    """Text as compared between a caption and an outline: blanks collapsed, case ignored, a final « … » dropped."""
    return " ".join(str(text).split()).rstrip("…").strip().casefold()


def names_inside(item: "EvidenceItem | dict") -> list[str]:
    """The named texts of a screenshot that are not inside its outlined element ([] when all are)."""
    get = item.get if isinstance(item, dict) else (lambda k, d=None: getattr(item, k, d))
    inside = normalise(get("outlined_text", "") or "")
    return [n for n in get("names", []) or [] if not get("outlined", False) or normalise(n) not in inside]


def outline_caption(item: "EvidenceItem", wanted: bool) -> str:
    """The part of a screenshot's caption about the red outline: the outlined element's own text, the
    named texts marked in it, and any named text that is not there said so."""
    if not item.outlined:
        return (" — aucun élément encadré : l'élément à examiner n'est pas affiché à l'écran" if wanted else "")
    text = item.outlined_text
    shown = text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX].rstrip() + " …"
    quoted = esc(shown)
    for n in sorted(set(item.names), key=len, reverse=True):
        if n and esc(n) in quoted:
            quoted = quoted.replace(esc(n), f"<mark>{esc(n)}</mark>", 1)
    out = f" — élément encadré en rouge : « {quoted} »" if text else " — élément encadré en rouge (sans texte)"
    missing = names_inside(item)
    if missing:
        out += ("<br><b>Attention</b> : texte annoncé absent de l'élément encadré : "
                + ", ".join(f"« {esc(n)} »" for n in missing))
    return out


# the envelope of an exchange as the toolkit writes it (the data inside keeps its own keys)
EXCHANGE_LABELS = {"method": "Méthode", "url": "Adresse", "headers": "En-têtes", "body": "Contenu",
                   "status": "Statut HTTP", "scope": "Portée", "filter": "Filtre", "attributes": "Attributs",
                   "replace": "Remplacer", "add": "Ajouter", "delete": "Retirer", "base": "Base"}


def shown_json(value: Any, redact=lambda t: t) -> str:
    """Data shown as JSON, times written in Paris time (same instants, offset shown)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)
    return fr.paris_iso_text(redact(text))


def exchange_table(request: dict, response: dict, redact=lambda t: t, limit: int = 6000) -> str:
    """An exchange for the reviewer: Requête then Réponse, French labels, the data as JSON."""
    rows, moved = [], False
    for side, part in (("Requête", request), ("Réponse", response)):
        rows.append(f"<tr><th colspan='2' class='side'>{side}</th></tr>")
        for key, value in (part or {}).items():
            label = EXCHANGE_LABELS.get(key) or (str(key)[:1].upper() + str(key)[1:])
            if isinstance(value, (dict, list)):
                text = shown_json(value, redact)
                moved = moved or text != redact(json.dumps(value, ensure_ascii=False, indent=2))
                cut = len(text) > limit
                cell = f"<pre>{esc(text[:limit])}{' …' if cut else ''}</pre>"
            else:
                shown = fr.paris_iso_text(redact(str(value)))
                moved = moved or shown != redact(str(value))
                cell = esc(shown)
            rows.append(f"<tr><th style='width:22%'>{esc(label)}</th><td>{cell}</td></tr>")
    note = ("<div class='caption'>Horodatages affichés en heure de Paris (mêmes instants) ; le fichier conserve "
            "l'échange tel qu'il a eu lieu.</div>" if moved else "")
    return f"<table class='exchange'>{''.join(rows)}</table>{note}"


# The text a person reads in an element: what innerText gives, but a drop-down list shows its chosen
# option (not all of them), a field its value, a box whether it is ticked; password fields give nothing.
SHOWN_TEXT_JS = """e => {
  const out = [];
  const walk = n => {
    if (n.nodeType === 3) { out.push(n.textContent); return; }
    if (n.nodeType !== 1) return;
    const s = getComputedStyle(n);
    if (s.display === 'none' || s.visibility === 'hidden') return;
    const tag = n.tagName;
    if (tag === 'BR') { out.push(' '); return; }
    if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'TEMPLATE') return;
    if (tag === 'SELECT') { out.push(' ' + Array.from(n.selectedOptions).map(o => o.text).join(', ') + ' '); return; }
    if (tag === 'TEXTAREA') { out.push(' ' + n.value + ' '); return; }
    if (tag === 'INPUT') {
      const t = (n.type || 'text').toLowerCase();
      if (t === 'password' || t === 'hidden') return;
      if (t === 'checkbox' || t === 'radio') { out.push(n.checked ? ' ☒ ' : ' ☐ '); return; }
      out.push(' ' + n.value + ' '); return;
    }
    if (!n.querySelector('select, input, textarea')) { out.push(' ' + n.innerText + ' '); return; }
    for (const c of n.childNodes) walk(c);
    if (s.display !== 'inline') out.push(' ');
  };
  walk(e);
  return out.join('');
}"""


class Recorder:
    """Writes evidence into ``evidence_dir`` and keeps the checks; one per proof."""

    def __init__(self, evidence_dir: Path, secrets: Secrets):
        self.dir = Path(evidence_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.secrets = secrets
        self.items: list[EvidenceItem] = []
        self.checks: list[Check] = []
        self.current_step: int | None = None
        self._seq = 0
        self._styled = False

    # -- writing -------------------------------------------------------------------------------
    def _name(self, stem: str, ext: str) -> str:
        self._seq += 1
        step = f"{self.current_step:02d}" if self.current_step is not None else "00"
        return f"{step}-{self._seq:02d}-{slug(stem)}.{ext}"

    def _write(self, name: str, data: bytes, *, kind: str, caption: str, text: bool, manual: bool = False,
               composed: bool = False) -> EvidenceItem:
        if text:
            # secret values always; URL credentials (code, token, state…) too, except in a file the operator
            # supplied, kept byte for byte as attested (its cards still show them masked)
            data = self.secrets.redact_bytes(data, urls=not manual)
        path = self.dir / name
        if path.exists():
            raise FileExistsError(f"evidence {path} already exists; a proof never overwrites evidence")
        path.write_bytes(data)
        item = EvidenceItem(name=name, kind=kind, sha256=sha256_bytes(data), size=len(data),
                            caption=self.secrets.redact(caption), step=self.current_step, manual=manual,
                            composed=composed)
        self.items.append(item)
        return item

    def show(self, fragment: str, **kw) -> None:
        """Display a card; whatever a scenario put in it goes through the secrets' redaction first (secret
        values, and the codes, tokens and states URLs carry)."""
        fragment = self.secrets.redact(fragment)
        if not self._styled:
            fragment = f"<style>{CSS}</style>" + fragment
            self._styled = True
        show_html(fragment, **kw)

    # -- captures ------------------------------------------------------------------------------
    async def screenshot(self, view, caption: str, *, names: str | list[str] | tuple[str, ...] | None = None
                         ) -> EvidenceItem:
        """Screenshot of ``view.page`` with ``view.highlight`` outlined and password fields masked.

        The card quotes the outlined element's own text, read now (never ``view.observed``, which a driver
        may have read elsewhere). ``names``: the text(s) of the outlined element this caption is about
        (``names=view.secret_connection``): recorded, marked in the quote, and said absent if they are not
        in the outlined element (the demo campaign's tests fail on that)."""
        page = view.page
        outlined = None
        outlined_text = ""
        if view.highlight:
            loc = page.locator(view.highlight)
            if await loc.count():
                outlined = loc.first
                outlined_text = self.secrets.redact(" ".join((await outlined.evaluate(SHOWN_TEXT_JS)).split()))
                await outlined.evaluate(
                    "e => { e.dataset.segurOutline = e.style.outline; e.style.outline = '3px solid #e3001b';"
                    " e.style.outlineOffset = '3px'; }")
        try:
            png = await page.screenshot(full_page=True, mask=[page.locator(PASSWORD_FIELDS)],
                                        mask_color="#263238", animations="disabled")
        finally:
            if outlined is not None:
                await outlined.evaluate("e => { e.style.outline = e.dataset.segurOutline || '';"
                                        " e.style.outlineOffset = ''; delete e.dataset.segurOutline; }")
        item = self._write(self._name(caption, "png"), png, kind="screenshot", caption=caption, text=False)
        if isinstance(names, str):
            names = [names]
        item.outlined = outlined is not None
        item.outlined_text = outlined_text
        item.names = [self.secrets.redact(" ".join(str(n).split())) for n in (names or ()) if str(n).strip()]
        url = self.secrets.redact(view.url or page.url)
        b64 = base64.b64encode(png).decode()
        self.show(
            f'<div class="segur-card"><h4>Capture d\'écran — {esc(item.caption)}</h4>'
            f'<img class="shot" src="data:image/png;base64,{b64}" alt="{esc(item.caption)}">'
            f'<div class="caption">Adresse : {esc(url)}{outline_caption(item, bool(view.highlight))}</div>'
            f'{hash_line(item.name, item.sha256)}</div>')
        return item

    def screenshot_png(self, png: bytes, caption: str, url: str = "") -> EvidenceItem:
        """A screenshot already taken (e.g. by a driver at the moment one of its steps failed)."""
        item = self._write(self._name(caption, "png"), png, kind="screenshot", caption=caption, text=False)
        b64 = base64.b64encode(png).decode()
        self.show(f'<div class="segur-card"><h4>Capture d\'écran — {esc(item.caption)}</h4>'
                  f'<img class="shot" src="data:image/png;base64,{b64}" alt="{esc(item.caption)}">'
                  + (f'<div class="caption">Adresse : {esc(self.secrets.redact(url))}</div>' if url else "")
                  + f'{hash_line(item.name, item.sha256)}</div>')
        return item

    def email(self, message, caption: str, highlight: list[str] | tuple[str, ...] = (), *, manual: bool = False
              ) -> EvidenceItem:
        """Keep the raw message as ``.eml`` and show its headers and body, ``highlight`` marked.
        ``manual``: the operator supplied it (a manual step), the toolkit did not fetch it; a message the
        driver composed itself (``message.composed``) is marked « produit par le pilote »."""
        composed = bool(getattr(message, "composed", False))
        item = self._write(self._name(caption, "eml"), message.raw, kind="email", caption=caption, text=True,
                           manual=manual, composed=composed)
        body = esc(self.secrets.redact(message.text))
        for h in sorted({h for h in highlight if h}, key=len, reverse=True):
            body = body.replace(esc(h), f"<mark>{esc(h)}</mark>")
        def header(name: str) -> str:
            value = self.secrets.redact(message.header(name))
            return fr.mail_date(value) if name == "Date" and value else value

        rows = "".join(f"<tr><th style='width:18%'>{label}</th><td>{esc(header(name))}</td></tr>"
                       for label, name in (("De", "From"), ("À", "To"), ("Date", "Date"), ("Objet", "Subject"),
                                           ("Message-ID", "Message-ID")))
        title = ("Message fourni par l'opérateur" if manual else
                 f"Message {PRODUCED_BY_DRIVER} (non reçu du système)" if composed else "Message reçu")
        self.show(f'<div class="segur-card{" segur-manual" if manual else ""}"><h4>{title} — {esc(item.caption)}</h4>'
                  f'<table>{rows}</table>'
                  f'<pre>{body}</pre>{hash_line(item.name, item.sha256, "message brut .eml")}</div>')
        return item

    def sms(self, message, caption: str, highlight: list[str] | tuple[str, ...] = ()) -> EvidenceItem:
        """Keep an SMS as the gateway stored it (its exact bytes, ``.json``) and show sender, addressee,
        time and text, ``highlight`` marked."""
        item = self._write(self._name(caption, "json"), message.raw, kind="sms", caption=caption, text=True)
        body = esc(self.secrets.redact(message.text))
        for h in sorted({h for h in highlight if h}, key=len, reverse=True):
            body = body.replace(esc(h), f"<mark>{esc(h)}</mark>")
        rows = "".join(f"<tr><th style='width:18%'>{label}</th><td>{esc(self.secrets.redact(value or '—'))}</td></tr>"
                       for label, value in (("De", message.sender), ("À", message.to),
                                            ("Reçu le", getattr(message, "received_paris", message.received_at)),
                                            ("Identifiant", message.message_id)))
        self.show(f'<div class="segur-card"><h4>SMS reçu — {esc(item.caption)}</h4><table>{rows}</table>'
                  f'<pre>{body}</pre><div class="hash">{esc(item.name)} (SMS tel que conservé par la passerelle) · '
                  f'SHA-256 {item.sha256}</div></div>')
        return item

    def exchange(self, request: dict, response: dict, caption: str) -> EvidenceItem:
        """An HTTP/SOAP exchange (method, url, headers, body of each side) kept as JSON.

        The file keeps the exchange as it was (``request``/``response``, the data as received); the card
        shows it with French labels and its times in Paris time."""
        data = json.dumps({"request": request, "response": response}, ensure_ascii=False, indent=2).encode()
        item = self._write(self._name(caption, "json"), data, kind="exchange", caption=caption, text=True)
        self.show(f'<div class="segur-card"><h4>Échange — {esc(item.caption)}</h4>'
                  f'{exchange_table(request, response, self.secrets.redact)}'
                  f'{hash_line(item.name, item.sha256, "échange complet, JSON")}</div>')
        return item

    def hl7(self, raw: bytes, caption: str, *, title: str = "Message HL7 v2",
            highlight: list[str] | tuple[str, ...] = ()) -> EvidenceItem:
        """Keep an HL7 v2 message as it was sent or received (``.hl7``, its exact bytes, segments separated
        by CR) and show it segment by segment: each non-empty field with its HL7 number, its French label,
        its value as written and, for the fields a reviewer needs read (times, INS, acknowledgement code,
        connexion secrète), what it says. ``highlight``: fields to mark (``"PID-3"``, ``"OBX-5"``)."""
        from .hl7v2 import FIELD_LABELS, reading, split

        item = self._write(self._name(caption, "hl7"), raw, kind="hl7", caption=caption, text=True)
        marked = {h.upper() for h in highlight}
        rows = []
        for seg in split(self.secrets.redact_bytes(raw)):
            head = f"{seg.name}" + (f" n° {seg.rank}" if seg.rank > 1 or seg.name in ("OBX", "ERR") else "")
            rows.append(f"<tr><th colspan='4' class='side'>Segment {esc(head)}</th></tr>")
            for number, text in seg.fields.items():
                if not text or (seg.name == "MSH" and number in (1, 2)):
                    continue
                key = f"{seg.name}-{number}"
                label = FIELD_LABELS.get(seg.name, {}).get(number, "")
                said = reading(seg.name, number, text)
                shown = esc(text) if key not in marked else f"<mark>{esc(text)}</mark>"
                rows.append(f"<tr><th style='width:10%;white-space:nowrap'>{esc(key)}</th><td style='width:30%'>{esc(label)}</td>"
                            f"<td><code>{shown}</code></td><td style='width:28%'>{esc(said)}</td></tr>")
        self.show(f'<div class="segur-card"><h4>{esc(title)} — {esc(item.caption)}</h4>'
                  f"<table class='exchange'><tr><th>Champ</th><th>Libellé</th><th>Valeur telle que transmise</th>"
                  f"<th>Lecture</th></tr>{''.join(rows)}</table>"
                  f"<div class='caption'>Seuls les champs renseignés sont listés ; le fichier conserve le message "
                  f"octet pour octet. Horodatages lus en heure de Paris.</div>"
                  f'{hash_line(item.name, item.sha256, "message brut .hl7")}</div>')
        return item

    def observation(self, data: dict, caption: str, *, manual: bool = False) -> EvidenceItem:
        """What the toolkit read on a screen or in a document, kept as JSON beside the capture."""
        raw = json.dumps(data, ensure_ascii=False, indent=2).encode()
        return self._write(self._name(caption, "json"), raw, kind="observation", caption=caption, text=True,
                           manual=manual)

    def attach(self, source: Path | bytes, caption: str, *, name: str | None = None, manual: bool = False,
               show: bool = True, composed: bool = False) -> EvidenceItem:
        """Attach a file (document, CSV, operator-supplied evidence) as it is. ``composed``: the driver
        made the file itself rather than obtaining the target's own (« produit par le pilote »)."""
        if isinstance(source, (str, Path)):
            src = Path(source)
            data, ext = src.read_bytes(), (src.suffix.lstrip(".") or "bin")
        else:
            data, ext = source, (Path(name).suffix.lstrip(".") if name else "bin")
        textual = ext.lower() in {"txt", "csv", "json", "xml", "eml", "html", "htm", "har", "log", "yaml", "yml"}
        item = self._write(self._name(Path(name).stem if name else caption, ext), data, kind="attachment",
                           caption=caption,
                           text=textual, manual=manual, composed=composed)
        if not show:
            return item
        self.show(f'<div class="segur-card"><h4>Pièce jointe{f" {PRODUCED_BY_DRIVER}" if composed else ""} — '
                  f'{esc(item.caption)}</h4>'
                  f'{hash_line(item.name, item.sha256, fr.num(item.size, 0) + " octets")}</div>')
        return item

    # -- checks --------------------------------------------------------------------------------
    def check(self, label: str, *, expected: str, observed: str, passed: bool,
              evidence: list[EvidenceItem] | tuple = (), show: bool = True) -> bool:
        """Record one expected element against what was observed in captured evidence.

        ``show=False``: no card of its own, for a caller that shows a batch of checks in one table
        (e.g. every rule evaluated on a document); the check is recorded and summarised all the same."""
        c = Check(step=self.current_step, label=label, expected=self.secrets.redact(str(expected)),
                  observed=self.secrets.redact(str(observed)), passed=bool(passed),
                  evidence=[e.name for e in evidence if e is not None])
        self.checks.append(c)
        if not show:
            return c.passed
        cls = "segur-pass" if c.passed else "segur-fail"
        self.show(f'<div class="segur-card"><table><tr><th style="width:28%">Vérification</th><th>Attendu</th>'
                  f'<th>Observé</th><th style="width:11%">Résultat</th></tr><tr><td>{esc(c.label)}</td>'
                  f'<td>{esc(c.expected)}</td><td>{esc(c.observed)}</td><td class="{cls}">{c.result}</td></tr>'
                  f'</table></div>')
        return c.passed

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"evidence": [asdict(i) for i in self.items],
                "checks": [asdict(c) | {"result": c.result} for c in self.checks]}
