"""Tools: Python functions a model can call.

``@agentkit.tool`` turns a function into a :class:`Tool`: its JSON Schema comes from the type
hints, its description and parameter descriptions from the docstring. The tool stays
directly callable. The loop validates the model's arguments with :meth:`Tool.validate` (the
model gets ``message @ $.path`` lines back when they are wrong) and runs the tool with
:meth:`Tool.invoke`, which turns JSON into the annotated types and injects the
:class:`~agentkit.RunContext`.

Agents name tools as objects, functions, registered names (from ``register_tools``
plugins), toolset names, or ``"package.module:function"`` paths; :func:`resolve_tools`
turns any mix of these into tools.

This module is the public home of everything about tools; the parts live beside it:
``_tool_args`` (checking arguments, errors for the model), ``_tool_resolve`` (names and
paths to tools) and ``_tool_results`` (return values as text).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, overload

import attrs

from ._docstrings import parse_docstring
from ._schema import UnsupportedType, is_optional, schema_for, structure, type_hints
from ._tool_args import json_kind, json_path, most_useful, quick_check, short, structure_errors
from ._tool_results import render_result, result_parts
from .errors import ToolArgumentsError, ToolDefinitionError, ToolTimeoutError
from .providers import ToolSpec
from .run_context import RunContext

if TYPE_CHECKING:  # lazily re-exported below (they build on Tool)
    from ._tool_resolve import ResolvedTools, as_tool, resolve_tool_items, resolve_tools

__all__ = [
    "ResolvedTools",
    "Tool",
    "as_tool",
    "render_result",
    "resolve_tool_items",
    "resolve_tools",
    "result_parts",
    "tool",
]

#: Names every provider accepts (OpenAI's rule is the strictest).
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: At most this many schema errors are sent back to the model.
_MAX_ERRORS = 10


@attrs.frozen(eq=False)
class Tool:
    """A function a model can call, with the JSON Schema of its arguments.

    ``context_param`` names the parameter that receives the run's
    :class:`~agentkit.RunContext` (hidden from the model); ``plugin`` is the plugin that
    registered the tool, if any; ``timeout`` (seconds) overrides the agent's tool timeout;
    ``repeatable`` lets the model repeat an identical call within a run (the loop guard answers
    a repeated call from the earlier result otherwise): for tools whose result changes (a clock,
    a job's status).
    """

    name: str
    description: str
    parameters: Mapping[str, Any] = attrs.field(repr=False)
    function: Callable[..., Any] = attrs.field(repr=False)
    is_async: bool = attrs.field(default=False, repr=False)
    context_param: str | None = attrs.field(default=None, repr=False)
    plugin: str | None = None
    timeout: float | None = None
    repeatable: bool = attrs.field(default=False, repr=False)
    # parameter name -> (annotation, positional-only?) for turning JSON into Python values
    _params: Mapping[str, tuple[Any, bool]] = attrs.field(factory=dict, repr=False, alias="_params")
    _validator: list[Any] = attrs.field(factory=list, repr=False, init=False)
    # [ToolSpec, quick check or None], built on first use (see ``spec`` and ``validate``)
    _cached: list[Any] = attrs.field(factory=list, repr=False, init=False)
    # True for a function defined in a class body: the tool binds like a method (self hidden)
    _method: bool = attrs.field(default=False, repr=False, alias="_method")
    # True for a tool made by ``from_schema``: the function takes (arguments dict, run context)
    _raw: bool = attrs.field(default=False, repr=False, alias="_raw")

    @classmethod
    def from_schema(
        cls,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        function: Callable[..., Any],
        *,
        plugin: str | None = None,
        timeout: float | None = None,
    ) -> Tool:
        """A tool whose JSON Schema is given rather than inferred (a tool from an MCP server).

        ``function(arguments, ctx)`` is an async function receiving the validated arguments
        as a dict and the run's :class:`~agentkit.RunContext` (``None`` outside a run).
        """
        _check_name(name, function)
        if not isinstance(parameters, Mapping):
            raise ToolDefinitionError(f"tool {name!r}: the schema must be a JSON object", tool=name)
        return cls(
            name=name,
            description=description,
            parameters=parameters,
            function=function,
            is_async=True,
            plugin=plugin,
            timeout=timeout,
            _raw=True,
        )

    def __get__(self, instance: Any, owner: type | None = None) -> Tool:
        """``@tool`` on a method: ``obj.method`` is a tool bound to ``obj``."""
        if instance is None or not self._method:
            return self
        bound = self.function.__get__(instance, owner)
        return attrs.evolve(self, function=bound, _method=False)

    # -- the model's view ---------------------------------------------------------------------

    @property
    def spec(self) -> ToolSpec:
        """The tool as the model sees it."""
        return self._caches()[0]  # type: ignore[no-any-return]

    def _caches(self) -> list[Any]:
        cached = self._cached
        if not cached:
            cached.extend(
                (
                    ToolSpec(name=self.name, description=self.description, parameters=self.parameters),
                    quick_check(self.parameters),
                )
            )
        return cached

    # -- calling ------------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly (a coroutine for async tools), as if undecorated."""
        return self.function(*args, **kwargs)

    def validate(self, arguments: str | Mapping[str, Any]) -> dict[str, Any]:
        """Check a model's arguments (JSON text or a mapping) against the schema.

        Empty text means no arguments. Raises :class:`~agentkit.errors.ToolArgumentsError`
        whose ``errors`` are short ``message @ $.path`` lines, fit to send back to the model.
        """
        if isinstance(arguments, str | bytes | bytearray):
            text = (
                arguments.decode("utf-8", "replace")
                if isinstance(arguments, bytes | bytearray)
                else arguments
            )
            if not text.strip():
                data: Any = {}
            else:
                try:
                    data = json.loads(text)
                except ValueError as exc:
                    raise self._arguments_error((f"arguments are not valid JSON ({exc}) @ $",)) from None
        else:
            data = arguments
        if not isinstance(data, Mapping):
            raise self._arguments_error((f"arguments must be a JSON object, got {json_kind(data)} @ $",))
        data = dict(data)
        quick = self._caches()[1]
        if quick is not None and quick(data):  # surely valid: jsonschema would find no error
            return data
        validator = self._get_validator()
        errors = [most_useful(e) for e in validator.iter_errors(data)]  # in the schema's order
        if errors:
            lines = [f"{short(e.message)} @ {json_path(e.absolute_path)}" for e in errors[:_MAX_ERRORS]]
            if len(errors) > _MAX_ERRORS:
                lines.append(f"... and {len(errors) - _MAX_ERRORS} more @ $")
            raise self._arguments_error(tuple(lines))
        return data

    async def invoke(self, kwargs: Mapping[str, Any], ctx: RunContext | None = None) -> Any:
        """Run the tool with validated arguments; returns what the function returned.

        JSON values become the annotated types (attrs classes, dataclasses, enums, ...), the
        run context is injected, and a synchronous function runs in a worker thread so it
        cannot block the event loop. With ``timeout`` set, a tool running longer raises
        :class:`~agentkit.errors.ToolTimeoutError` (a thread cannot be killed: a synchronous
        tool that hangs keeps its thread until it returns).
        """
        return await self._invoke(kwargs, ctx, self.timeout)

    async def _invoke(self, kwargs: Mapping[str, Any], ctx: RunContext | None, timeout: float | None) -> Any:
        """:meth:`invoke` with ``timeout`` in place of the tool's own (no copy of the tool per call)."""
        args, call_kwargs = self._bind(kwargs, ctx)
        if timeout is None:
            return await self._run(args, call_kwargs)
        if not self.is_async:
            # A thread runs the function: a timeout scope in this task cancels the wait for it
            # just as wait_for would, without a task of its own (one loop pass less). The thread
            # itself cannot be stopped: the function runs on to its end, and the error says so.
            try:
                async with asyncio.timeout(timeout):
                    return await self._run(args, call_kwargs)
            except TimeoutError:
                raise ToolTimeoutError(
                    f"tool {self.name!r} did not finish within {timeout:g} s; it is synchronous, so it could "
                    "not be stopped: it runs on in its thread to the end (side effects included) and its "
                    "result is discarded",
                    tool=self.name,
                    timeout=timeout,
                    still_running=True,
                ) from None
        try:
            return await asyncio.wait_for(self._run(args, call_kwargs), timeout)
        except TimeoutError:
            raise ToolTimeoutError(
                f"tool {self.name!r} did not finish within {timeout:g} s and was cancelled",
                tool=self.name,
                timeout=timeout,
            ) from None

    async def _run(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if self.is_async:
            return await self.function(*args, **kwargs)
        result = await asyncio.to_thread(self.function, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _bind(self, kwargs: Mapping[str, Any], ctx: RunContext | None) -> tuple[list[Any], dict[str, Any]]:
        if self._raw:
            return [dict(kwargs), ctx], {}
        args: list[Any] = []
        out: dict[str, Any] = {}
        errors: list[str] = []
        unknown = set(kwargs) - set(self._params)
        if self.context_param is not None:
            unknown.discard(self.context_param)
        if unknown:
            errors.extend(f"unexpected argument {name!r} @ $" for name in sorted(unknown))
        for name, (annotation, positional) in self._params.items():
            if name == self.context_param:
                value: Any = ctx
            elif name in kwargs:
                try:
                    value = structure(kwargs[name], annotation)
                except Exception as exc:
                    errors.extend(structure_errors(exc, f"$.{name}"))
                    continue
            else:
                if positional:
                    errors.append(f"missing argument {name!r} @ $")
                continue  # the function's own default applies; a missing required one fails below
            if positional:
                args.append(value)
            else:
                out[name] = value
        if errors:
            raise self._arguments_error(tuple(errors[:_MAX_ERRORS]))
        return args, out

    def _get_validator(self) -> Any:
        if not self._validator:
            from jsonschema import Draft202012Validator

            self._validator.append(Draft202012Validator(dict(self.parameters)))
        return self._validator[0]

    def _arguments_error(self, errors: tuple[str, ...]) -> ToolArgumentsError:
        return ToolArgumentsError(
            f"invalid arguments for tool {self.name!r}: " + "; ".join(errors), tool=self.name, errors=errors
        )

    # -- variants -----------------------------------------------------------------------------

    def renamed(self, name: str) -> Tool:
        """The same tool under another name."""
        _check_name(name, self.function)
        return attrs.evolve(self, name=name)

    def from_plugin(self, plugin: str | None) -> Tool:
        """The same tool, recorded as coming from ``plugin``."""
        return attrs.evolve(self, plugin=plugin)

    def with_timeout(self, timeout: float | None) -> Tool:
        """The same tool with another timeout (seconds; ``None``: the agent's)."""
        return attrs.evolve(self, timeout=timeout)


# -- defining tools -------------------------------------------------------------------------------


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    repeatable: bool | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


@overload
def tool(
    func: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    repeatable: bool | None = None,
) -> Tool: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    repeatable: bool | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function a tool: ``@tool``, or ``@tool(name=..., description=..., timeout=...,
    repeatable=...)``.

    The schema comes from the type hints (an annotation JSON Schema cannot express is a
    :class:`~agentkit.errors.ToolDefinitionError` here, at decoration time); the description
    from the docstring unless ``description`` is given; parameter descriptions from the
    docstring (Google, reST or NumPy style) or ``Annotated[T, "description"]``.
    """
    localns = _caller_locals()

    def decorate(f: Callable[..., Any]) -> Tool:
        made = _make_tool(f, name=name, description=description, timeout=timeout, localns=localns)
        return made if repeatable is None else attrs.evolve(made, repeatable=bool(repeatable))

    if func is None:
        return decorate
    return decorate(func)


def _caller_locals() -> dict[str, Any] | None:
    """The locals of the scope that applied ``@tool``: classes defined in a function body."""
    try:
        frame = sys._getframe(2)
    except ValueError:  # pragma: no cover
        return None
    return dict(frame.f_locals) if frame.f_code.co_name != "<module>" else None


def _make_tool(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    localns: dict[str, Any] | None = None,
) -> Tool:
    if isinstance(func, Tool):
        tool_ = func
        if name is not None:
            tool_ = tool_.renamed(name)
        if description is not None:
            tool_ = attrs.evolve(tool_, description=description)
        return tool_ if timeout is None else tool_.with_timeout(timeout)
    if not callable(func):
        raise ToolDefinitionError(f"cannot make a tool of {func!r}: it is not callable")
    if inspect.isclass(func):
        raise ToolDefinitionError(f"cannot make a tool of the class {func.__qualname__}; decorate a function")
    label = getattr(func, "__qualname__", None) or repr(func)
    tool_name = name if name is not None else getattr(func, "__name__", None)
    if tool_name is None or tool_name == "<lambda>":
        raise ToolDefinitionError(f"{label} has no usable name; pass tool(func, name='...')")
    _check_name(tool_name, func)
    if inspect.isasyncgenfunction(func) or inspect.isgeneratorfunction(func):
        raise ToolDefinitionError(
            f"tool {tool_name!r}: generator functions cannot be tools; return a value (a list, a string) instead",
            tool=tool_name,
        )
    is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(type(func).__call__)
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: cannot read the signature of {label} ({exc})"
        ) from None

    hint_target = func if inspect.isfunction(func) or inspect.ismethod(func) else type(func).__call__
    try:
        hints = type_hints(hint_target, localns)
    except Exception as exc:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: cannot resolve the annotations of {label} ({type(exc).__name__}: {exc}); "
            "define the types they name at module level",
            tool=tool_name,
        ) from None

    doc = parse_docstring(inspect.getdoc(func))
    properties: dict[str, Any] = {}
    required: list[str] = []
    params: dict[str, tuple[Any, bool]] = {}
    context_param: str | None = None
    qualname = getattr(func, "__qualname__", "")
    method = (
        inspect.isfunction(func)
        and "." in qualname
        and qualname.split(".")[-2] != "<locals>"
        and next(iter(signature.parameters), None) in ("self", "cls")
    )
    for index, (pname, param) in enumerate(signature.parameters.items()):
        if method and index == 0:
            continue  # bound when the tool is read from an instance
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            star = "*" if param.kind is inspect.Parameter.VAR_POSITIONAL else "**"
            raise ToolDefinitionError(
                f"tool {tool_name!r}: parameter {star}{pname} cannot be described to a model; "
                "use named parameters (a list or dict[str, ...] parameter for many values)",
                tool=tool_name,
            )
        annotation = hints.get(pname, inspect.Parameter.empty)
        positional = param.kind is inspect.Parameter.POSITIONAL_ONLY
        params[pname] = (annotation, positional)
        if _is_context(annotation):
            if context_param is not None:
                raise ToolDefinitionError(
                    f"tool {tool_name!r}: only one parameter may take the RunContext "
                    f"({context_param!r} and {pname!r} both do)",
                    tool=tool_name,
                )
            context_param = pname
            continue
        try:
            prop = schema_for(annotation, localns=localns)
        except UnsupportedType as exc:
            raise ToolDefinitionError(
                f"tool {tool_name!r}: parameter {pname!r} has an annotation JSON Schema cannot express: "
                f"{exc}",
                tool=tool_name,
            ) from None
        if pname in doc.params and "description" not in prop:
            prop = {**prop, "description": doc.params[pname]}
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        else:
            default = _plain_default(param.default)
            if default is not _NO_DEFAULT:
                prop = {**prop, "default": default}
        properties[pname] = prop

    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return Tool(
        name=tool_name,
        description=description
        if description is not None
        else (doc.description or tool_name.replace("_", " ")),
        parameters=schema,
        function=func,
        is_async=is_async,
        context_param=context_param,
        plugin=None,
        timeout=timeout,
        _params=params,
        _method=method,
    )


def _check_name(name: str, func: Any) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ToolDefinitionError(
            f"invalid tool name {name!r} for {getattr(func, '__qualname__', func)!r}: "
            "use 1-64 letters, digits, '_' or '-'",
            tool=name if isinstance(name, str) else None,
        )


def _is_context(annotation: Any) -> bool:
    from ._schema import _strip_annotated

    bare = _strip_annotated(annotation)[0]
    if isinstance(bare, type):
        return issubclass(bare, RunContext)
    if is_optional(bare) and bare is not Any:
        import typing

        members = [a for a in typing.get_args(bare) if a is not type(None)]
        return len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], RunContext)
    return False


_NO_DEFAULT = object()


def _plain_default(value: Any) -> Any:
    import enum

    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, tuple | list) and all(isinstance(v, str | bool | int | float) for v in value):
        return list(value)
    return _NO_DEFAULT


_RESOLVE = frozenset({"ResolvedTools", "as_tool", "resolve_tool_items", "resolve_tools"})


def __getattr__(name: str) -> Any:
    if name in _RESOLVE:  # imported on first use: _tool_resolve imports this module
        from . import _tool_resolve

        value = getattr(_tool_resolve, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
