"""One Chromium for a whole run, shared by every proof (each in its own browser context).

Python Playwright has no ``launch_server``; instead the batch starts the system Chromium headless with
``--remote-debugging-port=0`` and reads the DevTools port from the ``DevToolsActivePort`` file Chromium
writes in its ``--user-data-dir``. The endpoint goes to the kernels in ``$SEGUR_CDP_ENDPOINT``;
``open_proof`` then connects with ``chromium.connect_over_cdp`` (kept open for the kernel's life, so a
warm kernel pays the connection once) and creates its own contexts. Without the variable (JupyterLab)
a proof launches its own browser as before.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .browser import CHROMIUM_ARGS, find_chromium, is_headless_shell
from .errors import UserError

ENDPOINT_ENV = "SEGUR_CDP_ENDPOINT"


class ChromiumServer:
    """The system Chromium, headless, reachable over the DevTools protocol on 127.0.0.1."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.profile: str | None = None
        self.endpoint: str | None = None

    def start(self, timeout: float = 30.0) -> "ChromiumServer":
        self.profile = tempfile.mkdtemp(prefix="segur-chromium-")
        exe = find_chromium()
        args = [exe, *([] if is_headless_shell(exe) else ["--headless=new"]), "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "--hide-scrollbars",
                "--mute-audio", *CHROMIUM_ARGS, "about:blank"]
        # its own session: a Ctrl-C in the terminal reaches the batch, which then closes it in order
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            lines = marker.read_text().splitlines() if marker.is_file() else []
            if len(lines) >= 2 and lines[0].strip().isdigit():
                self.endpoint = f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
                return self
            time.sleep(0.05)
        self.stop()
        raise UserError("the system Chromium did not start with remote debugging; expected a working "
                        "headless Chromium (check SEGUR_CHROMIUM)")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None


# -- kernel side: one Playwright and one CDP connection per kernel process ---------------------------
_shared: dict = {}


async def connect_shared():
    """The run's shared Chromium (``$SEGUR_CDP_ENDPOINT``), connected once per process and reused."""
    endpoint = os.environ[ENDPOINT_ENV]
    browser = _shared.get("browser")
    if browser is not None and browser.is_connected() and _shared.get("endpoint") == endpoint:
        return browser
    from playwright.async_api import async_playwright

    if _shared.get("pw") is None:
        _shared["pw"] = await async_playwright().start()
    browser = await _shared["pw"].chromium.connect_over_cdp(endpoint)
    _shared.update(browser=browser, endpoint=endpoint)
    return browser


def shared_endpoint() -> str | None:
    return os.environ.get(ENDPOINT_ENV) or None
