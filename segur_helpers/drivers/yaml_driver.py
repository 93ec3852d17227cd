"""The no-code web driver: a YAML map that says, for each capability action, which steps to run.

For products a browser can drive, a vendor writes no Python: the campaign says ``driver:
yaml:my-product-map.yaml`` (path relative to the params file) and the map gives, for each action a
scenario needs, the steps to run in order (the language is in :mod:`.yaml_language` and taught in
``docs/drivers.md``) and what the action returns. ``segur driver check`` reports the actions a
requirement needs that the map does not give, and runs each mapped action's first steps that change
nothing on the target.

A map (``params/demo-dpi-map.yaml`` is the demo DPI's classic screens, ``params/demo-spa-map.yaml`` its
single-page application)::

    settings: {timeout_s: 10}          # each step's wait (default 10 s)
    login:                             # how the administrator's session logs in (once)
      - goto: /login
      - fill: {"#username": "{params:target.admin.username}", "#password": "{secret:target.admin.password}"}
      - click: "#login-submit"
      - wait: {url: "/accounts"}
    accounts:
      create:
        as: admin                      # the session: admin (logged in), any other name = a browser of its own
        steps:
          - goto: /accounts/new
          - fill: {"#nom": "{nom}", "#prenom": "{prenom}", "#rpps": "{rpps}", "#email": "{email}"}
          - select: {"#profession": "{profession}"}
          - click: "#create-account"
          - extract: {from: "{url}", pattern: '/accounts/(\\d+)$', as: id}
        result: {id: "{id}"}
        error: .flash.error            # its text is added to the message when a step fails

What each action receives (its inputs, usable as ``{name}``) and what its ``result`` may say:

| capability.action | inputs | result |
|---|---|---|
| ``accounts.create`` | the professional: ``nom``, ``prenom``, ``profession``, ``rpps``, ``email`` | ``id`` (required), ``email``, ``label`` |
| ``accounts.show`` | the account: ``id``, ``email``, ``label`` | ``highlight``, ``observed``, ``email_pending`` |
| ``accounts.extract_verification`` | (the message's text) | no steps: ``link`` and/or ``code``, regular expressions |
| ``accounts.verify`` | the account, ``code``, ``link`` | ``highlight``, ``observed``, ``accepted`` |
| ``contact_changes.show`` | the account | ``highlight``, ``observed``, ``active_email``, ``active_verified``, ``pending_email`` |
| ``contact_changes.request_change`` | the account, ``new_email`` | as ``show`` |
| ``contact_changes.extract_verification``, ``verify`` | as for ``accounts`` | as for ``accounts`` |
| ``account_review.export`` | — | ``highlight``, ``observed``, ``extract`` (a ``download`` kept) |
| ``account_review.request_extract`` | the requester: ``name``, ``email``, ``reason`` | ``highlight``, ``observed``, ``reference`` |
| ``account_review.receive_extract`` | ``reference``, the requester | no steps: ``mail: {to, subject_contains}``, ``attachment`` (regex on its file name) |
| ``account_review.account_count`` | — | ``highlight``, ``observed``, ``count`` |
| ``account_review.documentation`` | ``how`` (``export`` or ``request``) | ``highlight``, ``observed`` |
| ``account_review.to_frame`` | (the extract) | no steps: ``format: csv``, ``separator``, ``encoding``, ``columns`` |
| ``documents.open_new`` | the document: ``patient`` (INS), ``type``, ``title``, ``content``, ``author.nom``, ``author.prenom``, ``author.rpps`` | ``highlight``, ``observed``, ``send_to_dmp`` |
| ``documents.save`` | the same document (the form ``open_new`` left on the page) | ``id`` (required), ``patient``, ``title``, ``type``, ``unique_id`` |
| ``documents.show`` | the document: ``id``, ``patient``, ``title``, ``type``, ``unique_id``; ``focus`` (``status`` or ``dmp``) | ``highlight``, ``observed``, ``status``, ``validated``, ``can_validate``, ``dmp_state``, ``dmp_text`` |
| ``documents.validate``, ``cancel_dmp_send`` | the document | as ``show`` |
| ``documents.send_mss`` | the document, ``to`` | as ``show`` |
| ``documents.fetch_cda`` | the document | ``cda`` (required: a ``download`` kept) |
| ``documents.documentation_entry`` | — | ``highlight``, ``observed`` |

``highlight`` is the selector of the element a reviewer looks at (outlined on the screenshot); ``observed``
defaults to its text. A true/false result is ``{value: TEMPLATE, matches: REGEX}`` (or ``true``/``false``).
``dmp_state`` is one of ``none``, ``requested``, ``scheduled``, ``queued``, ``sent``, ``cancelled``, ``failed``
(a ``set: {switch: …}`` maps the product's own states to these). The mailbox and the SMS store are the
params' ``mailbox:`` and ``sms:`` sections, as for every driver.

What needs a Python driver: ``documents.open_documentation`` (the documentation's stages and actors,
read as a list of sections) and the capabilities not listed. Patients, DMP links and the others return
readings of whole screens (counts per document type, lists of DMP identifiers, a map of local copies)
or talk to services other than the browser, which a map of selectors does not express well; ``segur
driver check`` names each such method "no YAML adapter" or "no … capability".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from .account_review import AccountReview, CountView, Extract, RequestView
from .base import AccountRef, Accounts, AccountView, Driver, MailMessage, Verification, VerificationView, View
from .contact import ContactChanges, ContactView
from .documents import DocumentFormView, DocumentRef, Documents, DocumentView
from .mailboxes import mailbox_from_params
from .sms import sms_from_params
from .yaml_language import MapStepError, NeedsValue, Runner, first_selector, validate_steps

PREFIX = "yaml:"
DEFAULT_TIMEOUT_S = 10.0
VIEW = {"highlight": "selector", "observed": "text"}


@dataclass(frozen=True)
class Method:
    """How a capability method is written in a map: ``steps`` (with these result fields), ``message``
    (regular expressions on a received message), ``mail`` (a message to wait for) or ``frame`` (columns)."""

    kind: str = "steps"
    result: dict[str, str] = field(default_factory=dict)     # field → selector | text | bool | int | object
    required: tuple[str, ...] = ()


VERIFY = Method(result=VIEW | {"accepted": "bool"})
CONTACT = Method(result=VIEW | {"active_email": "text", "active_verified": "bool", "pending_email": "text"})
DOCUMENT = Method(result=VIEW | {"status": "text", "validated": "bool", "can_validate": "bool", "dmp_state": "text",
                                 "dmp_text": "text"})
ADAPTED: dict[str, dict[str, Method]] = {
    "accounts": {
        "create": Method(result={"id": "text", "email": "text", "label": "text"}, required=("id",)),
        "show": Method(result=VIEW | {"email_pending": "bool"}),
        "extract_verification": Method("message"),
        "verify": VERIFY,
    },
    "contact_changes": {
        "show": CONTACT,
        "request_change": CONTACT,
        "extract_verification": Method("message"),
        "verify": VERIFY,
    },
    "account_review": {
        "export": Method(result=VIEW | {"extract": "object"}),
        "request_extract": Method(result=VIEW | {"reference": "text"}),
        "receive_extract": Method("mail"),
        "account_count": Method(result=VIEW | {"count": "int"}),
        "documentation": Method(result=VIEW),
        "to_frame": Method("frame"),
    },
    "documents": {
        "open_new": Method(result=VIEW | {"send_to_dmp": "bool"}),
        "save": Method(result={"id": "text", "patient": "text", "title": "text", "type": "text",
                               "unique_id": "text"}, required=("id",)),
        "show": DOCUMENT,
        "validate": DOCUMENT,
        "cancel_dmp_send": DOCUMENT,
        "fetch_cda": Method(result={"cda": "object"}, required=("cda",)),
        "send_mss": DOCUMENT,
        "documentation_entry": Method(result=VIEW),
    },
}
# methods of a capability that no map can give (their results are whole-screen readings): Python only
PYTHON_ONLY = {"documents": {"open_documentation": "the documentation's stages and actors"}}
DMP_STATES = ("none", "requested", "scheduled", "queued", "sent", "cancelled", "failed")
FRAME_COLUMNS = ("identifiant", "nom", "prenom", "email", "rpps", "profession", "actif", "roles", "privilegie",
                 "derniere_connexion")
# inputs the check may give an action whose steps need them from the start (every value its callers use)
PROBE_INPUTS = {("account_review", "documentation"): [{"how": "export"}, {"how": "request"}]}
V1_KEYS = {"url", "fill", "select", "click", "read", "id_from_url", "pending_if", "accepted_if", "wait_for"}


def map_path(spec: str, params_file: str | Path | None) -> Path:
    raw = Path(spec[len(PREFIX):]).expanduser()
    if raw.is_absolute() or params_file is None:
        return raw
    return (Path(params_file).resolve().parent / raw).resolve()


def _check_result(node: Any, method: Method, file: str, key: str) -> None:
    if node is None:
        node = {}
    if not isinstance(node, dict):
        raise UserError("expected a mapping of result fields", file=file, key=key)
    for name, value in node.items():
        kind = method.result.get(name)
        if kind is None:
            raise UserError(f"unknown result field; expected one of {', '.join(method.result)}", file=file,
                            key=f"{key}.{name}")
        if kind == "bool" and not isinstance(value, bool):
            if not (isinstance(value, dict) and set(value) == {"value", "matches"}):
                raise UserError("expected true, false or {value: TEMPLATE, matches: REGEX}", file=file,
                                key=f"{key}.{name}")
            try:
                re.compile(str(value["matches"]))
            except re.error as exc:
                raise UserError(f"invalid regular expression ({exc})", file=file, key=f"{key}.{name}.matches") from None
        elif kind != "bool" and not isinstance(value, (str, int)):
            raise UserError("expected a template (text)", file=file, key=f"{key}.{name}")
    for name in method.required:
        if name not in node:
            raise UserError(f"missing result field {name}", file=file, key=key)


def _check_action(node: Any, method: Method, file: str, key: str) -> None:
    if not isinstance(node, dict):
        raise UserError("expected a mapping (as, steps, result …)", file=file, key=key)
    if method.kind == "steps":
        old = sorted(V1_KEYS & set(node))
        if old:
            raise UserError(f"{', '.join(old)}: keys of the former map format; expected steps: [goto, fill, "
                            "click …] and result: {…} (see docs/drivers.md)", file=file, key=key)
        for k in node:
            if k not in ("as", "steps", "result", "error"):
                raise UserError("unknown key; expected as, steps, result, error", file=file, key=f"{key}.{k}")
        if "as" in node and not (isinstance(node["as"], str) and node["as"]):
            raise UserError("expected a session name (admin, or another for a separate browser)", file=file,
                            key=f"{key}.as")
        validate_steps(node.get("steps"), file, f"{key}.steps")
        _check_result(node.get("result"), method, file, f"{key}.result")
    elif method.kind == "message":
        for k, v in node.items():
            if k not in ("link", "code"):
                raise UserError("unknown key; expected link, code (regular expressions on the message)", file=file,
                                key=f"{key}.{k}")
            try:
                re.compile(str(v))
            except re.error as exc:
                raise UserError(f"invalid regular expression ({exc})", file=file, key=f"{key}.{k}") from None
        if not node:
            raise UserError("expected link and/or code", file=file, key=key)
    elif method.kind == "mail":
        for k in node:
            if k not in ("mail", "attachment"):
                raise UserError("unknown key; expected mail, attachment", file=file, key=f"{key}.{k}")
        mail = node.get("mail")
        if not isinstance(mail, dict) or "to" not in mail or set(mail) - {"to", "subject_contains"}:
            raise UserError("expected mail: {to: TEMPLATE, subject_contains: TEMPLATE}", file=file, key=f"{key}.mail")
        try:
            re.compile(str(node.get("attachment", r"\.csv$")))
        except re.error as exc:
            raise UserError(f"invalid regular expression ({exc})", file=file, key=f"{key}.attachment") from None
    elif method.kind == "frame":
        for k in node:
            if k not in ("format", "separator", "encoding", "columns"):
                raise UserError("unknown key; expected format, separator, encoding, columns", file=file,
                                key=f"{key}.{k}")
        if node.get("format", "csv") != "csv":
            raise UserError("expected csv", file=file, key=f"{key}.format")
        columns = node.get("columns")
        if not isinstance(columns, dict) or not columns:
            raise UserError(f"expected a mapping of standard columns ({', '.join(FRAME_COLUMNS)}) → the file's "
                            "column", file=file, key=f"{key}.columns")
        for col, src in columns.items():
            if col not in FRAME_COLUMNS:
                raise UserError(f"unknown standard column; expected one of {', '.join(FRAME_COLUMNS)}", file=file,
                                key=f"{key}.columns.{col}")
            if isinstance(src, dict):
                if "column" not in src or set(src) - {"column", "true_if", "split", "dayfirst"}:
                    raise UserError("expected {column: NAME} with true_if, split or dayfirst", file=file,
                                    key=f"{key}.columns.{col}")
            elif not isinstance(src, str):
                raise UserError("expected the file's column title", file=file, key=f"{key}.columns.{col}")


def load_map(path: Path, *, params_file: str | None = None) -> dict[str, Any]:
    """Read and validate a driver map; one clear line (file, key, expected) when it is wrong."""
    shown = str(path)
    if not path.is_file():
        raise UserError(f"driver map {shown} not found; expected a YAML map of actions and their steps",
                        file=params_file, key="driver")
    from ..yamlsafe import load_yaml

    data = load_yaml(path, shown=shown, what="a driver map (YAML)")   # bounded, no duplicate key
    if not isinstance(data, dict):
        raise UserError("expected a mapping of capabilities (login, accounts …)", file=shown)
    for section, node in data.items():
        if section == "settings":
            if not isinstance(node, dict) or set(node) - {"timeout_s"}:
                raise UserError("expected {timeout_s: SECONDS}", file=shown, key="settings")
            t = node.get("timeout_s", DEFAULT_TIMEOUT_S)
            if isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0:
                raise UserError("expected a positive number of seconds", file=shown, key="settings.timeout_s")
        elif section == "login":
            if isinstance(node, dict) and V1_KEYS & set(node):
                raise UserError("keys of the former map format; expected a list of steps (see docs/drivers.md)",
                                file=shown, key="login")
            validate_steps(node, shown, "login")
        elif section in ADAPTED:
            if not isinstance(node, dict):
                raise UserError("expected a mapping of actions", file=shown, key=section)
            for action, spec in node.items():
                if action not in ADAPTED[section]:
                    raise UserError(f"unknown action; expected one of {', '.join(ADAPTED[section])}",
                                    file=shown, key=f"{section}.{action}")
                _check_action(spec, ADAPTED[section][action], shown, f"{section}.{action}")
        else:
            raise UserError(f"no YAML adapter for this capability; expected settings, login or one of "
                            f"{', '.join(ADAPTED)} (write a Python driver for the others)", file=shown, key=section)
    return data


def _first(m: re.Match) -> str:
    return m.group(1) if m.re.groups else m.group(0)


class YamlCapability:
    """What the map's capabilities share: running an action, building its result, the check's probe."""

    section = ""

    @property
    def spec(self) -> dict[str, Any]:
        return self.driver.map.get(self.section) or {}

    def unsupported(self) -> set[str]:
        return {a for a in ADAPTED[self.section] if a not in self.spec} | set(PYTHON_ONLY.get(self.section, ()))

    def unsupported_reason(self, method: str) -> str:
        if method in PYTHON_ONLY.get(self.section, {}):
            return f"no YAML adapter ({PYTHON_ONLY[self.section][method]}: a Python driver reads them)"
        return "not mapped"

    def python_only(self, name: str) -> RuntimeError:
        return RuntimeError(f"{self.driver.map_file.name}: {self.section}.{name}: "
                            f"{self.unsupported_reason(name)}; the driver map cannot give it")

    def action(self, name: str) -> dict[str, Any]:
        if name not in self.spec:
            raise RuntimeError(f"the driver map {self.driver.map_file.name} gives no {self.section}.{name}")
        return self.spec[name]

    async def run(self, name: str, inputs: dict[str, Any]) -> tuple[Any, Runner, dict[str, Any]]:
        """Run the action's steps; returns its page, the runner (values) and its evaluated result fields."""
        spec = self.action(name)
        page = await self.driver.session(spec.get("as", "admin"))
        runner = self.driver.runner(f"{self.section}.{name}", dict(inputs))
        try:
            await runner.run(page, spec["steps"])
            result = await self._result(runner, page, spec, name)
        except MapStepError as exc:
            if spec.get("error"):
                try:
                    texts = [t.strip() for t in await page.locator(runner.render(spec["error"])).all_inner_texts()
                             if t.strip()]
                except Exception:  # noqa: BLE001 — the page is gone or the selector needs a value: say the step
                    texts = []
                if texts:
                    exc.args = (f"{exc.args[0]} — the page says: {'; '.join(texts)[:300]}",)
            raise
        return page, runner, result

    async def _result(self, runner: Runner, page, spec: dict, action: str) -> dict[str, Any]:
        method = ADAPTED[self.section][action]
        fields = spec.get("result") or {}
        out: dict[str, Any] = {}
        for name, kind in method.result.items():
            template = fields.get(name)
            try:
                if kind == "bool":
                    if isinstance(template, dict):
                        out[name] = re.search(str(template["matches"]), runner.render(template["value"])) is not None
                    else:
                        out[name] = bool(template)
                elif template is None:
                    out[name] = None
                elif kind == "object":
                    out[name] = runner.render_value(template)
                elif kind == "int":
                    m = re.search(r"-?\d+", runner.render(template))
                    out[name] = int(m.group(0)) if m else None
                else:
                    out[name] = runner.render(template)
            except NeedsValue as exc:
                raise MapStepError(f"{self.driver.map_file.name}: {self.section}.{action}, result {name}: no value "
                                   f"for {{{exc.name}}} (neither an input of this action nor kept by a step)",
                                   where={"map": self.driver.map_file.name, "action": f"{self.section}.{action}",
                                          "step": "result", "kind": "result", "selector": ""}) from None
        if "observed" in method.result and out.get("observed") is None and out.get("highlight"):
            loc = page.locator(out["highlight"])
            out["observed"] = (await loc.first.inner_text()).strip() if await loc.count() else ""
        return out

    def view_args(self, page, result: dict[str, Any]) -> dict[str, Any]:
        return {"page": page, "highlight": result.get("highlight"), "observed": result.get("observed") or "",
                "url": page.url}

    async def smoke(self) -> str:
        """Log in, then run each mapped action's first steps that change nothing on the target (``goto``,
        ``wait``, ``read``, ``row``, ``extract``, ``set``), stopping at the first one that acts or needs a
        value only a run gives. Returns what was exercised; a failing step raises :class:`MapStepError`."""
        said = []
        for name, method in ADAPTED[self.section].items():
            spec = self.spec.get(name)
            if spec is None or method.kind != "steps":
                continue
            page = await self.driver.session(spec.get("as", "admin"))
            for inputs in PROBE_INPUTS.get((self.section, name), [{}]):
                runner = self.driver.runner(f"{self.section}.{name}", dict(inputs))
                label = name + "".join(f" ({v})" for v in inputs.values())
                try:
                    ran = await runner.run(page, spec["steps"], stop_before_unsafe=True)
                except NeedsValue as exc:
                    done = int(exc.step) - 1
                    said.append(f"{label}: {_ran(done) + ', ' if done else ''}step {exc.step} needs "
                                f"{{{exc.name}}}, given only by a run")
                    continue
                if ran:
                    said.append(f"{label}: {_ran(ran)}")
                else:
                    kind = next(iter(spec["steps"][0]))
                    said.append(f"{label}: not exercised (step 1 {kind} {first_selector(spec['steps'][0])!r} acts)")
        return "; ".join(said)


