"""Serve ``bot.api.create_app(service, settings)`` with uvicorn on loopback, for the HTTP latency run.

    python benchmarks/serve.py --data-dir DIR --port 8765

Started and stopped by ``latency.py --mode http``; access logging is off so that
it does not weigh on the figures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import common  # noqa: F401  (sets the offline environment and the import path)
import uvicorn

from bot.api import create_app
from bot.settings import Settings
from bot.wiring import build_service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    app = create_app(build_service(settings), settings)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
