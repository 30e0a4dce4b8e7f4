"""Configuration, read once from the environment into a frozen object."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional


class ConfigError(ValueError):
    """An environment variable has a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _password(env: Mapping[str, str]) -> Optional[str]:
    """AUTH_PASSWORD, or the contents of AUTH_PASSWORD_FILE (the Docker-secret convention)."""
    path = env.get("AUTH_PASSWORD_FILE", "").strip()
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(f"AUTH_PASSWORD_FILE cannot be read: {exc.strerror} ({path})") from None
        if not value:
            raise ConfigError(f"AUTH_PASSWORD_FILE is empty ({path})")
        return value
    return env.get("AUTH_PASSWORD") or None


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _allowed_hosts(env: Mapping[str, str], host: str) -> tuple[str, ...]:
    raw = env.get("ALLOWED_HOSTS", "").strip()
    if raw:
        return tuple(h.strip().lower().strip("[]") for h in raw.split(",") if h.strip())
    extra = () if host in ("0.0.0.0", "::", "") else (host.lower().strip("[]"),)
    return tuple(dict.fromkeys(LOOPBACK_NAMES + extra))


def _float(env: Mapping[str, str], name: str, default: float, minimum: Optional[float] = None) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be {minimum:g} or more, got {value:g}")
    return value


NOTIFY_EVENTS = ("failure", "suggestions", "success")


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    raw = (env.get(name) or allowed[0]).strip().lower()
    if raw not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def _events(env: Mapping[str, str]) -> frozenset[str]:
    raw = env.get("NOTIFY_ON", "").strip()
    if not raw:
        return frozenset({"failure", "suggestions"})
    events = frozenset(e.strip().lower() for e in raw.split(",") if e.strip())
    unknown = sorted(events - set(NOTIFY_EVENTS))
    if unknown:
        raise ConfigError(f"NOTIFY_ON takes {', '.join(NOTIFY_EVENTS)}, got {', '.join(unknown)}")
    return events


