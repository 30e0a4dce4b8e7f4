"""The OpenAPI 3.1 document of the HTTP API, served at /api/openapi.json."""
from __future__ import annotations

import copy
from typing import Optional

import falcon

from jobs.inputs import JobInput
from jobs.registry import JobRegistry, JobType, default_registry
from models.domain import SUGGESTION_STATUSES
from models.jobs import JOB_STATUSES, STEP_STATUSES


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(type_name: str, **extra: object) -> dict:
    return {"type": [type_name, "null"], **extra}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    texts = {400: "Malformed JSON, or a Host header not in ALLOWED_HOSTS", 401: "No valid session or token",
             403: "Cross-site request, or a session cookie without Origin, Referer or X-CSRF-Token",
             404: "Not found", 409: "Invalid transition", 413: "Body over 64 KiB",
             415: "The body is not application/json",
             422: "Invalid body or query field (also: a repeated query parameter, JSON nested over 32 levels, "
                  "a key twice in one object)",
             429: "Too many failed logins from this address; see Retry-After",
             503: "The Actual server cannot be reached"}
    return {str(c): _json(_ref("Error"), texts[c]) for c in codes}


TIME = {"type": "string", "format": "date-time"}
NTIME = _nullable("string", format="date-time")

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}},
    "Budget": {"type": "object", "required": ["id", "name", "connector"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "connector": {"enum": ["demo", "actual"]},
        "createdAt": NTIME,
        "deletedOnServer": {"type": "boolean", "description": "an Actual budget kept here that its server no longer "
                                                              "lists (false while the server cannot be reached)"},
        "removable": {"type": "boolean", "description": "DELETE /api/budgets/{id} may remove it: a demo budget a "
                                                        "user added, or an Actual budget deleted on its server"}}},
    "JobType": {"type": "object", "required": ["type", "label", "steps", "kind", "userStartable", "inputs"],
                "properties": {
        "type": {"type": "string"}, "label": {"type": "string"}, "steps": {"type": "array", "items": {"type": "string"}},
        "stepLabels": {"type": "array", "items": {"type": "string"}}, "kind": _nullable("string"),
        "userStartable": {"type": "boolean"}, "primary": {"type": "boolean", "description": "the main start button"},
        "description": {"type": "string", "description": "what the job does, in one sentence (may be empty)"},
        "inputs": {"type": "array", "items": _ref("JobInput"), "description": "the fields of its request body"},
        "maxAttempts": {"type": "integer"}, "timeoutMinutes": {"type": "number"}}},
    "JobInput": {"type": "object", "additionalProperties": False, "required": ["name", "type", "required"],
                 "properties": {"name": {"type": "string"}, "type": {"enum": ["string", "boolean", "ids"]},
                                "required": {"type": "boolean"}, "default": {}, "label": {"type": "string"}}},
    "Job": {"type": "object", "additionalProperties": False, "required": [
        "id", "budgetId", "type", "label", "status", "trigger", "createdAt", "updatedAt", "attempt"], "properties": {
        "id": {"type": "string"}, "budgetId": {"type": "string"}, "type": {"type": "string"},
        "label": {"type": "string"}, "status": {"enum": list(JOB_STATUSES)}, "trigger": {"enum": ["user", "scheduled"]},
        "createdAt": TIME, "startedAt": NTIME, "completedAt": NTIME, "updatedAt": TIME,
        "failureReason": _nullable("string"), "parentJobId": _nullable("string"), "metadata": {"type": "object"},
        "attempt": {"type": "integer", "minimum": 0}, "maxAttempts": {"type": "integer", "minimum": 1},
        "nextAttemptAt": NTIME, "cancelRequested": {"type": "boolean"}}},
    "Step": {"type": "object", "additionalProperties": False, "required": [
        "id", "jobId", "stepType", "position", "status", "progressDone"], "properties": {
        "id": {"type": "integer"}, "jobId": {"type": "string"}, "stepType": {"type": "string"},
        "label": {"type": "string"}, "position": {"type": "integer"}, "status": {"enum": list(STEP_STATUSES)},
        "startedAt": NTIME, "completedAt": NTIME, "failureReason": _nullable("string"),
        "progressDone": {"type": "integer"}, "progressTotal": _nullable("integer"),
        "result": _nullable("object"),
        "summary": _nullable("string", description="one sentence saying what the finished step did")}},
    "Event": {"type": "object", "additionalProperties": False, "required": ["id", "jobId", "status", "message", "createdAt"],
              "properties": {"id": {"type": "integer"}, "jobId": {"type": "string"}, "stepId": _nullable("integer"),
                             "status": {"type": "string"}, "message": {"type": "string"}, "createdAt": TIME}},
    "Suggestion": {"type": "object", "required": [
        "id", "budgetId", "transactionId", "payeeName", "amount", "date", "accountName", "proposedCategoryId",
        "proposedCategoryName", "confidence", "rationale", "status", "jobId", "createdAt"], "properties": {
        "id": {"type": "string"}, "budgetId": {"type": "string"}, "transactionId": {"type": "string"},
        "payeeName": {"type": "string"}, "payeeKey": {"type": "string"},
        "amount": {"type": "integer", "description": "minor units; negative for outflows"},
        "date": {"type": "string", "format": "date"}, "accountName": {"type": "string"},
        "proposedCategoryId": {"type": "string"}, "proposedCategoryName": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1}, "rationale": {"type": "string"},
        "status": {"enum": list(SUGGESTION_STATUSES),
                   "description": "rejected: a person said no; skipped: an apply left it alone because the "
                                  "budget changed meanwhile (skipReason says how)"},
        "jobId": _nullable("string"), "createdAt": TIME,
        "skipReason": _nullable("string", description="why an apply skipped it, e.g. 'changed by someone else', "
                                                      "'deleted on the server', 'the category is hidden'"),
        "updatedAt": TIME,
        "categoryId": {"type": "string", "description": "the category an apply writes: the reviewer's if chosen, "
                                                        "else the proposed one"},
        "categoryName": {"type": "string"},
        "origin": {"enum": ["engine", "manual"], "description": "manual: chosen by hand for a transaction without "
                                                                 "a suggestion (POST /api/suggestions)"},
        "corrected": {"type": "boolean", "description": "approved with another category than proposed (the "
                                                        "proposed one is kept in proposedCategoryId)"},
        "createRule": {"type": "boolean", "description": "the apply also creates the rule \"payee is <payee> -> "
                                                         "set category\" in the budget"},
        "accountId": _nullable("string"), "payeeId": _nullable("string")}},
    "Approval": {"type": "object", "additionalProperties": False, "properties": {
        "categoryId": {"type": "string", "minLength": 1, "description": "approve with this category instead "
                                                                        "(a correction); one of GET /api/budgets/{id}/categories"},
        "createRule": {"type": "boolean", "description": "ask the apply to create \"payee is <payee> -> set "
                                                         "category\" in the budget (opt-in, never automatic)"}}},
    "BulkApproval": {"type": "object", "additionalProperties": False, "required": ["suggestionIds"], "properties": {
        "suggestionIds": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "categoryId": {"type": "string", "minLength": 1}, "createRule": {"type": "boolean"}}},
    "ManualCategory": {"type": "object", "additionalProperties": False,
                       "required": ["budgetId", "transactionId", "categoryId"], "properties": {
        "budgetId": {"type": "string"}, "transactionId": {"type": "string", "description": "an uncategorized "
                                                                                            "transaction without an open suggestion"},
        "categoryId": {"type": "string"}, "createRule": {"type": "boolean", "default": False}}},
    "CategoryList": {"type": "object", "required": ["budgetId", "groups", "categories"], "properties": {
        "budgetId": {"type": "string"},
        "groups": {"type": "array", "description": "in the budget's order", "items": {
            "type": "object", "required": ["name", "categories"], "properties": {
                "name": {"type": "string"}, "categories": {"type": "array", "items": {
                    "type": "object", "required": ["id", "name"],
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}}}}},
        "categories": {"type": "array", "items": {"type": "object", "required": ["id", "name", "groupName"],
                                                  "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                                                 "groupName": {"type": "string"}}}}}},
    "UncategorizedList": {"type": "object", "required": ["budgetId", "total", "groups"], "properties": {
        "budgetId": {"type": "string"}, "total": {"type": "integer", "minimum": 0},
        "groups": {"type": "array", "items": {"type": "object", "required": [
            "payeeKey", "payeeName", "reason", "why", "reasons", "transactions"], "properties": {
            "payeeKey": {"type": "string"}, "payeeName": {"type": "string"},
            "reason": {"enum": ["rejected", "no_payee", "new_payee", "unsure", "not_yet"]},
            "why": {"type": "string", "description": "why there is no suggestion, in words"},
            "reasons": {"type": "array", "items": {"type": "object"}},
            "transactions": {"type": "array", "items": {"type": "object", "required": [
                "id", "date", "payeeName", "amount", "accountName", "reason", "why"], "properties": {
                "id": {"type": "string"}, "date": {"type": "string", "format": "date"},
                "payeeName": {"type": "string"}, "payeeId": _nullable("string"), "amount": {"type": "integer"},
                "accountId": {"type": "string"}, "accountName": {"type": "string"}, "notes": {"type": "string"},
                "reason": {"type": "string"}, "why": {"type": "string"}}}}}}}}},
    "JobWithSteps": {"type": "object", "required": ["job", "steps"], "properties": {
        "job": _ref("Job"), "steps": {"type": "array", "items": _ref("Step")}, "deduplicated": {"type": "boolean"}}},
    "JobDetail": {"type": "object", "required": ["job", "steps", "events"], "properties": {
        "job": _ref("Job"), "steps": {"type": "array", "items": _ref("Step")},
        "events": {"type": "array", "items": _ref("Event")}}},
    "JobList": {"type": "object", "required": ["jobs", "nextCursor"], "properties": {
        "jobs": {"type": "array", "items": _ref("Job")}, "nextCursor": _nullable("string")}},
    "Snapshot": {"type": "object", "additionalProperties": False, "required": [
        "id", "budgetId", "createdAt", "sizeBytes", "transactions", "categories", "jobId", "fileUrl"], "properties": {
        "id": {"type": "string"}, "budgetId": {"type": "string"}, "createdAt": TIME,
        "sizeBytes": {"type": "integer", "minimum": 0}, "transactions": {"type": "integer", "minimum": 0},
        "categories": {"type": "integer", "minimum": 0},
        "jobId": _nullable("string", description="the job that made the snapshot"),
        "jobType": _nullable("string", description="null when that job was deleted by the retention purge"),
        "jobLabel": _nullable("string"), "jobTrigger": _nullable("string"),
        "fileUrl": {"type": "string", "description": "GET it to download the snapshot's SQLite file"}}},
    "SuggestionIds": {"type": "object", "required": ["suggestionIds"], "additionalProperties": False, "properties": {
        "suggestionIds": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                          "maxItems": 5000}}},
    "Session": {"type": "object", "required": ["loggedIn", "mode", "via"], "additionalProperties": False,
                "properties": {"loggedIn": {"type": "boolean"}, "mode": {"enum": ["password", "open", "disabled"]},
                               "via": {"enum": ["session", "token", "open", None]},
                               "csrfToken": {"type": "string", "description": "for X-CSRF-Token"}}},
    "Token": {"type": "object", "required": ["id", "name", "createdAt", "lastUsedAt"], "additionalProperties": False,
              "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "createdAt": TIME,
                             "lastUsedAt": NTIME}},
}

NON_BLANK = {"type": "string", "minLength": 1, "pattern": "\\S"}  # not only whitespace, as the code checks

ETAG_HEADER = {"ETag": {"schema": {"type": "string"}, "description": "Weak ETag; send it back as If-None-Match"}}
IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}

