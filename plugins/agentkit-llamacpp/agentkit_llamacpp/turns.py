"""Prompts and answers of an in-process model: the chat template, the tools' instructions, and
reading a turn generated under :func:`~agentkit_llamacpp.grammar.turn_grammar`.

The prompt is the model's own chat template (from the GGUF metadata; ChatML when it has none),
so any instruction-tuned GGUF works, not only ChatML ones. With tools, the system message ends
with the tools (name, description, arguments schema) and the two ways to answer; earlier calls
are shown in the same format the model writes (``functions.<name>:`` and the arguments), and a
tool's result as a user turn naming the tool (small models' templates know no ``tool`` role).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from agentkit.messages import ToolCall

from .grammar import CALL_PREFIX, MESSAGE_PREFIX

__all__ = ["ChatPrompter", "parse_turn", "tools_instructions"]

#: For a model whose GGUF has no chat template.
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tools_instructions(tools: Sequence[Any], choice: str) -> str:
    """The part of the system message that lists ``tools`` (ToolSpecs) and how to answer."""
    lines = ["You can call these functions:"]
    for spec in tools:
        params = json.dumps(dict(spec.parameters), ensure_ascii=False, separators=(",", ":"))
        description = " ".join((spec.description or "").split())
        lines.append(f"- {CALL_PREFIX}{spec.name}: {description}\n  arguments (JSON Schema): {params}")
    lines.append("")
    call = f"{CALL_PREFIX}<name>:\n{{JSON arguments}}"
    if choice == "auto":
        lines.append(
            f"To call a function, answer with\n{call}\n"
            f"To answer the user, answer with\n{MESSAGE_PREFIX}\n<your answer>\n"
            "Call a function only when you need its result. When the results above answer the "
            f"question, answer the user with {MESSAGE_PREFIX}"
        )
    else:
        lines.append(f"Call a function now, answering with\n{call}")
    return "\n".join(lines)


class ChatPrompter:
    """Renders chat messages (role/content dicts) with a model's chat template."""

    def __init__(self, llama: Any) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        metadata = getattr(llama, "metadata", None) or {}
        template = metadata.get("tokenizer.chat_template") or CHATML
        self.eos = _token_text(llama, llama.token_eos())
        self._formatter = Jinja2ChatFormatter(
            template=template, eos_token=self.eos, bos_token=_token_text(llama, llama.token_bos())
        )

    def render(self, messages: Sequence[Mapping[str, Any]]) -> str:
        """The prompt text, ending where the assistant's answer begins."""
        wire: Any = list(messages)
        return str(self._formatter(messages=wire).prompt)


def _token_text(llama: Any, token: int) -> str:
    if token is None or token < 0:
        return ""
    return bytes(llama.detokenize([token], special=True)).decode("utf-8", errors="ignore")


_CALL = re.compile(re.escape(CALL_PREFIX) + r"(?P<name>[^:\n]+):\n(?P<arguments>[^\n]*)")


def parse_turn(text: str) -> tuple[str, tuple[ToolCall, ...]]:
    """The answer's text and calls from a turn written in the grammar's format.

    A turn cut short by the token limit may end inside a call's arguments: the call is kept as
    written (the loop tells the model it was cut off and not run).
    """
    stripped = text.lstrip()
    if stripped.startswith(MESSAGE_PREFIX):
        return stripped[len(MESSAGE_PREFIX) :].strip(), ()
    if not stripped.startswith(CALL_PREFIX):
        return text.strip(), ()
    calls = tuple(
        ToolCall(
            id=f"call_{uuid.uuid4().hex[:12]}",
            name=m["name"].strip(),
            arguments=m["arguments"].strip() or "{}",
        )
        for m in _CALL.finditer(stripped)
    )
    return "", calls
