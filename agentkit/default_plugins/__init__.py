"""agentkit's built-in plugins. They use the same hooks as third-party plugins."""

__all__: list[str] = []
