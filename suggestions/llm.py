"""Optional cold-start help from a language model behind an OpenAI-compatible chat-completions endpoint.

Off unless LLM_BASE_URL and LLM_MODEL are set (a local Ollama or llama.cpp server, or a hosted API).
`LlmAdvisor.advise` looks at the engine's predictions for one job and asks the model once per payee
group (never per transaction) when the budget has little history or the local model is unsure, at
most `max_calls` times per job (groups with the most transactions first). The request constrains the
answer to the budget's category names (response_format: a JSON schema whose `category` is an enum of
them); an answer naming anything else is rejected and the local prediction stays. An endpoint that
cannot be reached ends the asking for this job and leaves one note saying so; the API key goes only
into the Authorization header (Config.secrets() registers it for redaction).
"""
from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from budget.connector import Category, Transaction
from suggestions.features import Row, payee_key

log = logging.getLogger(__name__)

LLM_CONFIDENCE = 0.5
"""Shown for an answer of the model: uncalibrated (no held-out data measures it), so never above a coin toss."""
UNSURE_BELOW = 0.5
"""A payee whose local prediction is below this confidence (or missing) counts as one the model is unsure about."""
LITTLE_HISTORY = 50
"""A budget with fewer categorized transactions than this has little history: every group without a vote is asked."""


class LlmUnavailable(Exception):
    """The endpoint could not be reached or did not answer usably (network, HTTP status, timeout)."""


class LlmRejected(Exception):
    """The endpoint answered, but not with one of the budget's category names."""


@dataclass(frozen=True)
class LlmClient:
    """One chat-completions endpoint: `choose` returns one of `names` for a payee group, or raises."""

    base_url: str
    model: str
    api_key: Optional[str] = field(default=None, repr=False)
    timeout: float = 20.0

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def request_body(self, group: str, examples: Sequence[Transaction], names: Sequence[str]) -> dict:
        """The chat-completions request for one payee group (temperature 0, answer constrained to `names`)."""
        lines = [f"- {t.date.isoformat()} {t.amount / 100:+.2f} on {t.account_name or t.account_id}: "
                 f"{t.payee_name or t.imported_payee}" + (f" ({t.notes})" if t.notes else "") for t in examples[:5]]
        prompt = (f"Which budget category fits these bank transactions of the payee group '{group}'?\n"
                  + "\n".join(lines) + "\nAnswer with exactly one of these categories: " + "; ".join(names))
        schema = {"type": "object", "additionalProperties": False, "required": ["category"],
                  "properties": {"category": {"type": "string", "enum": list(names)}}}
        return {
            "model": self.model, "temperature": 0,
            "messages": [{"role": "system", "content": "You file personal bank transactions into the user's own "
                                                      "budget categories. Reply with JSON only."},
                         {"role": "user", "content": prompt}],
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "category_choice", "strict": True, "schema": schema}},
        }

    def choose(self, group: str, examples: Sequence[Transaction], names: Sequence[str]) -> str:
        """The category name the model picks for the group; LlmUnavailable or LlmRejected otherwise."""
        body = json.dumps(self.request_body(group, examples, names)).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise LlmUnavailable(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LlmUnavailable(type(reason).__name__ if not isinstance(reason, str) else reason) from None
        except (ValueError, UnicodeDecodeError):
            raise LlmUnavailable("not a JSON answer") from None
        try:
            content = payload["choices"][0]["message"]["content"]
            answer = json.loads(content)["category"] if isinstance(content, str) else None
        except (KeyError, IndexError, TypeError, ValueError):
            raise LlmRejected("no category in the answer") from None
        if not isinstance(answer, str) or answer not in names:
            raise LlmRejected(f"named {str(answer)[:60]!r}, which is not a category of this budget")
        return answer


@dataclass(frozen=True)
class LlmPick:
    """The model's answer for one target: what predict() needs to show it."""

    category_id: str
    confidence: float
    row: Row
    model: str
    source: str = "llm"
    vote: None = None


@dataclass
class LlmReport:
    """What one job's asking did (the step result's `llm`)."""

    asked: int = 0
    answered: int = 0
    rejected: int = 0
    not_asked: int = 0  # groups over LLM_MAX_CALLS_PER_JOB
    note: Optional[str] = None

    def as_dict(self) -> dict:
        return {"asked": self.asked, "answered": self.answered, "rejected": self.rejected,
                "notAsked": self.not_asked, "note": self.note}


class LlmAdvisor:
    """Asks the client about the payee groups the local model cannot place well, within a per-job cap."""

    def __init__(self, client: LlmClient, max_calls: int = 20) -> None:
        self.client = client
        self.max_calls = max_calls

    def advise(self, targets: Sequence[Transaction], predictions: list, categories: Sequence[Category],
               history_size: int, checkpoint: Callable[[], None] = lambda: None) -> tuple[list, LlmReport]:
        """`predictions` with the model's answers in place of missing or unsure ones, and the report.

        `checkpoint` is called before each request and may raise to stop (cancel, timeout)."""
        names = list(dict.fromkeys(c.name for c in categories))
        id_of: dict[str, str] = {}
        for c in categories:
            id_of.setdefault(c.name, c.id)
        little = history_size < LITTLE_HISTORY
        groups: dict[str, list[int]] = {}
        for i, (t, p) in enumerate(zip(targets, predictions)):
            unsure = p is None or p.confidence < UNSURE_BELOW or (little and p.source != "vote")
            if unsure:
                groups.setdefault(payee_key(t) or (t.payee_name or t.imported_payee).lower(), []).append(i)
        report = LlmReport()
        if not groups or not names:
            return predictions, report
        out = list(predictions)
        ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        for n, (group, indices) in enumerate(ordered):
            if n >= self.max_calls:
                report.not_asked = len(ordered) - n
                break
            checkpoint()
            report.asked += 1
            try:
                name = self.client.choose(group, [targets[i] for i in indices], names)
            except LlmUnavailable as exc:
                report.note = (f"The language model at {self.client.base_url} could not be reached ({exc}); "
                               f"local suggestions only")
                log.warning("LLM endpoint unavailable (%s): local suggestions only", exc)
                report.not_asked = len(ordered) - n - 1
                break
            except LlmRejected as exc:
                report.rejected += 1
                log.info("LLM answer for payee group %r rejected: %s", group, exc)
                continue
            report.answered += 1
            for i in indices:
                row = predictions[i].row if predictions[i] is not None else None
                out[i] = LlmPick(id_of[name], LLM_CONFIDENCE, row, self.client.model)
        return out, report
