"""scanserve.http.oas31 against a small inline OpenAPI 3.1 contract, through Connexion's test client."""

import copy
import json
import logging
import warnings

from starlette.exceptions import StarletteDeprecationWarning

# Deprecations Connexion 3.3 sets off when imported, which nothing here can avoid: Starlette
# 1.x wants httpx2 for its TestClient module (connexion/apps/abstract.py imports it), and
# jsonschema deprecates RefResolver and RefResolutionError (connexion/json_schema.py).
warnings.filterwarnings(
    "ignore",
    message="Using `httpx` with `starlette.testclient` is deprecated",
    category=StarletteDeprecationWarning,
)
warnings.filterwarnings(
    "ignore",
    message=r"jsonschema\.(RefResolver|exceptions\.RefResolutionError) is deprecated",
    category=DeprecationWarning,
)

import connexion  # noqa: E402  (after the filter above, which must see its import)
import pytest  # noqa: E402
import yaml  # noqa: E402
from connexion.exceptions import InvalidSpecification, ProblemException  # noqa: E402
from connexion.lifecycle import ConnexionResponse  # noqa: E402
from connexion.resolver import Resolver  # noqa: E402
from connexion.spec import OpenAPISpecification, Specification  # noqa: E402
from connexion.validators import VALIDATOR_MAP as CONNEXION_VALIDATOR_MAP  # noqa: E402
from connexion.validators import JSONRequestBodyValidator  # noqa: E402
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker  # noqa: E402

from scanserve.errors import (  # noqa: E402
    PROBLEM_CONTENT_TYPE,
    ScanserveError,
    error_for_status,
    problem_body,
)
from scanserve.http.oas31 import OpenAPI31App  # noqa: E402
from scanserve.http.oas31_schema import SHORTUUID_ALPHABET  # noqa: E402
from scanserve.http.oas31_spec import OpenAPI31Specification, load_spec  # noqa: E402
from scanserve.http.oas31_validators import VALIDATOR_MAP  # noqa: E402

SHORT_ID = "vytxeTZskVKR7C7WgdSP3d"
BROKEN_ID = "c9eMdvmD8feiER8do6e5hF"  # getThing answers it with a body the contract forbids

SPEC_YAML = """
openapi: 3.1.0
info: {title: oas31 test, version: "1"}
servers: [{url: /api}]
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - {name: page, in: query, required: true,
           schema: {type: integer, minimum: 1, maximum: 100}}
        - {name: X-Page-Size, in: header, schema: {type: integer, maximum: 50}}
      responses:
        200:
          description: a page
          content:
            application/json:
              schema:
                type: object
                required: [page, page_type]
                properties:
                  page: {type: integer}
                  page_type: {const: int}
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ThingCreate'}
      responses:
        201:
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
  /things/{thing_id}:
    parameters:
      - {name: thing_id, in: path, required: true, schema: {$ref: '#/components/schemas/ShortId'}}
    get:
      operationId: getThing
      responses:
        200:
          description: the thing
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
        404:
          description: no such thing
          content:
            application/problem+json:
              schema: {type: object}
  /labels:
    post:
      operationId: printLabels
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [copies]
              properties:
                copies: {type: integer, minimum: 1}
      responses:
        200:
          description: queued
          content:
            application/json:
              schema: {type: object}
components:
  schemas:
    ShortId: {type: string, format: shortuuid}
    ThingCreate:
      type: object
      required: [kind, raw_value]
      additionalProperties: false
      properties:
        id: {$ref: '#/components/schemas/ShortId', readOnly: true}
        kind: {const: barcode}
        raw_value: {type: string, minLength: 1}
        nickname: {type: [string, "null"], maxLength: 40}
        weight_g: {type: number, exclusiveMinimum: 0}
        code: {$ref: '#/components/schemas/ShortId'}
        owner_id: {type: string, format: uuid}
        seen_at: {type: string, format: date-time}
        link: {type: string, format: uri}
        metadata:
          type: object
          propertyNames: {pattern: '^[a-z_]+$'}
          additionalProperties: {type: string}
        dimensions:
          type: array
          prefixItems: [{type: number}, {enum: [mm, cm]}]
          items: false
        secret: {type: string, writeOnly: true}
    Thing:
      type: object
      required: [id, kind, raw_value, nickname]
      properties:
        id: {$ref: '#/components/schemas/ShortId'}
        kind: {const: barcode}
        raw_value: {type: string}
        nickname: {type: [string, "null"]}
"""
DOC = yaml.load(SPEC_YAML, Loader=yaml.CSafeLoader)

