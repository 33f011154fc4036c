"""Built-in plugin: guardrails (placeholder until implemented)."""
