"""Pydantic models that are the public contract: what clients send and receive."""