def _ran(n: int) -> str:
    return f"step{'s 1-' if n > 1 else ' '}{n} ran"


class _Verification:
    """``extract_verification`` and ``verify`` as accounts and contact changes share them."""

    def extract_verification(self, message: MailMessage) -> Verification:
        spec = self.action("extract_verification")
        text = message.text
        found = {k: (re.search(spec[k], text) if spec.get(k) else None) for k in ("code", "link")}
        return Verification(code=_first(found["code"]) if found["code"] else None,
                            link=_first(found["link"]) if found["link"] else None)

    async def verify(self, account, verification):
        page, _runner, r = await self.run("verify", vars(account) | {"code": verification.code,
                                                                     "link": verification.link})
        return VerificationView(**self.view_args(page, r), accepted=r["accepted"])


class YamlAccounts(YamlCapability, _Verification, Accounts):
    section = "accounts"

    async def create(self, professional):
        _page, _runner, r = await self.run("create", professional)
        label = r.get("label") or f"{professional.get('prenom', '')} {professional.get('nom', '')}".strip()
        return AccountRef(id=str(r["id"]), email=r.get("email") or str(professional.get("email", "")), label=label)

    async def show(self, account):
        page, _runner, r = await self.run("show", vars(account))
        return AccountView(**self.view_args(page, r), email_pending=r["email_pending"])


