"""A run's private folder: its lock, its temporary files, the processes it started, the services to restore.

``outputs/<campaign>/.work/<run-id>/`` (mode 0700), beside the run folder and never inside it (the run
folder holds the proofs and nothing else: everything in it is in the manifest):

- ``lock``: held (``flock``) by the one process writing the run — a run, its ``--resume`` or its
  ``rerun --failed``; a second writer is refused in one line. The kernel releases it when the process
  ends, however it ends (SIGKILL included), so a lock that is free means nobody is writing.
- ``tmp/``: the ``TMPDIR`` of the session and of everything it starts (the Playwright server and its
  Chromium profile, the kernels, downloads); ``runtime/``: the kernels' connection files (they hold the
  HMAC key of each kernel's channels).
- ``pids.json``: the processes the session started (the browser server, each kernel), with their start
  time so that a recycled process id is never mistaken for one of them.
- ``disrupted.json``: the shared services of the target a proof is interrupting right now (catalogue
  ``disrupts``) and how to restore them (catalogue ``restores``).

A session removes its private folder when it ends. A crashed one (SIGKILL, power cut) leaves it: the next
session of the campaign (:func:`reap`) kills the processes still alive, takes over the services left
disrupted (restored once its browser is up) and removes the folder, connection files included.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

from ..errors import UserError

WORK_DIR = ".work"


def _start_time(pid: int) -> str | None:
    """A process's start time (clock ticks since boot, field 22 of /proc/PID/stat), None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _write(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read(path: Path, default):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


class RunWork:
    """The private folder of one run (see the module's docstring)."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.dir = self.run_dir.parent / WORK_DIR / self.run_dir.name
        self._fd: int | None = None
        self.notes: list[str] = []
        self._saved_env: dict[str, str | None] = {}
        self._saved_tempdir: str | None = None

    # -- the lock ---------------------------------------------------------------------------------------
    def acquire(self) -> "RunWork":
        """Take the run's lock, or refuse in one line when another process holds it."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.dir.parent, 0o700)
            fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise UserError(f"cannot create the run's private folder ({exc.strerror}); expected a writable "
                            "outputs folder", key=str(self.dir)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UserError(f"another segur process is writing this run (pid {holder}); expected it to finish "
                            "first (one writer per run folder)", key=str(self.run_dir)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        # this run's own earlier session crashed (its --resume, its rerun): what it left is reaped first
        self.notes = _kill_recorded(self.dir)
        if self.disrupted():
            self.notes.append(f"{', '.join(sorted({e['service'] for e in self.disrupted()}))} left disrupted by "
                              "the crashed session: restored at start")
        for sub in ("tmp", "runtime"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)
            (self.dir / sub).mkdir(exist_ok=True, mode=0o700)
        (self.dir / "pids.json").unlink(missing_ok=True)
        return self

    @property
    def locked(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """The session is over and everything it started has stopped: remove the folder, free the lock."""
        self.leave()
        if self._fd is None:
            return
        if not _read(self.dir / "disrupted.json", []):    # a service left disrupted is kept for the next start
            # a browser process that is still closing may write its profile a moment longer
            for _ in range(25):
                shutil.rmtree(self.dir, ignore_errors=True)
                if not self.dir.exists():
                    break
                time.sleep(0.2)
            try:
                self.dir.parent.rmdir()                   # .work, when no other run has one
            except OSError:
                pass
        os.close(self._fd)
        self._fd = None

    # -- temporary files inside the private folder ------------------------------------------------------
    def enter(self) -> None:
        """From now on, temporary files (this process's and its children's) and kernels' connection files
        go to the private folder."""
        tmp, runtime = str(self.dir / "tmp"), str(self.dir / "runtime")
        for key, value in (("TMPDIR", tmp), ("JUPYTER_RUNTIME_DIR", runtime)):
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        if self._saved_tempdir is None:
            self._saved_tempdir = tempfile.tempdir or ""
        tempfile.tempdir = tmp

    def leave(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        if self._saved_tempdir is not None:
            tempfile.tempdir = self._saved_tempdir or None
            self._saved_tempdir = None

    # -- processes --------------------------------------------------------------------------------------
    def register(self, kind: str, pid: int | None) -> None:
        """Record a process this session started (reaped by the next session if this one crashes)."""
        if not pid or self._fd is None:
            return
        pids = [p for p in _read(self.dir / "pids.json", []) if _start_time(p["pid"]) == p["start"]]
        pids.append({"kind": kind, "pid": pid, "start": _start_time(pid)})
        try:
            _write(self.dir / "pids.json", pids)
        except OSError:
            pass          # a full disk: the process is still stopped by this session when it ends

    # -- services a proof disrupts ----------------------------------------------------------------------
    def disrupted(self) -> list[dict]:
        return _read(self.dir / "disrupted.json", [])

    def mark_disrupted(self, entries: list[dict]) -> None:
        current = self.disrupted()
        for e in entries:
            if e not in current:
                current.append(e)
        _write(self.dir / "disrupted.json", current)

    def clear_disrupted(self, entries: list[dict]) -> None:
        _write(self.dir / "disrupted.json", [e for e in self.disrupted() if e not in entries])


def _kill_recorded(folder: Path) -> list[str]:
    """Kill the processes a session recorded in ``folder`` that are still alive (same start time: never a
    recycled id), each with its process group, and wait until they are gone."""
    recorded = [p for p in _read(folder / "pids.json", []) if isinstance(p.get("pid"), int) and p.get("start")]
    killed = []
    for p in recorded:
        if _start_time(p["pid"]) != p["start"]:
            continue
        try:
            if os.getpgid(p["pid"]) == p["pid"]:
                os.killpg(p["pid"], signal.SIGKILL)   # the browser server's, the browser's or a kernel's group
            else:
                os.kill(p["pid"], signal.SIGKILL)
            killed.append(p)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + 5
    while killed and time.monotonic() < deadline and any(_start_time(p["pid"]) == p["start"]
                                                         and not _zombie(p["pid"]) for p in killed):
        time.sleep(0.05)
    return [f"{len(killed)} process(es) left by the crashed session {folder.name} stopped"] if killed else []


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def reap(campaign_dir: Path, into: RunWork | None = None) -> list[str]:
    """Clean up after the crashed sessions of a campaign: for every private folder whose lock is free,
    kill the processes it recorded that are still alive, hand its disrupted services over to ``into``
    (restored once the new session's browser is up) and remove the folder. Returns what was done."""
    done: list[str] = []
    base = Path(campaign_dir) / WORK_DIR
    if not base.is_dir():
        return done
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        if into is not None and folder == into.dir:
            continue
        lock = folder / "lock"
        fd = None
        try:
            if lock.exists():
                fd = os.open(lock, os.O_RDWR)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue                        # a live session: not ours to touch
        except OSError:
            if fd is not None:
                os.close(fd)
            continue
        try:
            done.extend(_kill_recorded(folder))
            left = _read(folder / "disrupted.json", [])
            if left and into is not None:
                into.mark_disrupted(left)
                done.append(f"{', '.join(sorted({e['service'] for e in left}))} left disrupted by "
                            f"{folder.name}: restored at start")
            if left and into is None:
                continue
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            if fd is not None:
                os.close(fd)
    return done
