"""Schemathesis against the real gunicorn + huey_consumer stack, from the API's own /api/openapi.json.

Logged in (a bearer token) and not; fixed seed, a few examples per operation, the coverage and fuzzing phases
(positive and negative data). Checks: no 5xx, and every status, content type and body is one the document
describes. The logged-in run leaves out DELETE: fuzzing DELETE /api/tokens/{id} would revoke its own token
(DELETE /api/session would end a cookie session the same way); the logged-out run covers them.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.integration

SEED = "20261130"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("fuzz") / "data")
    s.start(workers=1)
    yield s
    s.stop()


def schemathesis(stack: Stack, schema: Path, *extra: str) -> subprocess.CompletedProcess:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    if st is None:
        pytest.skip("schemathesis is missing: pip install -e '.[test]'")
    command = [st, "run", str(schema), "--url", stack.base_url, "--checks", CHECKS, "--max-examples", "5",
               "--seed", SEED, "--phases", "examples,coverage,fuzzing", "--workers", "1", "--request-timeout", "15",
               "--generation-with-security-parameters", "false", "--no-color", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=schema.parent)  # its files there


@pytest.fixture(scope="module")
def schema(fuzzed, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    path.write_text(json.dumps(fuzzed.api("GET", "/api/openapi.json").json()))
    return path


def test_logged_in_no_5xx_and_nothing_undocumented(fuzzed, schema):
    token = fuzzed.api("POST", "/api/tokens", {"name": "schemathesis"}).json()["secret"]
    run = schemathesis(fuzzed, schema, "-H", f"Authorization: Bearer {token}", "--exclude-method", "DELETE")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:] + fuzzed.logs()[-3000:]
    assert "passed" in run.stdout and "Authentication failed" not in run.stdout, run.stdout[-3000:]


def test_logged_out_no_5xx_and_nothing_undocumented(fuzzed, schema):
    before = fuzzed.dump_tables()
    run = schemathesis(fuzzed, schema)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:] + fuzzed.logs()[-3000:]
    after = fuzzed.dump_tables()
    written = set(after.splitlines()) - set(before.splitlines())
    # only failed logins are recorded, beside the worker's own liveness row (its heartbeat, not a request)
    assert all(line.startswith(("login_failure", "worker:")) for line in written), written
