"""``python -m lasnn.assets fetch NAME [NAME...] | all`` and ``python -m lasnn.assets list``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from lasnn.assets._ui import console
from lasnn.assets.cache import AssetError, asset_dir, cache_dir, is_cached
from lasnn.assets.fetching import fetch
from lasnn.assets.registry import ASSETS, fetch_all_names


def main(argv: Sequence[str] | None = None) -> int:
    """Run the assets command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list()
    unknown = sorted(set(args.names) - set(ASSETS) - {"all"})
    if unknown:
        parser.error(f"unknown assets {', '.join(unknown)}; known: {', '.join(ASSETS)}, or all")
    return _fetch(fetch_all_names() if "all" in args.names else args.names)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lasnn.assets", description="Pinned lasnn models and datasets.")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_parser = commands.add_parser("fetch", help="download, verify and cache assets")
    fetch_parser.add_argument("names", nargs="+", metavar="NAME",
                              help=f"{', '.join(ASSETS)}, or all (= {', '.join(fetch_all_names())})")
    commands.add_parser("list", help="list the pinned assets and whether they are cached")
    return parser


def _fetch(names: Sequence[str]) -> int:
    """Fetch each asset in turn, printing where it lies and how long it took."""
    for name in dict.fromkeys(names):
        start = time.perf_counter()
        try:
            path = fetch(name)
        except AssetError as error:
            print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
            return 2
        console.print(f"{name}: {path} ({time.perf_counter() - start:.1f} s)", highlight=False)
    return 0


def _list() -> int:
    """Print the registry and the cache state of each asset."""
    print(f"cache: {cache_dir()}")
    for spec in ASSETS.values():
        state = asset_dir(spec) if is_cached(spec) else "not fetched"
        print(f"{spec.name:16} {spec.kind:8} {spec.requirement:28} {state}")
    return 0
