"""A real SMTP server (aiosmtpd) that stores every message it receives into a Maildir.

``python -m demo_dpi.mailsink --port 2525 --maildir PATH`` — the demo target's outgoing mail lands here,
and the toolkit's Maildir mailbox reads it, as a professional's mailbox would.
"""
from __future__ import annotations

import argparse
import mailbox
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class MaildirHandler:
    def __init__(self, path: Path):
        # mailbox.Maildir(create=True) makes tmp/, new/ and cur/ only when the folder itself is absent:
        # a folder that exists but is empty would make every delivery fail (FileNotFoundError on tmp/).
        for sub in ("tmp", "new", "cur"):
            (Path(path) / sub).mkdir(parents=True, exist_ok=True)
        self.box = mailbox.Maildir(str(path), create=False)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        with self.lock:
            self.box.add(mailbox.MaildirMessage(data))
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi.mailsink", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--maildir", required=True, type=Path)
    args = ap.parse_args(argv)
    controller = Controller(MaildirHandler(args.maildir), hostname=args.host, port=args.port)
    controller.start()
    print(f"mailsink listening on {args.host}:{args.port}, Maildir {args.maildir}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
