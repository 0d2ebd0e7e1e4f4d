"""What every layer shares: settings, domain errors, logging, security helpers."""
