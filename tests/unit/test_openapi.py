"""GET /api/openapi.json: a valid OpenAPI 3.1 document, and real responses match its schemas."""
from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.unit.review_helpers import finished_apply_job

DOC_URI = "urn:budget-assist:openapi"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture()
def doc(client):
    resp = client.simulate_get("/api/openapi.json")
    assert resp.status_code == 200
    return resp.json


def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(doc, ref):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def all_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_refs(item)


class Checker:
    """Validates responses against the operation's declared response schema."""

    def __init__(self, doc):
        self.doc = doc
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(DOC_URI, resource)

    def __call__(self, template, method, resp):
        operation = self.doc["paths"][template][method]
        status = str(resp.status_code)
        assert status in operation["responses"], f"{method.upper()} {template} answered {status}, not documented"
        if status == "304":
            return
        media = operation["responses"][status]["content"]["application/json"]
        path = pointer("paths", template, method, "responses", status, "content", "application/json", "schema")
        validator = OAS31Validator({"$ref": DOC_URI + path}, registry=self.registry,
                                   format_checker=OAS31Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(resp.json), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
        assert media["schema"]


@pytest.fixture()
def check(doc):
    return Checker(doc)


# ------------------------------------------------------------------ the document itself
def test_the_document_is_openapi_3_1_with_info_paths_and_components(doc):
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["paths"] and doc["components"]["schemas"]


def test_every_ref_resolves(doc):
    refs = set(all_refs(doc))
    assert refs
    for ref in refs:
        resolve(doc, ref)


def test_every_component_schema_is_a_valid_json_schema(doc):
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        OAS31Validator.check_schema(schema)


def test_every_operation_has_responses_with_json_schemas(doc):
    for template, item in doc["paths"].items():
        assert template.startswith("/api/")
        for method, operation in item.items():
            assert method in METHODS, f"{template}: {method}"
            assert operation["responses"], f"{method} {template}"
            for status, response in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status) and response["description"]
                for media in response.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"])


def test_path_parameters_are_declared_for_every_template_variable(doc):
    for template, item in doc["paths"].items():
        names = set(re.findall(r"{([^}]+)}", template))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{method} {template}: {declared} != {names}"
            assert all(p["required"] for p in operation.get("parameters", []) if p["in"] == "path")


def test_no_two_paths_are_the_same_template(doc):
    """OpenAPI 3.1: templated paths with the same hierarchy but different names MUST NOT exist."""
    shapes = {}
    for template in doc["paths"]:
        shape = re.sub(r"{[^}]+}", "{}", template)
        assert shape not in shapes, f"{template} and {shapes[shape]} are the same path to OpenAPI"
        shapes[shape] = template


def test_every_documented_operation_is_routed(client, doc):
    for template, item in doc["paths"].items():
        concrete = re.sub(r"{[^}]+}", "x", template)
        for method in item:
            resp = client.simulate_request(method.upper(), concrete, body=b"{}")
            assert resp.status_code != 405, f"{method} {template} is not routed"
            if "{" not in template:
                assert resp.status_code != 404, f"{method} {template} is not routed"


def test_every_job_kind_is_in_the_document(doc, services):
    (kind_param,) = [p for p in doc["paths"][job_create_path(doc)]["post"]["parameters"] if p["in"] == "path"]
    assert set(kind_param["schema"]["enum"]) == {t.kind for t in services.registry.all() if t.kind}


def request_schemas(doc):
    """kind -> the request body schema of POST /api/jobs/{kind} (each one titled after its kind)."""
    body = doc["paths"][job_create_path(doc)]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schemas = [resolve(doc, option["$ref"]) for option in body["anyOf"]]
    return {schema["title"].rsplit("/", 1)[1]: schema for schema in schemas}


def test_every_job_kind_has_a_request_schema_made_from_its_inputs(doc, services):
    schemas = request_schemas(doc)
    assert set(schemas) == {t.kind for t in services.registry.all() if t.kind}
    for t in services.registry.all():
        if t.kind:
            schema = schemas[t.kind]
            assert list(schema["properties"]) == [i.name for i in t.inputs]
            assert schema["required"] == [i.name for i in t.inputs if i.required]
            assert schema["additionalProperties"] is False


