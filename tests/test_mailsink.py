"""The demo mail sink delivers into a Maildir folder, whether the folder is new, empty or in use."""
from __future__ import annotations

import mailbox
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from conftest import ROOT
from demo_dpi.stack import _wait_port, free_port


def _message(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "dpi@demo-dpi.test", "pro@demo-dpi.test", f"message {n}"
    msg.set_content(f"corps {n}")
    return msg


@pytest.mark.parametrize("state", ["absent", "empty", "maildir"])
def test_mailsink_delivers_whatever_the_folder_state(tmp_path, state):
    folder = tmp_path / "maildir"
    if state == "empty":
        folder.mkdir()                       # exists, without tmp/ new/ cur/: used to answer SMTP 500
    elif state == "maildir":
        mailbox.Maildir(str(folder), create=True).add(_message(0))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "demo_dpi.mailsink", "--port", str(port), "--maildir",
                             str(folder)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, time.monotonic() + 20, "mailsink")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            refused = smtp.send_message(_message(1))
        assert refused == {}
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert "FileNotFoundError" not in out
    subjects = sorted(m["Subject"] for m in mailbox.Maildir(str(folder), create=False))
    assert subjects == (["message 0", "message 1"] if state == "maildir" else ["message 1"])
