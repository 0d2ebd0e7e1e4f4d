"""Staff and CRM endpoints; every one needs an API key with the right scope."""
