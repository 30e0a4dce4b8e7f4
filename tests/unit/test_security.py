"""Issue 11: one password, sessions, tokens, CSRF, JSON-only bodies, the Host allow-list, headers, log escaping."""
from __future__ import annotations

import datetime as dt
import logging

import pytest
from falcon import testing

from api.app import create_app
from api.json_limits import MAX_DEPTH
from auth.policy import DISABLED, OPEN, PASSWORD, access_mode
from auth.ratelimit import LoginLimiter
from auth.sessions import SessionStore
from auth.tokens import TokenService
from budget.service import BudgetService
from core.config import Config, ConfigError
from wiring.services import build_services
from models.auth import ApiToken, AuthSession, LoginFailure

PASSWORD_TEXT = "correct horse battery staple"
HOST = {"Host": "localhost:8000"}
SAME_ORIGIN = {**HOST, "Origin": "http://localhost:8000"}


def secure_config(tmp_path, **env) -> Config:
    return Config.from_env({"DATA_DIR": str(tmp_path / "data"), "AUTH_PASSWORD": PASSWORD_TEXT, **env})


@pytest.fixture()
def app_client(tmp_path, db, queue):
    """A client of an app that requires the password."""
    BudgetService().ensure_demo()
    services = build_services(secure_config(tmp_path), queue)
    return testing.TestClient(create_app(services), headers=HOST)


def login(client, **headers):
    resp = client.simulate_post("/api/session", json={"password": PASSWORD_TEXT}, headers={**SAME_ORIGIN, **headers})
    assert resp.status_code == 204, resp.text
    return resp.cookies["ba_session"]


def error_code(resp, status):
    assert resp.status_code == status, resp.text
    return resp.json["error"]["code"]


# --- secure by default -------------------------------------------------------------------------------------------

def test_without_a_password_the_service_runs_open_only_on_loopback(tmp_path):
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert access_mode(Config.from_env({"DATA_DIR": str(tmp_path), "HOST": host})) == OPEN
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        with pytest.raises(ConfigError) as refused:
            access_mode(Config.from_env({"DATA_DIR": str(tmp_path), "HOST": host}))
        assert "AUTH_PASSWORD" in str(refused.value) and "\n" not in str(refused.value)


def test_a_password_or_auth_disabled_lets_it_listen_anywhere(tmp_path):
    assert access_mode(Config.from_env({"DATA_DIR": str(tmp_path), "HOST": "0.0.0.0",
                                        "AUTH_PASSWORD": "x"})) == PASSWORD
    assert access_mode(Config.from_env({"DATA_DIR": str(tmp_path), "HOST": "0.0.0.0",
                                        "AUTH_DISABLED": "1"})) == DISABLED


def test_the_password_can_come_from_a_file_and_is_never_in_repr(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("from a docker secret\n")
    config = Config.from_env({"DATA_DIR": str(tmp_path), "AUTH_PASSWORD_FILE": str(secret)})
    assert config.auth_password == "from a docker secret"
    assert "docker secret" not in repr(config) and "from a docker secret" in config.secrets()
    with pytest.raises(ConfigError, match="AUTH_PASSWORD_FILE"):
        Config.from_env({"DATA_DIR": str(tmp_path), "AUTH_PASSWORD_FILE": str(tmp_path / "missing")})


def test_open_and_disabled_modes_warn_at_start(tmp_path, db, queue, caplog):
    for env in ({}, {"AUTH_DISABLED": "1"}):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="auth.policy"):
            create_app(build_services(Config.from_env({"DATA_DIR": str(tmp_path / "d"), **env}), queue))
        assert caplog.records and caplog.records[0].levelno == logging.WARNING


def test_open_mode_says_so_to_the_page(client):
    assert client.simulate_get("/api/session").json == {"loggedIn": True, "mode": "open", "via": "open"}


# --- everything else is closed -----------------------------------------------------------------------------------

