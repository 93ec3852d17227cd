"""One Chromium for a whole run, shared by every proof (each in its own browser contexts).

The batch starts Playwright's browser server (``playwright launch-server``, the Node ``launchServer``
that Python Playwright has no function for) on the system Chromium, listening on 127.0.0.1 behind an
unguessable path. The endpoint goes to the kernels in ``$SEGUR_BROWSER_ENDPOINT``; ``open_proof``
connects with ``chromium.connect`` (kept open for the kernel's life, so a warm kernel pays the
connection once) and creates its own contexts. Without the variable (JupyterLab) a proof launches its
own browser.

Why a Playwright server and not Chromium's DevTools port (``connect_over_cdp``, used until
2026-11-25): over CDP every client attaches to every page of the browser, so each kernel's Playwright
also processed the other kernels' pages and the PDF printing (measured: two idle CDP clients add 20 to
30 % CPU to the one working). A Playwright server gives each connection its own contexts and events
only.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .browser import CHROMIUM_ARGS, find_chromium
from .errors import UserError

ENDPOINT_ENV = "SEGUR_BROWSER_ENDPOINT"


class ChromiumServer:
    """The system Chromium, headless, behind a Playwright browser server on 127.0.0.1."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.config: str | None = None
        self.endpoint: str | None = None
        self.browser_groups: list[int] = []   # the browser's process groups (detached from the server's)

    def start(self, timeout: float = 30.0) -> "ChromiumServer":
        fd, self.config = tempfile.mkstemp(prefix="segur-browser-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump({"executablePath": find_chromium(), "headless": True, "host": "127.0.0.1", "port": 0,
                       "args": [*CHROMIUM_ARGS, "--hide-scrollbars", "--mute-audio"]}, fh)
        # its own session: a Ctrl-C in the terminal reaches the batch, which then closes it in order, and
        # stop() ends the whole group (Node, the Chromium wrapper script and Chromium's processes)
        from playwright._impl._driver import compute_driver_executable

        node, cli = compute_driver_executable()   # Playwright's own Node and CLI, as `playwright` runs them
        self.proc = subprocess.Popen([str(node), str(cli), "launch-server", "--browser", "chromium",
                                      "--config", self.config], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        endpoint = line[0].strip() if line else ""
        if endpoint.startswith("ws://127.0.0.1:"):
            self.endpoint = endpoint
            # Playwright starts the browser detached (a session of its own): found here, so that stop()
            # ends it too and a crashed run's successor can reap it
            self.browser_groups = sorted({os.getpgid(pid) for pid in _children(self.proc.pid)
                                          if _alive(pid)})
            return self
        self.stop()
        raise UserError("the system Chromium did not start behind Playwright's browser server; expected a "
                        "working headless Chromium (check SEGUR_CHROMIUM)")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            group = self.proc.pid
            # SIGTERM to the server alone: it closes Chromium and removes its temporary profile; whatever
            # is left of the group after that (a hung Chromium) is killed
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if not _group_ended(self.proc, group, 10):
                try:
                    os.killpg(group, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                _group_ended(self.proc, group, 10)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            if self.proc.stdout:
                self.proc.stdout.close()
        for group in self.browser_groups:   # the server closed it; what is left of it is ended
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _group_alive(group):
                time.sleep(0.05)
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.browser_groups = []
        self.proc = None
        if self.config:
            Path(self.config).unlink(missing_ok=True)
            self.config = None


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False


def _group_ended(leader: subprocess.Popen, group: int, timeout: float) -> bool:
    """Wait until no process of ``group`` is left (the leader reaped, the others by init)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leader.poll()
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


# -- kernel side: one Playwright and one connection per kernel process ------------------------------
_shared: dict = {}


async def connect_shared():
    """The run's shared Chromium (``$SEGUR_BROWSER_ENDPOINT``), connected once per process and reused."""
    endpoint = os.environ[ENDPOINT_ENV]
    browser = _shared.get("browser")
    if browser is not None and browser.is_connected() and _shared.get("endpoint") == endpoint:
        return browser
    from playwright.async_api import async_playwright

    if _shared.get("pw") is None:
        _shared["pw"] = await async_playwright().start()
    browser = await _shared["pw"].chromium.connect(endpoint)
    _shared.update(browser=browser, endpoint=endpoint)
    return browser


def shared_endpoint() -> str | None:
    return os.environ.get(ENDPOINT_ENV) or None
