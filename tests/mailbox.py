"""A small SMTP server in the test process that answers like a real one, a little slowly: a mail provider with
latency, so a worker's run lasts long enough to be killed in the middle of it, several times over."""

import socketserver
import threading
import time


class _Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 mailbox ESMTP")
        recipients, lines, in_data = [], [], False
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if in_data:
                if line != ".":
                    lines.append(line)
                    continue
                in_data = False
                time.sleep(self.server.delay)  # the provider takes its time before it accepts
                message_id = next((ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("message-id:")), "")
                with self.server.lock:
                    self.server.transmissions.extend((to, message_id) for to in recipients)
                recipients, lines = [], []
                self.reply("250 2.0.0 queued")
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb == "RCPT":
                recipients.append(line.split(":", 1)[1].strip().strip("<>").lower())
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                in_data = True
                self.reply("354 go ahead")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class SlowMailbox:
    """`transmissions`: (recipient, Message-ID) for every message the server accepted, in order."""

    def __init__(self, *, delay: float):
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Session)
        self.server.daemon_threads = True
        self.server.delay, self.server.lock, self.server.transmissions = delay, threading.Lock(), []
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.server.server_address[1]}"

    @property
    def transmissions(self) -> list[tuple[str, str]]:
        with self.server.lock:
            return list(self.server.transmissions)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
