"""A real local HTTP receiver for webhook tests: verifies each delivery's Standard Webhooks signature
with the subscription's secret and keeps what it got."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    url: str
    server: ThreadingHTTPServer
    secret: str | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    #: status codes to answer before answering 204 (to exercise retries)
    fail_first: list[int] = field(default_factory=list)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_receiver() -> Receiver:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            rec = holder["r"]
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if rec.fail_first:
                self.send_response(rec.fail_first.pop(0))
                self.end_headers()
                return
            try:
                payload = Webhook(rec.secret or "").verify(body, dict(self.headers.items()))
            except (WebhookVerificationError, Exception) as exc:  # any failure is a rejection
                rec.rejected.append(str(exc))
                self.send_response(400)
                self.end_headers()
                return
            rec.received.append({"id": self.headers["webhook-id"], "payload": payload,
                                 "raw": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rec = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", server)
    holder["r"] = rec
    return rec
