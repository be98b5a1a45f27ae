"""`python -m chainrule.server`: the production server (make serve-prod, docker-compose)."""

from .main import main

main()
