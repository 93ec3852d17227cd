"""The no-code web driver: a YAML map of URLs, selectors and form fields per capability action.

For products whose screens are plain forms and tables, a vendor writes no Python: the campaign says
``driver: yaml:my-product-map.yaml`` (path relative to the params file) and the map says, for each
action a scenario needs, which page to open, which fields to fill, what to click and which element to
read. ``segur driver check`` reports the actions a requirement needs that the map does not give.

A map (see ``params/demo-dpi-map.yaml``, the demo DPI's)::

    login:                       # how the administrator logs in (once, then the page is reused)
      url: /login
      fill: {"#username": "{params:target.admin.username}", "#password": "{secret:target.admin.password}"}
      click: "#login-submit"
      refused_if_url: /login     # regex on the URL after submitting
    accounts:
      create:  {as: admin, url: /accounts/new, fill: {...}, select: {...}, click: ..., id_from_url: '…(\\d+)$',
                error: .flash.error}
      show:    {as: admin, url: "/accounts/{id}", read: "[data-testid=email-status]", pending_if: attente}
      extract_verification: {link: 'https?://\\S+/verify\\?token=[\\w-]+', code: 'Code\\s*:\\s*(\\w+)'}
      verify:  {as: professional, url: "{link}", read: …, accepted_if: ^Adresse vérifiée}

Keys of an action: ``as`` (``admin`` = the logged-in page, ``professional`` = a separate browser
context without the administrator's session), ``url`` (relative to ``target.url`` or absolute),
``fill`` and ``select`` (selector → value; ``select`` picks by the option's label), ``click``,
``read`` (the element whose text is observed and outlined on the screenshot), ``error`` (read when
an action fails), and per method the regular expressions it interprets (``id_from_url``,
``pending_if``, ``accepted_if``; ``link``/``code`` on a message's text; a group, if any, is the value).
Values may use ``{name}`` (the action's inputs: a professional's ``nom``, ``email``…; an account's
``id``, ``email``; a verification's ``code``, ``link``), ``{params:a.b}`` (a value of the params file)
and ``{secret:a.b}`` (a secret reference of the params file, resolved in the kernel and masked).
The mailbox is the params' ``mailbox:`` section, as for every driver.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import UserError
from .base import AccountRef, Accounts, AccountView, Driver, MailMessage, Verification, VerificationView
from .mailboxes import mailbox_from_params

PREFIX = "yaml:"
ACTION_KEYS = {"as", "url", "fill", "select", "click", "read", "error", "id_from_url", "pending_if",
               "accepted_if", "link", "code", "wait_for"}
SESSIONS = ("admin", "professional")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.:]*)\}")
ADAPTED = {"accounts": ("create", "show", "extract_verification", "verify")}
REGEX_KEYS = ("id_from_url", "pending_if", "accepted_if", "link", "code", "refused_if_url")


def map_path(spec: str, params_file: str | Path | None) -> Path:
    raw = Path(spec[len(PREFIX):]).expanduser()
    if raw.is_absolute() or params_file is None:
        return raw
    return (Path(params_file).resolve().parent / raw).resolve()


def load_map(path: Path, *, params_file: str | None = None) -> dict[str, Any]:
    """Read and validate a driver map; one clear line (file, key, expected) when it is wrong."""
    shown = str(path)
    if not path.is_file():
        raise UserError(f"driver map {shown} not found; expected a YAML map of URLs and selectors",
                        file=params_file, key="driver")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserError(f"malformed YAML ({type(exc).__name__}); expected a driver map", file=shown) from None
    if not isinstance(data, dict):
        raise UserError("expected a mapping of capabilities (login, accounts …)", file=shown)

    def check_action(node: Any, where: str) -> None:
        if not isinstance(node, dict):
            raise UserError("expected a mapping (url, fill, click, read …)", file=shown, key=where)
        for k, v in node.items():
            if k not in ACTION_KEYS | {"refused_if_url"}:
                raise UserError(f"unknown key; expected one of {', '.join(sorted(ACTION_KEYS))}",
                                file=shown, key=f"{where}.{k}")
            if k in ("fill", "select") and not isinstance(v, dict):
                raise UserError("expected a mapping selector → value", file=shown, key=f"{where}.{k}")
            if k == "as" and v not in SESSIONS:
                raise UserError(f"{v!r}; expected admin or professional", file=shown, key=f"{where}.{k}")
            if k in REGEX_KEYS:
                try:
                    re.compile(str(v))
                except re.error as exc:
                    raise UserError(f"invalid regular expression ({exc})", file=shown, key=f"{where}.{k}") from None

    for section, node in data.items():
        if section == "login":
            check_action(node, "login")
        elif section in ADAPTED:
            if not isinstance(node, dict):
                raise UserError("expected a mapping of actions", file=shown, key=section)
            for action, spec in node.items():
                if action not in ADAPTED[section]:
                    raise UserError(f"unknown action; expected one of {', '.join(ADAPTED[section])}",
                                    file=shown, key=f"{section}.{action}")
                check_action(spec, f"{section}.{action}")
        else:
            raise UserError(f"no YAML adapter for this capability; expected login or one of "
                            f"{', '.join(ADAPTED)} (write a Python driver for the others)", file=shown, key=section)
    return data


def _first(m: re.Match) -> str:
    return m.group(1) if m.re.groups else m.group(0)


class YamlCapability:
    section = ""

    @property
    def spec(self) -> dict[str, Any]:
        return self.driver.map.get(self.section) or {}

    def unsupported(self) -> set[str]:
        return {a for a in ADAPTED[self.section] if a not in self.spec}

    def action(self, name: str) -> dict[str, Any]:
        if name not in self.spec:
            raise RuntimeError(f"the driver map {self.driver.map_file.name} gives no {self.section}.{name}")
        return self.spec[name]


class YamlAccounts(YamlCapability, Accounts):
    section = "accounts"

    async def smoke(self):
        await self.driver.session("admin")

    async def create(self, professional):
        spec = self.action("create")
        page = await self.driver.perform(spec, dict(professional))
        pattern = spec.get("id_from_url")
        m = re.search(pattern, page.url) if pattern else None
        if pattern and not m:
            errors = await self.driver.texts(page, spec.get("error"))
            raise RuntimeError("account not created: " + ("; ".join(errors) or f"landed on {page.url}"))
        return AccountRef(id=_first(m) if m else "", email=str(professional.get("email", "")),
                          label=f"{professional.get('prenom', '')} {professional.get('nom', '')}".strip())

    async def show(self, account):
        spec = self.action("show")
        page = await self.driver.perform(spec, vars(account))
        observed = await self.driver.read(page, spec.get("read"))
        pending = bool(spec.get("pending_if")) and re.search(spec["pending_if"], observed) is not None
        return AccountView(page=page, highlight=spec.get("read"), observed=observed, url=page.url,
                           email_pending=pending)

    def extract_verification(self, message: MailMessage) -> Verification:
        spec = self.action("extract_verification")
        text = message.text
        found = {k: (re.search(spec[k], text) if spec.get(k) else None) for k in ("code", "link")}
        return Verification(code=_first(found["code"]) if found["code"] else None,
                            link=_first(found["link"]) if found["link"] else None)

    async def verify(self, account, verification):
        spec = self.action("verify")
        values = vars(account) | {"code": verification.code, "link": verification.link}
        page = await self.driver.perform(spec, values)
        observed = await self.driver.read(page, spec.get("read"))
        accepted = bool(spec.get("accepted_if")) and re.search(spec["accepted_if"], observed) is not None
        return VerificationView(page=page, highlight=spec.get("read"), observed=observed, url=page.url,
                                accepted=accepted)


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
        if "accounts" in self.map:
            self.accounts = YamlAccounts(self)
        self.mailbox = mailbox_from_params(self)
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

    def render(self, template: Any, values: dict[str, Any]) -> str:
        def sub(m: re.Match) -> str:
            name = m.group(1)
            if name.startswith("params:"):
                return str(self._param(name[7:]))
            if name.startswith("secret:"):
                return str(self.ctx.secrets.resolve(self._param(name[7:]), name[7:]))
            value = values.get(name)
            if value is None:
                raise RuntimeError(f"no value for {{{name}}} in this action (the product gave none)")
            return str(value)
        return PLACEHOLDER.sub(sub, str(template))

    def url(self, path: str) -> str:
        if re.match(r"^https?://", path):
            return path
        return self.ctx.campaign.target_url.rstrip("/") + "/" + path.lstrip("/")

    # -- pages ------------------------------------------------------------------------------
    async def session(self, who: str):
        if who not in self._pages:
            context = await self.new_context()
            self._contexts.append(context)
            page = await context.new_page()
            if who == "admin" and self.map.get("login"):
                login = self.map["login"]
                await self.perform(login, {}, page=page)
                refused = login.get("refused_if_url")
                if refused and re.search(refused, page.url):
                    raise RuntimeError(f"administrator login refused at {self.url(login.get('url', '/'))}")
            self._pages[who] = page
        return self._pages[who]

    async def perform(self, spec: dict[str, Any], values: dict[str, Any], *, page=None):
        """Open the action's page, fill and select its fields, click; return the page."""
        if page is None:
            page = await self.session(spec.get("as", "admin"))
        if spec.get("url"):
            await page.goto(self.url(self.render(spec["url"], values)))
        for selector, value in (spec.get("fill") or {}).items():
            await page.fill(selector, self.render(value, values))
        for selector, value in (spec.get("select") or {}).items():
            await page.select_option(selector, label=self.render(value, values))
        if spec.get("click"):
            await page.click(spec["click"])
            await page.wait_for_load_state("load")
        if spec.get("wait_for"):
            await page.wait_for_selector(spec["wait_for"])
        return page

    async def read(self, page, selector: str | None) -> str:
        if not selector:
            return ""
        loc = page.locator(selector)
        return (await loc.first.inner_text()).strip() if await loc.count() else ""

    async def texts(self, page, selector: str | None) -> list[str]:
        return [t.strip() for t in await page.locator(selector).all_inner_texts()] if selector else []

    async def close(self):
        for context in self._contexts:
            await context.close()
        self._contexts.clear()
        self._pages.clear()
