"""Guided proofs: any requirement of the imported REM, proved from its REM text, element by element.

A guided proof follows the REM's own scenario and proof elements (``<req>.NN`` and ``<req>.NN.NN``, as
imported; a Squash export carries none, so the elements the campaign declares are numbered
``<req>.01.NN`` and the cover says where the numbering comes from). Each element is captured in the way
the campaign declares (:mod:`segur_helpers.guided_spec`): **live** through the driver's browser session
of the role named (the element outlined in red, optional clicks before), a **file** the team supplies
(kept, hashed and shown: a PDF's first pages rendered), or an **attestation** (text, signatory, date);
and carries the operator's **decision** (conforme / non conforme, with a comment). The proof is
CONFORME only when every element has its evidence and a positive decision: a missing element, an
element without decision, a live capture whose element is not on the screen or lacks the expected
text, or a negative decision is a failed check, named with its ``<req>.NN.NN``.

The same cover, numbering, evidence hashes and annex as any proof (it *is* a :class:`~segur_helpers.proof.Proof`),
so the summary and the bundle take it as they take the others.

Two ways to run it:

- in JupyterLab, ``notebooks/REM_GUIDEE.ipynb`` walks the operator element by element against the live
  target: capture, look, decide (a missing element or decision is asked inline);
- in a batch, :func:`produce` makes it in the ``segur run`` process itself, as justifications are:
  no kernel, no notebook execution; it writes the same proof folder (``result.json``, ``evidence/``) and
  a ``notebook.ipynb`` record, one ``## Preuve k`` section per element, from which the PDF and the
  bundle's element files are printed like any other proof's.
"""
from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from . import catalog
from .clock import now_paris
from .drivers.base import MailMessage, View
from .errors import UserError
from .evidence import DISPLAY_SINK, esc, hash_line, names_inside
from .guided_spec import ANONYMOUS, MODE_FR, ElementSpec, GuidedSpec, confined, normalise_decision
from .ids import normalize_requirement_id
from .params import Campaign, Secrets, load_campaign
from .proof import Proof, check_reachable, proof_folder

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}
TEXT_TYPES = {".txt", ".log", ".csv", ".json", ".xml", ".yaml", ".yml", ".md", ".conf", ".ini"}
TEXT_PREVIEW = 4000
OPEN_SOURCE = ("from segur_helpers.guided import open_guided\n"
               "guide = await open_guided(campaign, requirement, run_dir=run_dir, run_id=run_id)")


def short(text: str, n: int = 110) -> str:
    """The first sentence of an element's text, at most ``n`` characters (headings, captions)."""
    one = " ".join(str(text).split())
    cut = one.split(". ")[0].rstrip(".")
    return cut if len(cut) <= n else cut[:n].rsplit(" ", 1)[0] + " …"


def numbering_source(spec: GuidedSpec, rem) -> str:
    """Where the elements' numbers and texts come from (French, on the cover)."""
    if spec.rem_numbered:
        return ""
    layout = {"squash": "export Squash", "squash-update": "feuille de mise à jour Squash"}.get(
        getattr(rem, "layout", ""), "REM importé")
    return (f"éléments de preuve déclarés par la campagne ({Path(spec.declared_in).name}) ; le REM importé "
            f"({layout}) ne porte ni scénario ni éléments de preuve pour cette exigence : numérotation "
            f"{spec.scenario_id}.NN établie par segur-proofs")


