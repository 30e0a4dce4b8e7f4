"""Real processes for tests and the benchmark: ports, the Procfile's commands, start and stop, polling."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Mapping

ROOT = Path(__file__).resolve().parents[1]


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


def spawn(command: str, env: Mapping[str, str], log: Path) -> subprocess.Popen:
    """Run a shell command line from the repository root in its own session, its output going to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=dict(env), stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Send `sig` to the process group `spawn` started (ignored once it is gone)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def wait_or_kill(proc: subprocess.Popen, timeout: float = 30) -> int:
    """Wait for a spawned process to exit, SIGKILL its group after `timeout` seconds; its exit code."""
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        signal_group(proc, signal.SIGKILL)
        proc.wait(5)
    return proc.returncode


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Stop a spawned process: `sig` to its group, SIGKILL after `timeout` seconds; its exit code."""
    if proc.poll() is None:
        signal_group(proc, sig)
    return wait_or_kill(proc, timeout)
