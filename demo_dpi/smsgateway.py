"""A stand-in for an HTTP SMS gateway: it accepts SMS over a small JSON API and keeps each one as a file.

``python -m demo_dpi.smsgateway --port 8769 --dir PATH`` — the demo DPI sends its SMS here (``--sms-url``),
as a product sends them to its operator's gateway, and the toolkit reads the files as evidence (campaign
``sms: {kind: folder, path: PATH}``), as an operator would read a test phone.

API (stable, JSON in UTF-8, on 127.0.0.1 only)::

    POST /v1/messages          {"from": "DemoDPI", "to": "+33639980042", "text": "…"}
      201 Created              {"id": "sms-…", "status": "accepted", "to": "+33639980042", "parts": 1}
      400 Bad Request          {"error": "…"}   not JSON, not an object, a field missing or of the wrong
                                                 type, "to" not an international number (+ and 8 to 15
                                                 digits), "text" empty or longer than 1600 characters,
                                                 "from" longer than 11 characters or not letters/digits
      411 / 413                {"error": "…"}   no Content-Length / a body over 16 KiB
      415 Unsupported Media    {"error": "…"}   a Content-Type other than application/json
    GET  /v1/messages/<id>     200 the stored message, 404 when unknown
    GET  /health               200 {"status": "ok"}

Every other path is 404, every other method 405, always with a JSON ``{"error": …}`` body. A request
the server cannot read never stops it.

Each accepted message is one file ``<received>-<id>.json`` in the folder (written to ``tmp/`` then
renamed, as in a Maildir, so a reader never sees half a file)::

    {"id": "sms-…", "received_at": "2026-11-25T14:05:12.123456+00:00", "from": "DemoDPI",
     "to": "+33639980042", "text": "…", "parts": 1, "gateway": "demo_dpi.smsgateway"}

``parts`` is the number of SMS the text takes (160 characters for one, 153 per part beyond).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY = 16 * 1024
MAX_TEXT = 1600
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
SENDER = re.compile(r"^[A-Za-z0-9]{1,11}$")
MESSAGE_ID = re.compile(r"^sms-[A-Za-z0-9_-]{8,40}$")


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def parts(text: str) -> int:
    return 1 if len(text) <= 160 else -(-len(text) // 153)


def validate(body: bytes) -> dict:
    """The message a request body asks to send, or :class:`BadRequest` saying what is wrong."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(400, f"the body is not JSON in UTF-8 ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise BadRequest(400, f"expected a JSON object with from, to and text, got {type(data).__name__}")
    unknown = sorted(set(data) - {"from", "to", "text"})
    if unknown:
        raise BadRequest(400, f"unknown field(s) {', '.join(unknown)}; expected from, to and text")
    for key in ("from", "to", "text"):
        if key not in data:
            raise BadRequest(400, f"field {key!r} is missing; expected from, to and text")
        if not isinstance(data[key], str):
            raise BadRequest(400, f"field {key!r} must be a string, got {type(data[key]).__name__}")
    if not SENDER.match(data["from"]):
        raise BadRequest(400, "field 'from' must be 1 to 11 letters or digits (an alphanumeric sender)")
    if not E164.match(data["to"]):
        raise BadRequest(400, f"field 'to' must be an international number (+ then 8 to 15 digits), got "
                              f"{data['to'][:40]!r}")
    if not data["text"].strip():
        raise BadRequest(400, "field 'text' is empty")
    if len(data["text"]) > MAX_TEXT:
        raise BadRequest(400, f"field 'text' has {len(data['text'])} characters; at most {MAX_TEXT}")
    return data


class Store:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        (self.folder / "tmp").mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def add(self, data: dict) -> dict:
        now = datetime.now(timezone.utc)
        record = {"id": "sms-" + secrets.token_urlsafe(12), "received_at": now.isoformat(),
                  "from": data["from"], "to": data["to"], "text": data["text"], "parts": parts(data["text"]),
                  "gateway": "demo_dpi.smsgateway"}
        name = f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{record['id']}.json"
        raw = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
        with self.lock:
            tmp = self.folder / "tmp" / name
            tmp.write_bytes(raw)
            os.replace(tmp, self.folder / name)
        return record

    def get(self, message_id: str) -> bytes | None:
        if not MESSAGE_ID.match(message_id):
            return None
        found = sorted(self.folder.glob(f"*-{message_id}.json"))
        return found[0].read_bytes() if found else None


class Handler(BaseHTTPRequestHandler):
    server_version = "demo-sms-gateway/1"
    store: Store  # set by make_server

    def log_message(self, fmt, *args):  # one line per request on stderr, as http.server does, without DNS
        sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    def _answer(self, status: int, payload: dict | bytes) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _guard(self, fn) -> None:
        try:
            fn()
        except BadRequest as exc:
            self._answer(exc.status, {"error": str(exc)})
        except (ConnectionError, TimeoutError):
            pass  # the client went away: nothing to answer
        except Exception as exc:  # never stop the server on a request; say so instead
            self.log_message("internal error: %r", exc)
            self._answer(500, {"error": "internal error of the SMS gateway"})

    def do_POST(self):  # noqa: N802 (http.server API)
        self._guard(self._post)

    def _post(self) -> None:
        if self.path.split("?")[0] != "/v1/messages":
            raise BadRequest(404 if not self.path.startswith("/v1/messages/") else 405,
                             f"no such resource {self.path[:80]!r}; POST /v1/messages sends an SMS")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise BadRequest(415, f"Content-Type {ctype or 'missing'!r}; expected application/json")
        length = self.headers.get("Content-Length")
        if length is None:
            raise BadRequest(411, "Content-Length is missing")
        try:
            size = int(length)
        except ValueError:
            raise BadRequest(400, f"Content-Length {length[:20]!r} is not a number") from None
        if size < 0:
            raise BadRequest(400, "Content-Length is negative")
        if size > MAX_BODY:
            raise BadRequest(413, f"the body has {size} bytes; at most {MAX_BODY}")
        body = self.rfile.read(size)
        if len(body) < size:
            raise BadRequest(400, f"the body ended after {len(body)} of {size} bytes")
        record = self.store.add(validate(body))
        self._answer(201, {"id": record["id"], "status": "accepted", "to": record["to"], "parts": record["parts"]})

    def do_GET(self):  # noqa: N802
        self._guard(self._get)

    def _get(self) -> None:
        path = self.path.split("?")[0]
        if path == "/health":
            self._answer(200, {"status": "ok"})
        elif path.startswith("/v1/messages/"):
            raw = self.store.get(path.rsplit("/", 1)[-1])
            if raw is None:
                raise BadRequest(404, "no such message")
            self._answer(200, raw)
        elif path == "/v1/messages":
            raise BadRequest(405, "GET /v1/messages is not offered; POST sends an SMS")
        else:
            raise BadRequest(404, f"no such resource {path[:80]!r}")

    def _not_allowed(self):
        self._answer(405, {"error": f"method {self.command} is not allowed; POST /v1/messages sends an SMS"})

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (a request line it cannot parse, an unknown method…) in JSON too."""
        try:
            self.close_connection = True
            self._answer(code, {"error": message or self.responses.get(code, ("error",))[0]})
        except (ConnectionError, TimeoutError):
            pass


def make_server(host: str, port: int, folder: Path) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"store": Store(folder)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi.smsgateway", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8769)
    ap.add_argument("--dir", required=True, type=Path, help="folder where each accepted SMS is kept as a file")
    args = ap.parse_args(argv)
    server = make_server(args.host, args.port, args.dir)
    print(f"smsgateway listening on http://{args.host}:{args.port}, messages in {args.dir}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
