"""SMS backends, and Twilio's HTTP API answered by a local fake server (not a mock of our code)."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notify import sms
from notify.sms import sms_backend_from_url
from notify.transports import TransportError


class FakeTwilio(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "form": form})
        status, payload = self.server.answers.pop(0) if self.server.answers else (201, {"sid": "SM123"})
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def twilio():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    server.requests, server.answers = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"twilio://AC123:secret@127.0.0.1:{server.server_address[1]}?from=%2B15005550006&scheme=http"
    yield server
    server.shutdown()
    server.server_close()


def test_twilio_receives_to_from_body_and_our_credentials(twilio):
    sent = sms_backend_from_url(twilio.url).send(to="+8613800138000", body="Policy 2.0 takes effect on 1 March")
    [request] = twilio.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["form"] == {"To": ["+8613800138000"], "From": ["+15005550006"], "Body": ["Policy 2.0 takes effect on 1 March"]}
    assert request["auth"] == "Basic QUMxMjM6c2VjcmV0" and sent.provider_id == "SM123"


@pytest.mark.parametrize(("status", "payload", "permanent"), [
    (400, {"code": 21211, "message": "The 'To' number is not a valid phone number."}, True),
    (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}, True),
    (401, {"code": 20003, "message": "Authenticate"}, True),
    (429, {"code": 20429, "message": "Too Many Requests"}, False),
    (500, {"code": 20500, "message": "Internal Server Error"}, False),
    (503, {}, False),
])
def test_twilio_errors_say_whether_a_retry_can_help(twilio, status, payload, permanent):
    twilio.answers.append((status, payload))
    with pytest.raises(TransportError) as error:
        sms_backend_from_url(twilio.url).send(to="+8613800138000", body="x")
    assert error.value.permanent is permanent


def test_an_unreachable_twilio_is_a_temporary_failure():
    backend = sms_backend_from_url("twilio://AC1:t@127.0.0.1:9?from=%2B15005550006&scheme=http")
    with pytest.raises(TransportError) as error:
        backend.send(to="+8613800138000", body="x")
    assert not error.value.permanent


@pytest.mark.parametrize("scheme", ["file", "ftp", "gopher"])
def test_twilio_accepts_only_https_or_http(scheme):
    with pytest.raises(ValueError, match="https or http"):
        sms_backend_from_url(f"twilio://AC1:t@127.0.0.1:9?from=%2B15005550006&scheme={scheme}")


def test_file_backend_writes_one_json_file_per_message(tmp_path):
    sms_backend_from_url(f"file://{tmp_path}").send(to="+447400123456", body="你好")
    [path] = tmp_path.iterdir()
    data = json.loads(path.read_text())
    assert data["to"] == "+447400123456" and data["body"] == "你好" and data["at"]


def test_memory_backend_keeps_messages_for_tests():
    sms.outbox.clear()
    sms_backend_from_url("memory:").send(to="+447400123456", body="hi")
    assert sms.outbox[-1]["to"] == "+447400123456"


@pytest.mark.parametrize("url", ["carrier-pigeon://x", "twilio://AC1@api.twilio.com", "twilio://AC1:t@api.twilio.com"])
def test_a_bad_sms_url_is_a_clear_error(url):
    with pytest.raises(ValueError, match="SMS_URL"):
        sms_backend_from_url(url)
