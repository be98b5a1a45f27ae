"""The production server: `python -m chainrule.server` (make serve-prod) and `chainrule serve`
(the wheel's command, which the Docker image runs).

One uvicorn process reads requests and answers them; the computations run in its pool of
`workers` worker processes (api/pool.py), each killed and replaced if it passes the deadline or
dies. SIGTERM or SIGINT stops the server within seconds, whatever is computing: the open
requests get SHUTDOWN_SECONDS to finish, then their workers are killed. The app keeps no state
between requests, so more capacity is more workers (one per core) or more replicas of this
command behind any load balancer.
"""

from __future__ import annotations

import uvicorn

from ..settings import HOST, PORT, WORKERS

SHUTDOWN_SECONDS = 3  # what a computation still running at SIGTERM is given before its kill


def serve(host: str = HOST, port: int = PORT, workers: int = WORKERS) -> None:
    """Serve the app (UI, API and /docs) on host:port, computing in `workers` processes."""
    from .app import create_app

    uvicorn.run(create_app(workers=workers), host=host, port=port, access_log=False,
                timeout_graceful_shutdown=SHUTDOWN_SECONDS)


def main() -> None:
    """Serve the app on HOST:PORT with WORKERS worker processes (all from the environment)."""
    serve()