GOOD_BODY = {
    "id": SHORT_ID,
    "kind": "barcode",
    "raw_value": "4006381333931",
    "nickname": None,
    "weight_g": 0.5,
    "code": SHORT_ID,
    "owner_id": "2f1c3c1e-7d1a-4a53-9f0e-9b8f6f0b6a01",
    "seen_at": "2026-11-29T07:18:03Z",
    "link": "https://id.gs1.org/01/04006381333931?x=%20y#top",
    "metadata": {"shelf_row": "3"},
    "dimensions": [12.5, "mm"],
    "secret": "only-sent",
}


# -- handlers, found by operationId ---------------------------------------------------------


def list_things(page: int) -> tuple[dict, int]:
    return {"page": page, "page_type": type(page).__name__}, 200


def create_thing(body: dict) -> tuple[dict, int]:
    return {"id": SHORT_ID, **{k: body.get(k) for k in ("kind", "raw_value", "nickname")}}, 201


def get_thing(thing_id: str) -> dict:
    if thing_id == BROKEN_ID:
        return {"id": "not-a-shortuuid", "kind": "qr", "raw_value": "x", "nickname": None}
    return {"id": thing_id, "kind": "barcode", "raw_value": "x", "nickname": "shelf"}


def print_labels(body: dict) -> dict:
    return {"copies": body["copies"]}


HANDLERS = {
    "listThings": list_things,
    "createThing": create_thing,
    "getThing": get_thing,
    "printLabels": print_labels,
}


def _render(_request: object, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ScanserveError)
    return ConnexionResponse(
        status_code=exc.status,
        body=json.dumps(problem_body(exc)),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=exc.headers,
    )


def _render_problem(request: object, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, ProblemException)
    return _render(request, error_for_status(exc.status, exc.detail))


def make_app(doc: dict = DOC, **options: object) -> OpenAPI31App:
    app = OpenAPI31App(__name__)
    options.setdefault("validate_responses", True)
    app.add_api(doc, resolver=Resolver(HANDLERS.__getitem__), **options)
    app.add_error_handler(ScanserveError, _render)
    app.add_error_handler(ProblemException, _render_problem)  # Connexion's 415, as the app does
    return app


@pytest.fixture
def client():
    return make_app().test_client()


def pointers(response, status: int = 422) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    return [error["pointer"] for error in response.json()["errors"]]


def with_field(**fields: object) -> dict:
    return {**GOOD_BODY, **fields}


# -- the document ---------------------------------------------------------------------------


def test_a_31_document_is_accepted_from_a_dict_or_a_yaml_file(tmp_path):
    assert OpenAPI31Specification.from_dict(DOC).version == (3, 1, 0)
    assert load_spec(DOC)["openapi"] == "3.1.0"
    path = tmp_path / "openapi.yaml"
    path.write_text(SPEC_YAML)
    loaded = load_spec(path)
    assert loaded == load_spec(DOC)
    assert "200" in loaded["paths"]["/things"]["get"]["responses"]  # YAML's int keys are strings
    app = OpenAPI31App(__name__)
    app.add_api(path, resolver=Resolver(HANDLERS.__getitem__))
    response = app.test_client().get("/api/things", params={"page": 1})
    assert response.status_code == 200


def test_an_invalid_31_document_is_refused_with_what_is_wrong():
    bad = copy.deepcopy(DOC)
    del bad["info"]["version"]
    with pytest.raises(InvalidSpecification, match=r"Not a valid OpenAPI 3.1 document(.|\n)*"):
        make_app(bad)
    with pytest.raises(InvalidSpecification, match="version"):
        load_spec(bad)


def test_a_30_document_is_refused():
    old = {**copy.deepcopy(DOC), "openapi": "3.0.3"}
    with pytest.raises(InvalidSpecification, match="openapi"):
        make_app(old)


def test_a_type_list_where_connexion_casts_is_refused_at_load():
    doc = copy.deepcopy(DOC)
    doc["paths"]["/things"]["get"]["parameters"][0]["schema"]["type"] = ["integer", "null"]
    with pytest.raises(InvalidSpecification, match="GET /things: query parameter 'page'"):
        make_app(doc)


