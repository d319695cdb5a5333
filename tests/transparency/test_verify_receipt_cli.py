"""tools/verify_receipt.py as a client runs it: a downloaded consent receipt, the log's public key, and optionally
the public log (here a tiny stdlib HTTP server on 127.0.0.1 serving fixed answers)."""

import base64
import json
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.transparency import reference
from tests.transparency.synthetic import (
    INDEX,
    LEDGER,
    ORIGIN,
    SIZE,
    TOOL,
    VKEY,
    assert_failed,
    canonical_hash,
    checkpoint,
    leaf_hashes,
    make_receipt,
    run,
)
from tools.verify_receipt import NoteVerifier, VerificationError, leaf_hash, verify_receipt

ENTRIES = [canonical_hash(entry) for entry in LEDGER]  # entry hashes of the 12 consent events in the log
HASHES = leaf_hashes()


# --- a receipt on its own ---

def test_a_genuine_receipt_verifies_and_says_what_was_checked(tmp_path):
    result = run(tmp_path, make_receipt())
    assert result.returncode == 0, result.stderr
    assert f"signed by {ORIGIN}+" in result.stdout
    assert "the event is leaf 5 of the tree of size 7 (inclusion proof verified)" in result.stdout
    assert result.stdout.rstrip().endswith("VERIFIED: the consent event of this receipt is in the public log")


def test_the_key_can_come_from_a_file(tmp_path):
    (tmp_path / "log.key").write_text(VKEY + "\n")
    assert run(tmp_path, make_receipt(), "--key-file", str(tmp_path / "log.key"), key=None).returncode == 0


def test_the_server_can_call_the_verifier_directly():
    checks = verify_receipt(make_receipt(), NoteVerifier.from_vkey(VKEY))
    assert len(checks) == 4 and checks[0].startswith("the receipt's content is what the ledger hashed")
    assert checks[1] == f"the log's leaf input is the receipt's entry hash {ENTRIES[INDEX].hex()}"


def altered(change):
    receipt = make_receipt()
    change(receipt, receipt["transparencyLog"])
    return receipt


def flip_proof(_, log):
    proof = base64.b64decode(log["inclusionProof"][1])
    log["inclusionProof"][1] = base64.b64encode(bytes([proof[0] ^ 1]) + proof[1:]).decode()


def alter_signature(_, log):
    text, _, line = log["checkpoint"].rpartition("\n\u2014 ")
    name, signature = line.split(" ")
    replacement = "A" if signature[40] != "A" else "B"
    log["checkpoint"] = f"{text}\n\u2014 {name} {signature[:40]}{replacement}{signature[41:]}"


NOT_THE_ENTRY = "leafInput is not the receipt's entryHash"


def another_events_content(receipt, log):
    """The content of the client's first event, with its own entry hash, in the place of event 5's."""
    receipt.update({key: value for key, value in make_receipt(0).items() if key != "transparencyLog"})
    log.update(leafInput=receipt["entryHash"])


@pytest.mark.parametrize(("change", "message"), [
    pytest.param(lambda r, log: log.update(leafInput=ENTRIES[0].hex()), NOT_THE_ENTRY, id="leafInput"),
    pytest.param(lambda r, log: r.update(entryHash=ENTRIES[0].hex()), "ledgerEntry does not hash to its entryHash",
                 id="entryHash"),
    pytest.param(another_events_content, "inclusion proof of leaf 5 does not lead to the root hash", id="another event"),
    pytest.param(flip_proof, "inclusion proof of leaf 5 does not lead to the root hash", id="proof bit"),
    pytest.param(lambda r, log: log["inclusionProof"].pop(), "inclusion proof is too short", id="proof truncated"),
    pytest.param(lambda r, log: log["inclusionProof"].append(log["inclusionProof"][0]), "inclusion proof is too long",
                 id="proof extended"),
    pytest.param(lambda r, log: log.update(leafIndex=4), "inclusion proof of leaf 4 does not lead", id="leafIndex"),
    pytest.param(lambda r, log: log.update(leafIndex=7), "leaf index 7 is not in a tree of size 7", id="leafIndex beyond"),
    pytest.param(lambda r, log: log.update(checkpoint=log["checkpoint"].replace("\n7\n", "\n8\n")),
                 "invalid signature by key", id="checkpoint size"),
    pytest.param(lambda r, log: log.update(checkpoint=log["checkpoint"].replace(ORIGIN + "\n", "other.example/log\n", 1)),
                 "invalid signature by key", id="checkpoint origin"),
    pytest.param(alter_signature, "invalid signature by key", id="signature"),
    pytest.param(lambda r, log: log.update(checkpoint=checkpoint(HASHES[:SIZE], skey=reference.new_key(ORIGIN)[0])),
                 "the note carries no signature by key", id="signed by another key"),
    pytest.param(lambda r, log: log.update(origin="other.example/log"),
                 "the receipt is for log 'other.example/log', not the expected log 'portal.example/consent-log'", id="origin"),
])
def test_an_altered_receipt_fails_naming_the_problem(tmp_path, change, message):
    assert_failed(run(tmp_path, altered(change)), message)


