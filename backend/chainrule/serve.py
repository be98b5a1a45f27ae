"""The production server: `python -m chainrule.serve` (make serve-prod) and `chainrule serve`
(the wheel's command, which the Docker image runs).

uvicorn runs WORKERS processes and supervises them: a worker that dies or stops answering its
ping is replaced. The app keeps no state between requests, so more capacity is more replicas
of this command behind any load balancer.
"""

from __future__ import annotations

import uvicorn

from .settings import HOST, PORT, WORKERS


def serve(host: str = HOST, port: int = PORT, workers: int = WORKERS) -> None:
    """Serve the app (UI, API and /docs) on host:port with `workers` worker processes."""
    uvicorn.run("chainrule.app:create_app", factory=True, host=host, port=port,
                workers=workers, access_log=False, timeout_graceful_shutdown=10)


def main() -> None:
    """Serve the app on HOST:PORT with WORKERS worker processes (all from the environment)."""
    serve()


if __name__ == "__main__":
    main()
