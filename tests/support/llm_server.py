"""A small chat-completions server on 127.0.0.1 for tests of the optional LLM (the one paid API we stand in for).

It speaks the OpenAI wire format: POST <base>/chat/completions with {"model", "messages",
"response_format"}; it answers {"choices": [{"message": {"role": "assistant", "content": "{\\"category\\": ...}"}}]}.
`answer(request_body) -> category name` decides the reply (by default the first enum value whose
words appear in the prompt, else the first one); every request is recorded with its headers.
"""
from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional


def enum_of(body: dict) -> list[str]:
    """The category names the request allows (response_format's JSON schema enum)."""
    return body["response_format"]["json_schema"]["schema"]["properties"]["category"]["enum"]


def prompt_of(body: dict) -> str:
    """The user message of the request."""
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def by_keywords(keywords: dict[str, str]) -> Callable[[dict], str]:
    """Answer the category mapped to the first keyword found in the prompt, else the first allowed name."""
    def answer(body: dict) -> str:
        text = prompt_of(body).upper()
        for word, category in keywords.items():
            if word.upper() in text:
                return category
        return enum_of(body)[0]
    return answer


@dataclass
class Recorded:
    path: str
    headers: dict
    body: dict


@dataclass
class LlmServer:
    """A running loopback server; `base_url` is what LLM_BASE_URL takes."""

    answer: Callable[[dict], str] = field(default=lambda body: enum_of(body)[0])
    status: int = 200
    requests: list[Recorded] = field(default_factory=list)
    _httpd: Optional[http.server.ThreadingHTTPServer] = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> "LlmServer":
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(Recorded(self.path, dict(self.headers), body))
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                if server.status != 200:
                    return self._send(server.status, {"error": {"message": "unavailable"}})
                content = json.dumps({"category": server.answer(body)})
                self._send(200, {"id": "chatcmpl-test", "object": "chat.completion", "model": body.get("model"),
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": content}}]})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


def closed_port_url() -> str:
    """A loopback base URL where nothing listens (the port was bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
