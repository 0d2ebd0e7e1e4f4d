"""The domain: plain functions that routers, the CLI and tests call. No FastAPI here."""
