"""Built-in plugin: testing (placeholder until implemented)."""
