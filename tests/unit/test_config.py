"""Config.from_env: defaults under DATA_DIR, overrides, and errors naming the variable."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from core.config import Config, ConfigError


def test_defaults_put_everything_under_a_resolved_data_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({})
    data = (tmp_path / "data").resolve()
    assert config.data_dir == data and config.data_dir.is_absolute()
    assert config.database_url == f"sqlite:///{data / 'app.db'}"
    assert config.queue_url == f"sqlite:///{data / 'queue.db'}"
    assert config.demo_budget is True
    assert config.sync_interval_minutes == 60
    assert config.job_retention_days == 30
    assert config.heartbeat_interval_seconds == 2.0
    assert config.job_timeout_minutes == {}
    assert config.retry_base_seconds is None
    assert config.actual_server_url is None and config.secrets() == []
    assert config.log_level == "INFO"


def test_empty_values_count_as_unset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({"DATA_DIR": "", "DATABASE_URL": "", "SYNC_INTERVAL_MINUTES": " ", "LOG_LEVEL": ""})
    assert config.data_dir == (tmp_path / "data").resolve()
    assert config.sync_interval_minutes == 60 and config.log_level == "INFO"


def test_a_relative_data_dir_is_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({"DATA_DIR": "var/state"})
    assert config.data_dir == (tmp_path / "var" / "state").resolve()
    assert config.database_url.endswith(str(Path("var/state/app.db")))


def test_overrides(tmp_path):
    env = {
        "DATA_DIR": str(tmp_path / "d"),
        "DATABASE_URL": "postgresql://u@db/app",
        "QUEUE_URL": "sqlite:////tmp/q.db",
        "DEMO_BUDGET": "0",
        "SYNC_INTERVAL_MINUTES": "0",
        "JOB_RETENTION_DAYS": "7",
        "HEARTBEAT_INTERVAL_SECONDS": "0.5",
        "JOB_TIMEOUT_MINUTES_BUDGET_SYNC": "2.5",
        "RETRY_BASE_SECONDS": "0.01",
        "WORKERS": "4",
        "ACTUAL_SERVER_URL": "http://127.0.0.1:5006/",
        "ACTUAL_PASSWORD": "hunter2",
        "LOG_LEVEL": "debug",
    }
    config = Config.from_env(env)
    assert config.data_dir == (tmp_path / "d").resolve()
    assert (config.database_url, config.queue_url) == ("postgresql://u@db/app", "sqlite:////tmp/q.db")
    assert config.demo_budget is False and config.sync_interval_minutes == 0
    assert config.job_retention_days == 7 and config.heartbeat_interval_seconds == 0.5
    assert config.job_timeout_minutes == {"budget_sync": 2.5}
    assert config.retry_base_seconds == 0.01 and config.worker_count == 4
    assert config.actual_server_url == "http://127.0.0.1:5006"
    assert config.secrets() == ["hunter2"]
    assert "hunter2" not in repr(config)
    assert config.log_level == "DEBUG"


@pytest.mark.parametrize("value,expected", [("1", True), ("0", False), ("false", False), ("off", False),
                                            ("no", False), ("yes", True)])
def test_demo_budget_switch(tmp_path, value, expected):
    assert Config.from_env({"DATA_DIR": str(tmp_path), "DEMO_BUDGET": value}).demo_budget is expected


@pytest.mark.parametrize("name", ["SYNC_INTERVAL_MINUTES", "JOB_RETENTION_DAYS", "RECONCILE_INTERVAL_SECONDS",
                                  "WORKERS"])
@pytest.mark.parametrize("value", ["abc", "1.5", "ten"])
def test_a_bad_integer_names_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({"DATA_DIR": str(tmp_path), name: value})


@pytest.mark.parametrize("name,value", [("JOB_RETENTION_DAYS", "0"), ("WORKERS", "0"), ("SYNC_INTERVAL_MINUTES", "-5")])
def test_an_integer_below_its_minimum_names_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({"DATA_DIR": str(tmp_path), name: value})


@pytest.mark.parametrize("name", ["HEARTBEAT_INTERVAL_SECONDS", "HEARTBEAT_TIMEOUT_SECONDS", "QUEUED_GRACE_SECONDS",
                                  "JOB_TIMEOUT_MINUTES_BUDGET_SYNC", "RETRY_BASE_SECONDS"])
def test_a_bad_number_names_the_variable(tmp_path, name):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({"DATA_DIR": str(tmp_path), name: "soon"})


def test_the_actual_file_list_is_kept_30_s_unless_set_and_never_a_negative_time(tmp_path):
    assert Config.from_env({"DATA_DIR": str(tmp_path)}).actual_list_seconds == 30.0
    assert Config.from_env({"DATA_DIR": str(tmp_path), "ACTUAL_LIST_SECONDS": "0"}).actual_list_seconds == 0.0
    with pytest.raises(ConfigError, match="ACTUAL_LIST_SECONDS must be 0 or more"):
        Config.from_env({"DATA_DIR": str(tmp_path), "ACTUAL_LIST_SECONDS": "-1"})


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_config_is_frozen(tmp_path):
    config = Config.from_env({"DATA_DIR": str(tmp_path)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.data_dir = Path("/elsewhere")


def test_from_env_reads_os_environ_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "from-os"))
    monkeypatch.setenv("SYNC_INTERVAL_MINUTES", "15")
    config = Config.from_env()
    assert config.data_dir == (tmp_path / "from-os").resolve() and config.sync_interval_minutes == 15
    assert os.environ["DATA_DIR"] == str(tmp_path / "from-os")


def test_plugins_and_the_faults_folder_are_off_unless_set(tmp_path):
    config = Config.from_env({"DATA_DIR": str(tmp_path)})
    assert config.plugins == () and config.faults_dir is None


def test_plugins_are_a_comma_separated_list_and_faults_a_resolved_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config.from_env({"BA_PLUGINS": " bench.noop_tasks, my.plugin ,", "BA_FAULTS_DIR": "faults"})
    assert config.plugins == ("bench.noop_tasks", "my.plugin")
    assert config.faults_dir == (tmp_path / "faults").resolve()
