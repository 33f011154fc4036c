"""Built-in plugin: tokens (placeholder until implemented)."""
