"""An MCP server written with the official SDK (``mcp.server.mcpserver.MCPServer``, FastMCP's
successor) for the tests: ``python demo.py`` speaks stdio, ``python demo.py --http PORT``
serves Streamable HTTP on 127.0.0.1:PORT/mcp.

Tools cover what the client must handle: text, images, structured content, isError, progress,
list_changed, sampling, elicitation, roots, a huge result, a slow call (cancellation), a
crash and a hung server. ``--garbage`` writes a non-JSON line to stdout before serving.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time

import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.utilities.types import Image
from pydantic import BaseModel

# a 1x1 red PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
CANCELLED_FILE = os.environ.get("DEMO_CANCELLED_FILE")

server = MCPServer("demo")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Say it back."""
    return text


@server.tool(name="dotted.name")
def dotted() -> str:
    """A tool whose name has a dot."""
    return "dotted"


@server.tool()
def picture() -> list:
    """A caption and a tiny image."""
    return ["a red pixel", Image(data=PNG, format="png")]


class Weather(BaseModel):
    city: str
    celsius: float


@server.tool()
def weather(city: str) -> Weather:
    """Structured weather."""
    return Weather(city=city, celsius=21.5)


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"cannot do it: {reason}")


@server.tool()
async def slow(seconds: float, ctx: Context) -> str:
    """Sleep, reporting progress each tenth of the time."""
    try:
        for i in range(1, 11):
            await asyncio.sleep(seconds / 10)
            await ctx.report_progress(i, 10, f"tick {i}")
    except BaseException:
        if CANCELLED_FILE:
            with open(CANCELLED_FILE, "a") as f:
                f.write("cancelled\n")
        raise
    return "slept"


@server.tool()
async def grow(ctx: Context) -> str:
    """Add a tool named 'extra' and tell the client."""

    @server.tool()
    def extra() -> str:
        """A tool added later."""
        return "extra!"

    await ctx.session.send_tool_list_changed()
    return "grown"


@server.tool()
async def ask_model(question: str, ctx: Context) -> str:
    """Ask the client's model (sampling)."""
    result = await ctx.session.create_message(
        [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=question))],
        max_tokens=50,
        system_prompt="Be brief.",
    )
    return f"{result.model} said: {result.content.text}"


class Name(BaseModel):
    name: str
    age: int


@server.tool()
async def ask_user(ctx: Context) -> str:
    """Ask the user their name (elicitation)."""
    answer = await ctx.elicit("What is your name?", Name)
    if answer.action == "accept":
        return f"hello {answer.data.name} ({answer.data.age})"
    return f"user chose {answer.action}"


@server.tool()
async def roots(ctx: Context) -> str:
    """The client's roots."""
    result = await ctx.session.list_roots()
    return ",".join(str(r.uri) for r in result.roots)


@server.tool()
def huge(n: int) -> str:
    """n characters."""
    return "x" * n


@server.tool()
def crash() -> str:
    """Exit at once, saying why on stderr."""
    sys.stderr.write("demo: fatal: the disk is on fire\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
async def freeze() -> str:
    """Start a helper process (in this server's process group), answer with both process ids,
    then hang: SIGTERM ignored, the event loop blocked (so a closed stdin goes unread), as a
    wedged server would."""
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    asyncio.get_running_loop().call_later(0.2, time.sleep, 3600)
    return f"{os.getpid()} {helper.pid}"


@server.tool()
def getenv(name: str) -> str:
    """An environment variable of the server process ('' when unset)."""
    return os.environ.get(name, "")


@server.tool()
def header(name: str, ctx: Context) -> str:
    """A header of the HTTP request that carried this call ('' over stdio)."""
    return (ctx.headers or {}).get(name.lower(), "")


@server.tool()
def cwd() -> str:
    """The server's working directory."""
    return os.getcwd()


@server.tool()
def document() -> list:
    """An embedded text resource, an embedded binary one and a resource link."""
    return [
        types.EmbeddedResource(
            type="resource",
            resource=types.TextResourceContents(uri="demo://notes.txt", mime_type="text/plain", text="the notes' text"),
        ),
        types.EmbeddedResource(
            type="resource",
            resource=types.BlobResourceContents(
                uri="demo://logo.png", mime_type="image/png", blob=base64.b64encode(PNG).decode("ascii")
            ),
        ),
        types.ResourceLink(type="resource_link", uri="demo://more", name="more"),
    ]


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.resource("demo://greeting", mime_type="text/plain")
def greeting() -> str:
    """A greeting."""
    return "hello from a resource"


@server.prompt()
def review(code: str) -> str:
    """Review code."""
    return f"Please review:\n{code}"


if __name__ == "__main__":
    if "--garbage" in sys.argv:
        sys.stdout.write("this is not JSON-RPC\n")
        sys.stdout.flush()
    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        asyncio.run(server.run_streamable_http_async(host="127.0.0.1", port=port))
    else:
        server.run()
