"""The steps of the no-code YAML driver: a small ordered language over a Playwright page.

An action of a driver map (``yaml_driver.py``) is a list of steps run in the order written. Each step is
a mapping with one step key, plus optionally ``timeout_s`` (this step's wait, default the map's
``settings.timeout_s``) and ``optional: true`` (for ``read``/``row``/``extract``: absence gives '' instead
of a failure). ``docs/drivers.md`` teaches it with a complete example.

| step | what it does |
|---|---|
| ``goto: URL`` or ``{url: URL, any_status: true}`` | open a page (relative to ``target.url``); an HTTP error status fails unless ``any_status`` |
| ``click: SELECTOR`` | click the element |
| ``fill: {SELECTOR: VALUE, …}`` | type values into fields, in the order written |
| ``select: {SELECTOR: LABEL, …}`` or ``{SELECTOR: {value: VALUE}}`` | choose an option by its label (or by its value) |
| ``check: SELECTOR`` / ``uncheck: SELECTOR`` | tick or untick a box |
| ``press: KEY`` or ``{SELECTOR: KEY}`` | press a key (page or field), e.g. ``Enter`` |
| ``wait: SELECTOR`` or ``{selector: S, state: visible/hidden/attached/detached}``, ``{text: T}``, ``{url: REGEX}`` | wait for an element, a text shown on the page, or the page's address |
| ``dialog: accept`` / ``dismiss`` / ``{accept: true, fill: VALUE, as: NAME}`` | answer the next JavaScript dialog (alert, confirm, prompt) the following steps open; ``as`` keeps its message |
| ``response: {url: REGEX, method: POST, status: 201, do: [STEPS], json: {NAME: PATH}, headers: {NAME: HEADER}}`` | run ``do`` and wait for the network response it causes; take values from its JSON body (dotted path, ``utilisateur.id``, ``items.0.ref``) and headers |
| ``download: {do: [STEPS], as: NAME}`` | run ``do`` and keep the file it downloads (``{NAME.filename}``, ``{NAME.size}``) |
| ``read: {selector: S, as: NAME, attribute: A}`` | keep an element's text (or attribute) |
| ``row: {table: S, containing: TEXT or where: {COLUMN: VALUE}, as: NAME}`` | find the table row that holds a text (or whose columns have these values); keep its cells by column title and position, and ``{NAME.selector}`` to act inside it (``"{NAME.selector} >> button"``) |
| ``extract: {from: TEMPLATE, pattern: REGEX, as: NAME}`` | a regular expression on a value (its first group, else the whole match) |
| ``set: {NAME: TEMPLATE or {switch: TEMPLATE, cases: {VALUE: TEMPLATE}}}`` | name a value |

Selectors and values are templates: ``{name}`` (the action's inputs and the values kept by earlier steps;
``{name.key}`` inside one; ``{name|default}`` gives ``default``, possibly empty, when there is no such
value), ``{url}`` (the page's current address), ``{params:a.b}`` (a value of the params
file), ``{secret:a.b}`` (a secret reference of the params file, resolved in the kernel and masked).

Every failure raises :class:`MapStepError` naming the map file, the action, the step's index (``5.2``
inside a ``do``) and its selector, with a screenshot of the page taken at that moment.
"""
from __future__ import annotations

import asyncio
import re
from typing import Any, Callable

from ..errors import UserError
from .base import download_bytes

STEP_KINDS = ("goto", "click", "fill", "select", "check", "uncheck", "press", "wait", "dialog", "response",
              "download", "read", "row", "extract", "set")
COMMON_KEYS = {"timeout_s", "optional"}
# steps that change nothing on the target: `segur driver check` runs an action's leading ones
SAFE_STEPS = {"goto", "wait", "read", "row", "extract", "set"}
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.:-]*)(?:\|([^{}]*))?\}")
WAIT_STATES = ("visible", "hidden", "attached", "detached")


class MapStepError(RuntimeError):
    """A step of a driver map failed: the message names the map, the action, the step and its selector;
    ``where`` holds the same as data; ``screenshot`` the page at that moment (PNG bytes, or None)."""

    def __init__(self, message: str, *, where: dict[str, Any], screenshot: bytes | None = None):
        super().__init__(message)
        self.where = where
        self.screenshot = screenshot


