"""Broken on purpose: it needs a module that does not exist."""

import agentkit_no_such_dependency  # noqa: F401
