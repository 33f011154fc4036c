"""``agentkit ui``: serve the viewer of the configured session store and open it.

The store is chosen as ``agentkit sessions`` chooses it: ``--store``, else the storage of the
agent named by ``-a`` (or the config's default agent, from ``-c``/agentkit.toml), else the
default store (SQLite at ``$AGENTKIT_HOME/agentkit.db``).
"""

from __future__ import annotations

import argparse
import sys
import webbrowser

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="STORE",
        help="store to show: a name, name:path, such as jsonl:./sessions (default: the "
        "agent's storage, else sqlite)",
    )
    parser.add_argument("-a", "--agent", metavar="AGENT", help="show this configured agent's store")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="HOST",
        help="address to bind (default 127.0.0.1); any other than loopback requires the "
        "token printed at start-up",
    )
    parser.add_argument(
        "--port", type=_port, default=0, metavar="PORT", help="port to listen on (default: a free one)"
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    from agentkit.cli._common import say
    from agentkit.cli._exit import UsageFailure
    from agentkit.cli.sessions_cmd import store_spec

    from .server import UIServer

    server = UIServer(store_spec(args), host=args.host, port=args.port)
    try:
        server.start()
    except OSError as exc:
        raise UsageFailure(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            hint="pick another --port (0: any free one)",
        ) from None
    try:
        sys.stdout.write(f"agentkit ui: the {server.store_name} store at {server.url}\n")
        sys.stdout.flush()
        if not server.loopback:
            say(
                f"agentkit: note: serving on {args.host}, not only this machine: the token in the URL is required "
                "on every request (a new one each start)"
            )
        say("agentkit: press Ctrl-C to stop")
        if not args.no_browser:
            webbrowser.open(server.url)
        server.serve_forever()
    except KeyboardInterrupt:
        say("")
    finally:
        server.close()
    return 0
