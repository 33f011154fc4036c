"""The one error tree of agentkit.

Every error agentkit raises on purpose derives from :class:`AgentkitError`::

    AgentkitError
    ├── ConfigError                  file, key_path
    ├── TemplateError                placeholder
    ├── PluginError                  plugin
    ├── ProviderError                provider, model, status_code, body
    │   ├── AuthenticationError      env_var
    │   ├── RateLimitError           retry_after
    │   ├── ContextLengthError
    │   ├── BadRequestError
    │   │   └── ModelNotFoundError
    │   ├── ServerError
    │   ├── ProviderConnectionError
    │   ├── ProviderTimeoutError
    │   └── IncompleteStreamError
    ├── ToolError                    tool
    │   ├── ToolDefinitionError      (also a TypeError: raised at decoration time)
    │   ├── ToolArgumentsError       errors
    │   ├── UnknownToolError         available
    │   └── ToolTimeoutError         timeout, still_running
    ├── GuardrailError               guardrail
    │   └── GuardrailTripwireError   verdict
    ├── MaxTurnsError                max_turns, partial
    ├── OutputValidationError        raw_text, errors, partial
    ├── RunAbortedError              partial
    ├── StorageError                 store, session_id
    │   ├── SessionNotFoundError
    │   ├── CorruptSessionError      path, line
    │   └── SchemaVersionError       found, supported
    ├── MemoryStoreError             backend
    └── BatchError                   path, line

Context attributes are keyword-only and default to ``None`` so that an error can always
be built with a message alone. No error message ever contains an API key: providers pass
the *name* of the environment variable, never its value, and bodies are cut to a short
snippet by :func:`snippet`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AgentkitError",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "ConfigError",
    "ContextLengthError",
    "CorruptSessionError",
    "GuardrailError",
    "GuardrailTripwireError",
    "IncompleteStreamError",
    "MaxTurnsError",
    "MemoryStoreError",
    "ModelNotFoundError",
    "OutputValidationError",
    "PluginError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitError",
    "RunAbortedError",
    "SchemaVersionError",
    "ServerError",
    "SessionNotFoundError",
    "StorageError",
    "TemplateError",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolError",
    "ToolTimeoutError",
    "UnknownToolError",
    "snippet",
]

SNIPPET_LIMIT = 200


def snippet(body: str | bytes | None, limit: int = SNIPPET_LIMIT) -> str:
    """Return at most ``limit`` characters of a response body, on one line."""
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    body = " ".join(body.split())
    return body if len(body) <= limit else body[: limit - 1] + "…"


class AgentkitError(Exception):
    """Base class of every error agentkit raises on purpose."""

    hint: str | None = None

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.message


# -- configuration -------------------------------------------------------------------------


class ConfigError(AgentkitError):
    """A configuration file or value is wrong. Names the file and the key path."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key_path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.key_path = key_path
        where = ": ".join(p for p in (file, key_path) if p)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class TemplateError(AgentkitError):
    """A ``{{placeholder}}`` has no value."""

    def __init__(self, message: str, *, placeholder: str | None = None) -> None:
        super().__init__(message)
        self.placeholder = placeholder


# -- plugins -------------------------------------------------------------------------------