class YamlContactChanges(YamlCapability, _Verification, ContactChanges):
    section = "contact_changes"

    def _view(self, page, r) -> ContactView:
        return ContactView(**self.view_args(page, r), active_email=r.get("active_email") or "",
                           active_verified=r["active_verified"], pending_email=r.get("pending_email") or "")

    async def show(self, account):
        page, _runner, r = await self.run("show", vars(account))
        return self._view(page, r)

    async def request_change(self, account, new_email):
        page, _runner, r = await self.run("request_change", vars(account) | {"new_email": new_email})
        return self._view(page, r)


class YamlAccountReview(YamlCapability, AccountReview):
    section = "account_review"

    async def export(self):
        page, _runner, r = await self.run("export", {})
        got = r.get("extract")
        extract = None
        if isinstance(got, dict) and "data" in got:
            extract = Extract(data=got["data"], filename=got.get("filename") or "extraction.csv", how="export")
        return View(**self.view_args(page, r)), extract

    async def request_extract(self, requester):
        page, _runner, r = await self.run("request_extract", requester)
        return RequestView(**self.view_args(page, r), reference=r.get("reference") or "")

    async def receive_extract(self, request, requester, timeout):
        spec = self.action("receive_extract")
        runner = self.driver.runner("account_review.receive_extract", dict(requester) | {"reference": request.reference})
        try:
            to = runner.render(spec["mail"]["to"])
            subject = runner.render(spec["mail"]["subject_contains"]) if spec["mail"].get("subject_contains") else None
        except NeedsValue as exc:
            raise RuntimeError(f"{self.driver.map_file.name}: account_review.receive_extract: no value for "
                               f"{{{exc.name}}}") from None
        message = await self.driver.mailbox.wait_for(to, subject_contains=subject, timeout=timeout)
        if message is None:
            return None
        pattern = spec.get("attachment", r"\.csv$")
        for part in message.parsed.iter_attachments():
            if re.search(pattern, part.get_filename() or ""):
                return Extract(data=part.get_payload(decode=True), filename=part.get_filename(), how="request",
                               message=message, reference=request.reference)
        return Extract(data=b"", filename="", how="request", message=message, reference=request.reference)

    async def account_count(self):
        page, _runner, r = await self.run("account_count", {})
        return CountView(**self.view_args(page, r), count=r.get("count"))

    async def documentation(self, how):
        page, _runner, r = await self.run("documentation", {"how": how})
        return View(**self.view_args(page, r))

    def to_frame(self, extract):
        import io

        import pandas as pd

        spec = self.action("to_frame")
        df = pd.read_csv(io.BytesIO(extract.data), sep=spec.get("separator", ";"), dtype=str, keep_default_na=False,
                         encoding=spec.get("encoding", "utf-8"))
        df.columns = [str(c).strip() for c in df.columns]
        out = pd.DataFrame(index=df.index)
        for col, src in spec["columns"].items():
            conf = src if isinstance(src, dict) else {"column": src}
            name = str(conf["column"])
            if name not in df:
                continue          # the file lacks it: the standard column is absent, the proof says so
            values = df[name].str.strip()
            if col in ("actif", "privilegie"):
                pattern = re.compile(str(conf.get("true_if", r"(?i)^(oui|vrai|true|1|yes|actif|active)$")))
                out[col] = values.map(lambda v: bool(pattern.search(v)))
            elif col == "roles":
                sep = str(conf.get("split", ";"))
                out[col] = values.map(lambda v: [r.strip() for r in v.split(sep) if r.strip()])
            elif col == "derniere_connexion":
                out[col] = pd.to_datetime(values.replace("", None), utc=True, errors="coerce",
                                          dayfirst=bool(conf.get("dayfirst", False)))
            else:
                out[col] = values
        return out