@pytest.mark.parametrize(("key", "args", "message"), [
    pytest.param(reference.new_key("other.example/log")[1], (),
                 "the receipt is for log 'portal.example/consent-log', not the expected log 'other.example/log'",
                 id="another log's key"),
    pytest.param(reference.new_key("other.example/log")[1], ("--origin", ORIGIN), "no signature by key other.example/log+",
                 id="another log's key, our origin"),
    pytest.param(reference.new_key(ORIGIN)[1], (), f"the note carries no signature by key {ORIGIN}+", id="impostor key"),
])
def test_a_receipt_checked_with_another_key_fails(tmp_path, key, args, message):
    assert_failed(run(tmp_path, make_receipt(), *args, key=key), message)


# --- which log the receipt must come from ---

def test_the_expected_log_is_the_keys_name_and_a_receipt_of_another_log_signed_by_our_key_fails(tmp_path):
    """Receipt and checkpoint agree with each other and the signature is ours, but they name another log."""
    assert_failed(run(tmp_path, make_receipt(origin="other.example/log")),
                  "the receipt is for log 'other.example/log', not the expected log 'portal.example/consent-log'")


def test_a_checkpoint_of_another_log_signed_by_our_key_fails_even_if_the_receipt_names_ours(tmp_path):
    receipt = make_receipt(origin="other.example/log")
    receipt["transparencyLog"]["origin"] = ORIGIN
    assert_failed(run(tmp_path, receipt),
                  "the receipt's checkpoint is for log 'other.example/log', not 'portal.example/consent-log'")


def test_origin_names_the_expected_log_when_it_is_not_the_keys_name(tmp_path):
    result = run(tmp_path, make_receipt(origin="other.example/log"), "--origin", "other.example/log")
    assert result.returncode == 0, result.stderr
    assert f"is signed by {ORIGIN}+" in result.stdout and "for log other.example/log" in result.stdout


def test_a_genuine_receipt_fails_against_an_explicit_origin_of_another_log(tmp_path):
    assert_failed(run(tmp_path, make_receipt(), "--origin", "third.example/log"),
                  "the receipt is for log 'portal.example/consent-log', not the expected log 'third.example/log'")


def test_the_server_can_name_the_expected_log_when_calling_the_verifier():
    verifier, receipt = NoteVerifier.from_vkey(VKEY), make_receipt(origin="other.example/log")
    assert len(verify_receipt(receipt, verifier, origin="other.example/log")) == 4
    with pytest.raises(VerificationError, match="not the expected log 'portal.example/consent-log'"):
        verify_receipt(receipt, verifier)


def test_a_pending_receipt_fails_with_the_pending_message(tmp_path):
    receipt = make_receipt()
    receipt["transparencyLog"] = {"origin": ORIGIN, "pending": True}
    assert_failed(run(tmp_path, receipt), "the receipt is pending: no checkpoint covered this event yet")


@pytest.mark.parametrize(("receipt", "message"), [
    pytest.param("{not json", "is not valid JSON", id="not JSON"),
    pytest.param("[" * 100000, "is not valid JSON", id="deeply nested"),
    pytest.param("[1, 2]", "the receipt is not a JSON object", id="array"),
    pytest.param(altered(lambda r, log: r.pop("transparencyLog")), "no transparencyLog section", id="no transparencyLog"),
    pytest.param(altered(lambda r, log: log.update(leafIndex="5")), "no valid 'leafIndex'", id="leafIndex text"),
    pytest.param(altered(lambda r, log: log.update(leafIndex=True)), "no valid 'leafIndex'", id="leafIndex boolean"),
    pytest.param(altered(lambda r, log: log.update(leafIndex=-1)), "leaf index is not a non-negative integer", id="negative"),
    pytest.param(altered(lambda r, log: log.pop("checkpoint")), "no valid 'checkpoint'", id="no checkpoint"),
    pytest.param(altered(lambda r, log: log.update(checkpoint=12)), "no valid 'checkpoint'", id="checkpoint number"),
    pytest.param(altered(lambda r, log: log.update(checkpoint="just text\n")), "signed note is malformed", id="unsigned"),
    pytest.param(altered(lambda r, log: log.update(inclusionProof="AAAA")), "inclusionProof is not a list", id="proof text"),
    pytest.param(altered(lambda r, log: log["inclusionProof"].append("**")), "is not valid base64", id="bad base64"),
    pytest.param(altered(lambda r, log: log["inclusionProof"].append(7)), "is not valid base64", id="proof number"),
    pytest.param(altered(lambda r, log: log["inclusionProof"].append("AAAA")), "not a 32-byte hash", id="short hash"),
    pytest.param(altered(lambda r, log: r.update(entryHash="xyz")), "entryHash is not a 32-byte hex hash", id="entryHash"),
    pytest.param(altered(lambda r, log: log.update(leafInput=None)), "no valid 'leafInput'", id="leafInput null"),
])
def test_bad_input_fails_cleanly_without_a_traceback(tmp_path, receipt, message):
    assert_failed(run(tmp_path, receipt), message)


