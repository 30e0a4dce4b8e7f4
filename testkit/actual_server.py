"""Install, start and stop a real Actual sync server for tests and the benchmark.

The server (and the Node 22 it runs on) is installed by `scripts/install-actual-server.sh` into a
cache folder (default `~/.cache/budget-assist/actual-server`, override with `ACTUAL_SERVER_CACHE` or
the Makefile's `ACTUAL_CACHE`), which a
rerun reuses at once. Each started server listens on 127.0.0.1 at a free port, keeps its data in
its own temp dir, is bootstrapped with a password over HTTP, and is stopped by PID.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from testkit.procs import free_port

REPO_DIR = Path(__file__).resolve().parents[1]
INSTALL_SCRIPT = REPO_DIR / "scripts" / "install-actual-server.sh"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "budget-assist" / "actual-server"
SERVER_ENTRY = Path("server/node_modules/@actual-app/sync-server/build/bin/actual-server.js")
OLDEST_SERVER_VERSION = "25.6.0"
"""The oldest sync server the connector is tested against (installed in CACHE_DIR/server-25.6.0)."""


def server_entry(cache_dir: Path, version: Optional[str] = None) -> Path:
    """The server's start script: the default version in `server/`, an older one in `server-<version>/`."""
    if version is None:
        return cache_dir / SERVER_ENTRY
    return cache_dir / f"server-{version}" / SERVER_ENTRY.relative_to("server")


def default_cache_dir() -> Path:
    """`ACTUAL_SERVER_CACHE`, else `ACTUAL_CACHE` (exported by the Makefile), else ~/.cache/budget-assist/actual-server."""
    return Path(os.environ.get("ACTUAL_SERVER_CACHE") or os.environ.get("ACTUAL_CACHE") or DEFAULT_CACHE_DIR)


def install_actual_server(cache_dir: Optional[Path] = None, timeout: float = 900) -> Path:
    """Run the installer (instant when the cache is complete); return the cache dir."""
    cache_dir = Path(cache_dir or default_cache_dir())
    proc = subprocess.run(
        ["bash", str(INSTALL_SCRIPT), str(cache_dir)],
        capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"installing the Actual server failed:\n{proc.stdout}\n{proc.stderr}")
    return cache_dir


def _http_json(method: str, url: str, body: Optional[dict] = None, timeout: float = 10) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}


@dataclass
class ActualServer:
    url: str
    password: str
    token: str
    pid: int
    port: int
    data_dir: Path
    log_path: Path
    startup_seconds: float
    _proc: subprocess.Popen = field(repr=False)

    def stop(self, timeout: float = 10) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL after `timeout`)."""
        if self._proc.poll() is not None:
            return
        os.kill(self.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self._proc.wait(timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_actual_server(
    tmpdir: Path,
    password: str,
    cache_dir: Optional[Path] = None,
    bootstrap: bool = True,
    deadline_seconds: float = 30,
    port: Optional[int] = None,
    version: Optional[str] = None,
) -> ActualServer:
    """Start a server with its data under `tmpdir`, wait for /health, bootstrap and log in once.

    Starting again on the same `tmpdir` with `bootstrap=False` (and the old `port`) restarts a
    stopped server on its existing data; earlier tokens stay valid. `version` picks an older server
    installed beside the default one (see OLDEST_SERVER_VERSION).
    """
    cache_dir = Path(cache_dir or default_cache_dir())
    node_bin = (cache_dir / "NODE_BIN").read_text().strip()
    entry = server_entry(cache_dir, version)
    tmpdir = Path(tmpdir)
    data_dir = tmpdir / "actual-data"
    for sub in ("server-files", "user-files"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmpdir),
        "NODE_ENV": "production",
        "ACTUAL_PORT": str(port),
        "ACTUAL_HOSTNAME": "127.0.0.1",
        "ACTUAL_DATA_DIR": str(data_dir),
        "ACTUAL_SERVER_FILES": str(data_dir / "server-files"),
        "ACTUAL_USER_FILES": str(data_dir / "user-files"),
        # a path that does not exist: no config.json from the cwd or /data is picked up
        "ACTUAL_CONFIG_PATH": str(tmpdir / "no-config.json"),
        "ACTUAL_LOGIN_METHOD": "password",
    }
    log_path = tmpdir / "actual-server.log"
    started = time.monotonic()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [node_bin, str(entry)], cwd=str(data_dir), env=env,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    server = ActualServer(url=url, password=password, token="", pid=proc.pid, port=port,
                          data_dir=data_dir, log_path=log_path, startup_seconds=0.0, _proc=proc)
    try:
        deadline = started + deadline_seconds
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"Actual server exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                status, body = _http_json("GET", f"{url}/health", timeout=2)
                if status == 200 and body.get("status") == "UP":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Actual server not healthy after {deadline_seconds}s:\n{server.log_tail()}")
            time.sleep(0.1)
        server.startup_seconds = time.monotonic() - started
        if bootstrap:
            status, body = _http_json("POST", f"{url}/account/bootstrap", {"password": password})
            if status != 200 or body.get("status") != "ok":
                raise RuntimeError(f"bootstrap failed: HTTP {status} {body.get('reason')}")
            status, body = _http_json("POST", f"{url}/account/login",
                                      {"loginMethod": "password", "password": password})
            token = (body.get("data") or {}).get("token")
            if status != 200 or not token:
                raise RuntimeError(f"login failed: HTTP {status} {body.get('reason')}")
            server.token = token
    except BaseException:
        server.stop()
        raise
    return server


def server_version(cache_dir: Optional[Path] = None, version: Optional[str] = None) -> str:
    """The version of the installed sync server (its package.json), e.g. "26.9.0"."""
    cache_dir = Path(cache_dir or default_cache_dir())
    package = server_entry(cache_dir, version).parents[2] / "package.json"
    return json.loads(package.read_text())["version"]
