"""The webhook benchmark's recipients: one asyncio process answering HTTP/1.1 POSTs on N ports with keep-alive, fast
enough not to be what is measured (no framework, no thread per request; a few µs of parsing per request).

Every request is counted per port; its `webhook-id` is remembered, so a second delivery of the same message shows
as a duplicate; one request in SAMPLE (and the first on each port) is verified with the official Standard Webhooks
library against the port's secret. A control port answers `POST /secrets` (a JSON object port → secret) and
`GET /counts` (the tallies as JSON).

`python -m bench.webhook_receiver N` prints `{"ports": [...], "control": port}` once listening, then serves until
it is terminated.
"""

import asyncio
import json
import signal
import socket
import sys

SAMPLE = 100
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Tally:
    def __init__(self, ports):
        self.requests = dict.fromkeys(ports, 0)
        self.ids: dict[int, set] = {port: set() for port in ports}
        self.duplicates = dict.fromkeys(ports, 0)
        self.verified = dict.fromkeys(ports, 0)
        self.refused = dict.fromkeys(ports, 0)
        self.refusals: list[str] = []
        self.webhooks: dict[int, object] = {}

    def take(self, port: int, headers: dict, body: bytes) -> None:
        n = self.requests[port] = self.requests[port] + 1
        webhook_id = headers.get(b"webhook-id", b"")
        if webhook_id.startswith(b"msg_"):
            seen = self.ids[port]
            if webhook_id in seen:
                self.duplicates[port] += 1
            seen.add(webhook_id)
        if n % SAMPLE == 1 or SAMPLE == 1:
            self.verify(port, headers, body)

    def verify(self, port: int, headers: dict, body: bytes) -> None:
        webhook = self.webhooks.get(port)
        try:
            if webhook is None:
                raise ValueError("no secret for this port")
            webhook.verify(body, {k: headers.get(k.encode(), b"").decode() for k in
                                  ("webhook-id", "webhook-timestamp", "webhook-signature")})
            self.verified[port] += 1
        except Exception as exc:  # noqa: BLE001 -- counted and shown, never hidden
            self.refused[port] += 1
            if len(self.refusals) < 5:
                self.refusals.append(f"{port}: {type(exc).__name__}: {exc}"[:200])

    def secrets_set(self, secrets: dict) -> None:
        from standardwebhooks import Webhook

        self.webhooks = {int(port): Webhook(secret) for port, secret in secrets.items()}

    def counts(self) -> dict:
        return {"requests": sum(self.requests.values()), "per_port": self.requests,
                "unique_ids": sum(len(s) for s in self.ids.values()), "duplicates": sum(self.duplicates.values()),
                "verified": sum(self.verified.values()), "refused": sum(self.refused.values()),
                "refusals": self.refusals}


class Http(asyncio.Protocol):
    """HTTP/1.1 requests with a Content-Length body, pipelined or one after the other on a kept-alive connection."""

    def __init__(self, tally: Tally, port: int, control: bool = False):
        self.tally, self.port, self.control = tally, port, control
        self.buffer = b""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = self.buffer[:end].split(b"\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            if self.control:
                self.transport.write(self.answer_control(lines[0], body))
            else:
                self.tally.take(self.port, headers, body)
                self.transport.write(OK)

    def answer_control(self, request_line: bytes, body: bytes) -> bytes:
        if request_line.startswith(b"POST /secrets"):
            self.tally.secrets_set(json.loads(body))
            out = b"{}"
        else:
            out = json.dumps(self.tally.counts()).encode()
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out)


async def serve(n: int) -> None:
    loop = asyncio.get_running_loop()
    sockets = []
    for _ in range(n):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [sock.getsockname()[1] for sock in sockets]
    tally = Tally(ports)
    for sock, port in zip(sockets, ports, strict=True):
        await loop.create_server(lambda port=port: Http(tally, port), sock=sock, backlog=128)
    control = await loop.create_server(lambda: Http(tally, 0, control=True), "127.0.0.1", 0)
    print(json.dumps({"ports": ports, "control": control.sockets[0].getsockname()[1]}), flush=True)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    await stop


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
