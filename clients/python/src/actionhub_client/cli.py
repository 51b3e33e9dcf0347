"""`actionhub`: the command agents and their configuration files call.

Each subcommand lives in its own module with `HELP`, `add_arguments(parser)` and `run(args) -> int`;
a module imports its optional dependencies (mcp…) only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "hook": "actionhub_client.hook",
    "mcp-proxy": "actionhub_client.mcp_proxy",
}


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="ActionHub's address (default: $ACTIONHUB_URL)")
    common.add_argument("--token", help="API token (default: $ACTIONHUB_TOKEN or the file $ACTIONHUB_TOKEN_FILE)")
    root = argparse.ArgumentParser(prog="actionhub", description="Ask ActionHub before an agent acts.")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, path in COMMANDS.items():
        module = importlib.import_module(path)
        sub = commands.add_parser(name, parents=[common], help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
