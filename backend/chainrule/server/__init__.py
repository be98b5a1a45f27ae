"""The server: the app, its routes, its worker pool and what it serves."""
