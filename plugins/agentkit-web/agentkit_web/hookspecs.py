"""agentkit-web's own hook: plugins add search backends for web_search.

Added to the plugin manager by agentkit-web's ``add_hookspecs`` implementation (and, should
the host not replay that hook, when the backends are first needed). Implement it with
``optionalhook=True`` so that your plugin also loads where agentkit-web is not installed::

    @agentkit.hookimpl(optionalhook=True)
    def register_search_backends(registry):
        registry.add("brave", BraveBackend, description="Brave Search API")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentkit.hookspecs import hookspec

if TYPE_CHECKING:
    from .search import SearchBackendRegistrar

__all__ = ["register_search_backends"]


@hookspec
def register_search_backends(registry: SearchBackendRegistrar) -> None:
    """Register search backends for the web_search tool.

    :param registry: Call ``registry.add(name, factory, description=...)``;
        ``factory(**search_settings)`` returns a :class:`agentkit_web.SearchBackend`, where
        ``search_settings`` is the web tools' ``search_settings`` table.

    The return value is ignored.
    """