class GuidedProof(Proof):
    """A proof whose steps are the REM's proof elements (step k = element k)."""

    def __init__(self, campaign: Campaign, requirement: catalog.Requirement, scenario: catalog.Scenario,
                 proof_dir: Path, run_id: str, secrets: Secrets, spec: GuidedSpec):
        super().__init__(campaign, requirement, scenario, proof_dir, run_id, secrets)
        self.spec = spec
        self.by_number = {e.number: e for e in spec.elements}
        self._anonymous = None
        self._own_contexts: list = []
        self._driver_browser = None

    # -- what the cover says -------------------------------------------------------------------
    def cover(self) -> dict[str, Any]:
        c = super().cover()
        rem = self.campaign.rem()
        if not self.spec.rem_numbered:
            c["expected_source"] = numbering_source(self.spec, rem)
            c["scenario_text"] = self.spec.scenario_title
            c["scenario_source"] = (f"titre donné par la campagne ({Path(self.spec.declared_in).name}), le REM "
                                    "importé n'en donnant pas")
        c["guided"] = {
            "declared_in": Path(self.spec.declared_in).name, "numbering": "rem" if self.spec.rem_numbered else
            "campaign", "elements": [{"id": e.id, "text": e.text, "mode": e.mode, "decision": e.decision,
                                      "comment": e.comment} for e in self.spec.elements]}
        return c

    def manual_step(self, number: int) -> bool:
        """In JupyterLab an element waits for the operator (no step timeout)."""
        return self.interactive

    # -- sessions ------------------------------------------------------------------------------
    async def session(self, role: str):
        if role == ANONYMOUS:
            if self._anonymous is None:
                context = await self.driver.new_context()
                self._own_contexts.append(context)
                self._anonymous = await context.new_page()
            return self._anonymous
        return await self.driver.session_page(role)

    # -- the elements --------------------------------------------------------------------------
    async def element(self, number: int):
        """Capture, show and decide proof element ``number`` (step ``number`` of the proof)."""
        el = self.by_number[number]
        title = f"{el.id} — {MODE_FR[el.mode]}"
        return await self.run_step(number, title, GuidedProof._element_step, el)

    async def walk(self) -> None:
        """JupyterLab: every element in turn, each under its heading."""
        for el in self.spec.elements:
            self.recorder.show(f'<h2>Preuve {el.number} — {esc(short(el.text, 70))}</h2>')
            await self.element(el.number)

    async def _element_step(self, el: ElementSpec) -> None:
        rec = self.recorder
        source = "libellé du REM importé" if el.text_source == "rem" else "texte déclaré par la campagne"
        rec.show(f'<div class="segur-card segur-guided"><h4>Élément de preuve {esc(el.id)}</h4>'
                 f'<p>{esc(el.text)}</p><p class="source">Source : {source} — mode de preuve : '
                 f'{esc(MODE_FR[el.mode])}</p></div>')
        if not el.mode and self.interactive:
            await asyncio.to_thread(self._ask_evidence, el)
        if el.mode == "live":
            await self._live(el)
        elif el.mode == "file":
            await self._file(el)
        elif el.mode == "attestation":
            self._attestation(el)
        else:
            rec.show(f'<div class="segur-card segur-error"><h4>Élément de preuve manquant — {esc(el.id)}</h4>'
                     f'<p>La campagne ne donne pour cet élément ni capture, ni fichier, ni attestation : la preuve '
                     f'ne peut pas être conforme.</p></div>')
            rec.check(f"{el.id} — élément de preuve manquant", expected="une capture, un fichier ou une attestation",
                      observed="aucun élément fourni", passed=False, show=False)
        if el.decision is None and self.interactive and el.mode:
            await asyncio.to_thread(self._ask_decision, el)
        self._decision(el)

    async def _live(self, el: ElementSpec) -> None:
        live = el.live
        page = await self.session(live["role"])
        await page.goto(live["url"], wait_until="load")
        for selector in live["click"]:
            await page.click(selector)
            await page.wait_for_load_state("load")
        view = View(page=page, highlight=live["outline"], observed="", url=page.url)
        caption = live["caption"] or el.caption or f"{el.id} — {short(el.text, 80)}"
        item = await self.recorder.screenshot(view, caption, names=live["expect"] or None)
        where = self.secrets.redact(page.url)
        self.recorder.check(
            f"{el.id} — élément encadré affiché",
            expected=f"l'élément « {live['outline']} » affiché à l'adresse {live['path']} (session : {live['role']})",
            observed=(f"affiché à {where} : « {short(item.outlined_text, 160) or '(sans texte)'} »" if item.outlined
                      else f"absent de la page {where}"),
            passed=item.outlined, evidence=[item], show=False)
        if live["expect"]:
            missing = names_inside(item)
            self.recorder.check(
                f"{el.id} — texte attendu dans l'élément encadré",
                expected=", ".join(f"« {t} »" for t in live["expect"]),
                observed=("présent" if not missing else "absent : " + ", ".join(f"« {t} »" for t in missing)),
                passed=not missing, evidence=[item], show=False)

    async def _file(self, el: ElementSpec) -> None:
        rec, path = self.recorder, el.file
        caption = el.caption or f"{el.id} — {path.name}"
        suffix = path.suffix.lower()
        if suffix == ".eml":
            item = rec.email(MailMessage(path.read_bytes(), key=f"guided:{path.name}"), caption, manual=True)
        else:
            item = rec.attach(path, caption, manual=True, show=False)
            preview = await asyncio.to_thread(_preview, path, el.pages, caption)
            rec.show(f'<div class="segur-card segur-manual"><h4>Fourni par l\'opérateur — {esc(item.caption)}</h4>'
                     f'<p>Fichier « {esc(el.file_label or path.name)} », conservé tel quel sous evidence/.</p>'
                     f'{preview}{hash_line(item.name, item.sha256, f"{item.size} octets")}</div>')
        rec.check(f"{el.id} — fichier fourni", expected="le fichier déclaré, conservé et haché",
                  observed=f"{path.name}, {item.size} octets, SHA-256 {item.sha256}", passed=item.size > 0,
                  evidence=[item], show=False)

    def _attestation(self, el: ElementSpec) -> None:
        att = el.attestation
        sig = att["signatory"]
        item = self.recorder.observation({"element": el.id, **att}, f"Attestation — {el.id}", manual=True)
        who = f"{sig['name']}" + (f", {sig['role']}" if sig.get("role") else "")
        from .justify import fr_date
        self.recorder.show(
            f'<div class="segur-card segur-manual"><h4>Attestation — {esc(el.id)}</h4>'
            f'<blockquote>{"<br>".join(esc(x) for x in att["text"].splitlines())}</blockquote>'
            f'<table><tr><th style="width:24%">Signataire</th><td>{esc(who)}</td></tr>'
            f'<tr><th>Date</th><td>{esc(fr_date(att["date"]))}</td></tr></table>'
            f'{hash_line(item.name, item.sha256, "attestation, JSON")}</div>')
        self.recorder.check(f"{el.id} — attestation signée", expected="un texte, un signataire et une date",
                            observed=f"signée par {who} le {att['date']}", passed=True, evidence=[item], show=False)

    def _decision(self, el: ElementSpec) -> None:
        if el.decision is None:
            shown, cls = "aucune décision de l'opérateur", "segur-fail"
        else:
            shown, cls = el.decision.upper() + (f" — {el.comment}" if el.comment else ""), (
                "segur-pass" if el.decision == "conforme" else "segur-fail")
        self.recorder.show(f'<div class="segur-card segur-decision"><h4>Décision de l\'opérateur — {esc(el.id)}</h4>'
                           f'<p class="{cls}">{esc(shown)}</p><p>Opérateur : {esc(self.campaign.operator)}</p></div>')
        self.recorder.check(f"{el.id} — décision de l'opérateur", expected="conforme",
                            observed=self.secrets.redact(shown), passed=el.decision == "conforme", show=False)
        from .report import checks_table
        from dataclasses import asdict
        mine = [asdict(c) | {"result": c.result} for c in self.recorder.checks if c.step == el.number]
        self.recorder.show(f'<div class="segur-card"><h4>Vérifications de {esc(el.id)}</h4>{checks_table(mine)}</div>')

    # -- JupyterLab: asked inline --------------------------------------------------------------
    def _ask_evidence(self, el: ElementSpec) -> None:
        answer = input(f"{el.id} — chemin du fichier de preuve (relatif au fichier de campagne), « a » pour une "
                       "attestation, vide pour le laisser manquant : ").strip()
        if answer.lower() == "a":
            text = input(f"{el.id} — texte de l'attestation : ").strip()
            name = input(f"{el.id} — signataire (nom) : ").strip()
            role = input(f"{el.id} — signataire (fonction) : ").strip()
            if text and name:
                el.mode, el.attestation = "attestation", {"text": text, "signatory": {"name": name, "role": role},
                                                          "date": now_paris().date().isoformat()}
        elif answer:
            path = confined(self.campaign.base_dir, answer, self.campaign.allowed_dirs)
            if path is None or not path.is_file():
                raise UserError(f"{el.id}: {answer!r} is not a file under the campaign's folder "
                                f"{self.campaign.base_dir}; expected the file the team supplies")
            el.mode, el.file, el.file_label = "file", path, answer

    def _ask_decision(self, el: ElementSpec) -> None:
        for _ in range(3):
            decision = normalise_decision(input(f"{el.id} — décision (conforme / non conforme) : "))
            if decision:
                el.decision = decision
                el.comment = " ".join(input(f"{el.id} — commentaire : ").split())
                return

    async def close(self) -> None:
        for context in self._own_contexts:
            try:
                await context.close()
            except Exception:  # noqa: BLE001
                pass
        self._own_contexts.clear()
        await super().close()