def test_a_ref_sibling_that_connexion_would_drop_is_refused_at_load():
    doc = copy.deepcopy(DOC)
    properties = doc["components"]["schemas"]["ThingCreate"]["properties"]
    properties["code"]["format"] = "uuid"  # ShortId sets format too; 3.1 would apply both
    with pytest.raises(InvalidSpecification, match="'format' is set beside"):
        make_app(doc)


def test_openapi_json_serves_the_31_document_as_written(client):
    served = client.get("/api/openapi.json")
    assert served.status_code == 200
    document = served.json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api"}]
    schema = document["paths"]["/things"]["post"]["requestBody"]["content"]["application/json"]
    assert schema["schema"] == {"$ref": "#/components/schemas/ThingCreate"}
    assert document["components"] == DOC["components"]
    ui = client.get("/api/ui/")
    assert ui.status_code == 200
    assert "/api/openapi.json" in ui.text


# -- good requests --------------------------------------------------------------------------


def test_a_good_request_passes_and_null_is_accepted_where_the_type_list_allows_it(client):
    response = client.post("/api/things", json=GOOD_BODY)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "id": SHORT_ID,
        "kind": "barcode",
        "raw_value": "4006381333931",
        "nickname": None,
    }
    # getThing's 404 is problem+json: its handler's dict still needs no media type named
    assert client.get(f"/api/things/{SHORT_ID}").json()["id"] == SHORT_ID


def test_an_integer_query_parameter_reaches_the_handler_as_an_int(client):
    response = client.get("/api/things", params={"page": "7"}, headers={"X-Page-Size": "20"})
    assert response.status_code == 200, response.text
    assert response.json() == {"page": 7, "page_type": "int"}


def test_a_form_body_is_cast_and_validated(client):
    assert client.post("/api/labels", data={"copies": "2"}).json() == {"copies": 2}
    assert pointers(client.post("/api/labels", data={"copies": "0"})) == ["/copies"]


# -- each keyword is enforced ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "pointer"),
    [
        ("kind", "qr", "/kind"),  # const
        ("weight_g", 0, "/weight_g"),  # numeric exclusiveMinimum
        ("nickname", 5, "/nickname"),  # type list
        ("code", "too-short", "/code"),  # shortuuid: length
        ("code", "0" * 22, "/code"),  # shortuuid: alphabet
        ("owner_id", "not-a-uuid", "/owner_id"),
        ("seen_at", "2026-13-01T00:00:00Z", "/seen_at"),
        ("link", "not a uri", "/link"),
        ("metadata", {"Shelf Row": "3"}, "/metadata/Shelf Row"),  # propertyNames
        ("metadata", {"foo": 1}, "/metadata/foo"),
        ("dimensions", ["12", "mm"], "/dimensions/0"),  # prefixItems
        ("dimensions", [12, "mm", "extra"], "/dimensions"),  # items: false after them
        ("unexpected", 1, "/unexpected"),  # additionalProperties: false
    ],
)
def test_each_keyword_is_enforced_in_the_body(client, field, value, pointer):
    assert pointers(client.post("/api/things", json=with_field(**{field: value}))) == [pointer]


def test_the_shortuuid_format_is_the_alphabet_and_22_characters():
    from scanserve.http.oas31_schema import FORMAT_CHECKER

    assert FORMAT_CHECKER.conforms(SHORTUUID_ALPHABET[:22], "shortuuid")
    assert not FORMAT_CHECKER.conforms(SHORTUUID_ALPHABET[:21], "shortuuid")
    assert not FORMAT_CHECKER.conforms("l" + SHORTUUID_ALPHABET[:21], "shortuuid")  # no l, 1, O


def test_a_missing_required_property_points_at_the_property(client):
    body = {k: v for k, v in GOOD_BODY.items() if k != "raw_value"}
    response = client.post("/api/things", json=body)
    assert pointers(response) == ["/raw_value"]
    assert response.json()["errors"][0]["message"] == "'raw_value' is a required property"


def test_every_bad_field_is_reported_sorted_by_pointer(client):
    response = client.post("/api/things", json=with_field(kind="qr", code="bad", weight_g=-1))
    assert pointers(response) == ["/code", "/kind", "/weight_g"]
    body = response.json()
    assert body["error_code"] == "validation_error"
    assert all(error["message"] for error in body["errors"])


