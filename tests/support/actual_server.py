"""The real Actual sync server for tests: it lives in testkit/actual_server.py, shared with the benchmark."""
from testkit.actual_server import (  # noqa: F401
    DEFAULT_CACHE_DIR,
    INSTALL_SCRIPT,
    OLDEST_SERVER_VERSION,
    SERVER_ENTRY,
    ActualServer,
    default_cache_dir,
    free_port,
    install_actual_server,
    server_entry,
    start_actual_server,
)