class YamlDocuments(YamlCapability, Documents):
    """A physician's documents: write, save, validate, cancel a DMP send, download the CDA, send through
    MSSanté, the documentation's entry point. ``open_documentation`` (stages and actors read from a
    whole page) needs a Python driver."""

    section = "documents"

    def __init__(self, driver):
        super().__init__(driver)
        self._forms: dict[int, dict] = {}     # the document each open form was filled with, for save

    def _view(self, page, r) -> DocumentView:
        state = r.get("dmp_state") or "none"
        if state not in DMP_STATES:
            raise RuntimeError(f"{self.driver.map_file.name}: documents: dmp_state {state!r} is none of "
                               f"{', '.join(DMP_STATES)} (map the product's states with set: switch)")
        return DocumentView(**self.view_args(page, r), status=r.get("status") or "", validated=r["validated"],
                            can_validate=r["can_validate"], dmp_state=state, dmp_text=r.get("dmp_text") or "")

    async def open_new(self, document):
        page, _runner, r = await self.run("open_new", document)
        form = DocumentFormView(**self.view_args(page, r), send_to_dmp=r["send_to_dmp"])
        self._forms[id(form)] = dict(document)
        return form

    async def save(self, form):
        _page, _runner, r = await self.run("save", self._forms.pop(id(form), {}))
        return DocumentRef(id=str(r["id"]), patient=r.get("patient") or "", title=r.get("title") or "",
                           type=r.get("type") or "", unique_id=r.get("unique_id") or "")

    async def show(self, doc, focus="status"):
        page, _runner, r = await self.run("show", vars(doc) | {"focus": focus})
        return self._view(page, r)

    async def validate(self, doc):
        page, _runner, r = await self.run("validate", vars(doc))
        return self._view(page, r)

    async def cancel_dmp_send(self, doc):
        page, _runner, r = await self.run("cancel_dmp_send", vars(doc))
        return self._view(page, r)

    async def fetch_cda(self, doc):
        _page, _runner, r = await self.run("fetch_cda", vars(doc))
        got = r.get("cda")
        if isinstance(got, dict) and "data" in got:       # a download step's file
            return bytes(got["data"])
        return str(got or "").encode("utf-8")

    async def send_mss(self, doc, to):
        page, _runner, r = await self.run("send_mss", vars(doc) | {"to": to})
        return self._view(page, r)

    async def documentation_entry(self):
        page, _runner, r = await self.run("documentation_entry", {})
        return View(**self.view_args(page, r))

    async def open_documentation(self):
        raise self.python_only("open_documentation")


