"""Access: API keys and their scopes, and the audit log of who read or changed what."""