class NeedsValue(Exception):
    """A template names a value the action does not have (yet)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name
        self.step = ""            # the index of the step that needed it


# -- validation (load time) -------------------------------------------------------------------------
def _regex(value: Any, file: str, key: str) -> None:
    if not isinstance(value, str):
        raise UserError(f"expected a regular expression (text), got {type(value).__name__}", file=file, key=key)
    try:
        re.compile(value)
    except re.error as exc:
        raise UserError(f"invalid regular expression ({exc})", file=file, key=key) from None


def _text(value: Any, file: str, key: str, what: str = "text") -> None:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise UserError(f"expected {what}, got {type(value).__name__}", file=file, key=key)


def _mapping(value: Any, file: str, key: str, what: str) -> dict:
    if not isinstance(value, dict) or not value:
        raise UserError(f"expected a mapping {what}", file=file, key=key)
    return value


def _only(node: dict, allowed: set[str], file: str, key: str) -> None:
    for k in node:
        if k not in allowed:
            raise UserError(f"unknown key; expected one of {', '.join(sorted(allowed))}", file=file, key=f"{key}.{k}")


def validate_steps(steps: Any, file: str, key: str) -> None:
    """One clear line (map file, key path, what was expected) for the first wrong step."""
    if not isinstance(steps, list) or not steps:
        raise UserError("expected a list of steps (goto, click, fill …)", file=file, key=key)
    for i, step in enumerate(steps, 1):
        where = f"{key}[{i}]"
        if not isinstance(step, dict):
            raise UserError(f"expected a step such as {{click: SELECTOR}}, got {type(step).__name__}", file=file,
                            key=where)
        kinds = [k for k in step if k in STEP_KINDS]
        others = [k for k in step if k not in STEP_KINDS and k not in COMMON_KEYS]
        if others or len(kinds) != 1:
            raise UserError(f"expected exactly one of {', '.join(STEP_KINDS)} (and optionally timeout_s, optional); "
                            f"got {', '.join(map(str, step)) or 'nothing'}", file=file, key=where)
        if "timeout_s" in step and (isinstance(step["timeout_s"], bool)
                                    or not isinstance(step["timeout_s"], (int, float)) or step["timeout_s"] <= 0):
            raise UserError("expected a positive number of seconds", file=file, key=f"{where}.timeout_s")
        kind = kinds[0]
        arg = step[kind]
        at = f"{where}.{kind}"
        if kind == "goto":
            if isinstance(arg, dict):
                _only(arg, {"url", "any_status"}, file, at)
                _text(arg.get("url"), file, f"{at}.url", "a URL")
            else:
                _text(arg, file, at, "a URL")
        elif kind in ("click", "check", "uncheck"):
            _text(arg, file, at, "a selector")
        elif kind == "fill":
            for sel, value in _mapping(arg, file, at, "selector → value").items():
                _text(value, file, f"{at}.{sel}", "a value")
        elif kind == "select":
            for sel, value in _mapping(arg, file, at, "selector → option").items():
                if isinstance(value, dict):
                    if len(value) != 1 or next(iter(value)) not in ("label", "value"):
                        raise UserError("expected an option's label, {label: LABEL} or {value: VALUE}", file=file,
                                        key=f"{at}.{sel}")
                    _text(next(iter(value.values())), file, f"{at}.{sel}.{next(iter(value))}", "a value")
                else:
                    _text(value, file, f"{at}.{sel}", "an option's label")
        elif kind == "press":
            if isinstance(arg, dict):
                for sel, value in _mapping(arg, file, at, "selector → key").items():
                    _text(value, file, f"{at}.{sel}", "a key name")
            else:
                _text(arg, file, at, "a key name (Enter, Tab …)")
        elif kind == "wait":
            if isinstance(arg, dict):
                _only(arg, {"selector", "state", "text", "url"}, file, at)
                if sum(k in arg for k in ("selector", "text", "url")) != 1:
                    raise UserError("expected one of selector, text or url", file=file, key=at)
                if "state" in arg and arg["state"] not in WAIT_STATES:
                    raise UserError(f"expected one of {', '.join(WAIT_STATES)}", file=file, key=f"{at}.state")
                if "url" in arg:
                    _regex(arg["url"], file, f"{at}.url")
            else:
                _text(arg, file, at, "a selector")
        elif kind == "dialog":
            if isinstance(arg, dict):
                _only(arg, {"accept", "fill", "as"}, file, at)
            elif arg not in ("accept", "dismiss"):
                raise UserError("expected accept, dismiss or {accept: true, fill: VALUE, as: NAME}", file=file, key=at)
        elif kind in ("response", "download"):
            arg = _mapping(arg, file, at, "with do: [steps]")
            allowed = ({"url", "method", "status", "do", "json", "headers", "as"} if kind == "response"
                       else {"do", "as"})
            _only(arg, allowed, file, at)
            validate_steps(arg.get("do"), file, f"{at}.do")
            if kind == "response":
                if "url" in arg:
                    _regex(arg["url"], file, f"{at}.url")
                for part in ("json", "headers"):
                    if part in arg:
                        for name, path in _mapping(arg[part], file, f"{at}.{part}", "NAME → path").items():
                            _text(path, file, f"{at}.{part}.{name}", "a path")
                status = arg.get("status")
                if status is not None and not (isinstance(status, int) or (isinstance(status, list)
                                                                           and all(isinstance(s, int) for s in status))):
                    raise UserError("expected an HTTP status or a list of them", file=file, key=f"{at}.status")
            elif not isinstance(arg.get("as"), str):
                raise UserError("expected as: NAME (the name the file is kept under)", file=file, key=f"{at}.as")
        elif kind == "read":
            arg = _mapping(arg, file, at, "{selector: S, as: NAME}")
            _only(arg, {"selector", "as", "attribute"}, file, at)
            _text(arg.get("selector"), file, f"{at}.selector", "a selector")
            _text(arg.get("as"), file, f"{at}.as", "a name")
        elif kind == "row":
            arg = _mapping(arg, file, at, "{table: S, containing: TEXT, as: NAME}")
            _only(arg, {"table", "containing", "where", "as"}, file, at)
            _text(arg.get("table"), file, f"{at}.table", "a selector")
            _text(arg.get("as"), file, f"{at}.as", "a name")
            if ("containing" in arg) == ("where" in arg):
                raise UserError("expected containing: TEXT or where: {COLUMN: VALUE}", file=file, key=at)
            if "where" in arg:
                _mapping(arg["where"], file, f"{at}.where", "column → value")
        elif kind == "extract":
            arg = _mapping(arg, file, at, "{from: TEMPLATE, pattern: REGEX, as: NAME}")
            _only(arg, {"from", "pattern", "as"}, file, at)
            _text(arg.get("from"), file, f"{at}.from", "a template")
            _regex(arg.get("pattern"), file, f"{at}.pattern")
            _text(arg.get("as"), file, f"{at}.as", "a name")
        elif kind == "set":
            for name, value in _mapping(arg, file, at, "NAME → template").items():
                if isinstance(value, dict):
                    _only(value, {"switch", "cases", "default"}, file, f"{at}.{name}")
                    _mapping(value.get("cases"), file, f"{at}.{name}.cases", "VALUE → template")
                else:
                    _text(value, file, f"{at}.{name}", "a template")


def first_selector(step: dict) -> str:
    """The selector (or address) a step acts on, for messages."""
    kind = next(k for k in step if k in STEP_KINDS)
    arg = step[kind]
    if isinstance(arg, str):
        return arg
    if kind in ("fill", "select", "press") and isinstance(arg, dict):
        return ", ".join(map(str, arg))
    if isinstance(arg, dict):
        for k in ("selector", "table", "url", "text", "from"):
            if k in arg:
                return str(arg[k])
    return ""


# -- running --------------------------------------------------------------------------------------------
def lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise NeedsValue(dotted)
    return node


class Runner:
    """Runs an action's steps on one page, keeping the values they produce."""

    def __init__(self, *, map_name: str, action: str, values: dict[str, Any], param: Callable[[str], Any],
                 secret: Callable[[str], str], timeout_s: float, base_url: str):
        self.map_name, self.action = map_name, action
        self.values = values
        self.param, self.secret = param, secret
        self.timeout_s = timeout_s
        self.base_url = base_url.rstrip("/")
        self.page = None
        self._armed: list[tuple[str, dict]] = []   # dialogs expected, in order: (step index, step)
        self._listening: list = []                 # pages whose dialogs this runner answers

    # values -------------------------------------------------------------------------------------------
    def render(self, template: Any) -> str:
        def sub(m: re.Match) -> str:
            name, default = m.group(1), m.group(2)
            if name.startswith("params:"):
                return str(self.param(name[7:]))
            if name.startswith("secret:"):
                return str(self.secret(name[7:]))
            if name == "url" and "url" not in self.values:
                return self.page.url if self.page is not None else ""
            try:
                value = lookup(self.values, name)
            except NeedsValue:
                value = None
            if value is None:
                if default is not None:          # {mobile|}: '' when the input has no mobile
                    return default
                raise NeedsValue(name)
            return str(value)
        return PLACEHOLDER.sub(sub, str(template))

    def render_value(self, template: Any) -> Any:
        """Like :meth:`render`, but a template that is one placeholder gives the value itself (a file …)."""
        if isinstance(template, str):
            m = PLACEHOLDER.fullmatch(template)
            if m and not m.group(1).startswith(("params:", "secret:")) and m.group(1) != "url":
                return lookup(self.values, m.group(1))
        return self.render(template)

    def url(self, path: str) -> str:
        return path if re.match(r"^https?://", path) else self.base_url + "/" + path.lstrip("/")

    def ms(self, step: dict) -> float:
        return float(step.get("timeout_s", self.timeout_s)) * 1000

    # steps ---------------------------------------------------------------------------------------------
    async def run(self, page, steps: list[dict], *, prefix: str = "", stop_before_unsafe: bool = False) -> int:
        """Run ``steps`` in order; returns how many ran. ``stop_before_unsafe``: stop at the first step that
        could change the target (``segur driver check``)."""
        if prefix:
            return await self._run(page, steps, prefix, stop_before_unsafe)
        try:
            ran = await self._run(page, steps, prefix, stop_before_unsafe)
            await self.check_dialogs()
            return ran
        finally:
            for p in self._listening:
                p.remove_listener("dialog", self._on_dialog)
            self._listening.clear()

    async def _run(self, page, steps: list[dict], prefix: str, stop_before_unsafe: bool) -> int:
        self.page = page
        for i, step in enumerate(steps, 1):
            kind = next(k for k in step if k in STEP_KINDS)
            if stop_before_unsafe and kind not in SAFE_STEPS:
                return i - 1
            index = f"{prefix}{i}"
            try:
                await self.step(page, kind, step, index)
            except MapStepError:
                raise
            except NeedsValue as exc:
                if stop_before_unsafe:
                    exc.step = index
                    raise
                raise await self.failure(index, step, f"no value for {{{exc.name}}} (neither an input of this "
                                                      "action nor kept by an earlier step)") from None
            except Exception as exc:  # noqa: BLE001 — Playwright's errors, timeouts, bad values
                raise await self.failure(index, step, exc) from None
        return len(steps)

    async def failure(self, index: str, step: dict, exc: BaseException | str) -> MapStepError:
        kind = next(k for k in step if k in STEP_KINDS)
        try:
            selector = self.render(first_selector(step))
        except NeedsValue:
            selector = first_selector(step)
        reason = exc if isinstance(exc, str) else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if not isinstance(exc, str) and isinstance(exc, asyncio.TimeoutError):
            reason = f"no answer within {self.ms(step) / 1000:.0f} s"
        message = (f"{self.map_name}: {self.action}, step {index} ({kind} {selector!r}): "
                   f"{type(exc).__name__ + ': ' if not isinstance(exc, str) else ''}{reason}")
        shot = None
        if self.page is not None:
            try:
                shot = await self.page.screenshot(full_page=True, timeout=5000,
                                                  mask=[self.page.locator("input[type=password]")],
                                                  mask_color="#263238")
            except Exception:  # noqa: BLE001 — the page may be gone; the message still says where
                shot = None
        return MapStepError(message, where={"map": self.map_name, "action": self.action, "step": index,
                                            "kind": kind, "selector": selector}, screenshot=shot)

    async def check_dialogs(self) -> None:
        if self._armed:
            index, answer = self._armed[0]
            self._armed.clear()
            raise await self.failure(index, {"dialog": answer}, "the dialog this step answers never opened")

    async def step(self, page, kind: str, step: dict, index: str) -> None:
        arg = step[kind]
        ms = self.ms(step)
        optional = bool(step.get("optional"))
        if kind == "goto":
            target = arg if isinstance(arg, str) else arg["url"]
            response = await page.goto(self.url(self.render(target)), timeout=ms)
            any_status = isinstance(arg, dict) and arg.get("any_status")
            if response is not None and response.status >= 400 and not any_status:
                raise await self.failure(index, step, f"the page answered HTTP {response.status}")
        elif kind == "click":
            await page.click(self.render(arg), timeout=ms)
            await page.wait_for_load_state("load", timeout=ms)
        elif kind == "fill":
            for sel, value in arg.items():
                await page.fill(self.render(sel), self.render(value), timeout=ms)
        elif kind == "select":
            for sel, value in arg.items():
                by, chosen = next(iter(value.items())) if isinstance(value, dict) else ("label", value)
                await page.select_option(self.render(sel), **{by: self.render(chosen)}, timeout=ms)
        elif kind in ("check", "uncheck"):
            await getattr(page, kind)(self.render(arg), timeout=ms)
        elif kind == "press":
            if isinstance(arg, dict):
                for sel, key in arg.items():
                    await page.press(self.render(sel), str(key), timeout=ms)
            else:
                await page.keyboard.press(str(arg))
        elif kind == "wait":
            if isinstance(arg, str):
                await page.wait_for_selector(self.render(arg), state="visible", timeout=ms)
            elif "selector" in arg:
                await page.wait_for_selector(self.render(arg["selector"]), state=arg.get("state", "visible"),
                                             timeout=ms)
            elif "text" in arg:
                await page.get_by_text(self.render(arg["text"])).first.wait_for(state="visible", timeout=ms)
            else:
                await page.wait_for_url(re.compile(arg["url"]), timeout=ms)
        elif kind == "dialog":
            self._arm_dialog(page, index, step)
        elif kind == "response":
            await self._response(page, arg, step, index, ms)
        elif kind == "download":
            async with page.expect_download(timeout=ms) as info:
                await self.run(page, arg["do"], prefix=f"{index}.")
            download = await info.value
            data = await download_bytes(download)
            self.values[arg["as"]] = {"data": data, "filename": download.suggested_filename, "size": len(data)}
        elif kind == "read":
            loc = page.locator(self.render(arg["selector"]))
            if not optional:
                await loc.first.wait_for(state="attached", timeout=ms)
            text = ""
            if await loc.count():
                text = (await loc.first.get_attribute(arg["attribute"]) if arg.get("attribute")
                        else await loc.first.inner_text()) or ""
            self.values[arg["as"]] = text.strip()
        elif kind == "row":
            self.values[arg["as"]] = await self._row(page, arg, step, index, ms, optional)
        elif kind == "extract":
            text = self.render(arg["from"])
            m = re.search(arg["pattern"], text)
            if m is None and not optional:
                raise await self.failure(index, step, f"{arg['pattern']!r} not found in {text[:160]!r}")
            self.values[arg["as"]] = (m.group(1) if m.re.groups else m.group(0)) if m else ""
        elif kind == "set":
            for name, value in arg.items():
                if isinstance(value, dict):
                    key = self.render(value.get("switch", ""))
                    cases = {str(k): v for k, v in value["cases"].items()}
                    if key not in cases and "default" not in value:
                        raise await self.failure(index, step, f"{key!r} is none of {', '.join(cases)}")
                    self.values[name] = self.render(cases.get(key, value.get("default")))
                else:
                    self.values[name] = self.render(value)

    def _arm_dialog(self, page, index: str, step: dict) -> None:
        """The next dialog the page opens gets this step's answer (dialogs are answered in the order their
        steps are written; one nobody expects is dismissed, as a browser left alone would)."""
        arg = step["dialog"]
        answer = dict(arg) if isinstance(arg, dict) else {"accept": arg == "accept"}
        if answer.get("fill") is not None:
            answer["fill"] = self.render(answer["fill"])
        self._armed.append((index, answer))
        if page not in self._listening:
            page.on("dialog", self._on_dialog)
            self._listening.append(page)

    def _on_dialog(self, dialog) -> None:
        if not self._armed:
            asyncio.ensure_future(dialog.dismiss())
            return
        _index, answer = self._armed.pop(0)
        if answer.get("as"):
            self.values[answer["as"]] = dialog.message
        if answer.get("accept", True):
            fill = answer.get("fill")
            asyncio.ensure_future(dialog.accept(fill) if fill is not None else dialog.accept())
        else:
            asyncio.ensure_future(dialog.dismiss())

    async def _response(self, page, arg: dict, step: dict, index: str, ms: float) -> None:
        pattern = re.compile(self.render(arg["url"])) if arg.get("url") else None
        method = str(arg.get("method", "")).upper()

        def wanted(response) -> bool:
            return ((pattern is None or bool(pattern.search(response.url)))
                    and (not method or response.request.method == method))

        async with page.expect_response(wanted, timeout=ms) as info:
            await self.run(page, arg["do"], prefix=f"{index}.")
        response = await info.value
        body_text = ""
        try:
            body_text = await response.text()
        except Exception:  # noqa: BLE001 — a redirect or an empty body
            body_text = ""
        status = arg.get("status")
        if status is not None and response.status not in (status if isinstance(status, list) else [status]):
            raise await self.failure(index, step, f"{response.request.method} {response.url} answered HTTP "
                                                  f"{response.status}, expected {status}: {body_text[:200]!r}")
        if arg.get("as"):
            self.values[arg["as"]] = {"status": response.status, "url": response.url, "body": body_text}
        if arg.get("json"):
            import json

            try:
                body = json.loads(body_text)
            except ValueError:
                raise await self.failure(index, step, f"the answer of {response.url} is not JSON: "
                                                      f"{body_text[:120]!r}") from None
            for name, path in arg["json"].items():
                try:
                    self.values[name] = lookup(body if isinstance(body, dict) else {"0": body}, str(path))
                except NeedsValue:
                    raise await self.failure(index, step, f"no {path!r} in the JSON answer "
                                                          f"{body_text[:160]!r}") from None
        headers = await response.all_headers() if arg.get("headers") else {}
        for name, header in (arg.get("headers") or {}).items():
            value = headers.get(str(header).lower())
            if value is None:
                raise await self.failure(index, step, f"no {header} header in the answer of {response.url}")
            self.values[name] = value

    async def _row(self, page, arg: dict, step: dict, index: str, ms: float, optional: bool) -> dict:
        table = self.render(arg["table"])
        containing = self.render(arg["containing"]) if "containing" in arg else None
        where = {str(k): self.render(v) for k, v in (arg.get("where") or {}).items()}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ms / 1000
        while True:
            tbl = page.locator(table).first
            if await page.locator(table).count():
                body = "tbody tr" if await tbl.locator("tbody tr").count() else "tr"
                headers = [" ".join(h.split()) for h in await tbl.locator("thead th").all_inner_texts()] \
                    or [" ".join(h.split()) for h in await tbl.locator("tr").first.locator("th").all_inner_texts()]
                rows = tbl.locator(body)
                for k in range(await rows.count()):
                    row = rows.nth(k)
                    cells = [" ".join(c.split()) for c in await row.locator("td, th").all_inner_texts()]
                    if not cells or cells == headers:
                        continue
                    named = {h: cells[j] for j, h in enumerate(headers) if j < len(cells) and h}
                    text = " ".join(cells)
                    if containing is not None and containing not in text:
                        continue
                    if where and any(named.get(c) != v for c, v in where.items()):
                        continue
                    out: dict[str, Any] = {str(j): c for j, c in enumerate(cells)} | named
                    out |= {"selector": f"{table} >> {body} >> nth={k}", "text": text, "index": k}
                    return out
            if loop.time() >= deadline:
                if optional:
                    return {"selector": "", "text": "", "index": -1}
                what = f"containing {containing!r}" if containing is not None else f"with {where}"
                raise await self.failure(index, step, f"no row {what} in {table!r}")
            await asyncio.sleep(0.2)
