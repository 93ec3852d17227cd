"""demo_dpi.stack.free_port: no port is handed out twice while its server is still starting."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from demo_dpi import stack

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ports(tmp_path, monkeypatch):
    """free_port with its own reservation folder and a fresh memory of the ports handed out."""
    monkeypatch.setattr(stack, "PORTS_DIR", tmp_path / "ports")
    monkeypatch.setattr(stack, "_handed", set())
    return tmp_path / "ports"


def test_one_process_never_gets_a_port_twice(ports):
    # bind(0) alone repeats itself within a few hundred draws (about 14,000 ports to draw from)
    drawn = [stack.free_port() for _ in range(2000)]
    assert len(set(drawn)) == 2000
    assert sorted(int(p.name) for p in ports.iterdir()) == sorted(drawn)
    assert all(1024 <= p <= 65535 for p in drawn)


DRAW = """
import json, sys
from pathlib import Path
from demo_dpi import stack
stack.PORTS_DIR = Path(sys.argv[1])
sys.stdin.readline()                        # start together
print(json.dumps([stack.free_port() for _ in range(600)]))
"""


def test_two_processes_drawing_at_once_never_share_a_port(ports):
    procs = [subprocess.Popen([sys.executable, "-c", DRAW, str(ports)], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(2)]
    time.sleep(0.5)
    outs = [p.communicate("go\n", timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    first, second = (set(json.loads(o)) for o in outs)
    # without the shared reservation, 600 draws each would share about 600 · 600 / 14,000 ≈ 26 ports
    assert len(first) == len(second) == 600 and not first & second


def test_a_fresh_claim_is_skipped_and_an_old_one_freed(ports):
    ports.mkdir()
    fresh, old = ports / "40001", ports / "40003"
    fresh.touch()
    old.touch()
    long_ago = time.time() - stack.RESERVED_S - 60
    os.utime(old, (long_ago, long_ago))
    stack._handed.add(1)                          # not this process's first draw: no pruning pass
    assert stack._reserve(40001, ports) is False and fresh.exists()
    assert stack._reserve(40003, ports) is False and not old.exists()   # freed for a later draw
    assert stack._reserve(40003, ports) is True and old.exists()
    # a process's first draw clears every old claim at once
    for name in ("40005", "40007"):
        (ports / name).touch()
        os.utime(ports / name, (long_ago, long_ago))
    stack._handed.clear()
    assert stack._reserve(40009, ports) is True
    assert sorted(p.name for p in ports.iterdir()) == ["40001", "40003", "40009"]


def test_without_a_writable_folder_ports_are_still_handed_out_once(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(stack, "PORTS_DIR", blocker / "ports")
    monkeypatch.setattr(stack, "_handed", set())
    drawn = [stack.free_port() for _ in range(500)]
    assert len(set(drawn)) == 500
