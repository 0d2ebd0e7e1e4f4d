"""HTTP only: routers, dependencies, error handlers and middleware."""