CLOSED = [("GET", "/api/budgets"), ("POST", "/api/budgets"), ("GET", "/api/jobs"), ("GET", "/api/jobs/x"),
          ("POST", "/api/jobs/sync-and-suggest"), ("POST", "/api/jobs/x/cancel"), ("GET", "/api/job-types"),
          ("GET", "/api/suggestions"), ("POST", "/api/suggestions/approve"), ("POST", "/api/suggestions/x/reject"),
          ("GET", "/api/openapi.json"), ("GET", "/api/tokens"), ("POST", "/api/tokens"), ("DELETE", "/api/tokens/1"),
          ("GET", "/static/app.js"), ("GET", "/api/no-such-route")]


@pytest.mark.parametrize("method,path", CLOSED)
def test_every_route_but_the_public_ones_answers_401_without_credentials(app_client, method, path):
    resp = app_client.simulate_request(method, path, json={"budgetId": "demo"} if method == "POST" else None)
    assert error_code(resp, 401) == "unauthorized"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_public_routes_answer_without_credentials(app_client):
    assert app_client.simulate_get("/api/health").status_code == 200
    assert app_client.simulate_get("/login").status_code == 200
    assert app_client.simulate_get("/static/login.js").status_code == 200
    assert app_client.simulate_get("/api/session").json == {"loggedIn": False, "mode": "password", "via": None}


def test_a_logged_out_visitor_of_the_job_center_is_sent_to_the_login_page(app_client):
    resp = app_client.simulate_get("/")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login?next=%2F"


def test_a_wrong_bearer_token_or_scheme_is_401(app_client):
    for value in ("Bearer ba_nope", "Basic dXNlcjpwYXNz", "Bearer", ""):
        assert app_client.simulate_get("/api/jobs", headers={"Authorization": value}).status_code == 401


# --- sessions ----------------------------------------------------------------------------------------------------

def test_login_sets_a_strict_http_only_cookie_that_opens_the_api(app_client):
    cookie = login(app_client)
    assert cookie.http_only and cookie.same_site == "Strict" and cookie.path == "/" and not cookie.secure
    assert cookie.max_age == 30 * 86400
    resp = app_client.simulate_get("/api/jobs", cookies={"ba_session": cookie.value})
    assert resp.status_code == 200
    state = app_client.simulate_get("/api/session", cookies={"ba_session": cookie.value}).json
    assert state["loggedIn"] and state["via"] == "session" and len(state["csrfToken"]) == 64


def test_the_cookie_is_secure_over_https(app_client):
    resp = app_client.simulate_post("/api/session", json={"password": PASSWORD_TEXT}, protocol="https",
                                    headers={**HOST, "Origin": "https://localhost:8000"})
    assert resp.status_code == 204 and resp.cookies["ba_session"].secure


def test_sessions_are_stored_hashed_and_logout_ends_them(app_client):
    cookie = login(app_client).value
    stored = [row.token_hash for row in AuthSession.select()]
    assert len(stored) == 1 and cookie not in stored[0]
    resp = app_client.simulate_delete("/api/session", cookies={"ba_session": cookie}, headers=SAME_ORIGIN)
    assert resp.status_code == 204 and resp.cookies["ba_session"].value == ""
    assert app_client.simulate_get("/api/jobs", cookies={"ba_session": cookie}).status_code == 401
    assert AuthSession.select().count() == 0


def test_sessions_expire_after_session_days(db):
    now = [dt.datetime(2026, 1, 1)]
    store = SessionStore(days=30, clock=lambda: now[0])
    secret = store.create()
    now[0] += dt.timedelta(days=29, hours=23)
    assert store.valid(secret)
    now[0] += dt.timedelta(hours=1)
    assert not store.valid(secret)
    store.create()  # purges the expired one
    assert AuthSession.select().count() == 1


def test_a_wrong_password_is_401_and_logged_without_the_password(app_client, caplog):
    with caplog.at_level(logging.INFO):
        resp = app_client.simulate_post("/api/session", json={"password": "guess-123"}, headers=SAME_ORIGIN)
    assert error_code(resp, 401) == "invalid_password" and "ba_session" not in resp.cookies
    assert "failed login from 127.0.0.1" in caplog.text and "guess-123" not in caplog.text


