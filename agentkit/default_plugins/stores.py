"""Built-in plugin: stores (placeholder until implemented)."""
