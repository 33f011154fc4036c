"""One item's result: running an item on an agent, and the JSON line that records it.

Every executor runs items with :func:`arun_item` (the local one in this process, the Ray
workers in theirs), so a result means the same wherever it was produced. A failure is a
result too (``status: "error"`` with the error's type and message): one bad item never stops
the job. The line's keys are written in a fixed order, ``id`` first and ``status`` second, so
that resuming a job reads just those two from each line of a large results file.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ..errors import RateLimitError
from ..messages import Usage
from ._items import BatchItem

if TYPE_CHECKING:
    from ..agent import Agent

__all__ = ["ItemResult", "arun_item", "decode_line", "encode_line", "jsonable"]

#: Error messages are cut to this many characters in the results.
MESSAGE_LIMIT = 2000

_USAGE_KEYS = ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "requests")


@attrs.frozen
class ItemResult:
    """What running one item produced: written as one line of the results file.

    ``output`` is the structured output as JSON values (``None`` for an agent without an
    output type); ``cost`` is in dollars when the agent has ``prices``. ``rate_limited`` and
    ``retry_after`` tell the job that the provider refused for a while: it backs off and runs
    the item again instead of recording the failure.
    """

    id: str | int
    status: Literal["ok", "error"]
    text: str | None = None
    output: Any = None
    usage: Usage = attrs.field(factory=Usage)
    turns: int = 0
    duration: float = 0.0
    error_type: str | None = None
    error_message: str | None = None
    rate_limited: bool = False
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def cost(self) -> float | None:
        return self.usage.cost

    @classmethod
    def failure(cls, item_id: str | int, exc: BaseException, *, duration: float = 0.0) -> ItemResult:
        """The result of an item whose run raised ``exc`` (what it completed still counts)."""
        partial = getattr(exc, "partial", None)
        usage = getattr(partial, "usage", None)
        message = str(exc) or type(exc).__name__
        if len(message) > MESSAGE_LIMIT:
            message = message[: MESSAGE_LIMIT - 1] + "…"
        return cls(
            id=item_id,
            status="error",
            usage=usage if isinstance(usage, Usage) else Usage(),
            turns=int(getattr(partial, "turns", 0) or 0),
            duration=duration,
            error_type=type(exc).__name__,
            error_message=message,
            rate_limited=isinstance(exc, RateLimitError),
            retry_after=getattr(exc, "retry_after", None) if isinstance(exc, RateLimitError) else None,
        )


def jsonable(value: Any) -> Any:
    """A structured output as plain JSON values (attrs classes, dataclasses, pydantic models)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict | list | tuple):
        return json.loads(json.dumps(value, default=_default))
    return _default(value)


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic
    if callable(dump):
        return dump(mode="json")
    if attrs.has(type(value)):
        from ..serialization import to_dict

        return to_dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


async def arun_item(agent: Agent, item: BatchItem) -> ItemResult:
    """Run ``item`` on ``agent`` and return its result; a failure is returned, not raised.

    An item with a ``session`` runs in that stored session. Cancellation propagates.
    """
    start = time.perf_counter()
    try:
        if item.session is not None:
            session = agent.session(item.session, user_id=item.user_id)
            result = await session.arun(item.input, template_params=item.template_params)
        else:
            result = await agent.arun(item.input, template_params=item.template_params, user_id=item.user_id)
    except Exception as exc:
        return ItemResult.failure(item.id, exc, duration=time.perf_counter() - start)
    structured = agent.settings.output_type is not None
    return ItemResult(
        id=item.id,
        status="ok",
        text=result.text,
        output=jsonable(result.output) if structured else None,
        usage=result.usage,
        turns=result.turns,
        duration=time.perf_counter() - start,
    )


def encode_line(result: ItemResult) -> bytes:
    """The result as one JSON line (ending in a newline), ``id`` and ``status`` first."""
    usage = result.usage
    record = {
        "id": result.id,
        "status": result.status,
        "text": result.text,
        "output": result.output,
        "usage": {key: getattr(usage, key) for key in _USAGE_KEYS},
        "cost": usage.cost,
        "turns": result.turns,
        "duration": round(result.duration, 6),
        "error": None
        if result.status == "ok"
        else {"type": result.error_type, "message": result.error_message},
    }
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_default) + "\n").encode()


_PREFIX = '{"id":'
_decoder = json.JSONDecoder()


def decode_line(text: str) -> tuple[Any, str]:
    """``(id, status)`` of a results line; raises ValueError when it is not one.

    Lines this module wrote are read from their first bytes only; anything else (a file
    edited by hand) is parsed whole.
    """
    if text.startswith(_PREFIX) and text.endswith("}"):
        try:
            item_id, end = _decoder.raw_decode(text, len(_PREFIX))
        except ValueError:
            item_id, end = None, -1
        if end > 0 and text.startswith(',"status":"', end):
            status = text[end + 11 : end + 13]
            if status == "ok" and text.startswith('",', end + 13):
                return item_id, "ok"
            if text.startswith('error",', end + 11):
                return item_id, "error"
    record = json.loads(text)
    if not isinstance(record, dict) or "id" not in record or record.get("status") not in ("ok", "error"):
        raise ValueError('not a results line: expected an object with "id" and "status" ok or error')
    return record["id"], record["status"]