@pytest.mark.parametrize(("args", "key", "message"), [
    pytest.param((), "PeterNeumann+c74f20a3+AAAA", "verifier key's hash does not match", id="wrong key"),
    pytest.param((), "not a key", "verifier key is malformed", id="malformed key"),
    pytest.param(("--key-file", "/nonexistent/log.key"), None, "cannot read key file", id="missing key file"),
])
def test_bad_keys_fail_cleanly(tmp_path, args, key, message):
    assert_failed(run(tmp_path, make_receipt(), *args, key=key), message)


def test_a_missing_receipt_file_fails_cleanly(tmp_path):
    result = subprocess.run([sys.executable, str(TOOL), str(tmp_path / "none.json"), "--key", VKEY],
                            capture_output=True, text=True, timeout=60, check=False)
    assert_failed(result, "cannot read receipt")


@pytest.mark.parametrize("args", [pytest.param((), id="no key"), pytest.param(("--key", VKEY, "--key-file", "f"), id="two keys")])
def test_a_wrong_command_line_is_a_usage_error(tmp_path, args):
    result = run(tmp_path, make_receipt(), *args, key=None)
    assert (result.returncode, "usage:" in result.stderr, "Traceback" in result.stderr) == (2, True, False)


def test_the_verifier_runs_alone_with_only_the_standard_library_and_cryptography(tmp_path):
    """A client downloads the one file: it runs isolated from this project, importing nothing else (no Django)."""
    shutil.copy(TOOL, tmp_path / "verify_receipt.py")
    (tmp_path / "receipt.json").write_text(json.dumps(make_receipt()))
    guard = (
        "import runpy, sys\n"
        "class OnlyStdlibAndCryptography:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] not in (*sys.stdlib_module_names, 'cryptography', '_cffi_backend'):\n"
        "            raise ImportError('verify_receipt.py imported ' + name)\n"
        "sys.meta_path.insert(0, OnlyStdlibAndCryptography())\n"
        "sys.argv = ['verify_receipt.py', 'receipt.json', '--key', sys.argv[1]]\n"
        "runpy.run_path('verify_receipt.py', run_name='__main__')\n"
    )
    plain = [sys.executable, "-I", "verify_receipt.py", "receipt.json", "--key", VKEY]
    for command in ([sys.executable, "-I", "-c", guard, VKEY], plain):
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        assert "VERIFIED" in result.stdout


# --- against the public log ---

class FixedAnswers(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, str]] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        not_found = (404, '{"error": {"code": "not_found", "message": "no such page"}}')
        status, body = self.answers.get(self.path.removeprefix("/transparency/log/"), not_found)
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body.startswith("{") else "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(answers):
        handler = type("Answers", (FixedAnswers,), {"answers": answers})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/transparency/log/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def log_answers(hashes, old_size=SIZE, index=INDEX):
    """What an honest log holding `hashes` answers for the receipt's checks."""
    size = len(hashes)
    return {
        "checkpoint": (200, checkpoint(hashes)),
        f"proof/consistency?from={old_size}&to={size}": (200, json.dumps(
            {"from": old_size, "to": size, "proof": reference.b64(reference.consistency_proof(old_size, hashes))})),
        f"proof/inclusion?index={index}&size={size}": (200, json.dumps(
            {"index": index, "tree_size": size, "leaf_hash": reference.b64([hashes[index]])[0],
             "proof": reference.b64(reference.inclusion_path(index, hashes))})),
    }


