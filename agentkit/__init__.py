"""agentkit: LLM agents where every moving part is a plugin.

``import agentkit`` does no work: each public name is imported from its module on first
access (PEP 562), and the plugin manager is built on first use.
"""

from __future__ import annotations

from ._lazy import lazy_exports

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # agents
    "Agent": "agentkit.agent",
    # messages and values
    "AssistantMessage": "agentkit.messages",
    "ImagePart": "agentkit.messages",
    "Message": "agentkit.messages",
    "SystemMessage": "agentkit.messages",
    "TextPart": "agentkit.messages",
    "ToolCall": "agentkit.messages",
    "ToolMessage": "agentkit.messages",
    "Usage": "agentkit.messages",
    "UserMessage": "agentkit.messages",
    # events and results
    "ModelResponse": "agentkit.events",
    "ReasoningDelta": "agentkit.events",
    "RunCompleted": "agentkit.events",
    "RunResult": "agentkit.events",
    "StreamEvent": "agentkit.events",
    "TextDelta": "agentkit.events",
    "ToolCallDelta": "agentkit.events",
    "ToolCallResult": "agentkit.events",
    "ToolCallStarted": "agentkit.events",
    "ToolProgress": "agentkit.events",
    "TurnCompleted": "agentkit.events",
    # providers
    "Capabilities": "agentkit.providers",
    "ModelInfo": "agentkit.providers",
    "ModelRequest": "agentkit.providers",
    "OutputSchema": "agentkit.providers",
    "Provider": "agentkit.providers",
    "ToolSpec": "agentkit.providers",
    # plugins
    "PluginHost": "agentkit.plugins",
    "PluginInfo": "agentkit.plugins",
    "PluginWarning": "agentkit.registry",
    "hookimpl": "agentkit.hookspecs",
    "list_plugins": "agentkit.plugins",
    # tools
    "Tool": "agentkit.tools",
    "tool": "agentkit.tools",
    "Toolset": "agentkit.toolsets",
    # run context
    "RunContext": "agentkit.run_context",
    # guardrails
    "Guardrail": "agentkit.guardrails",
    "Verdict": "agentkit.guardrails",
    # sessions and stores
    "Session": "agentkit.sessions",
    "SessionInfo": "agentkit.stores",
    "Store": "agentkit.stores",
    # long-term memory
    "Memory": "agentkit.memory",
    "MemoryHit": "agentkit.memory",
    "MemoryRecord": "agentkit.memory",
    # response cache
    "ResponseCache": "agentkit.cache",
    # configuration
    "Config": "agentkit.config",
    "load_agent": "agentkit.config",
    "load_config": "agentkit.config",
    # batch runs
    "arun_batch": "agentkit.batch",
    "run_batch": "agentkit.batch",
    # serialization
    "from_dict": "agentkit.serialization",
    "to_dict": "agentkit.serialization",
    # errors
    "AgentkitError": "agentkit.errors",
    "AuthenticationError": "agentkit.errors",
    "BadRequestError": "agentkit.errors",
    "BatchError": "agentkit.errors",
    "ConfigError": "agentkit.errors",
    "ContextLengthError": "agentkit.errors",
    "CorruptSessionError": "agentkit.errors",
    "GuardrailError": "agentkit.errors",
    "GuardrailTripwireError": "agentkit.errors",
    "IncompleteStreamError": "agentkit.errors",
    "MaxTurnsError": "agentkit.errors",
    "MemoryStoreError": "agentkit.errors",
    "ModelNotFoundError": "agentkit.errors",
    "OutputValidationError": "agentkit.errors",
    "PluginError": "agentkit.errors",
    "ProviderConnectionError": "agentkit.errors",
    "ProviderError": "agentkit.errors",
    "ProviderTimeoutError": "agentkit.errors",
    "RateLimitError": "agentkit.errors",
    "RunAbortedError": "agentkit.errors",
    "SchemaVersionError": "agentkit.errors",
    "ServerError": "agentkit.errors",
    "SessionNotFoundError": "agentkit.errors",
    "StorageError": "agentkit.errors",
    "TemplateError": "agentkit.errors",
    "ToolArgumentsError": "agentkit.errors",
    "ToolDefinitionError": "agentkit.errors",
    "ToolError": "agentkit.errors",
    "ToolTimeoutError": "agentkit.errors",
    "UnknownToolError": "agentkit.errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .agent import Agent as Agent
    from .batch import arun_batch as arun_batch
    from .batch import run_batch as run_batch
    from .cache import ResponseCache as ResponseCache
    from .config import Config as Config
    from .config import load_agent as load_agent
    from .config import load_config as load_config
    from .errors import *  # noqa: F403
    from .events import *  # noqa: F403
    from .guardrails import Guardrail as Guardrail
    from .guardrails import Verdict as Verdict
    from .hookspecs import hookimpl as hookimpl
    from .memory import Memory as Memory
    from .memory import MemoryHit as MemoryHit
    from .memory import MemoryRecord as MemoryRecord
    from .messages import *  # noqa: F403
    from .plugins import PluginHost as PluginHost
    from .plugins import PluginInfo as PluginInfo
    from .plugins import list_plugins as list_plugins
    from .providers import *  # noqa: F403
    from .registry import PluginWarning as PluginWarning
    from .run_context import RunContext as RunContext
    from .serialization import from_dict as from_dict
    from .serialization import to_dict as to_dict
    from .sessions import Session as Session
    from .stores import SessionInfo as SessionInfo
    from .stores import Store as Store
    from .tools import Tool as Tool
    from .tools import tool as tool