CAPABILITY_CLASSES = {"accounts": YamlAccounts, "contact_changes": YamlContactChanges,
                      "account_review": YamlAccountReview, "documents": YamlDocuments}


class YamlDriver(Driver):
    """A driver whose every action comes from the YAML map named by ``driver: yaml:PATH``."""

    name = "yaml"
    # guided proofs' live captures: the administrator's session (the map's login), signed in once
    session_roles = {"administrator": "l'administrateur, connecté par la section login de la carte"}

    async def session_page(self, role: str):
        if role == "administrator":
            return await self.session("admin")
        return await super().session_page(role)

    def __init__(self, ctx):
        super().__init__(ctx)
        camp = ctx.campaign
        self.map_file = map_path(camp.driver, camp.path)
        self.map = load_map(self.map_file, params_file=str(camp.path))
        self.timeout_s = float((self.map.get("settings") or {}).get("timeout_s", DEFAULT_TIMEOUT_S))
        for section, cls in CAPABILITY_CLASSES.items():
            if section in self.map:
                setattr(self, section, cls(self))
        self.mailbox = mailbox_from_params(self)
        self.sms = sms_from_params(self)          # the campaign's sms: section, as for every driver
        self._pages: dict[str, Any] = {}
        self._contexts: list = []

    # -- values -----------------------------------------------------------------------------
    def _param(self, dotted: str) -> Any:
        node: Any = self.ctx.campaign.raw
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise RuntimeError(f"the driver map refers to params key {dotted!r}, absent from the params file")
            node = node[part]
        return node

    def runner(self, action: str, values: dict[str, Any]) -> Runner:
        return Runner(map_name=self.map_file.name, action=action, values=values, param=self._param,
                      secret=lambda d: str(self.ctx.secrets.resolve(self._param(d), d)), timeout_s=self.timeout_s,
                      base_url=self.ctx.campaign.target_url)

    # -- pages ------------------------------------------------------------------------------
    async def session(self, who: str):
        """The page of a session: ``admin`` is logged in with the map's ``login`` steps (once); any other
        name is a browser context of its own (the professional's browser, without the admin's cookies)."""
        if who not in self._pages:
            context = await self.new_context()
            self._contexts.append(context)
            page = await context.new_page()
            if who == "admin" and self.map.get("login"):
                await self.runner("login", {}).run(page, self.map["login"])
            self._pages[who] = page
        return self._pages[who]

    async def close(self):
        for context in self._contexts:
            await context.close()
        self._contexts.clear()
        self._pages.clear()