def test_five_failed_logins_a_minute_then_429_with_retry_after(app_client, caplog):
    for _ in range(5):
        app_client.simulate_post("/api/session", json={"password": "wrong"}, headers=SAME_ORIGIN)
    resp = app_client.simulate_post("/api/session", json={"password": PASSWORD_TEXT}, headers=SAME_ORIGIN)
    assert error_code(resp, 429) == "too_many_attempts"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    other = app_client.simulate_post("/api/session", json={"password": PASSWORD_TEXT}, headers=SAME_ORIGIN,
                                     remote_addr="127.0.0.9")
    assert other.status_code == 204


def test_the_limit_lifts_after_a_minute(db):
    now = [dt.datetime(2026, 1, 1, 12, 0, 0)]
    limiter = LoginLimiter(clock=lambda: now[0])
    for second in range(5):
        now[0] = dt.datetime(2026, 1, 1, 12, 0, second)
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 56 and limiter.retry_after("10.0.0.2") is None
    now[0] = dt.datetime(2026, 1, 1, 12, 1, 0, 1)
    assert limiter.retry_after("10.0.0.1") is None


def test_a_trusted_proxy_names_the_client_in_x_forwarded_for(app_client):
    for _ in range(5):
        app_client.simulate_post("/api/session", json={"password": "wrong"}, headers={
            **SAME_ORIGIN, "X-Forwarded-For": "203.0.113.7"})
    assert {row.address for row in LoginFailure.select()} == {"203.0.113.7"}
    spoofed = app_client.simulate_post("/api/session", json={"password": "wrong"}, remote_addr="198.51.100.1",
                                       headers={**SAME_ORIGIN, "X-Forwarded-For": "203.0.113.99"})
    assert spoofed.status_code == 401
    assert LoginFailure.select().where(LoginFailure.address == "198.51.100.1").count() == 1


# --- tokens ------------------------------------------------------------------------------------------------------

def test_a_token_opens_the_api_is_stored_hashed_and_revocable(app_client):
    row, secret = TokenService().create("backup script")
    assert secret.startswith("ba_") and secret not in ApiToken.get_by_id(row.id).token_hash
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app_client.simulate_get("/api/jobs", headers=bearer).status_code == 200
    assert app_client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"},
                                    headers=bearer).status_code == 201  # no Origin needed: not a cookie
    listed = app_client.simulate_get("/api/tokens", headers=bearer).json["tokens"]
    assert listed[0]["name"] == "backup script" and listed[0]["lastUsedAt"] and "secret" not in listed[0]
    assert app_client.simulate_delete(f"/api/tokens/{row.id}", headers=bearer).status_code == 204
    assert app_client.simulate_get("/api/jobs", headers=bearer).status_code == 401


def test_the_page_creates_lists_and_revokes_tokens(app_client):
    cookies = {"ba_session": login(app_client).value}
    created = app_client.simulate_post("/api/tokens", json={"name": "phone"}, cookies=cookies, headers=SAME_ORIGIN)
    assert created.status_code == 201 and created.json["secret"].startswith("ba_")
    token_id = created.json["token"]["id"]
    assert [t["name"] for t in app_client.simulate_get("/api/tokens", cookies=cookies).json["tokens"]] == ["phone"]
    assert app_client.simulate_delete(f"/api/tokens/{token_id}", cookies=cookies,
                                      headers=SAME_ORIGIN).status_code == 204
    assert error_code(app_client.simulate_delete(f"/api/tokens/{token_id}", cookies=cookies, headers=SAME_ORIGIN),
                      404) == "not_found"
    assert app_client.simulate_delete("/api/tokens/99999999999999999999", cookies=cookies,
                                      headers=SAME_ORIGIN).status_code == 404


# --- CSRF and content types --------------------------------------------------------------------------------------

