"""Real processes for the benchmark: gunicorn and huey_consumer with the Procfile's flags on a temp DATA_DIR."""
from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Huey's idle-poll flags; the "default flags" anchor drops them (Huey then polls 0.1 s -> 10 s by 1.15x).
POLL_FLAGS = {"-d", "--delay", "-m", "--max-delay", "-b", "--backoff"}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile() -> dict[str, str]:
    """The Procfile's process types and commands."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if ":" in line and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, message: str = "") -> Any:
    """Poll `predicate` until it returns something truthy; TimeoutError once `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {message or predicate}")
        time.sleep(interval)


def worker_flags(default_poll: bool = False) -> list[str]:
    """The Procfile worker line's flags (after the Huey instance), optionally without the poll flags."""
    args = shlex.split(procfile()["worker"])
    flags = args[2:]  # huey_consumer <module.huey> ...
    if not default_poll:
        return flags
    kept, skip = [], False
    for flag in flags:
        if skip:
            skip = False
            continue
        name = flag.split("=", 1)[0]
        if name in POLL_FLAGS:
            skip = "=" not in flag
            continue
        kept.append(flag)
    return kept


def web_command(factory: str) -> str:
    """The Procfile web line serving `factory` instead of the product's app."""
    return re.sub(r"'[^']*get_app\(\)'", f"'{factory}'", procfile()["web"], count=1)


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "SYNC_INTERVAL_MINUTES": "0", "PYTHONUNBUFFERED": "1",
           "HOST": "127.0.0.1", "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
           "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}".rstrip(":")}
    for key in ("DATABASE_URL", "QUEUE_URL"):  # the bench always runs on SQLite files under DATA_DIR
        env.pop(key, None)
    env.update(extra)
    return env


class Proc:
    """One child process in its own session, logging to a file under DATA_DIR."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.popen = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=env,
                                      stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self, timeout: float = 30) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


def start_worker(name: str, module: str, data_dir: Path, *, default_poll: bool = False,
                 env: Optional[dict[str, str]] = None) -> Proc:
    """huey_consumer on `module` (e.g. bench.noop_tasks.huey) with the Procfile's flags."""
    flags = " ".join(shlex.quote(f) if "$" not in f else f for f in worker_flags(default_poll))
    return Proc(name, f"huey_consumer {module} {flags}", env or base_env(data_dir), data_dir / "logs")


def start_web(name: str, factory: str, data_dir: Path, *, env: Optional[dict[str, str]] = None,
              health_path: str = "/api/health", timeout: float = 60) -> tuple[Proc, str]:
    """gunicorn on `factory` with the Procfile's web flags on a free port; waits until it answers."""
    port = free_port()
    env = {**(env or base_env(data_dir)), "PORT": str(port)}
    proc = Proc(name, web_command(factory), env, data_dir / "logs")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if not proc.alive():
            raise RuntimeError(f"{name} exited:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(base + health_path, timeout=2) as r:
                if r.status < 500:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"{name} did not answer {health_path} in {timeout}s:\n{proc.tail()}")
        time.sleep(0.1)
    return proc, base


def wait_log(proc: Proc, text: str, timeout: float = 60) -> None:
    """Wait until `text` appears in the process's log."""
    deadline = time.monotonic() + timeout
    while text not in proc.tail(1_000_000):
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name}: no {text!r} in its log after {timeout}s:\n{proc.tail()}")
        time.sleep(0.05)


def migrate(data_dir: Path, env: Optional[dict[str, str]] = None) -> None:
    """Create and migrate the app database under DATA_DIR (core.manage migrate)."""
    subprocess.run([sys.executable, "-m", "core.manage", "migrate"], cwd=ROOT, env=env or base_env(data_dir),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
