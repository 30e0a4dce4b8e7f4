"""Real processes for the benchmark: gunicorn and huey_consumer with the Procfile's flags on a temp DATA_DIR.

Ports, the Procfile reader, polling and process start/stop come from testkit/procs.py, shared with the tests.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional

from testkit.procs import ROOT, free_port, procfile, spawn, stop, wait_until

__all__ = ["ROOT", "Proc", "base_env", "cpu_seconds", "migrate", "run_probe", "start_web", "start_worker",
           "wait_log", "wait_until", "web_command", "worker_flags"]

BIN = Path(sys.executable).parent
NOOP_PLUGIN = "bench.noop_tasks"
# Huey's idle-poll flags; the "default flags" anchor drops them (Huey then polls 0.1 s -> 10 s by 1.15x).
POLL_FLAGS = {"-d", "--delay", "-m", "--max-delay", "-b", "--backoff"}


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


def worker_module() -> str:
    """The Huey instance the Procfile's worker line runs (e.g. tasks.huey)."""
    return shlex.split(procfile()["worker"])[1]


def web_command(factory: Optional[str] = None) -> str:
    """The Procfile web line, serving `factory` instead of the product's app when given."""
    if factory is None:
        return procfile()["web"]
    return re.sub(r"'[^']*get_app\(\)'", f"'{factory}'", procfile()["web"], count=1)


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of every bench process: SQLite under DATA_DIR, the no-op job type registered."""
    env = {**os.environ, "DATA_DIR": str(data_dir), "SYNC_INTERVAL_MINUTES": "0", "PYTHONUNBUFFERED": "1",
           "HOST": "127.0.0.1", "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "BA_PLUGINS": NOOP_PLUGIN,
           "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}".rstrip(":")}
    for key in ("DATABASE_URL", "QUEUE_URL"):  # the bench always runs on SQLite files under DATA_DIR
        env.pop(key, None)
    env.update(extra)
    return env


class Proc:
    """One child process in its own session, logging to a file under DATA_DIR."""

    def __init__(self, name: str, command: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.popen = spawn(command, env, self.log)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self, timeout: float = 30) -> None:
        stop(self.popen, timeout=timeout)


def start_worker(name: str, data_dir: Path, *, module: Optional[str] = None, default_poll: bool = False,
                 env: Optional[dict[str, str]] = None) -> Proc:
    """huey_consumer on `module` (default: the Procfile's) with the Procfile's flags."""
    flags = " ".join(shlex.quote(f) if "$" not in f else f for f in worker_flags(default_poll))
    return Proc(name, f"huey_consumer {module or worker_module()} {flags}", env or base_env(data_dir),
                data_dir / "logs")


def start_web(name: str, data_dir: Path, *, factory: Optional[str] = None, env: Optional[dict[str, str]] = None,
              health_path: str = "/api/health", timeout: float = 60) -> tuple[Proc, str]:
    """gunicorn on `factory` (default: the product's app) with the Procfile's web flags; waits until it answers."""
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
    """Create and migrate the app database under DATA_DIR (python -m wiring.manage migrate)."""
    subprocess.run([sys.executable, "-m", "wiring.manage", "migrate"], cwd=ROOT, env=env or base_env(data_dir),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_probe(data_dir: Path, module: str, *args: object, timeout: float = 600) -> str:
    """`python -m <module> args…` with the bench environment on `data_dir`; its standard output."""
    out = subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT, env=base_env(data_dir),
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