PATHS = {
    "/api/health": {"get": {"summary": "Liveness and database check; degraded while jobs wait and no worker is alive",
                            "responses": {"200": _json({"type": "object", "required": ["status", "workers", "queuedJobs"],
                                                        "properties": {
        "status": {"enum": ["ok", "degraded"]}, "workers": {"type": "integer", "description": "live worker processes"},
        "queuedJobs": {"type": "integer"}, "message": {"type": "string"}}}, "Healthy or degraded")}}},
    "/api/schedule": {"get": {"summary": "A budget's last successful sync and when its next scheduled sync is due",
                              "parameters": [{"name": "budgetId", "in": "query", "required": True,
                                              "schema": {"type": "string"}}],
                              "responses": {"200": _json({"type": "object", "required": [
                                  "budgetId", "intervalMinutes", "lastSyncAt", "nextSyncDueAt"], "properties": {
                                  "budgetId": {"type": "string"}, "intervalMinutes": {"type": "integer"},
                                  "lastSyncAt": {"type": ["string", "null"], "format": "date-time"},
                                  "nextSyncDueAt": {"type": ["string", "null"], "format": "date-time",
                                                    "description": "null when SYNC_INTERVAL_MINUTES is 0"}}},
                                  "Schedule"), **_errors(422)}}},
    "/api/workers": {"get": {"summary": "Worker processes seen in the last day", "responses": {
        "200": _json({"type": "object", "required": ["workers"], "properties": {"workers": {"type": "array", "items": {
            "type": "object", "required": ["id", "host", "pid", "startedAt", "lastSeenAt", "alive"], "properties": {
                "id": {"type": "string"}, "host": {"type": "string"}, "pid": {"type": "integer"},
                "startedAt": {"type": "string", "format": "date-time"},
                "lastSeenAt": {"type": "string", "format": "date-time"},
                "runningJobId": {"type": ["string", "null"]}, "runningJobs": {"type": "integer"},
                "alive": {"type": "boolean"}}}}}}, "Workers")}}},
    "/api/budgets": {
        "get": {"summary": "Demo budgets and, with ACTUAL_SERVER_URL, the Actual server's files", "responses": {
            "200": _json({"type": "object", "required": ["budgets"], "properties": {
                "budgets": {"type": "array", "items": _ref("Budget")}, "warning": {"type": "string"}}}, "Budgets")}},
        "post": {"summary": "Add a demo budget with its own data", "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"type": "object", "required": ["name"], "additionalProperties": False,
                                            "properties": {
                "name": {**NON_BLANK, "maxLength": 200}, "connector": {"const": "demo"}}}}}},
            "responses": {"201": _json({"type": "object", "required": ["budget"],
                                        "properties": {"budget": _ref("Budget")}}, "Created"), **_errors(400, 413, 422)}}},
    "/api/budgets/{budgetId}/snapshots": {"get": {
        "summary": "The budget's snapshots (made by Create Snapshot jobs), newest first",
        "parameters": [{"name": "budgetId", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "limit", "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
        "responses": {"200": _json({"type": "object", "required": ["snapshots"], "properties": {
            "snapshots": {"type": "array", "items": _ref("Snapshot")}}}, "Snapshots"), **_errors(404, 422, 503)}}},
    "/api/snapshots/{id}/file": {"get": {
        "summary": "Download a snapshot: the budget's SQLite file as an attachment",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The SQLite database file", "headers": {
            "Content-Disposition": {"schema": {"type": "string"},
                                    "description": "attachment; a file name made by the server"}},
            "content": {"application/vnd.sqlite3": {"schema": {"type": "string", "contentMediaType":
                                                                "application/vnd.sqlite3"}}}},
            **_errors(404)}}},
    "/api/budgets/{budgetId}": {"delete": {
        "summary": "Remove a budget from this service (an Actual budget deleted on its server, or a demo budget a "
                   "user added): its suggestions and working copy go, its jobs and snapshots stay; the Actual "
                   "server is never written to. 409 while a job of it is queued or running, while the server "
                   "still has it, and for the built-in demo budget",
        "parameters": [{"name": "budgetId", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json({"type": "object", "required": ["budget", "droppedSuggestions"], "properties": {
            "budget": _ref("Budget"), "droppedSuggestions": {"type": "integer", "minimum": 0},
            "workingCopyRemoved": {"type": "boolean"}}}, "Removed"), **_errors(404, 409, 503)}}},
    "/api/budgets/{budgetId}/categories": {"get": {
        "summary": "The budget's categories (not hidden), grouped by category group: what a reviewer can pick",
        "parameters": [{"name": "budgetId", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("CategoryList"), "Categories"), **_errors(404, 422, 503)}}},
    "/api/budgets/{budgetId}/uncategorized": {"get": {
        "summary": "Uncategorized transactions without a suggestion, grouped by payee, each saying why there is none",
        "parameters": [{"name": "budgetId", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("UncategorizedList"), "Transactions to categorize by hand"),
                      **_errors(404, 503)}}},
    "/api/job-types": {"get": {"summary": "Job types with labels and steps", "responses": {
        "200": _json({"type": "object", "required": ["jobTypes"], "properties": {
            "jobTypes": {"type": "array", "items": _ref("JobType")}}}, "Job types")}}},
    "/api/jobs": {"get": {"summary": "Jobs, newest first", "parameters": [
        {"name": "budgetId", "in": "query", "schema": {"type": "string"}},
        {"name": "type", "in": "query", "schema": {"enum": []}},  # the registry's type names, set by document()
        {"name": "status", "in": "query", "schema": {"enum": list(JOB_STATUSES)}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
        {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
         "description": "the nextCursor of the previous page, unchanged (anything else is 422)"}, IF_NONE_MATCH],
        "responses": {"200": {**_json(_ref("JobList"), "A page of jobs"), "headers": ETAG_HEADER},
                      "304": {"description": "Unchanged since the ETag sent"}, **_errors(422)}}},
    "/api/jobs/{ref}": {
        "post": {
            "summary": "Start a job of kind `ref`; 200 with deduplicated=true when a queued or running job of the budget "
                       "will do exactly what this one asks (same type and inputs: an apply, the same suggestion ids)",
            "parameters": [{"name": "ref", "in": "path", "required": True, "schema": {"enum": []},
                            "description": "the job kind"},
                           {"name": "Idempotency-Key", "in": "header", "required": False,
                            "schema": {"type": "string", "maxLength": 255}}],
            "requestBody": {"required": True, "description": "the schema titled after the kind in the path",
                            "content": {"application/json": {"schema": {"anyOf": []}}}},
            "responses": {"201": _json(_ref("JobWithSteps"), "Created (or replayed for a repeated Idempotency-Key)"),
                          "200": _json(_ref("JobWithSteps"), "Existing job"), **_errors(400, 404, 413, 422, 503)}},
        "get": {
            "summary": "The job with id `ref`, with its steps and events",
            "parameters": [{"name": "ref", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "the job id"}, IF_NONE_MATCH],
            "responses": {"200": {**_json(_ref("JobDetail"), "The job"), "headers": ETAG_HEADER},
                          "304": {"description": "Unchanged since the ETag sent"}, **_errors(404)}}},
    "/api/jobs/{id}/cancel": {"post": {
        "summary": "Cancel a queued job at once, or ask a running one to stop at its next checkpoint",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("JobWithSteps"), "The job after the request"), **_errors(404, 409)}}},
    "/api/suggestions": {"get": {"summary": "Suggestions, grouped by payee", "parameters": [
        {"name": "budgetId", "in": "query", "schema": {"type": "string"}},
        {"name": "status", "in": "query", "schema": {"enum": list(SUGGESTION_STATUSES)}}],
        "responses": {"200": _json({"type": "object", "required": ["suggestions"], "properties": {
            "suggestions": {"type": "array", "items": _ref("Suggestion")}}}, "Suggestions"), **_errors(422)}},
        "post": {"summary": "Categorize a transaction by hand: an approved suggestion with origin \"manual\", "
                            "applied with the rest",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ManualCategory")}}},
                 "responses": {"201": _json({"type": "object", "required": ["suggestion"], "properties": {
                     "suggestion": _ref("Suggestion")}}, "Created"), **_errors(400, 404, 413, 422, 503)}}},
}
for _action in ("approve", "reject"):
    PATHS[f"/api/suggestions/{{id}}/{_action}"] = {"post": {
        "summary": f"{_action.capitalize()} one suggestion" + (
            "; with a body, approve it with another category (a correction) and/or ask for a rule"
            if _action == "approve" else ""),
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": _json({"type": "object", "required": ["suggestion"],
                                    "properties": {"suggestion": _ref("Suggestion")}}, "The suggestion"),
                      **_errors(404, 409)}}}
    PATHS[f"/api/suggestions/{_action}"] = {"post": {
        "summary": f"{_action.capitalize()} several suggestions (a payee group)",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": _ref("BulkApproval" if _action == "approve" else "SuggestionIds")}}},
        "responses": {"200": _json({"type": "object", "required": ["suggestions"], "properties": {
            "suggestions": {"type": "array", "items": _ref("Suggestion")}}}, "The suggestions"),
            **_errors(400, 409, 413, 422)}}}