def _preview(path: Path, pages: int, caption: str) -> str:
    """What a supplied file looks like on the proof: an image shown, a PDF's first pages rendered, a text
    extract reproduced, another document named."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_TYPES:
        b64 = base64.b64encode(path.read_bytes()).decode()
        if suffix == ".png":
            return f'<img class="shot" src="data:image/png;base64,{b64}" alt="{esc(caption)}">'
        return f'<img src="data:{IMAGE_TYPES[suffix]};base64,{b64}" alt="{esc(caption)}" style="max-width:100%">'
    if suffix == ".pdf":
        return _pdf_pages(path, pages, caption)
    if suffix in TEXT_TYPES:
        text = path.read_bytes().decode("utf-8", errors="replace")
        cut = len(text) > TEXT_PREVIEW
        return (f"<pre>{esc(text[:TEXT_PREVIEW])}{' …' if cut else ''}</pre>"
                + (f"<p>(extrait : les {TEXT_PREVIEW} premiers caractères ; le fichier entier est conservé)</p>"
                   if cut else ""))
    return (f"<p>Document « {esc(path.name)} » ({esc(suffix.lstrip('.').upper() or 'sans extension')}), conservé "
            f"tel quel ; il n'est pas reproduit ici.</p>")


def _pdf_pages(path: Path, pages: int, caption: str) -> str:
    tool = shutil.which("pdftoppm")
    if tool is None:
        return "<p>Document PDF conservé tel quel (aperçu indisponible : pdftoppm absent de la machine).</p>"
    with tempfile.TemporaryDirectory(prefix="segur-pdf-") as tmp:
        done = subprocess.run([tool, "-r", "60", "-png", "-f", "1", "-l", str(pages), str(path), f"{tmp}/p"],
                              capture_output=True, timeout=60)
        images = sorted(Path(tmp).glob("p*.png"))
        if done.returncode != 0 or not images:
            return "<p>Document PDF conservé tel quel (aperçu impossible : le fichier n'a pas pu être lu).</p>"
        shown = "".join(f'<img class="shot" src="data:image/png;base64,{base64.b64encode(i.read_bytes()).decode()}"'
                        f' alt="{esc(caption)} — page {n}">' for n, i in enumerate(images, 1))
    return f"<p>Premières pages du document ({len(images)} affichée(s) sur le fichier conservé) :</p>{shown}"


async def open_guided(campaign: str | Path | Campaign, requirement: str, *, run_dir: str | Path = "",
                      run_id: str = "", browser=None) -> GuidedProof:
    """Open a guided proof: the campaign's declaration read, the cover and the REM's text shown; the
    browser and the driver started only when an element is captured live."""
    from . import dossier
    from .drivers import DriverContext, load_driver_class
    from .report import cover_card

    if not run_dir and os.environ.get("SEGUR_CAMPAIGN"):  # `segur lab PARAMS` chose the campaign
        campaign = os.environ["SEGUR_CAMPAIGN"]
    camp = campaign if isinstance(campaign, Campaign) else load_campaign(campaign)
    rid = normalize_requirement_id(requirement)
    entry = camp.requirements.get(rid)
    spec = entry.get("guided") if entry else None
    if spec is None:
        guided = [r for r, e in camp.requirements.items() if e.get("guided") is not None]
        raise UserError(f"no guided proof for {requirement!r} in the campaign; expected one of "
                        f"{', '.join(guided) or '(none: declare guided: under a requirement)'}",
                        file=str(camp.path), key="requirements")
    rem = camp.rem()
    req = dossier.requirement_for(rid, rem, spec)
    scen = req.scenarios[0]
    interactive = not run_dir
    proof_dir, run_id = proof_folder(camp.name, scen.id, run_dir, run_id)
    proof = GuidedProof(camp, req, scen, proof_dir, run_id, Secrets(), spec)
    proof.interactive = interactive
    proof.recorder.show(cover_card(proof.cover()), tags=("segur-live",))
    proof.recorder.show(rem_card(proof.cover(), spec), tags=("segur-live",))
    proof.recorder.current_step = 0
    if any(e.mode == "live" for e in spec.elements):
        try:
            await asyncio.to_thread(check_reachable, camp.target_url)
            if browser is None:
                from .shared_browser import connect_shared, shared_endpoint
                if shared_endpoint():
                    proof._browser = await connect_shared()
                    proof._shared_contexts = set(proof._browser.contexts)
                else:
                    from playwright.async_api import async_playwright

                    from .browser import launch
                    proof._pw = await async_playwright().start()
                    proof._browser = await launch(proof._pw)
                browser = proof._browser
            driver_cls = load_driver_class(camp.driver, file=str(camp.path))
            proof.driver = driver_cls(DriverContext(campaign=camp, secrets=proof.secrets, browser=browser,
                                                    settings=camp.section("driver_settings")))
            await asyncio.wait_for(proof.driver.start(), timeout=camp.timeouts["step_s"])
        except Exception as exc:  # noqa: BLE001 — the proof says ERREUR with the cause
            proof.fail(0, exc)
    return proof


def rem_card(c: dict, spec: GuidedSpec) -> str:
    """JupyterLab: the requirement as imported and what each element will be (the PDF's cover says the same)."""
    from .export import text_html
    rows = "".join(f"<tr><td><b>{esc(e.id)}</b></td><td>{esc(e.text)}</td><td>{esc(MODE_FR[e.mode])}</td>"
                   f"<td>{esc(e.decision or '— à décider')}</td></tr>" for e in spec.elements)
    condition = (f"<p><b>Condition d'applicabilité</b> : {text_html(c['condition'])}</p>" if c.get("condition") else "")
    return (f'<div class="segur-card"><h4>{esc(c["requirement"])} — énoncé et scénario</h4>'
            f'<p>{text_html(c["summary"])}</p><p class="source">Source : {esc(c["wording_source"])}</p>{condition}'
            f'<p><b>Scénario {esc(c["scenario"])}</b> : {text_html(c.get("scenario_text") or c["scenario_title"])}</p>'
            f'<table><tr><th>Élément</th><th>Ce qu\'il montre</th><th>Mode</th><th>Décision</th></tr>{rows}</table>'
            f'<p class="source">{esc(c.get("expected_source") or "")}</p></div>')


# -- the batch: the proof made in the segur run process, recorded as a notebook ---------------------------

def _md(source: str, **meta):
    import nbformat
    return nbformat.v4.new_markdown_cell(source, metadata=meta)


def _code(source: str, outputs: list, **meta):
    import nbformat
    cell = nbformat.v4.new_code_cell(source, metadata=meta)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def intro_markdown(rid: str) -> str:
    return (f"# {rid} — preuve guidée\n\n"
            "Preuve guidée par le texte du REM importé : l'énoncé officiel, la condition et le scénario de "
            "conformité, puis chaque élément de preuve attendu, recueilli comme la campagne le déclare (capture "
            "en direct de l'écran de la cible, fichier fourni par l'équipe, ou attestation) et décidé par "
            "l'opérateur (conforme ou non conforme). La preuve n'est conforme que si chaque élément a sa preuve "
            "et une décision positive.")


async def produce(campaign: Campaign, requirement_id: str, proof_dir: Path, run_id: str, browser) -> dict:
    """Make a guided proof in this process (the batch), in ``proof_dir``: ``result.json``, ``evidence/`` and
    ``notebook.ipynb`` (the record, read by the PDF export and the bundle). Returns the result."""
    import nbformat

    outputs: list[dict] = []
    cells = []

    def take(source: str) -> None:
        cells.append(_code(source, list(outputs)))
        outputs.clear()

    token = DISPLAY_SINK.set(outputs)
    try:
        guide = await open_guided(campaign, requirement_id, run_dir=proof_dir, run_id=run_id, browser=browser)
        take(OPEN_SOURCE)
        for el in guide.spec.elements:
            cells.append(_md(f"## Preuve {el.number} — {short(el.text, 70)}"))
            await guide.element(el.number)
            take(f"await guide.element({el.number})")
        cells.append(_md("## Verdict"))
        await guide.close()
        take("await guide.close()")
    finally:
        DISPLAY_SINK.reset(token)
    params = {"campaign": str(campaign.path), "requirement": guide.requirement.id, "run_dir": str(proof_dir),
              "run_id": run_id}
    head = [
        _code('campaign = "../params/demo-dossier.yaml"\nrequirement = ""\nrun_dir = ""\nrun_id = ""', [],
              tags=["parameters"]),
        _code("# Parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items()), [],
              tags=["injected-parameters"]),
        _md(intro_markdown(guide.requirement.id)),
    ]
    nb = nbformat.v4.new_notebook(cells=head + cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "segur": {"made_by": "segur_helpers.guided.produce (no kernel)", "notebook": "REM_GUIDEE.ipynb"}})
    await asyncio.to_thread(nbformat.write, nb, str(proof_dir / "notebook.ipynb"))
    return guide.result
