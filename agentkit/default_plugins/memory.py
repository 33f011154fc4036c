"""Built-in plugin: memory (placeholder until implemented)."""
