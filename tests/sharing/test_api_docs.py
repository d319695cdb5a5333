"""The API's documentation: Swagger UI from this site's own files under its CSP, and the OpenAPI schema it shows."""

from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/clients/", "get"): ("clients_list", {"200", "400", "401", "403", "429", "503"}),
    ("/api/v1/clients/{public_id}/", "get"): ("clients_retrieve", {"200", "400", "401", "403", "404", "429", "503"}),
    ("/api/v1/withdrawals/", "get"): ("withdrawals_list", {"200", "400", "401", "403", "429", "503"}),
    ("/api/v1/withdrawals/ack", "post"): ("withdrawals_ack", {"200", "400", "401", "415", "429", "503"}),
    ("/api/v1/agreement/", "get"): ("agreement_retrieve", {"200", "401", "429", "503"}),
    # Webhook endpoints (issue #19; tests/webhooks/test_api.py tests them).
    ("/api/v1/webhooks/endpoints/", "get"): ("webhook_endpoints_list", {"200", "401", "429", "503"}),
    ("/api/v1/webhooks/endpoints/", "post"): ("webhook_endpoints_create", {"201", "400", "401", "415", "429", "503"}),
    ("/api/v1/webhooks/endpoints/{endpoint_id}/", "get"): ("webhook_endpoints_retrieve",
                                                           {"200", "400", "401", "404", "429", "503"}),
    ("/api/v1/webhooks/endpoints/{endpoint_id}/", "patch"): ("webhook_endpoints_update",
                                                             {"200", "400", "401", "404", "415", "429", "503"}),
    ("/api/v1/webhooks/endpoints/{endpoint_id}/", "delete"): ("webhook_endpoints_destroy",
                                                              {"204", "400", "401", "404", "429", "503"}),
    ("/api/v1/webhooks/endpoints/{endpoint_id}/rotate/", "post"): ("webhook_endpoints_rotate",
                                                                   {"200", "400", "401", "404", "429", "503"}),
    ("/api/v1/webhooks/endpoints/{endpoint_id}/test/", "post"): ("webhook_endpoints_test",
                                                                 {"202", "400", "401", "404", "429", "503"}),
    ("/api/v1/webhooks/event-types/", "get"): ("webhook_event_types_list", {"200", "401", "429", "503"}),
}
SUCCESS = {"200", "201", "202", "204"}
# The public consent log (issue #17), in the same schema: no key, and only 400/404 besides 200.
LOG_OPERATIONS = {
    ("/transparency/log/checkpoint", "get"): ("log_checkpoint", {"200", "404"}),
    ("/transparency/log/key", "get"): ("log_key", {"200"}),
    ("/transparency/log/checkpoints", "get"): ("log_checkpoint_by_size", {"200", "400", "404"}),
    ("/transparency/log/proof/inclusion", "get"): ("log_inclusion_proof", {"200", "400", "404"}),
    ("/transparency/log/proof/consistency", "get"): ("log_consistency_proof", {"200", "400", "404"}),
}


class Page(HTMLParser):
    """The tags of a page that make a browser load or run something."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    @property
    def scripts(self) -> list[str | None]:
        """The `src` of each <script>; None for inline code."""
        return [attrs.get("src") for tag, attrs in self.tags if tag == "script"]

    @property
    def linked_files(self) -> list[str]:
        return [attrs["href"] for tag, attrs in self.tags
                if tag == "link" and attrs.get("rel") in ("stylesheet", "icon")]

    @property
    def inline_styles(self) -> list[str]:
        return [tag for tag, attrs in self.tags if tag == "style" or "style" in attrs]


def _directives(csp: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in csp.split(";") if part.strip())}


@pytest.fixture
def docs(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    return response, Page(response.content.decode())


def test_the_docs_page_runs_only_scripts_from_files_under_a_csp_without_unsafe_inline(docs):
    response, page = docs
    assert page.scripts and None not in page.scripts
    directives = _directives(response["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"]
    assert not any("'unsafe-inline'" in values or "'unsafe-eval'" in values for values in directives.values())


def test_every_file_the_docs_page_loads_comes_from_this_site(client, docs):
    _, page = docs
    assert len(page.scripts) >= 3 and len(page.linked_files) >= 2  # Swagger UI, its preset, its settings; CSS, icon
    for url in page.scripts + page.linked_files:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not on this site (no CDN)"
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content if response.streaming else [response.content]), url
        response.close()


def test_the_docs_page_script_is_javascript_that_reads_this_sites_schema(client, docs):
    _, page = docs
    [settings_script] = [url for url in page.scripts if url.startswith("/api/docs/")]

    response = client.get(settings_script)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in response.content.decode()


def test_the_docs_page_has_no_inline_style_for_the_csp_to_block(docs):
    _, page = docs
    assert page.inline_styles == []


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_an_openapi_3_document_of_every_operation(schema):
    assert schema["openapi"].startswith("3.")
    operations = {(path, method): operation["operationId"]
                  for path, item in schema["paths"].items() for method, operation in item.items()}
    assert operations == {key: operation_id for key, (operation_id, _) in (OPERATIONS | LOG_OPERATIONS).items()}


def test_every_operation_requires_the_api_key_as_a_bearer_token(schema):
    assert schema["components"]["securitySchemes"]["ApiKey"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    for path, method in OPERATIONS:
        assert schema["paths"][path][method]["security"] == [{"ApiKey": []}], path


def test_the_public_consent_log_needs_no_key_and_documents_its_errors(schema):
    error_shape = {"$ref": "#/components/schemas/ErrorResponse"}
    for (path, method), (operation_id, statuses) in LOG_OPERATIONS.items():
        operation = schema["paths"][path][method]
        assert operation.get("security", []) in ([], [{}]), operation_id
        assert set(operation["responses"]) == statuses, operation_id
        for status in statuses - {"200"}:
            assert operation["responses"][status]["content"]["application/json"]["schema"] == error_shape, operation_id


def test_every_operation_documents_the_errors_it_can_answer_with_in_the_one_error_shape(schema):
    error_shape = {"$ref": "#/components/schemas/ErrorResponse"}
    for (path, method), (operation_id, statuses) in OPERATIONS.items():
        responses = schema["paths"][path][method]["responses"]
        assert set(responses) == statuses, operation_id
        for status in statuses - SUCCESS:
            assert responses[status]["content"]["application/json"]["schema"] == error_shape, (operation_id, status)
        for status in {"429", "503"}:
            assert responses[status]["headers"]["Retry-After"]["required"], (operation_id, status)


def test_the_error_shape_has_a_code_a_message_and_for_bad_parameters_the_fields(schema):
    components = schema["components"]["schemas"]
    assert components["ErrorResponse"]["required"] == ["error"]
    assert components["ErrorResponse"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert components["ErrorDetail"]["required"] == ["code", "message"]
    assert set(components["ErrorDetail"]["properties"]) == {"code", "message", "fields"}
    invalid = schema["paths"]["/api/v1/clients/"]["get"]["responses"]["400"]["content"]["application/json"]
    [example] = invalid["examples"].values()
    assert example["value"]["error"]["code"] == "invalid_parameters" and example["value"]["error"]["fields"]