PATHS["/api/suggestions/{id}/approve"]["post"]["requestBody"] = {
    "required": False, "content": {"application/json": {"schema": _ref("Approval")}}}
PATHS["/api/suggestions/{id}/approve"]["post"]["responses"].update(_errors(413, 422))
PATHS["/api/openapi.json"] = {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
SESSION_BODY = {"type": "object", "required": ["password"], "additionalProperties": False,
                "properties": {"password": {"type": "string", "minLength": 1, "maxLength": 1024}}}
PATHS["/api/session"] = {
    "get": {"summary": "Whether the caller is logged in (and the CSRF token of its session)",
            "responses": {"200": _json(_ref("Session"), "The caller's session")}},
    "post": {"summary": "Log in with the password: 204 and the session cookie",
             "requestBody": {"required": True, "content": {"application/json": {"schema": SESSION_BODY}}},
             "responses": {"204": {"description": "Logged in (no cookie when the API is open)", "headers": {
                 "Set-Cookie": {"schema": {"type": "string"}, "description": "ba_session; HttpOnly; SameSite=Strict"}}},
                 **_errors(400, 401, 413, 422, 429)}},
    "delete": {"summary": "Log out", "responses": {"204": {"description": "Logged out"}}}}
PATHS["/api/tokens"] = {
    "get": {"summary": "API tokens (never their secrets)", "responses": {"200": _json({
        "type": "object", "required": ["tokens"], "properties": {"tokens": {"type": "array", "items": _ref("Token")}}},
        "Tokens")}},
    "post": {"summary": "Create an API token; its secret is in this answer only", "requestBody": {
        "required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": {**NON_BLANK, "maxLength": 100}}}}}},
        "responses": {"201": _json({"type": "object", "required": ["token", "secret"], "properties": {
            "token": _ref("Token"), "secret": {"type": "string"}}}, "Created"), **_errors(400, 413, 422)}}}
