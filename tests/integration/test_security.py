"""Issue 11 from outside, against real gunicorn + huey_consumer: slow clients, Host, 414/431, the burst, the battery."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.stack import ROOT, Stack, procfile_commands

pytestmark = pytest.mark.integration

READ_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """One stack with a password and a short request-read timeout."""
    s = Stack(tmp_path_factory.mktemp("secured") / "data", {"REQUEST_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT)})
    s.start(workers=1)
    yield s
    s.stop()


def raw(stack: Stack, data: bytes, wait: float = 10.0) -> bytes:
    """Send raw bytes on a new connection; everything the server answers before it closes."""
    sock = socket.create_connection(("127.0.0.1", stack.port), timeout=wait)
    try:
        try:
            sock.sendall(data)
        except OSError:  # the server stopped reading (431): its answer is still in our receive buffer
            pass
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (every answer here closes it)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def split(response: bytes) -> tuple[int, dict, bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def app_rows(stack: Stack) -> str:
    """Every row of the tables a request could write (not the login rate limit's, nor the worker's heartbeat row)."""
    return "\n".join(line for line in stack.dump_tables().splitlines()
                     if not line.startswith(("login_failure", "worker:")))


def test_two_clients_that_never_send_their_body_do_not_stall_the_service(secured):
    stalled = []
    for _ in range(2):
        sock = socket.create_connection(("127.0.0.1", secured.port))
        sock.sendall(b"POST /api/budgets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n")
        stalled.append(sock)
    started = time.monotonic()
    assert requests.get(f"{secured.base_url}/api/health", timeout=10).status_code == 200
    assert time.monotonic() - started < 1.0  # 33.6 s with two sync workers before (both killed: WORKER TIMEOUT)
    for sock in stalled:  # each held one thread until the read timeout, then got a JSON 408
        sock.settimeout(READ_TIMEOUT + 10)
        status, headers, body = split(read_all(sock))
        sock.close()
        assert status in (401, 408)  # logged out: refused before the body is read, or timed out reading it
        assert headers["content-type"].startswith("application/json") and json.loads(body)["error"]["code"]
    assert "WORKER TIMEOUT" not in secured.logs()


def test_a_logged_in_client_that_stalls_its_body_gets_408_after_the_read_timeout(secured):
    cookie = secured.http.cookies.get("ba_session")
    sock = socket.create_connection(("127.0.0.1", secured.port))
    sock.sendall(f"POST /api/budgets HTTP/1.1\r\nHost: 127.0.0.1:{secured.port}\r\nCookie: ba_session={cookie}\r\n"
                 f"Origin: {secured.base_url}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                 .encode())
    started = time.monotonic()
    sock.settimeout(READ_TIMEOUT + 10)
    status, _, body = split(read_all(sock))
    waited = time.monotonic() - started
    sock.close()
    assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"
    assert READ_TIMEOUT - 0.5 < waited < READ_TIMEOUT + 3


def test_a_client_trickling_its_headers_is_dropped_after_the_read_timeout(secured):
    sock = socket.create_connection(("127.0.0.1", secured.port))
    sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    sock.settimeout(READ_TIMEOUT + 10)
    started = time.monotonic()
    assert sock.recv(65536) == b""  # closed without an answer
    assert time.monotonic() - started < READ_TIMEOUT + 6
    sock.close()


def test_another_host_header_is_400_in_json(secured):
    r = secured.http.get(f"{secured.base_url}/api/budgets", headers={"Host": "attacker.example"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "host_not_allowed"


def test_414_and_431_come_back_as_json_with_the_security_headers(secured):
    status, headers, body = split(raw(secured, b"GET /api/jobs?x=" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
    assert status == 414 and json.loads(body)["error"]["code"] == "uri_too_long"
    assert headers["content-type"] == "application/json" and headers["x-content-type-options"] == "nosniff"
    status, headers, body = split(raw(secured, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                                      + b"a" * 1_000_000 + b"\r\n\r\n"))
    assert status == 431 and json.loads(body)["error"]["code"] == "headers_too_large"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_the_server_header_names_no_version(secured):
    r = requests.get(f"{secured.base_url}/api/health", timeout=10)
    assert not any(c.isdigit() for c in r.headers.get("Server", ""))
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_a_burst_of_500_requests_without_credentials_is_all_401_and_writes_nothing(secured):
    before = app_rows(secured)
    paths = [("GET", "/api/jobs"), ("POST", "/api/jobs/sync-and-suggest"), ("POST", "/api/budgets"),
             ("POST", "/api/suggestions/approve"), ("GET", "/api/budgets")]

    def one(i: int) -> int:
        method, path = paths[i % len(paths)]
        return requests.request(method, f"{secured.base_url}{path}", json={"budgetId": "demo", "name": "x"},
                                timeout=30).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(one, range(500)))
    assert set(codes) == {401}
    assert requests.get(f"{secured.base_url}/api/health", timeout=5).status_code == 200
    assert app_rows(secured) == before


BATTERY = [
    ("GET", "/api/jobs/..%2F..%2Fetc%2Fpasswd", None, {}),
    ("GET", "/api/jobs/../../etc/passwd", None, {}),
    ("GET", "/api/jobs/%00", None, {}),
    ("POST", "/api/jobs/x%00y/cancel", None, {}),
    ("POST", "/api/suggestions/" + "a" * 10_000 + "/approve", None, {}),
    ("POST", "/api/jobs/sync-and-suggest", {"budgetId": "💸‮evil"}, {}),
    ("POST", "/api/jobs/sync-and-suggest", {"budgetId": "demo", "fullResync": 2 ** 63}, {}),
    ("POST", "/api/budgets", {"name": "x" * 10_000}, {}),
    ("POST", "/api/budgets", {"name": "a\x00b"}, {}),
    ("GET", "/api/jobs?budgetId=%00", None, {}),
    ("POST", "/api/jobs/budget-sync", {"budgetId": "demo"}, {"Idempotency-Key": "k" * 1000}),
    ("POST", "/api/budgets", {"name": "ok", "delayOn": {"pull_latest": 2 ** 63}}, {}),
    ("POST", "/api/jobs/budget-sync", b'{"budgetId": "demo", "budgetId": "other"}', {}),
    ("POST", "/api/jobs/budget-sync", b"[" * 30_000, {}),
    ("POST", "/api/jobs/budget-sync", b'{"budgetId": "demo"}', {"Content-Type": "text/plain"}),
    ("POST", "/api/jobs/budget-sync", b"budgetId=demo", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("POST", "/api/suggestions/approve", {"suggestionIds": ["", "x" * 10_000]}, {}),
    ("GET", "/api/jobs?limit=9223372036854775808", None, {}),
    ("GET", "/api/jobs?status=bogus", None, {}),
    ("POST", "/api/jobs/sync-and-suggest", {"budgetId": "demo"}, {"Origin": "http://evil.example"}),
    ("POST", "/api/tokens", {"name": "\u202e\x00"}, {}),
    ("DELETE", "/api/tokens/9223372036854775808", None, {}),
]


@pytest.mark.parametrize("method,path,body,headers", BATTERY, ids=range(len(BATTERY)))
def test_the_hand_battery_gets_a_4xx_and_writes_nothing(secured, method, path, body, headers):
    before = app_rows(secured)
    data = body if isinstance(body, bytes) else None
    r = secured.http.request(method, f"{secured.base_url}{path}", json=None if data is not None else body,
                             data=data, headers={"Content-Type": "application/json", **headers}, timeout=30)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"]["code"]
    assert app_rows(secured) == before


def test_a_forged_log_line_stays_on_one_escaped_line(secured):
    secured.http.get(f"{secured.base_url}/api/jobs/x%0d%0a2026-01-01 00:00:00,000 INFO api.request GET /forged%00")
    log = secured.logs()
    assert "\nforged" not in log and "\n2026-01-01 00:00:00,000 INFO api.request GET /forged" not in log
    assert "\\x0d\\x0a2026-01-01" in log and "\x00" not in log


def test_a_token_from_the_command_line_opens_the_api(secured):
    out = subprocess.run([sys.executable, "-m", "wiring.manage", "token", "create", "nightly export"], cwd=ROOT,
                         env=secured.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token.startswith("ba_") and token not in secured.dump_tables()
    r = requests.get(f"{secured.base_url}/api/jobs", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200
    listed = subprocess.run([sys.executable, "-m", "wiring.manage", "token", "list"], cwd=ROOT, env=secured.env,
                            capture_output=True, text=True, timeout=60).stdout
    assert "nightly export" in listed and "last used 20" in listed


def test_without_a_password_it_refuses_to_listen_beyond_loopback_in_one_line(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path), "HOST": "0.0.0.0", "PORT": "0",
           "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"}
    env.pop("AUTH_PASSWORD", None)
    proc = subprocess.run(["bash", "-c", f"exec {procfile_commands()['web']}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    refusal = [line for line in (proc.stdout + proc.stderr).splitlines() if "refusing to start" in line]
    assert proc.returncode != 0 and len(refusal) == 1
    assert "AUTH_PASSWORD" in refusal[0] and "HOST=0.0.0.0" in refusal[0]


def test_the_cookie_is_secure_behind_a_trusted_https_proxy(secured):
    r = requests.post(f"{secured.base_url}/api/session", json={"password": secured.password}, timeout=30,
                      headers={"X-Forwarded-Proto": "https", "Origin": f"https://127.0.0.1:{secured.port}"})
    assert r.status_code == 204
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_a_session_outlives_a_restart_of_the_web_process(stack_factory):
    stack = stack_factory()
    assert stack.api("GET", "/api/jobs").status_code == 200  # logged in by the stack, with a password set
    stack.restart_web()
    assert stack.api("GET", "/api/jobs").status_code == 200  # the same cookie: sessions live in the database
    assert requests.get(f"{stack.base_url}/api/jobs", timeout=10).status_code == 401
