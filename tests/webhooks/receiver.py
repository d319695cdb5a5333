"""A real HTTP receiver for webhook tests: a threaded server on 127.0.0.1 that records every request and answers
from a script (`fail_next(n, status)`, `answer(status)`, `delay`), verifying nothing itself: the tests verify with
the official `standardwebhooks` library."""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self):
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.failures_left, self.failure_status = 0, 500
        self.status, self.delay, self.body = 200, 0.0, b"ok"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    if receiver.failures_left:
                        receiver.failures_left -= 1
                        status = receiver.failure_status
                    else:
                        status = receiver.status
                    delay, answer = receiver.delay, receiver.body
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, n: int, status: int = 500) -> None:
        with self.lock:
            self.failures_left, self.failure_status = n, status

    def of_type(self, type: str) -> list[Received]:
        return [r for r in self.received if r.json["type"] == type]
