"""gunicorn's logger class for the Procfile (`--logger-class ops.gunicorn_logger.GunicornLogger`).

gunicorn gives its `gunicorn.error` logger a handler of its own, which printed its lines in another format and
without masking secrets. This class keeps gunicorn's levels but sends its lines to the root logger's one
handler (core.logs), configured from LOG_LEVEL and LOG_FORMAT in the master before it forks the workers.
"""
from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from core.config import Config
from core.logs import adopt_third_party_loggers, configure_logging
from core.redact import register_secrets


class GunicornLogger(Logger):
    """gunicorn's Logger whose lines go through core.logs like every other line."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        config = Config.from_env()
        register_secrets(config.secrets())
        configure_logging(config.log_level, config.log_format)
        adopt_third_party_loggers()
        self.error_handlers, self.access_handlers = [], []
