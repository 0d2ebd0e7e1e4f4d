"""Leads: the intake pipeline (admission, checks, sealing, writing), idempotency, the vault that
seals personal data under each lead's own key, the consent wording, the rate limit, and what
staff do with leads (list, read, update, export, erase)."""
