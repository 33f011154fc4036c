"""The ``around_*`` lifecycle hooks: generators that wrap a run, a model call or a tool call.

``before_*``/``after_*`` hooks are two calls; code that must hold something *for the length*
of the work (a tracing span made current, a semaphore, a timer) needs one frame that is there
before and after. An ``around_*`` implementation returns a generator (or an async generator)
that yields once, like a pluggy ``wrapper=True`` implementation, except that what it wraps is
the loop's async work rather than other hook implementations.

The loop steps the generators in the task that does the work, so context variables they set
before their ``yield`` are seen by everything the work runs (the provider's HTTP request, a
tool's code, tasks started meanwhile), and are reset in the same context after it. The first
generator pluggy's call returned is the outermost: entered first, left last.

- Before the ``yield``: an exception fails the work, like a ``before_*`` hook raising (the
  generators already entered see it at their ``yield``). A generator that returns without
  yielding is a :class:`~agentkit.errors.PluginError` naming it.
- The ``yield`` returns the work's result, or raises its error.
- After the ``yield``: nothing can change the outcome. An exception raised there (other than
  the work's own error, passed on) is logged; so is a second ``yield`` (the generator is closed).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Generator, Sequence
from types import AsyncGeneratorType, GeneratorType
from typing import Any

from .errors import PluginError

__all__ = ["Around"]

log = logging.getLogger("agentkit.lifecycle")


def _who(gen: Any) -> str:
    """``module.function`` of a generator, for messages."""
    name = getattr(gen, "__qualname__", None) or type(gen).__name__
    frame = getattr(gen, "gi_frame", None) or getattr(gen, "ag_frame", None)
    module = frame.f_globals.get("__name__") if frame is not None else None
    return f"{module}.{name}" if module else name


class Around:
    """The generators wrapping one piece of work, entered; :meth:`leave` or :meth:`fail` ends them."""

    __slots__ = ("_entered", "hook")

    def __init__(self, hook: str) -> None:
        self.hook = hook
        self._entered: list[Generator[Any, Any, Any] | AsyncGenerator[Any, Any]] = []

    @classmethod
    async def enter(cls, hook: str, made: Sequence[Any]) -> Around | None:
        """Step each generator in ``made`` (what the hook's implementations returned) to its
        ``yield``; ``None`` when none wraps the work."""
        if not made:
            return None
        around = cls(hook)
        for gen in made:
            if gen is None:
                continue
            try:
                if isinstance(gen, GeneratorType):
                    next(gen)
                elif isinstance(gen, AsyncGeneratorType):
                    await gen.__anext__()
                else:
                    raise PluginError(
                        f"{hook} hook returned {type(gen).__name__}; it must return a generator that "
                        "yields once (or None)"
                    )
            except (StopIteration, StopAsyncIteration):
                error = PluginError(f"{hook} hook {_who(gen)} returned without yielding; it must yield once")
                await around.fail(error)
                raise error from None
            except BaseException as error:
                await around.fail(error)
                raise
            around._entered.append(gen)
        return around if around._entered else None

    async def leave(self, value: Any) -> None:
        """The work gave ``value``: each generator's ``yield`` returns it, innermost first."""
        entered, self._entered = self._entered, []
        for gen in reversed(entered):
            try:
                if isinstance(gen, GeneratorType):
                    gen.send(value)
                else:
                    await gen.asend(value)  # type: ignore[union-attr]
            except (StopIteration, StopAsyncIteration):
                continue
            except Exception as exc:
                log.warning(
                    "%s hook %s failed after its yield: %s: %s", self.hook, _who(gen), type(exc).__name__, exc
                )
                continue
            await self._yielded_again(gen)

    async def fail(self, error: BaseException) -> None:
        """The work raised ``error``: each generator's ``yield`` raises it, innermost first."""
        entered, self._entered = self._entered, []
        own: BaseException | None = None  # a cancellation or an exit a generator raised itself
        for gen in reversed(entered):
            try:
                if isinstance(gen, GeneratorType):
                    gen.throw(error)
                else:
                    await gen.athrow(error)  # type: ignore[union-attr]
            except (StopIteration, StopAsyncIteration):
                continue
            except Exception as exc:
                if exc is not error:
                    log.warning(
                        "%s hook %s failed after its yield: %s: %s",
                        self.hook,
                        _who(gen),
                        type(exc).__name__,
                        exc,
                    )
                continue
            except BaseException as exc:
                if exc is not error and own is None:
                    own = exc
                continue
            await self._yielded_again(gen)
        if own is not None:
            raise own  # not ours to swallow; every generator was ended first

    async def _yielded_again(self, gen: Any) -> None:
        log.warning("%s hook %s yielded more than once; it was closed", self.hook, _who(gen))
        try:
            if isinstance(gen, GeneratorType):
                gen.close()
            else:
                await gen.aclose()
        except Exception as exc:
            log.warning(
                "%s hook %s failed when closed: %s: %s", self.hook, _who(gen), type(exc).__name__, exc
            )