def _word(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if raw and (len(raw.split()) != 1 or len(raw) > 64):
        raise ConfigError(f"{name} must be one word of at most 64 characters (such as #budget-assist), got {raw!r}")
    return raw


@dataclass(frozen=True)
class Config:
    """Everything the web and worker processes take from the environment.

    `BA_PLUGINS` names modules (comma-separated) whose `register(registry, runners)` adds job types
    (wiring/plugins.py; the benchmark's no-op job is one). `BA_FAULTS_DIR` is for tests only: a folder
    of per-budget fault files that make connectors fail or slow down (budget/faults.py).
    `LLM_BASE_URL` + `LLM_MODEL` (+ `LLM_API_KEY`) turn on the optional language model for cold starts
    (suggestions/llm.py), asked at most `LLM_MAX_CALLS_PER_JOB` times per job.
    """

    data_dir: Path
    database_url: str
    queue_url: str
    queue_name: str = "budget-assist"
    demo_budget: bool = True
    sync_interval_minutes: int = 60
    job_retention_days: int = 30
    reconcile_interval_seconds: int = 30
    heartbeat_interval_seconds: float = 2.0
    heartbeat_timeout_seconds: float = 30.0
    queued_grace_seconds: float = 60.0
    job_timeout_minutes: Mapping[str, float] = field(default_factory=dict)
    retry_base_seconds: Optional[float] = None
    worker_count: int = 2
    host_name: str = "localhost"
    actual_server_url: Optional[str] = None
    actual_password: Optional[str] = field(default=None, repr=False)
    actual_encryption_password: Optional[str] = field(default=None, repr=False)
    log_level: str = "INFO"
    plugins: tuple[str, ...] = ()
    faults_dir: Optional[Path] = None
    suggest_min_confidence: float = 0.0
    host: str = "127.0.0.1"
    auth_password: Optional[str] = field(default=None, repr=False)
    auth_disabled: bool = False
    allowed_hosts: tuple[str, ...] = LOOPBACK_NAMES
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    session_days: int = 30
    snapshot_keep: int = 10
    max_budgets: int = 50
    actual_list_seconds: float = 30.0  # each web process asks the Actual server for its files at most this often
    log_format: str = "text"  # text | json (one object per line)
    metrics_token: Optional[str] = field(default=None, repr=False)
    notify_urls: tuple[str, ...] = field(default=(), repr=False)  # Apprise URLs; they may hold credentials
    notify_on: frozenset[str] = frozenset({"failure", "suggestions"})
    public_url: str = "http://127.0.0.1:8000"
    apply_note_tag: str = ""  # APPLY_NOTE_TAG: appended to the notes of what an apply categorizes (off when empty)
    llm_base_url: Optional[str] = None  # OpenAI-compatible, e.g. http://127.0.0.1:11434/v1 (off when unset)
    llm_model: Optional[str] = None
    llm_api_key: Optional[str] = field(default=None, repr=False)
    llm_max_calls_per_job: int = 20
    llm_timeout_seconds: float = 20.0

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Config":
        """Build the configuration from `env` (default: os.environ)."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("DATA_DIR") or "./data").resolve()
        host = (env.get("HOST") or "127.0.0.1").strip()
        timeouts = {}
        for key, value in env.items():
            if key.startswith("JOB_TIMEOUT_MINUTES_"):
                timeouts[key[len("JOB_TIMEOUT_MINUTES_"):].lower()] = _float(env, key, 0.0)
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'app.db'}",
            queue_url=env.get("QUEUE_URL") or f"sqlite:///{data_dir / 'queue.db'}",
            queue_name=env.get("QUEUE_NAME") or "budget-assist",
            demo_budget=env.get("DEMO_BUDGET", "1").strip() not in ("0", "false", "no", "off"),
            sync_interval_minutes=_int(env, "SYNC_INTERVAL_MINUTES", 60),
            job_retention_days=_int(env, "JOB_RETENTION_DAYS", 30, minimum=1),
            reconcile_interval_seconds=_int(env, "RECONCILE_INTERVAL_SECONDS", 30, minimum=1),
            heartbeat_interval_seconds=_float(env, "HEARTBEAT_INTERVAL_SECONDS", 2.0),
            heartbeat_timeout_seconds=_float(env, "HEARTBEAT_TIMEOUT_SECONDS", 30.0),
            queued_grace_seconds=_float(env, "QUEUED_GRACE_SECONDS", 60.0),
            job_timeout_minutes=timeouts,
            retry_base_seconds=_float(env, "RETRY_BASE_SECONDS", 0.0) or None,
            worker_count=_int(env, "WORKERS", 2, minimum=1),
            host_name=env.get("HOST_NAME") or os.uname().nodename,
            actual_server_url=(env.get("ACTUAL_SERVER_URL") or "").rstrip("/") or None,
            actual_password=env.get("ACTUAL_PASSWORD") or None,
            actual_encryption_password=env.get("ACTUAL_ENCRYPTION_PASSWORD") or None,
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            plugins=tuple(name.strip() for name in env.get("BA_PLUGINS", "").split(",") if name.strip()),
            faults_dir=Path(env["BA_FAULTS_DIR"]).resolve() if env.get("BA_FAULTS_DIR", "").strip() else None,
            suggest_min_confidence=_float(env, "SUGGEST_MIN_CONFIDENCE", 0.0),
            host=host,
            auth_password=_password(env),
            auth_disabled=_flag(env, "AUTH_DISABLED"),
            allowed_hosts=_allowed_hosts(env, host),
            trusted_proxies=tuple(p.strip() for p in (env.get("TRUSTED_PROXIES") or "127.0.0.1,::1").split(",")
                                  if p.strip()),
            session_days=_int(env, "SESSION_DAYS", 30, minimum=1),
            snapshot_keep=_int(env, "SNAPSHOT_KEEP", 10, minimum=1),
            max_budgets=_int(env, "MAX_BUDGETS", 50, minimum=1),
            actual_list_seconds=_float(env, "ACTUAL_LIST_SECONDS", 30.0, minimum=0),
            log_format=_choice(env, "LOG_FORMAT", ("text", "json")),
            metrics_token=env.get("METRICS_TOKEN") or None,
            notify_urls=tuple(u for u in re.split(r"[\s,]+", env.get("NOTIFY_URLS", "")) if u),
            notify_on=_events(env),
            public_url=(env.get("PUBLIC_URL") or
                        f"http://{env.get('HOST') or '127.0.0.1'}:{env.get('PORT') or '8000'}").rstrip("/"),
            apply_note_tag=_word(env, "APPLY_NOTE_TAG"),
            llm_base_url=(env.get("LLM_BASE_URL") or "").strip().rstrip("/") or None,
            llm_model=(env.get("LLM_MODEL") or "").strip() or None,
            llm_api_key=env.get("LLM_API_KEY") or None,
            llm_max_calls_per_job=_int(env, "LLM_MAX_CALLS_PER_JOB", 20),
            llm_timeout_seconds=_float(env, "LLM_TIMEOUT_SECONDS", 20.0),
        )

    @property
    def llm_enabled(self) -> bool:
        """True when LLM_BASE_URL and LLM_MODEL are both set (the LLM is off by default)."""
        return bool(self.llm_base_url and self.llm_model)

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line, event or failure reason."""
        return [s for s in (self.actual_password, self.actual_encryption_password, self.auth_password,
                            self.metrics_token, *self.notify_urls, self.llm_api_key) if s]