def test_a_cross_site_post_with_the_cookie_is_403(app_client):
    cookies = {"ba_session": login(app_client).value}
    evil = app_client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"}, cookies=cookies,
                                    headers={**HOST, "Origin": "http://evil.example"})
    assert error_code(evil, 403) == "cross_site_request"
    bare = app_client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"}, cookies=cookies)
    assert error_code(bare, 403) == "csrf_failed"
    token = app_client.simulate_get("/api/session", cookies=cookies).json["csrfToken"]
    wrong = app_client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"}, cookies=cookies,
                                     headers={**HOST, "X-CSRF-Token": "é" + token[1:]})
    assert error_code(wrong, 403) == "csrf_failed"
    for headers in (SAME_ORIGIN, {**HOST, "Referer": "http://localhost:8000/"}, {**HOST, "X-CSRF-Token": token}):
        ok = app_client.simulate_post("/api/jobs/sync-and-suggest", json={"budgetId": "demo"}, cookies=cookies,
                                      headers=headers)
        assert ok.status_code in (200, 201), ok.text


def test_a_cross_site_text_plain_post_is_refused_even_when_open(client):
    resp = client.simulate_post("/api/suggestions/approve", body='{"suggestionIds": ["x"]}',
                                headers={"Origin": "http://evil.example", "Content-Type": "text/plain"})
    assert error_code(resp, 403) == "cross_site_request"
    resp = client.simulate_post("/api/suggestions/approve", body='{"suggestionIds": ["x"]}',
                                headers={"Content-Type": "text/plain"})
    assert error_code(resp, 415) == "unsupported_media_type"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/jsonp", ""])
def test_a_body_that_is_not_json_is_415(client, content_type):
    resp = client.simulate_post("/api/budgets", body='{"name": "x"}', headers={"Content-Type": content_type})
    assert error_code(resp, 415) == "unsupported_media_type"


