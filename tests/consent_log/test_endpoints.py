"""The public endpoints: no login, cacheable, the proofs verify, and bad parameters get a JSON 400/404."""

import base64

import pytest

from tools.verify_receipt import NoteVerifier, leaf_hash, open_note, parse_checkpoint, verify_consistency, verify_inclusion
from transparency_log.checkpoints import checkpoint_publish

from .conftest import consent_changes

pytestmark = pytest.mark.django_db
BASE = "/transparency/log/"


@pytest.fixture
def log(two_clients):
    consent_changes(two_clients[0], 3)
    first = checkpoint_publish()
    consent_changes(two_clients[0], 4)
    second = checkpoint_publish()
    return first, second


def b64(values):
    return [base64.b64decode(value) for value in values]


def test_the_latest_checkpoint_is_plain_text_and_verifies_with_the_published_key(client, log):
    response = client.get(BASE + "checkpoint")
    assert response.status_code == 200 and response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=10"
    key = client.get(BASE + "key").content.decode()
    assert key.count("\n") == 1 and key.startswith("tests.fulfillmen.example/consent-log+")
    body = parse_checkpoint(open_note(response.content.decode(), NoteVerifier.from_vkey(key.strip())))
    assert body.size == log[1].tree_size


def test_each_published_checkpoint_stays_available_by_its_size(client, log):
    for checkpoint in log:
        response = client.get(BASE + "checkpoints", {"size": checkpoint.tree_size})
        assert response.content.decode() == checkpoint.note
        assert "immutable" in response["Cache-Control"]


def test_inclusion_proofs_served_verify_against_the_checkpoint(client, log):
    from transparency_log.models import LogLeaf

    for checkpoint in log:
        root = bytes(checkpoint.root_hash)
        for index, entry_hash in LogLeaf.objects.filter(index__lt=checkpoint.tree_size).values_list("index", "event__entry_hash"):
            answer = client.get(BASE + "proof/inclusion", {"index": index, "size": checkpoint.tree_size}).json()
            assert (answer["index"], answer["tree_size"]) == (index, checkpoint.tree_size)
            assert base64.b64decode(answer["leaf_hash"]) == leaf_hash(bytes.fromhex(entry_hash))
            verify_inclusion(index, checkpoint.tree_size, leaf_hash(bytes.fromhex(entry_hash)), b64(answer["proof"]), root)


def test_the_consistency_proof_between_published_sizes_verifies(client, log):
    first, second = log
    answer = client.get(BASE + "proof/consistency", {"from": first.tree_size, "to": second.tree_size}).json()
    assert (answer["from"], answer["to"]) == (first.tree_size, second.tree_size)
    verify_consistency(first.tree_size, second.tree_size, b64(answer["proof"]), bytes(first.root_hash),
                       bytes(second.root_hash))


def test_no_checkpoint_yet_is_a_json_404(client, db):
    response = client.get(BASE + "checkpoint")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_published"


@pytest.mark.parametrize(("path", "query", "status", "code"), [
    ("checkpoints", {}, 400, "invalid_parameters"),
    ("checkpoints", {"size": "-1"}, 400, "invalid_parameters"),
    ("checkpoints", {"size": "abc"}, 400, "invalid_parameters"),
    ("checkpoints", {"size": "1e3"}, 400, "invalid_parameters"),
    ("checkpoints", {"size": "+4"}, 400, "invalid_parameters"),
    ("checkpoints", {"size": "\u0664"}, 400, "invalid_parameters"),  # an Arabic-Indic digit: int() would take it
    ("checkpoints", {"size": "9" * 40}, 400, "invalid_parameters"),
    ("checkpoints", {"size": "1"}, 404, "not_published"),
    ("proof/inclusion", {"index": "0"}, 400, "invalid_parameters"),
    ("proof/inclusion", {"index": "-1", "size": "{second}"}, 400, "invalid_parameters"),
    ("proof/inclusion", {"index": "{second}", "size": "{second}"}, 400, "index_out_of_range"),
    ("proof/inclusion", {"index": "0", "size": "{unpublished}"}, 404, "not_published"),
    ("proof/inclusion", {"index": "0", "size": "999999999999"}, 404, "not_published"),
    ("proof/inclusion", {"index": "0", "size": "0"}, 404, "not_published"),
    ("proof/consistency", {"from": "{second}", "to": "{first}"}, 400, "sizes_out_of_order"),
    ("proof/consistency", {"from": "0", "to": "{second}"}, 404, "not_published"),
    ("proof/consistency", {"from": "{first}", "to": "{unpublished}"}, 404, "not_published"),
    ("proof/consistency", {"from": "x", "to": "{second}"}, 400, "invalid_parameters"),
])
def test_bad_parameters_get_a_json_error_never_a_500(client, log, path, query, status, code):
    sizes = {"first": log[0].tree_size, "second": log[1].tree_size, "unpublished": log[1].tree_size - 1}
    response = client.get(BASE + path, {name: value.format(**sizes) for name, value in query.items()})
    assert response.status_code == status
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_the_endpoints_need_no_login_and_set_no_cookie(client, log):
    for path in ["checkpoint", "key", f"checkpoints?size={log[0].tree_size}",
                 f"proof/inclusion?index=0&size={log[0].tree_size}"]:
        response = client.get(BASE + path)
        assert response.status_code == 200, path
        assert not response.cookies, path


def test_the_standalone_verifier_is_served_for_download(client, db):
    from django.conf import settings

    response = client.get(BASE + "verify_receipt.py")
    assert response.content.decode() == (settings.BASE_DIR / "tools" / "verify_receipt.py").read_text()
    assert response["Content-Disposition"] == 'attachment; filename="verify_receipt.py"'


@pytest.mark.parametrize("cookie", ["csrftoken=x", "sessionid=abc", "csrftoken=" + "a" * 32, "sessionid=; csrftoken=%%"])
def test_a_cacheable_answer_never_carries_a_cookie_whatever_cookies_were_sent(client, log, cookie):
    """A shared cache that kept a Set-Cookie with a public answer would hand one CSRF secret (or a log-out) to all."""
    client.cookies.load(cookie)
    for path in ["checkpoint", "key", f"checkpoints?size={log[0].tree_size}", f"proof/inclusion?index=0&size={log[0].tree_size}",
                 f"proof/consistency?from={log[0].tree_size}&to={log[1].tree_size}", "verify_receipt.py", "checkpoints?size=x"]:
        response = client.get(BASE + path)
        assert not response.cookies, (path, response.cookies)
        assert "cookie" not in response.get("Vary", "").lower(), path


def test_errors_are_not_stored_and_inclusion_answers_are_kept_ten_seconds(client, log):
    assert client.get(BASE + "checkpoints", {"size": "1"})["Cache-Control"] == "no-store"
    inclusion = client.get(BASE + "proof/inclusion", {"index": 0, "size": log[0].tree_size})
    assert inclusion["Cache-Control"] == "public, max-age=10"  # its leaf hash is the ledger's of today


def test_without_a_signing_key_the_key_endpoint_says_so_in_json(client, db, settings):
    settings.LOG_SIGNING_KEY = ""
    response = client.get(BASE + "key")
    assert response.status_code == 503 and response.json()["error"]["code"] == "not_configured"
