"""What the agent needs of a model API, and what can go wrong with one.

Each client (`anthropic_client.py`, `openai_client.py`) streams one answer and
turns the SDK's errors into a `ModelError` that says, in one line, what went
wrong and whether trying again can help. The SDKs' own retries are off
(`max_retries=0`): they retry silently, and the person watching the agent's
terminal should see a rate limit as it happens; `retry_delay` is the backoff.
"""

from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from missionctl.agents.sdk.conversation import Item, ToolCall
from missionctl.agents.sdk.tools import ToolSpec
from missionctl.ledger.spend import Tokens

# Connection and read timeouts of one request (a stream may pause while the model thinks).
CONNECT_TIMEOUT_S = 15.0
READ_TIMEOUT_S = 300.0
RETRY_BASE_S = 1.0
RETRY_CAP_S = 60.0
# HTTP statuses worth another try: timeout, conflict, rate limit, server errors.
_RETRY_STATUS = {408, 409, 429}
_RETRY_TYPES = {"overloaded_error", "rate_limit_error", "api_error", "server_error"}
_CONTEXT_WORDS = re.compile(
    r"context.{0,20}(length|window|limit)|prompt is too long|too many tokens"
    r"|maximum context|input.{0,20}too long|exceeds? the (model'?s? )?(max|context)",
    re.IGNORECASE,
)


@dataclass
class Answer:
    """One streamed answer of the model."""

    text: str
    calls: list[ToolCall] = field(default_factory=list)
    # The tokens the server reported; None when it reported none.
    tokens: Tokens | None = None
    model: str = ""
    # The prompt's size as the server counted it (its input, cached or not).
    prompt_tokens: int = 0
    truncated: bool = False  # it stopped at max_tokens


class ModelError(Exception):
    """A request failed; `message` is one line for the person."""

    def __init__(
        self,
        message: str,
        *,
        retry: bool = False,
        retry_after: float | None = None,
        context: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.retry_after = retry_after
        self.context = context  # the prompt is too long for the model
        self.status = status


@dataclass(frozen=True)
class SdkErrors:
    """The exception types of one SDK that `classify` tells apart."""

    base: type[Exception]
    status: type[Exception]
    connection: type[Exception]
    timeout: type[Exception]


class ModelClient(ABC):
    """Streams one answer for a conversation. What every API shares is here (the
    settings, the request's common keys, the SDK's errors as a ModelError); each
    client says how to build its SDK, its request and how to read its stream."""

    errors: ClassVar[SdkErrors]
    sdk: ClassVar[Callable[..., Any]]  # the SDK's client class
    sdk_timeout: ClassVar[Callable[..., Any]]  # and its Timeout

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None,
        key_env: str,
        max_tokens: int | None = None,
        temperature: float | None = None,
        timeout: float = READ_TIMEOUT_S,
    ) -> None:
        self.model = model
        self.key_env = key_env
        self.base_url = base_url
        self.max_tokens = max_tokens
        self.temperature = temperature
        # The SDK's own retries are off: retried by the agent, on screen (see above).
        self.client = self.sdk(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=self.sdk_timeout(timeout, connect=CONNECT_TIMEOUT_S),
        )

    def answer(
        self,
        system: str,
        items: Sequence[Item],
        tools: Sequence[ToolSpec],
        on_text: Callable[[str], None],
    ) -> Answer:
        """The model's answer; text pieces go to `on_text` as they come. Raises ModelError."""
        request = {"model": self.model, **self._request(system, items, tools)}
        if self.temperature is not None:
            request["temperature"] = self.temperature
        try:
            return self._stream(request, on_text)
        except self.errors.base as exc:
            raise classify(exc, self.errors, key_env=self.key_env, model=self.model) from None

    @abstractmethod
    def _request(
        self, system: str, items: Sequence[Item], tools: Sequence[ToolSpec]
    ) -> dict[str, Any]:
        """The request's keyword arguments (`answer` adds the model and temperature)."""

    @abstractmethod
    def _stream(self, request: dict[str, Any], on_text: Callable[[str], None]) -> Answer:
        """Send the request and read its stream into an Answer."""


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before attempt `attempt + 1`: the server's word if it gave
    one, else exponential backoff with jitter."""
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, RETRY_CAP_S * 2)
    base = min(RETRY_CAP_S, RETRY_BASE_S * 2.0 ** (attempt - 1))
    return base * (0.75 + random.random() / 2)  # jitter: agents do not retry in step


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / scale
        except ValueError:
            continue
    return None


def _server_message(exc: Any) -> tuple[str, str]:
    """(message, error type) from an SDK error's body, else its own message."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or exc), str(error.get("type") or error.get("code") or "")
    if isinstance(error, str):
        return error, ""
    return str(getattr(exc, "message", None) or exc), ""


def one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def classify(exc: Exception, errors: SdkErrors, *, key_env: str, model: str) -> ModelError:
    """An SDK's exception as a ModelError, with the fix for the ones a person must make."""
    if isinstance(exc, errors.timeout):
        return ModelError("the request timed out", retry=True)
    if isinstance(exc, errors.connection):
        return ModelError(f"cannot reach the API ({one_line(str(exc), 80)})", retry=True)
    if not isinstance(exc, errors.status):
        return ModelError(one_line(f"{type(exc).__name__}: {exc}"))
    status = int(getattr(exc, "status_code", 0) or 0)
    message, kind = _server_message(exc)
    said = one_line(message, 160)
    if status in _RETRY_STATUS or status >= 500 or kind in _RETRY_TYPES:
        what = "rate limited" if status == 429 or kind == "rate_limit_error" else "API error"
        return ModelError(f"{what} ({status}): {said}", retry=True,
                          retry_after=_retry_after(exc), status=status)  # fmt: skip
    if _CONTEXT_WORDS.search(message):
        return ModelError(f"the prompt is too long ({status}): {said}", context=True, status=status)
    if status == 401:
        fix = f"check the key in ${key_env}"
    elif status == 403:
        fix = f"the key in ${key_env} may not use model {model!r}"
    elif status == 404:
        fix = "check `model` (and `base_url`) under [providers.*] in org/org.toml"
    else:
        fix = "check the settings under [providers.*] in org/org.toml"
    return ModelError(f"{status} {said} — {fix}", status=status)
