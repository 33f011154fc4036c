"""A tiny agentkit plugin: a tool, a provider and a store (for agentkit's tests)."""
