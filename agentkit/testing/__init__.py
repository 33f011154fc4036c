"""Test helpers for agentkit and its plugin authors.

- :class:`ScriptedProvider`: a provider that answers from a script, for testing agents.
- :mod:`agentkit.testing.servers`: a real HTTP server on 127.0.0.1 with scripted faults.
- Conformance suites for stores and memory backends (``agentkit.testing.conformance``).
- A pytest plugin (entry point ``pytest11``) with fixtures: see ``agentkit.testing.pytest_plugin``.

Names are imported on first access, so importing this package costs nothing.
"""

from __future__ import annotations

from agentkit._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Cut": "agentkit.testing.servers",
    "FakeOpenAIServer": "agentkit.testing.fake_openai",
    "FakeReply": "agentkit.testing.fake_openai",
    "LoopbackServer": "agentkit.testing.servers",
    "Pause": "agentkit.testing.servers",
    "RecordedRequest": "agentkit.testing.servers",
    "Reply": "agentkit.testing.servers",
    "ScriptedProvider": "agentkit.testing.scripted",
    "json_reply": "agentkit.testing.servers",
    "tool_call": "agentkit.testing.scripted",
    "tool_calls": "agentkit.testing.scripted",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