@pytest.mark.parametrize("kind,body,valid", [
    ("budget-sync", {"budgetId": "demo"}, True),
    ("budget-sync", {"budgetId": "demo", "fullResync": True}, False),
    ("sync-and-suggest", {"budgetId": "demo", "fullResync": True}, True),
    ("sync-and-suggest", {"budgetId": "demo", "fullResync": "yes"}, False),
    ("suggestions-retry", {"budgetId": "demo"}, False),
    ("suggestions-retry", {"budgetId": "demo", "suggestionId": "s-1"}, True),
    ("suggestions-apply", {"budgetId": "demo", "suggestionIds": []}, False),
    ("suggestions-apply", {"budgetId": "demo", "suggestionIds": ["s-1"]}, True),
    ("suggestions-revert", {"budgetId": "demo"}, False),
    ("suggestions-revert", {"budgetId": "demo", "applyJobId": "j-1"}, True),
])
def test_a_request_schema_accepts_what_the_api_accepts_for_that_kind(doc, kind, body, valid):
    assert OAS31Validator(request_schemas(doc)[kind]).is_valid(body) is valid


def job_create_path(doc):
    (path,) = [p for p, item in doc["paths"].items() if p.startswith("/api/jobs/{") and p.count("/") == 3
               and "post" in item]
    return path


def job_detail_path(doc):
    (path,) = [p for p, item in doc["paths"].items() if p.startswith("/api/jobs/{") and p.count("/") == 3
               and "get" in item]
    return path


# ------------------------------------------------------------------ real responses
@pytest.fixture()
def suggestion_ids(client, orchestrator):
    job_id = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"}).json["job"]["id"]
    assert orchestrator.run(job_id).status == "succeeded"
    rows = client.simulate_get("/api/suggestions", params={"budgetId": "demo"}).json["suggestions"]
    return [s["id"] for s in rows]


def test_health_budgets_and_job_types_match(client, check):
    check("/api/health", "get", client.simulate_get("/api/health"))
    check("/api/budgets", "get", client.simulate_get("/api/budgets"))
    created = client.simulate_post("/api/budgets", json={"name": "Second"})
    check("/api/budgets", "post", created)
    check("/api/budgets", "post", client.simulate_post("/api/budgets", json={"name": "x", "connector": "nope"}))
    check("/api/budgets", "post", client.simulate_post("/api/budgets", body=b"{bad"))
    check("/api/job-types", "get", client.simulate_get("/api/job-types"))


def test_budget_removal_matches(client, check):
    added = client.simulate_post("/api/budgets", json={"name": "Short-lived"}).json["budget"]
    check("/api/budgets/{budgetId}", "delete", client.simulate_delete(f"/api/budgets/{added['id']}"))
    check("/api/budgets/{budgetId}", "delete", client.simulate_delete("/api/budgets/demo"))
    check("/api/budgets/{budgetId}", "delete", client.simulate_delete("/api/budgets/nope"))


