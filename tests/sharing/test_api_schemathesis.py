"""Every operation of the affiliate API, fed generated input (schemathesis), answers as its OpenAPI schema says.

The schema is read from the running application (/api/schema/) and the requests go through Django's WSGI handler
in this process, inside the test's transaction, with a real API key of an affiliate that has clients to receive
and withdrawals to learn of. For any input: never a 5xx, only documented status codes, and bodies, headers and
content types as documented — the schema is what affiliates generate their clients from. The stateful test at the
end runs sequences of calls that follow OpenAPI links (agreement → clients → one client; withdrawals → ack).

Schemathesis' own pytest integration (`schemathesis.pytest.from_fixture`) does not run under pytest 9.2 (it
writes `Function._nodeid`, which pytest no longer has), so the cases come from its public Hypothesis strategies.
"""

import uuid
from collections import Counter
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from accounts.models import Address
from accounts.services import address_add
from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_record
from sharing.api import ApiKeyThrottle
from sharing.models import Affiliate, WithdrawalNotice
from sharing.services import affiliate_key_create
from tests.conftest import make_client
from transparency_log.checkpoints import checkpoint_publish
from transparency_log.models import SignedCheckpoint
from webhooks.services import endpoint_create

from .conftest import bearer, make_affiliate

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 30
# A public address written as one: accepted without DNS (generated host names seldom resolve), and never called (the
# test events' deliveries start on commit, and these tests never commit).
WEBHOOK_BODY = {"url": "https://93.184.215.14/hooks", "events": ["consent.withdrawn"]}
OPERATIONS = [
    "GET /api/v1/clients/",
    "GET /api/v1/clients/{public_id}/",
    "GET /api/v1/withdrawals/",
    "POST /api/v1/withdrawals/ack",
    "GET /api/v1/agreement/",
    # Webhook endpoints (issue #19): the affiliate's own, by the same key; a private or unresolvable URL is a 400.
    "GET /api/v1/webhooks/endpoints/",
    "POST /api/v1/webhooks/endpoints/",
    "GET /api/v1/webhooks/endpoints/{endpoint_id}/",
    "PATCH /api/v1/webhooks/endpoints/{endpoint_id}/",
    "DELETE /api/v1/webhooks/endpoints/{endpoint_id}/",
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/rotate/",
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/test/",
    "GET /api/v1/webhooks/event-types/",
    # The public consent log (issue #17): no key needed; bad sizes and indexes are JSON 400/404, never a 500.
    "GET /transparency/log/checkpoint",
    "GET /transparency/log/key",
    "GET /transparency/log/checkpoints",
    "GET /transparency/log/proof/inclusion",
    "GET /transparency/log/proof/consistency",
]
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