def test_json_with_a_charset_and_bodyless_posts_are_accepted(client):
    resp = client.simulate_post("/api/budgets", body='{"name": "x"}',
                                headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status_code == 201
    bodyless = testing.TestClient(client.app, headers={"Host": "localhost"})
    assert bodyless.simulate_post("/api/jobs/nope/cancel").status_code == 404


# --- Host allow-list and headers ---------------------------------------------------------------------------------

def test_another_host_header_is_400_dns_rebinding(client):
    for host in ("attacker.example", "attacker.example:8000", "127.0.0.1.nip.io", ""):
        resp = client.simulate_get("/api/budgets", headers={"Host": host})
        assert error_code(resp, 400) == "host_not_allowed"
    for host in ("localhost", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"):
        assert client.simulate_get("/api/budgets", headers={"Host": host}).status_code == 200


def test_allowed_hosts_adds_names_and_star_allows_any(tmp_path, db, queue):
    config = Config.from_env({"DATA_DIR": str(tmp_path / "d"), "ALLOWED_HOSTS": "budget.lan,10.0.0.5"})
    app = testing.TestClient(create_app(build_services(config, queue)))
    assert app.simulate_get("/api/health", headers={"Host": "budget.lan:8000"}).status_code == 200
    assert app.simulate_get("/api/health", headers={"Host": "localhost"}).status_code == 400
    star = Config.from_env({"DATA_DIR": str(tmp_path / "d"), "ALLOWED_HOSTS": "*"})
    app = testing.TestClient(create_app(build_services(star, queue)))
    assert app.simulate_get("/api/health", headers={"Host": "anything.example"}).status_code == 200


def test_the_default_allowed_hosts_are_loopback_plus_host(tmp_path):
    assert Config.from_env({"DATA_DIR": str(tmp_path), "HOST": "192.168.1.10"}).allowed_hosts == (
        "localhost", "127.0.0.1", "::1", "192.168.1.10")
    assert Config.from_env({"DATA_DIR": str(tmp_path), "HOST": "0.0.0.0"}).allowed_hosts == (
        "localhost", "127.0.0.1", "::1")


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/jobs", "/login", "/static/app.css", "/api/nope"])
def test_every_response_carries_the_security_headers(app_client, path):
    resp = app_client.simulate_get(path)
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "server" not in resp.headers


def test_the_pages_have_no_inline_script_or_style():
    from api.app import WEB_DIR

    for page in ("index.html", "login.html"):
        html = (WEB_DIR / page).read_text()
        assert "<style" not in html and " style=" not in html and " on" not in html.replace(" only", "")
        assert all("src=" in tag for tag in html.split("<script")[1:])


# --- bodies and logs ---------------------------------------------------------------------------------------------

def test_deeply_nested_json_is_422_not_a_recursion_error(client):
    resp = client.simulate_post("/api/budgets", body="[" * 30000)
    assert error_code(resp, 422) == "too_deep"
    nested = '{"name": "x", "failOn": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}"
    assert error_code(client.simulate_post("/api/budgets", body=nested), 422) == "too_deep"
    brackets_in_a_string = '{"name": "' + "[" * 5000 + '"}'
    assert error_code(client.simulate_post("/api/budgets", body=brackets_in_a_string), 422) == "too_long"


def test_duplicate_json_keys_are_422(client):
    resp = client.simulate_post("/api/jobs/budget-sync", body='{"budgetId": "demo", "budgetId": "other"}')
    assert error_code(resp, 422) == "duplicate_key"


def test_a_forged_log_line_is_escaped(client, caplog):
    with caplog.at_level(logging.INFO, logger="api.request"):
        client.simulate_get("/api/jobs/x\r\n2026-01-01 INFO api.request GET /api/admin 200\x00\u202e")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "api.request"]
    assert "\n" not in line and "\r" not in line and "\x00" not in line and "\u202e" not in line
    assert "\\x0d\\x0a2026-01-01" in line and "\\x00\\u202e" in line


def test_a_repeated_query_parameter_is_refused_not_read_by_its_last_value(client):
    resp = client.simulate_get("/api/jobs", query_string="status=bogus&status=")
    assert error_code(resp, 422) == "repeated_parameter" and resp.json["error"]["field"] == "status"
    assert client.simulate_get("/api/jobs", query_string="status=queued&limit=5").status_code == 200


def test_the_document_declares_both_security_schemes_and_the_public_operations(client):
    doc = client.simulate_get("/api/openapi.json").json
    assert set(doc["components"]["securitySchemes"]) == {"session", "bearer"}
    assert doc["security"] == [{"session": []}, {"bearer": []}]
    assert doc["paths"]["/api/health"]["get"]["security"] == [] == doc["paths"]["/api/session"]["post"]["security"]
    assert "401" not in doc["paths"]["/api/health"]["get"]["responses"]
    assert {"401", "403", "415", "400"} <= set(doc["paths"]["/api/budgets"]["post"]["responses"])
    assert "429" in doc["paths"]["/api/session"]["post"]["responses"]


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "   "}, {"name": "x" * 201}])
def test_the_document_refuses_the_budget_names_the_code_refuses(client, body):
    import jsonschema

    doc = client.simulate_get("/api/openapi.json").json
    schema = doc["paths"]["/api/budgets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert not jsonschema.Draft202012Validator(schema).is_valid(body)
    assert client.simulate_post("/api/budgets", json=body).status_code == 422


def test_demo_budgets_are_capped(db):
    budgets = BudgetService(max_budgets=3)
    budgets.ensure_demo()
    budgets.create_demo("two")
    budgets.create_demo("three")
    from core.errors import Conflict

    with pytest.raises(Conflict) as refused:
        budgets.create_demo("four")
    assert refused.value.code == "too_many_budgets" and "MAX_BUDGETS" in refused.value.message


def test_a_null_connector_is_refused_as_the_document_says(client):
    resp = client.simulate_post("/api/budgets", json={"name": "x", "connector": None})
    assert error_code(resp, 422) == "invalid_value"
    assert client.simulate_post("/api/budgets", json={"name": "x", "connector": "demo"}).status_code == 201


def test_nul_characters_are_refused_before_they_reach_the_database(client):
    assert error_code(client.simulate_get("/api/jobs/a\x00b"), 400) == "nul_character"
    assert error_code(client.simulate_get("/api/jobs", query_string="budgetId=%00"), 400) == "nul_character"
    for body in ('{"name": "a\\u0000b"}', '{"name": "a\\ud800b"}', '{"a\\u0000": 1}'):
        assert error_code(client.simulate_post("/api/budgets", body=body), 422) == "invalid_character"
    assert client.simulate_post("/api/budgets", body='{"name": "\\ud83d\\udcb8 ok"}').status_code == 201