def test_job_create_list_detail_cancel_match(client, doc, check, orchestrator):
    create, detail = job_create_path(doc), job_detail_path(doc)
    created = client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo", "fullResync": False})
    check(create, "post", created)
    job_id = created.json["job"]["id"]
    check(create, "post", client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"}))  # 200
    check("/api/jobs", "get", client.simulate_get("/api/jobs"))
    check("/api/jobs", "get", client.simulate_get("/api/jobs", params={"limit": 1}))
    queued = client.simulate_get(f"/api/jobs/{job_id}")
    check(detail, "get", queued)
    check(detail, "get", client.simulate_get(f"/api/jobs/{job_id}", headers={"If-None-Match": queued.headers["etag"]}))
    orchestrator.run(job_id)
    check(detail, "get", client.simulate_get(f"/api/jobs/{job_id}"))
    check("/api/jobs/{id}/cancel", "post", client.simulate_post(f"/api/jobs/{job_id}/cancel"))  # 409
    other = client.simulate_post("/api/jobs/snapshot-create", json={"budgetId": "demo"}).json["job"]["id"]
    check("/api/jobs/{id}/cancel", "post", client.simulate_post(f"/api/jobs/{other}/cancel"))  # 200


def test_failed_job_detail_matches(client, doc, check, orchestrator, faults):
    budget = client.simulate_post("/api/budgets", json={"name": "B"}).json["budget"]["id"]
    faults(budget, fail_on={"pull_latest": "Bank feed down"})
    job_id = client.simulate_post("/api/jobs/budget-sync", json={"budgetId": budget}).json["job"]["id"]
    orchestrator.run(job_id)
    resp = client.simulate_get(f"/api/jobs/{job_id}")
    assert resp.json["job"]["status"] == "failed"
    check(job_detail_path(doc), "get", resp)


def test_error_responses_match(client, doc, check):
    create, detail = job_create_path(doc), job_detail_path(doc)
    check(create, "post", client.simulate_post("/api/jobs/budget-sync", body=b"{oops"))  # 400
    check(create, "post", client.simulate_post("/api/jobs/no-such-kind", json={"budgetId": "demo"}))  # 404
    big = json.dumps({"budgetId": "demo", "pad": "x" * 70000}).encode()
    check(create, "post", client.simulate_post("/api/jobs/budget-sync", body=big))  # 413
    check(create, "post", client.simulate_post("/api/jobs/budget-sync", json={"budgetId": "nope"}))  # 422
    check(detail, "get", client.simulate_get("/api/jobs/no-such-job"))  # 404
    check("/api/jobs", "get", client.simulate_get("/api/jobs", params={"limit": 0}))  # 422
    check("/api/jobs/{id}/cancel", "post", client.simulate_post("/api/jobs/no-such-job/cancel"))  # 404
    check("/api/suggestions", "get", client.simulate_get("/api/suggestions", params={"status": "x"}))  # 422
    check("/api/suggestions/{id}/approve", "post", client.simulate_post("/api/suggestions/nope/approve"))  # 404
    check("/api/suggestions/approve", "post",
          client.simulate_post("/api/suggestions/approve", json={"suggestionIds": ["nope"]}))  # 422


def test_suggestion_responses_match(client, check, suggestion_ids):
    check("/api/suggestions", "get", client.simulate_get("/api/suggestions"))
    check("/api/suggestions", "get", client.simulate_get("/api/suggestions", params={"status": "pending"}))
    first, second, third = suggestion_ids[:3]
    check("/api/suggestions/{id}/approve", "post", client.simulate_post(f"/api/suggestions/{first}/approve"))
    check("/api/suggestions/{id}/reject", "post", client.simulate_post(f"/api/suggestions/{second}/reject"))
    check("/api/suggestions/approve", "post",
          client.simulate_post("/api/suggestions/approve", json={"suggestionIds": [second, third]}))
    check("/api/suggestions/reject", "post",
          client.simulate_post("/api/suggestions/reject", json={"suggestionIds": [third]}))


def test_job_creation_of_every_kind_matches(client, doc, check, suggestion_ids):
    create = job_create_path(doc)
    client.simulate_post(f"/api/suggestions/{suggestion_ids[1]}/approve")
    bodies = {
        "budget-sync": {}, "suggestions-generate": {}, "sync-and-suggest": {"fullResync": True},
        "suggestions-retry": {"suggestionId": suggestion_ids[0]},
        "suggestions-apply": {"suggestionIds": [suggestion_ids[1]]},
        "snapshot-create": {}, "snapshot-redownload": {}, "suggestions-revert": {"applyJobId": finished_apply_job()},
    }
    for kind, extra in bodies.items():
        resp = client.simulate_post(f"/api/jobs/{kind}", json={"budgetId": "demo", **extra})
        assert resp.status_code == 201, (kind, resp.text)
        check(create, "post", resp)


def test_the_checker_rejects_a_response_that_breaks_the_schema(client, doc, check):
    """Guards the guard: a real response with one field broken must fail validation."""
    resp = client.simulate_post("/api/jobs/budget-sync", json={"budgetId": "demo"})

    class Broken:
        status_code = resp.status_code
        json = {**resp.json, "job": {**resp.json["job"], "status": "exploded", "extra": 1}}

    with pytest.raises(AssertionError, match="status"):
        check(job_create_path(doc), "post", Broken())


def test_review_responses_match(client, check, suggestion_ids):
    cats = client.simulate_get("/api/budgets/demo/categories")
    check("/api/budgets/{budgetId}/categories", "get", cats)
    check("/api/budgets/{budgetId}/categories", "get", client.simulate_get("/api/budgets/nope/categories"))  # 404
    first, second, third = suggestion_ids[:3]
    category = cats.json["categories"][-1]["id"]
    check("/api/suggestions/{id}/approve", "post", client.simulate_post(
        f"/api/suggestions/{first}/approve", json={"categoryId": category, "createRule": True}))
    check("/api/suggestions/approve", "post", client.simulate_post(
        "/api/suggestions/approve", json={"suggestionIds": [third], "categoryId": category}))
    rejected = client.simulate_post(f"/api/suggestions/{second}/reject").json["suggestion"]
    listing = client.simulate_get("/api/budgets/demo/uncategorized")
    check("/api/budgets/{budgetId}/uncategorized", "get", listing)
    manual = client.simulate_post("/api/suggestions", json={
        "budgetId": "demo", "transactionId": rejected["transactionId"], "categoryId": category})
    assert manual.status_code == 201
    check("/api/suggestions", "post", manual)
    check("/api/suggestions", "post", client.simulate_post("/api/suggestions", json={"budgetId": "demo"}))  # 422