@contextmanager
def connection_kept_open():
    """Like Django's test client: a request must not close the database connection, which would abort the test's
    transaction (Django closes connections at the start and end of each request it serves)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def in_this_transaction(application):
    """Django's WSGI application, called in this thread, within the test's transaction."""

    def app(environ, start_response):
        with connection_kept_open():
            response = application(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                response.close()  # sends request_finished, as a WSGI server would

    return app


@pytest.fixture
def ads_with_clients(client):
    """An affiliated company with a consent-based agreement, and clients with every agreed field, one of whom received
    and then withdrew. Returns (API key, id of a client it may receive). An affiliated company cannot hold an
    order-fulfilment agreement (issue #18: the kind matches the purpose), so asking for that purpose is the
    documented 403."""
    affiliate = make_affiliate("Ads Network")  # promotional-sharing: ip_address, email
    key = affiliate_key_create(affiliate=affiliate)[1]
    withdrawing = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671",
                              ip_address="203.0.113.7")
    staying = make_client("ca2@example.com", country="US", region="US-CA", phone="+14155552672",
                          full_name="Staying Client", ip_address="2001:db8::1")
    address_add(client=staying, kind=Address.Kind.RESIDENTIAL, country="US", line1="1 Market St",
                city="San Francisco", region="CA", postcode="94105")
    make_client("de@example.com")  # starts withdrawn from promotional sharing
    make_client("ca3@example.com", country="US", region="US-CA", phone="+14155552673", full_name="Third Client")
    assert client.get("/api/v1/clients/", {"purpose": "promotional-sharing"}, **bearer(key)).status_code == 200
    consent_record(client=withdrawing, purpose=Purpose.objects.get(code="promotional-sharing"),
                   action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    assert WithdrawalNotice.objects.filter(affiliate=affiliate, client=withdrawing).exists()
    return key, str(staying.public_id)


@pytest.fixture
def api_schema(monkeypatch):
    from fulfillmen.wsgi import application

    # Hundreds of requests in seconds with one key: this is a test of the answers, not of the throttle.
    monkeypatch.setattr(ApiKeyThrottle, "THROTTLE_RATES", {"affiliate": "100000/minute"})
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    return schemathesis.openapi.from_wsgi("/api/schema/", in_this_transaction(application), config=config)


def test_the_schema_lists_every_operation_tested_here(api_schema):
    assert sorted(result.ok().label for result in api_schema.get_all_operations()) == sorted(OPERATIONS)


def _cases(operation, *, key: str, client_id: str, endpoint_id: str):
    """Valid and invalid input anywhere, and valid input for the agreed purposes, a client the affiliate may receive
    and an endpoint of its own, or random generation would hardly ever get past the 403 and the 404."""
    auth = {"Authorization": f"Bearer {key}"}
    parameters = {p.name for p in operation.iter_parameters()}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE, headers=auth)]
    if parameters or operation.body:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, headers=auth))
    fixed = {"path_parameters": {"public_id": client_id}} if "public_id" in parameters else {}
    if "endpoint_id" in parameters:
        fixed = {"path_parameters": {"endpoint_id": endpoint_id}}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, headers=auth, **fixed))
    if operation.method.upper() == "POST" and operation.path == "/api/v1/webhooks/endpoints/":
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, headers=auth, body=WEBHOOK_BODY))
    if parameters & {"size", "index", "from", "to"}:  # a published size and a leaf in it, or random ints never hit one
        size = SignedCheckpoint.objects.latest().tree_size
        valid = {"size": size, "index": size - 1, "from": SignedCheckpoint.objects.earliest().tree_size, "to": size}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, headers=auth,
                                                query={name: valid[name] for name in parameters}))
    if "purpose" in parameters:
        strategies += [operation.as_strategy(GenerationMode.POSITIVE, headers=auth, query={"purpose": purpose}, **fixed)
                       for purpose in ("promotional-sharing", "order-fulfilment")]
    if "updated_since" in parameters:  # the same for the client list: the 2xx answers' schema is then checked every run
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, headers=auth, query={
            "purpose": "promotional-sharing", "updated_since": "2020-01-01T00:00:00Z", "page_size": 5}))
    if "since" in parameters:  # the agreed purpose and a time: else a generated cursor or odd time often 400s them all
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, headers=auth,
                                                query={"purpose": "promotional-sharing", "since": "2020-01-01T00:00:00Z"}))
    return st.one_of(strategies)


@pytest.mark.parametrize("label", OPERATIONS)
def test_every_operation_answers_any_input_as_its_schema_documents(api_schema, ads_with_clients, label):
    key, client_id = ads_with_clients
    method, path = label.split(" ")
    if path.startswith("/transparency/log/"):
        checkpoint_publish()
    operation = api_schema[path][method]
    affiliate = Affiliate.objects.get(name="Ads Network")
    endpoint_id = str(endpoint_create(affiliate=affiliate, **WEBHOOK_BODY)[0].public_id)
    answered = Counter()

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(case=_cases(operation, key=key, client_id=client_id, endpoint_id=endpoint_id))
    def answers_as_documented(case):
        response = case.call_and_validate(checks=CHECKS)
        answered[response.status_code] += 1

    answers_as_documented()
    assert any(200 <= status < 300 for status in answered), f"no generated request succeeded: {dict(answered)}"


@pytest.mark.parametrize(("method", "path", "name"), [
    ("get", "/api/v1/clients/", "updated_since"),
    ("get", "/api/v1/withdrawals/", "since"),
    ("post", "/api/v1/withdrawals/ack", "deleted_at"),
])
def test_a_time_without_offset_before_the_calendar_begins_in_utc_is_refused_not_a_server_error(
        client, ads_key, method, path, name):
    """Midnight of 1 January of year 1 in Shanghai is still year 0 in UTC, which Python cannot represent. Generated
    input hardly ever finds this (the schema asks for an offset), so it is named here."""
    data = {"purpose": "promotional-sharing", "since": "2020-01-01T00:00:00Z", "ids": [str(uuid.uuid4())],
            name: "0001-01-01T00:00"}
    if method == "post":
        response = client.post(path, data, content_type="application/json", **bearer(ads_key))
    else:
        response = client.get(path, data, **bearer(ads_key))
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {name: ["Datetime value out of range."]}


# --- Stateful: sequences of calls, each using what an earlier answer returned ----------------------------------------

# The OpenAPI links an affiliate's integration follows: the agreement names the purposes to ask for, a list page's
# ids fetch one client, and a withdrawal's id is acknowledged. drf-spectacular 0.30 has no way to declare links
# (no OpenApiLink), so they are added here to the schema the application serves, before schemathesis reads it.
LINKS = {
    ("/api/v1/agreement/", "get"): {
        "ClientsOfAgreedPurpose": {"operationId": "clients_list",
                                   "parameters": {"query.purpose": "$response.body#/agreements/0/purpose"}},
        "WithdrawalsSinceTheAgreement": {"operationId": "withdrawals_list",
                                         "parameters": {"query.purpose": "$response.body#/agreements/0/purpose",
                                                        "query.since": "$response.body#/agreements/0/valid_from"}},
    },
    ("/api/v1/clients/", "get"): {
        "OneClient": {"operationId": "clients_retrieve",
                      "parameters": {"path.public_id": "$response.body#/results/0/id",
                                     "query.purpose": "$request.query.purpose"}},
        "NextPage": {"operationId": "clients_list",
                     "parameters": {"query.purpose": "$request.query.purpose",
                                    "query.cursor": "$response.body#/next_cursor"}},
    },
    ("/api/v1/withdrawals/", "get"): {
        "Acknowledge": {"operationId": "withdrawals_ack", "requestBody": {"ids": ["$response.body#/results/0/id"]}},
    },
}


@pytest.fixture
def linked_api_schema(client, monkeypatch):
    from fulfillmen.wsgi import application

    monkeypatch.setattr(ApiKeyThrottle, "THROTTLE_RATES", {"affiliate": "100000/minute"})
    raw = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    # The sequences are those of the data feed, whose answers link to each other; managing webhook endpoints links to
    # nothing of it (its operations are fuzzed one by one above, and tested in tests/webhooks/test_api.py).
    raw["paths"] = {path: item for path, item in raw["paths"].items() if not path.startswith("/api/v1/webhooks/")}
    for (path, method), links in LINKS.items():
        raw["paths"][path][method]["responses"]["200"]["links"] = links
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_dict(raw, config=config)
    schema.app = in_this_transaction(application)
    schema.location = "/api/schema/"
    return schema


@pytest.fixture
def sequences_from_the_schema_alone(monkeypatch):
    """Hypothesis mixes string constants it finds in the project's loaded modules into what it draws, so that any new
    module (a literal added anywhere) changed the derandomized sequences below and whether they reached a link. With
    an empty pool of project constants, the sequences depend on the schema and this test's settings only."""
    from hypothesis.internal.conjecture import providers

    monkeypatch.setattr(providers, "_get_local_constants", lambda: providers.Constants())
    providers.CONSTANTS_CACHE.cache.clear()
    yield
    providers.CONSTANTS_CACHE.cache.clear()


def test_sequences_of_calls_following_the_links_answer_as_documented(linked_api_schema, ads_with_clients,
                                                                     sequences_from_the_schema_alone):
    key, _client_id = ads_with_clients
    followed = Counter()

    class Affiliate(linked_api_schema.as_state_machine()):
        """Each sequence starts from the fixture's data: its writes (acknowledgements) are a rolled-back savepoint."""

        def setup(self):
            self.savepoint = transaction.atomic()
            self.savepoint.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {key}"}}

        def step(self, input):
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                followed[(input.transition.id, output.response.status_code)] += 1
            return output

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    # Derandomized: the same sequences on every run, so whether each link is reached does not depend on luck.
    Affiliate.run(settings=settings(max_examples=50, stateful_step_count=6, deadline=None, database=None,
                                    derandomize=True, phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
    succeeded = {transition.split(" ")[-4] for (transition, status) in followed if status == 200}
    # Random sequences reach the clients' links; the acknowledgement (a POST whose body comes from a non-empty
    # withdrawals page) is rarely drawn, so the next test follows every link on purpose.
    assert {"ClientsOfAgreedPurpose", "OneClient"} <= succeeded, dict(followed)


def _resolve(value, *, request_query: dict, body):
    """An OpenAPI runtime expression ($response.body#/json/pointer, $request.query.name) in `value`, resolved."""
    if isinstance(value, dict):
        return {k: _resolve(v, request_query=request_query, body=body) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, request_query=request_query, body=body) for v in value]
    if value.startswith("$request.query."):
        return request_query[value.removeprefix("$request.query.")]
    for part in value.removeprefix("$response.body#/").split("/"):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


def test_each_link_followed_from_a_real_answer_leads_to_a_documented_success(linked_api_schema, ads_with_clients):
    key, _client_id = ads_with_clients
    auth = {"Authorization": f"Bearer {key}"}
    ops = {op.definition.raw.get("operationId"): op for op in (r.ok() for r in linked_api_schema.get_all_operations())}

    def call(operation_id, **parts):
        case = ops[operation_id].Case(headers=auth, **parts)
        response = case.call_and_validate(checks=CHECKS)
        assert response.status_code == 200, (operation_id, response.status_code, response.text)
        return case, response.json()

    def follow(source: tuple[str, str], name: str, case, body):
        link = LINKS[source][name]
        query = dict(case.query or {})
        parts = {}
        for where, expression in link.get("parameters", {}).items():
            location, parameter = where.split(".")
            parts.setdefault({"path": "path_parameters", "query": "query"}[location], {})[parameter] = _resolve(
                expression, request_query=query, body=body)
        if "requestBody" in link:
            parts["body"] = _resolve(link["requestBody"], request_query=query, body=body)
        return call(link["operationId"], **parts)

    agreement_case, agreement = call("agreement_retrieve")
    for name in ("ClientsOfAgreedPurpose", "WithdrawalsSinceTheAgreement"):
        follow(("/api/v1/agreement/", "get"), name, agreement_case, agreement)
    clients_case, clients = call("clients_list", query={"purpose": "promotional-sharing", "page_size": 1})
    assert clients["next_cursor"]
    _case, one = follow(("/api/v1/clients/", "get"), "OneClient", clients_case, clients)
    assert one["id"] == clients["results"][0]["id"]
    follow(("/api/v1/clients/", "get"), "NextPage", clients_case, clients)
    withdrawals_case, withdrawals = call("withdrawals_list",
                                         query={"purpose": "promotional-sharing", "since": "2000-01-01T00:00:00Z"})
    assert withdrawals["results"]
    _case, acknowledged = follow(("/api/v1/withdrawals/", "get"), "Acknowledge", withdrawals_case, withdrawals)
    assert acknowledged == {"acknowledged": 1}
