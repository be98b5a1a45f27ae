"""The production server: `python -m chainrule.serve` (make serve-prod, docker-compose.yml).

uvicorn runs WORKERS processes and supervises them: a worker that dies or stops answering its
ping is replaced. The app keeps no state between requests, so more capacity is more replicas
of this command behind any load balancer.
"""

from __future__ import annotations

import uvicorn

from .settings import HOST, PORT, WORKERS


def main() -> None:
    """Serve the app on HOST:PORT with WORKERS worker processes."""
    uvicorn.run("chainrule.app:create_app", factory=True, host=HOST, port=PORT,
                workers=WORKERS, access_log=False, timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
