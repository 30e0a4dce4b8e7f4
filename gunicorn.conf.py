"""gunicorn settings for the web process (`gunicorn -c gunicorn.conf.py 'api.app:get_app()'`, see Procfile).

Threaded workers: a client that is slow to send its request (or never sends its body) holds one thread of one
worker, never a whole worker, and the kernel gives up on it after REQUEST_READ_TIMEOUT_SECONDS (SO_RCVTIMEO,
inherited by every accepted connection). Measured before, with sync workers: two connections sending POST
headers with `Content-Length: 100` and no body made /api/health take 33.6 s and both workers were killed.
"""
import os
import socket
import struct
import sys

host = os.environ.get("HOST") or "127.0.0.1"
port = os.environ.get("PORT") or "8000"
bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
worker_class = "api.gunicorn_worker.JsonErrorThreadWorker"
threads = int(os.environ.get("WEB_THREADS") or 8)
timeout = 30
graceful_timeout = 20
keepalive = 5
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logger_class = "ops.gunicorn_logger.GunicornLogger"  # gunicorn's lines through our one renderer (format, redaction)
control_socket_disable = True  # gunicorn 27's ~/.gunicorn/gunicorn.ctl would be shared by every instance
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# X-Forwarded-Proto (the Secure cookie flag) is believed only from these addresses, as the app believes
# X-Forwarded-For (the login rate limit) only from them.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES") or "127.0.0.1,::1"

REQUEST_READ_TIMEOUT_SECONDS = float(os.environ.get("REQUEST_READ_TIMEOUT_SECONDS") or 10)
RESPONSE_WRITE_TIMEOUT_SECONDS = 30.0


def _timeval(seconds: float) -> bytes:
    return struct.pack("ll", int(seconds), int((seconds % 1) * 1_000_000))


def on_starting(server) -> None:  # noqa: ANN001
    """Refuse to start, in one line, when no password is set and HOST is not loopback."""
    from auth.policy import access_mode
    from core.config import Config, ConfigError

    try:
        access_mode(Config.from_env())
    except ConfigError as exc:
        print(f"budget-assist: refusing to start: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)


def when_ready(server) -> None:  # noqa: ANN001
    """Give every connection accepted from now on a kernel receive and send timeout; import actualpy and log in
    to the configured Actual server once, here in the master before it forks: every worker inherits both, so no
    request pays them (about a second per worker) and a wrong password is tried once for the whole web process."""
    from budget.actual.session import warm_up
    from core.config import Config

    config = Config.from_env()
    warm_up(config.actual_server_url, config.actual_password)  # never raises
    for listener in server.LISTENERS:
        listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(REQUEST_READ_TIMEOUT_SECONDS))
        listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(RESPONSE_WRITE_TIMEOUT_SECONDS))