PATHS["/api/tokens/{id}"] = {"delete": {
    "summary": "Revoke an API token",
    "parameters": [{"name": "id", "in": "path", "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}],
    "responses": {"204": {"description": "Revoked"}, **_errors(404)}}}

PUBLIC_OPERATIONS = {("/api/health", "get"), ("/api/session", "get"), ("/api/session", "post"),
                     ("/api/session", "delete")}
SECURITY_SCHEMES = {
    "session": {"type": "apiKey", "in": "cookie", "name": "ba_session",
                "description": "POST /api/session with the password; state-changing requests also need a same-site "
                               "Origin or Referer, or X-CSRF-Token (GET /api/session)"},
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "an API token: python -m wiring.manage token create NAME, or the page's API tokens panel"},
}


def _secure(paths: dict) -> None:
    """Every operation answers 400 (Host); protected ones 401; state-changing ones 403, and 415 with a body."""
    for path, operations in paths.items():
        for method, operation in operations.items():
            extra = [400]
            if (path, method) in PUBLIC_OPERATIONS:
                operation["security"] = []  # no credentials needed
            else:
                extra.append(401)
            if method in ("post", "put", "patch", "delete"):
                extra.append(403)
                if "requestBody" in operation:
                    extra.append(415)
            if any(p.get("in") == "query" for p in operation.get("parameters", ())):
                extra.append(422)  # a repeated query parameter
            for code, response in _errors(*extra).items():
                operation["responses"].setdefault(code, response)

INPUT_SCHEMAS = {
    "string": lambda i: {**NON_BLANK, "maxLength": i.max_length},
    "boolean": lambda i: {"type": "boolean"},
    "ids": lambda i: {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 5000},
}


def request_schema_name(job_type: JobType) -> str:
    """'budget-sync' -> 'BudgetSyncRequest'."""
    return "".join(part.capitalize() for part in str(job_type.kind).split("-")) + "Request"


def request_schema(job_type: JobType) -> dict:
    """The body of POST /api/jobs/{kind}, from the job type's declared inputs."""
    def field(i: JobInput) -> dict:
        schema = INPUT_SCHEMAS[i.type](i)
        if i.default is not None:
            schema["default"] = i.default
        if i.description:
            schema["description"] = i.description
        return schema

    return {"title": f"POST /api/jobs/{job_type.kind}", "type": "object", "additionalProperties": False,
            "required": [i.name for i in job_type.inputs if i.required],
            "properties": {i.name: field(i) for i in job_type.inputs}}


def document(registry: JobRegistry) -> dict:
    """The OpenAPI document, with the job types, kinds and request bodies of `registry`."""
    startable = [t for t in registry.all() if t.kind]
    paths = copy.deepcopy(PATHS)
    paths["/api/jobs"]["get"]["parameters"][1]["schema"]["enum"] = registry.names()
    create = paths["/api/jobs/{ref}"]["post"]
    create["parameters"][0]["schema"]["enum"] = [t.kind for t in startable]
    create["requestBody"]["content"]["application/json"]["schema"]["anyOf"] = [
        _ref(request_schema_name(t)) for t in startable]
    schemas = {**SCHEMAS, **{request_schema_name(t): request_schema(t) for t in startable}}
    _secure(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "budget-assist", "version": "0.1.0",
                 "description": "Jobs that sync Actual budgets, propose categories and apply them. "
                                "Errors: {\"error\": {\"code\", \"message\", \"field\"?}}."},
        "paths": paths,
        "security": [{"session": []}, {"bearer": []}],
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


class OpenAPIResource:
    """GET /api/openapi.json."""

    def __init__(self, registry: Optional[JobRegistry] = None) -> None:
        self.document = document(registry or default_registry())

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document