class PluginError(AgentkitError):
    """A plugin could not be loaded or registered something invalid."""

    def __init__(self, message: str, *, plugin: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.plugin = plugin


# -- providers -----------------------------------------------------------------------------


class ProviderError(AgentkitError):
    """A model provider failed. Carries the provider and model names and a body snippet."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        body: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.body = snippet(body) if body else None
        prefix = "/".join(p for p in (provider, model) if p)
        text = f"{prefix}: {message}" if prefix else message
        if status_code is not None:
            text += f" (HTTP {status_code})"
        if self.body:
            text += f": {self.body}"
        super().__init__(text, hint=hint)


class AuthenticationError(ProviderError):
    """The provider refused the credentials (401/403). Names the variable, never the key."""

    def __init__(self, message: str, *, env_var: str | None = None, **kwargs: Any) -> None:
        self.env_var = env_var
        if env_var and "hint" not in kwargs:
            kwargs["hint"] = f"check the API key in the environment variable {env_var}"
        super().__init__(message, **kwargs)


class RateLimitError(ProviderError):
    """Rate limited (429), retries exhausted or the requested wait exceeds the cap."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ContextLengthError(ProviderError):
    """The request does not fit the model's context window. Never retried."""


class BadRequestError(ProviderError):
    """The provider rejected the request (4xx other than auth, rate limit, context length)."""


class ModelNotFoundError(BadRequestError):
    """The provider does not know the model."""


class ServerError(ProviderError):
    """The provider failed (5xx), retries exhausted."""


class ProviderConnectionError(ProviderError):
    """The provider could not be reached."""


class ProviderTimeoutError(ProviderError):
    """A connect, read or total deadline passed."""


class IncompleteStreamError(ProviderError):
    """A stream ended without its end marker, or broke after output was delivered."""


# -- tools ---------------------------------------------------------------------------------


class ToolError(AgentkitError):
    """A tool failed, and the run's tool-error policy says to raise."""

    def __init__(self, message: str, *, tool: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.tool = tool


class ToolDefinitionError(ToolError, TypeError):
    """A function cannot become a tool (for example an annotation JSON Schema cannot express)."""


class ToolArgumentsError(ToolError):
    """Arguments from the model are not JSON, not an object, or fail the tool's schema."""

    def __init__(self, message: str, *, tool: str | None = None, errors: tuple[str, ...] = ()) -> None:
        super().__init__(message, tool=tool)
        self.errors = errors


class UnknownToolError(ToolError):
    """The model called a tool that does not exist."""

    def __init__(self, message: str, *, tool: str | None = None, available: tuple[str, ...] = ()) -> None:
        super().__init__(message, tool=tool)
        self.available = available


class ToolTimeoutError(ToolError):
    """A tool ran past its timeout. An async tool was cancelled; a synchronous one cannot be.

    ``still_running`` is true for a synchronous tool: Python cannot stop its worker thread, so
    the function carries on to its end, side effects included, and its result is discarded.
    """

    def __init__(
        self, message: str, *, tool: str | None = None, timeout: float | None = None, still_running: bool = False
    ) -> None:
        super().__init__(message, tool=tool)
        self.timeout = timeout
        self.still_running = still_running


# -- the run -------------------------------------------------------------------------------


class GuardrailError(AgentkitError):
    """A guardrail stopped the run. Raised as is when a check failed (it raised, or returned
    something that is not a verdict): the run fails closed rather than let unchecked text
    through. ``guardrail`` names it; the original exception is the ``__cause__``.
    """

    def __init__(self, message: str, *, guardrail: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.guardrail = guardrail


class GuardrailTripwireError(GuardrailError):
    """A guardrail tripped. ``verdict`` is the guardrail's :class:`~agentkit.Verdict`."""

    def __init__(self, message: str, *, guardrail: str | None = None, verdict: Any = None) -> None:
        super().__init__(message, guardrail=guardrail)
        self.verdict = verdict


class MaxTurnsError(AgentkitError):
    """The run reached ``max_turns``. ``partial`` is the :class:`~agentkit.RunResult` so far."""

    def __init__(self, message: str, *, max_turns: int | None = None, partial: Any = None) -> None:
        super().__init__(message, hint="raise max_turns, or check why the model keeps calling tools")
        self.max_turns = max_turns
        self.partial = partial


class OutputValidationError(AgentkitError):
    """Structured output still failed validation after every re-ask. ``partial`` is the
    :class:`~agentkit.RunResult` of the run that raised it: the usage, cost and turns the
    re-asks took (``None`` when raised outside a run, by an output spec on its own)."""

    def __init__(
        self,
        message: str,
        *,
        raw_text: str | None = None,
        errors: tuple[str, ...] = (),
        partial: Any = None,
    ) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.errors = errors
        self.partial = partial


class RunAbortedError(AgentkitError):
    """``agent.abort()`` cancelled the run. ``partial`` is the result so far."""

    def __init__(self, message: str = "run aborted", *, partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


# -- storage and memory --------------------------------------------------------------------


class StorageError(AgentkitError):
    """A session store failed."""

    def __init__(
        self,
        message: str,
        *,
        store: str | None = None,
        session_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.store = store
        self.session_id = session_id


class SessionNotFoundError(StorageError):
    """No session with that id."""


class CorruptSessionError(StorageError):
    """Stored data cannot be read. Names the file and line where there is one."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.path = path
        self.line = line


class SchemaVersionError(StorageError):
    """A database was written by a newer agentkit than this one."""

    def __init__(self, message: str, *, found: int | None = None, supported: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.found = found
        self.supported = supported


class MemoryStoreError(AgentkitError):
    """A long-term memory backend failed or was given bad input."""

    def __init__(self, message: str, *, backend: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.backend = backend


# -- batch jobs ----------------------------------------------------------------------------


class BatchError(AgentkitError):
    """A batch job cannot go on: a bad input line, a results file in use or corrupt, a broken
    executor. Names the file and line where there is one. (A failing *item* is not an error
    of the job: it is recorded in the results and the job goes on.)"""

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, hint: str | None = None
    ) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if path and line else path or ""
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