def test_a_bad_shortuuid_in_the_path_points_at_the_parameter(client):
    assert pointers(client.get("/api/things/not-a-short-id")) == ["path/thing_id"]


@pytest.mark.parametrize("page", ["0", "101", "abc", None])
def test_a_bad_or_missing_query_parameter_points_at_it(client, page):
    params = {} if page is None else {"page": page}
    assert pointers(client.get("/api/things", params=params)) == ["query/page"]


def test_all_bad_parameters_are_reported(client):
    response = client.get("/api/things", params={"page": "0"}, headers={"X-Page-Size": "99"})
    assert pointers(response) == ["header/X-Page-Size", "query/page"]


def test_strict_validation_reports_each_unknown_query_parameter_and_form_field():
    client = make_app(strict_validation=True).test_client()
    response = client.get("/api/things", params={"page": "1", "zzz": "1", "aaa": "1"})
    assert pointers(response) == ["query/aaa", "query/zzz"]
    assert pointers(client.post("/api/labels", data={"copies": "1", "x": "1"})) == ["/x"]


# -- bodies that are not JSON, or none, or of another type -------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"kind": ', b'{"kind": "barcode", "raw_value": "\xff\xfe"}', b'{"weight_g": NaN}'],
    ids=["not-json", "not-utf8", "nan"],
)
def test_a_body_that_is_not_json_is_a_bad_request(client, content):
    response = client.post(
        "/api/things", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "bad_request"


def test_a_missing_required_body_points_at_the_root(client):
    response = client.post("/api/things", headers={"Content-Type": "application/json"})
    assert pointers(response) == [""]


def test_a_wrong_content_type_is_connexions_415_mapped_by_the_app(client):
    response = client.post("/api/things", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error_code"] == "unsupported_media_type"


# -- responses ------------------------------------------------------------------------------


def test_a_response_against_its_schema_is_an_internal_error_and_logged(client, caplog):
    with caplog.at_level(logging.ERROR, logger="scanserve.oas31"):
        response = client.get(f"/api/things/{BROKEN_ID}")
    assert response.status_code == 500
    body = response.json()
    assert body["error_code"] == "internal_error"
    assert "/id" in body["detail"]
    assert "/kind" in body["detail"]
    assert any(
        r.name == "scanserve.oas31" and r.levelno == logging.ERROR and "/kind" in r.getMessage()
        for r in caplog.records
    )


def test_responses_are_not_checked_when_validate_responses_is_off():
    client = make_app(validate_responses=False).test_client()
    assert client.get(f"/api/things/{BROKEN_ID}").status_code == 200


# -- no global side effects -----------------------------------------------------------------

SPEC_30_YAML = """
openapi: 3.0.3
info: {title: plain, version: "1"}
paths:
  /things:
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                weight_g: {type: number, minimum: 0, exclusiveMinimum: true}
                code: {type: string, format: shortuuid}
      responses:
        201: {description: created}
"""


def test_a_plain_connexion_app_in_the_same_process_is_unaffected(client):
    assert client.post("/api/things", json=GOOD_BODY).status_code == 201  # ours, built and used

    plain = connexion.AsyncApp(__name__)
    with pytest.raises(InvalidSpecification):
        plain.add_api(copy.deepcopy(DOC))
    assert (
        type(Specification.from_dict(yaml.load(SPEC_30_YAML, Loader=yaml.CSafeLoader)))
        is OpenAPISpecification
    )

    plain.add_api(
        yaml.load(SPEC_30_YAML, Loader=yaml.CSafeLoader),
        resolver=Resolver(lambda _: lambda body: ({}, 201)),
    )
    plain_client = plain.test_client()
    # draft 4: boolean exclusiveMinimum still works, and shortuuid is an unknown format
    assert plain_client.post("/things", json={"weight_g": 0}).status_code == 400
    assert plain_client.post("/things", json={"weight_g": 1, "code": "x"}).status_code == 201

    assert CONNEXION_VALIDATOR_MAP["body"]["application/json"] is JSONRequestBodyValidator
    assert VALIDATOR_MAP is not CONNEXION_VALIDATOR_MAP
    for checker in (
        FormatChecker(),
        Draft4Validator.FORMAT_CHECKER,
        Draft202012Validator.FORMAT_CHECKER,
    ):
        assert "shortuuid" not in checker.checkers