def test_a_receipt_verifies_against_a_log_that_only_grew(tmp_path, serve):
    result = run(tmp_path, make_receipt(), "--log", serve(log_answers(HASHES)))
    assert result.returncode == 0, result.stderr
    assert "the log's latest checkpoint (tree size 12) is signed by" in result.stdout
    assert "the log only grew from size 7 to 12 (consistency proof verified)" in result.stdout
    assert "the event is still leaf 5 of today's tree of size 12 (inclusion proof verified)" in result.stdout


def test_a_receipt_verifies_against_a_log_that_has_not_grown(tmp_path, serve):
    result = run(tmp_path, make_receipt(), "--log", serve(log_answers(HASHES[:SIZE])).rstrip("/"))
    assert result.returncode == 0, result.stderr
    assert "the latest checkpoint is the receipt's checkpoint (same size, same root hash)" in result.stdout


def rewritten(position):
    return [leaf_hash(b"forged") if i == position else h for i, h in enumerate(HASHES)]


@pytest.mark.parametrize(("answers", "message"), [
    pytest.param(log_answers(rewritten(2)), "from size 7 to 12 does not match the root hashes: the log was rewritten",
                 id="old event rewritten"),
    pytest.param(log_answers(rewritten(SIZE - 1)), "the log was rewritten", id="last covered event rewritten"),
    pytest.param(log_answers(rewritten(SIZE))
                 | {f"proof/inclusion?index={INDEX}&size=12": (200, json.dumps({"index": INDEX, "tree_size": 12, "proof": []}))},
                 "the inclusion proof is too short", id="bad inclusion answer"),
    pytest.param({**log_answers(HASHES), f"proof/inclusion?index={INDEX}&size=12": log_answers(
        [h if i != INDEX else HASHES[0] for i, h in enumerate(HASHES)])[f"proof/inclusion?index={INDEX}&size=12"]},
        "the log holds another event at leaf 5", id="event replaced"),
    pytest.param(log_answers(HASHES[:SIZE - 1], old_size=SIZE - 1), "the log shrank: latest size 6", id="shrank"),
    pytest.param(log_answers(rewritten(2)[:SIZE]), "two different root hashes for tree size 7", id="same size, other root"),
    pytest.param({**log_answers(HASHES), "checkpoint": (200, checkpoint(HASHES, skey=reference.new_key(ORIGIN)[0]))},
                 "the note carries no signature by key", id="latest signed by another key"),
    pytest.param({**log_answers(HASHES), "checkpoint": (200, checkpoint(HASHES, origin="other.example/log"))},
                 "the log's latest checkpoint is for log 'other.example/log'", id="latest of another log"),
    pytest.param({**log_answers(HASHES), f"proof/consistency?from={SIZE}&to=12": (
        404, '{"error": {"code": "not_found", "message": "no checkpoint of size 12 was published"}}')},
        "the log answered 404 for http://127.0.0.1", id="error answer"),
    pytest.param({**log_answers(HASHES), f"proof/consistency?from={SIZE}&to=12": (200, "<html>oops</html>")},
                 "is not JSON", id="not JSON"),
    pytest.param({**log_answers(HASHES), f"proof/consistency?from={SIZE}&to=12": (200, '{"from": 7, "to": 11, "proof": []}')},
                 "consistency proof for other tree sizes", id="other sizes"),
    pytest.param({**log_answers(HASHES), f"proof/consistency?from={SIZE}&to=12": (200, '{"from": 7, "to": 12, "proof": ["%"]}')},
                 "the consistency proof is not valid base64", id="bad base64"),
    pytest.param({**log_answers(HASHES), "checkpoint": (500, "Internal Server Error")},
                 "the log answered 500", id="server error"),
])
def test_a_log_that_does_not_check_out_fails(tmp_path, serve, answers, message):
    assert_failed(run(tmp_path, make_receipt(), "--log", serve(answers)), message)


def test_the_logs_own_error_message_is_shown(tmp_path, serve):
    answers = {**log_answers(HASHES), f"proof/inclusion?index={INDEX}&size=12": (
        400, '{"error": {"code": "bad_request", "message": "index must be below size"}}')}
    assert_failed(run(tmp_path, make_receipt(), "--log", serve(answers)), "index must be below size")


def test_an_unreachable_log_fails_cleanly(tmp_path):
    with ThreadingHTTPServer(("127.0.0.1", 0), FixedAnswers) as closed:
        port = closed.server_port  # a port that was free a moment ago, and nothing listens on it now
    assert_failed(run(tmp_path, make_receipt(), "--log", f"http://127.0.0.1:{port}/"), "could not reach the log")


def test_a_log_url_that_is_not_http_is_refused(tmp_path):
    assert_failed(run(tmp_path, make_receipt(), "--log", "file:///etc/"), "the log URL must be http or https")
