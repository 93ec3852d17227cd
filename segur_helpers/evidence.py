"""The evidence recorder: capture first, then check only what was captured.

Every capture writes a raw evidence file (screenshot PNG, ``.eml``, JSON exchange, attachment) into the
proof's ``evidence/`` folder, hashes it (SHA-256), and shows a card inline (JupyterLab, and the PDF,
which is rendered from the executed notebook). Checks compare an expected element with what was
observed in captured evidence and say PASS or FAIL. Text evidence goes through the secrets' redaction
before it is written; password fields are masked on screenshots.
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .ids import slug
from .params import Secrets
from .style import CSS

PASSWORD_FIELDS = "input[type=password]"


@dataclass
class EvidenceItem:
    name: str          # file name inside evidence/
    kind: str          # screenshot | email | sms | exchange | attachment | observation
    sha256: str
    size: int
    caption: str
    step: int | None
    manual: bool = False


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
        return "PASS" if self.passed else "FAIL"


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


def show_html(fragment: str, *, tags: tuple[str, ...] = (), metadata: dict | None = None) -> None:
    """Display an HTML card in the running kernel (no-op outside a kernel, e.g. in unit tests)."""
    if not _in_kernel():
        return
    from IPython.display import HTML, display

    md = dict(metadata or {})
    if tags:
        md["tags"] = list(tags)
    display(HTML(fragment), metadata=md or None)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


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

    def _write(self, name: str, data: bytes, *, kind: str, caption: str, text: bool, manual: bool = False
               ) -> EvidenceItem:
        if text:
            # secret values always; URL credentials (code, token, state…) too, except in a file the operator
            # supplied, kept byte for byte as attested (its cards still show them masked)
            data = self.secrets.redact_bytes(data, urls=not manual)
        path = self.dir / name
        if path.exists():
            raise FileExistsError(f"evidence {path} already exists; a proof never overwrites evidence")
        path.write_bytes(data)
        item = EvidenceItem(name=name, kind=kind, sha256=sha256_bytes(data), size=len(data),
                            caption=self.secrets.redact(caption), step=self.current_step, manual=manual)
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
    async def screenshot(self, view, caption: str) -> EvidenceItem:
        """Screenshot of ``view.page`` with ``view.highlight`` outlined and password fields masked."""
        page = view.page
        outlined = None
        if view.highlight:
            loc = page.locator(view.highlight)
            if await loc.count():
                outlined = loc.first
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
        url = self.secrets.redact(view.url or page.url)
        b64 = base64.b64encode(png).decode()
        self.show(
            f'<div class="segur-card"><h4>Capture d\'écran — {esc(item.caption)}</h4>'
            f'<img class="shot" src="data:image/png;base64,{b64}" alt="{esc(item.caption)}">'
            f'<div class="caption">Adresse : {esc(url)}'
            + (f" — élément encadré en rouge : « {esc(view.observed)} »" if outlined is not None else "")
            + f'</div><div class="hash">{esc(item.name)} · SHA-256 {item.sha256}</div></div>')
        return item

    def email(self, message, caption: str, highlight: list[str] | tuple[str, ...] = (), *, manual: bool = False
              ) -> EvidenceItem:
        """Keep the raw message as ``.eml`` and show its headers and body, ``highlight`` marked.
        ``manual``: the operator supplied it (a manual step), the toolkit did not fetch it."""
        item = self._write(self._name(caption, "eml"), message.raw, kind="email", caption=caption, text=True,
                           manual=manual)
        body = esc(self.secrets.redact(message.text))
        for h in sorted({h for h in highlight if h}, key=len, reverse=True):
            body = body.replace(esc(h), f"<mark>{esc(h)}</mark>")
        rows = "".join(f"<tr><th style='width:18%'>{label}</th><td>{esc(self.secrets.redact(message.header(name)))}</td></tr>"
                       for label, name in (("De", "From"), ("À", "To"), ("Date", "Date"), ("Objet", "Subject"),
                                           ("Message-ID", "Message-ID")))
        title = "Message fourni par l'opérateur" if manual else "Message reçu"
        self.show(f'<div class="segur-card{" segur-manual" if manual else ""}"><h4>{title} — {esc(item.caption)}</h4>'
                  f'<table>{rows}</table>'
                  f'<pre>{body}</pre><div class="hash">{esc(item.name)} (message brut .eml) · SHA-256 '
                  f'{item.sha256}</div></div>')
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
        """An HTTP/SOAP exchange (method, url, headers, body of each side) kept as JSON."""
        data = json.dumps({"request": request, "response": response}, ensure_ascii=False, indent=2).encode()
        item = self._write(self._name(caption, "json"), data, kind="exchange", caption=caption, text=True)
        shown = self.secrets.redact(data.decode())
        self.show(f'<div class="segur-card"><h4>Échange — {esc(item.caption)}</h4><pre>{esc(shown[:6000])}'
                  f'</pre><div class="hash">{esc(item.name)} · SHA-256 {item.sha256}</div></div>')
        return item

    def observation(self, data: dict, caption: str, *, manual: bool = False) -> EvidenceItem:
        """What the toolkit read on a screen or in a document, kept as JSON beside the capture."""
        raw = json.dumps(data, ensure_ascii=False, indent=2).encode()
        return self._write(self._name(caption, "json"), raw, kind="observation", caption=caption, text=True,
                           manual=manual)

    def attach(self, source: Path | bytes, caption: str, *, name: str | None = None, manual: bool = False,
               show: bool = True) -> EvidenceItem:
        """Attach a file (document, CSV, operator-supplied evidence) as it is."""
        if isinstance(source, (str, Path)):
            src = Path(source)
            data, ext = src.read_bytes(), (src.suffix.lstrip(".") or "bin")
        else:
            data, ext = source, (Path(name).suffix.lstrip(".") if name else "bin")
        textual = ext.lower() in {"txt", "csv", "json", "xml", "eml", "html", "htm", "har", "log", "yaml", "yml"}
        item = self._write(self._name(Path(name).stem if name else caption, ext), data, kind="attachment",
                           caption=caption,
                           text=textual, manual=manual)
        if not show:
            return item
        self.show(f'<div class="segur-card"><h4>Pièce jointe — {esc(item.caption)}</h4>'
                  f'<div class="hash">{esc(item.name)} ({item.size} octets) · SHA-256 {item.sha256}</div></div>')
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
                  f'<th>Observé</th><th style="width:9%">Résultat</th></tr><tr><td>{esc(c.label)}</td>'
                  f'<td>{esc(c.expected)}</td><td>{esc(c.observed)}</td><td class="{cls}">{c.result}</td></tr>'
                  f'</table></div>')
        return c.passed

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"evidence": [asdict(i) for i in self.items],
                "checks": [asdict(c) | {"result": c.result} for c in self.checks]}
