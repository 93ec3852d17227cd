"""What the operator sees while a run goes: proofs done, failed and remaining, and the ones under way.

On a terminal a bar redrawn on stderr, elsewhere plain lines; each finished proof is one line either way.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Callable

from ..proof import ERREUR, NON_CONFORME

FAILED = (ERREUR, NON_CONFORME)


class Progress:
    """done / failed / remaining and the proofs under way, as a bar on a terminal or plain lines."""

    def __init__(self, campaign: str, total: int, say: Callable[[str], None], bar: bool):
        self.campaign, self.total, self.say, self.bar = campaign, total, say, bar
        self.done = self.failed = 0
        self.current: list[str] = []
        self.t0 = time.monotonic()

    def _line(self) -> str:
        width = 16
        filled = int(width * self.done / self.total) if self.total else width
        cur = ", ".join(self.current[:4]) + (" …" if len(self.current) > 4 else "")
        return (f"\r[{self.campaign}] [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} done · "
                f"{self.failed} failed · {self.total - self.done} remaining · {time.monotonic() - self.t0:.0f}s"
                + (f" · running {cur}" if cur else ""))

    @staticmethod
    def _width() -> int:
        return max(40, shutil.get_terminal_size((100, 20)).columns - 1)

    def _draw(self) -> None:
        if self.bar:
            w = self._width()
            sys.stderr.write("\r" + self._line().lstrip("\r")[:w].ljust(w))
            sys.stderr.flush()

    def start(self, scenario: str) -> None:
        self.current.append(scenario)
        self._draw()

    def finish(self, scenario: str, verdict: str, pdf: Path | None) -> None:
        if scenario in self.current:
            self.current.remove(scenario)
        self.done += 1
        self.failed += verdict in FAILED
        if self.bar:
            sys.stderr.write("\r" + " " * self._width() + "\r")
            sys.stderr.flush()
        self.say(f"{scenario}: {verdict}" + (f" — {pdf}" if pdf else "")
                 + f"  [{self.done}/{self.total} done, {self.failed} failed, {self.total - self.done} remaining]")
        self._draw()

    def close(self) -> None:
        if self.bar:
            sys.stderr.write("\r" + " " * self._width() + "\r")
            sys.stderr.flush()
