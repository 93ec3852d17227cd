"""Which Chromium the toolkit drives: SEGUR_CHROMIUM, else the headless shell, else the full browser."""
from __future__ import annotations

import pytest

from segur_helpers import browser
from segur_helpers.errors import UserError


def _exe(folder, name):
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


def test_headless_shell_preferred_then_full_browser(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_CHROMIUM", raising=False)
    full = _exe(tmp_path, "chromium")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert browser.find_chromium() == full
    shell = _exe(tmp_path, "chromium-headless-shell")
    assert browser.find_chromium() == shell


def test_segur_chromium_wins_and_is_checked(tmp_path, monkeypatch):
    _exe(tmp_path, "chromium-headless-shell")
    mine = _exe(tmp_path, "my-chrome")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("SEGUR_CHROMIUM", mine)
    assert browser.find_chromium() == mine
    monkeypatch.setenv("SEGUR_CHROMIUM", str(tmp_path / "missing"))
    with pytest.raises(UserError, match="SEGUR_CHROMIUM"):
        browser.find_chromium()


def test_no_chromium_at_all_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="apt-get install chromium"):
        browser.find_chromium()

