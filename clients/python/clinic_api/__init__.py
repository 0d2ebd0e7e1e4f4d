"""Helpers for the Clinic Content & Leads API beside its generated client (`clinic_api_client`):
page iteration, change-feed sync, draft previews, responsive images and webhook verification."""

from clinic_api.images import picture_sources, srcset
from clinic_api.pages import all_articles
from clinic_api.preview import create_preview, preview_url
from clinic_api.problems import ProblemError
from clinic_api.sync import Resync, SyncResult, changes_since
from clinic_api.webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "ProblemError",
    "Resync",
    "SyncResult",
    "WebhookVerificationError",
    "all_articles",
    "changes_since",
    "create_preview",
    "picture_sources",
    "preview_url",
    "srcset",
    "verify_webhook",
]
