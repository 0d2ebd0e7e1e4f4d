"""The `data` one endpoint receives of a stored event: thin or full, with or without a lead's
health fields, with absolute links. (What is stored is each domain's: `services.leads.events`,
`services.content.events`.)"""

from collections.abc import Callable, Mapping
from typing import Any

from schemas.vocabulary import PayloadMode
from services.leads.events import HEALTH_FIELDS, LEAD_EVENT_PREFIX

# Links are HTTP: the API builds them (api/links.py) and the dispatcher is handed the builder.
LinkBuilder = Callable[[str, Mapping[str, Any]], dict[str, str]]


def render(
    event_type: str,
    data: Mapping[str, Any],
    *,
    mode: PayloadMode,
    health: bool,
    links: LinkBuilder,
) -> dict[str, Any]:
    """The `data` one endpoint receives: thin or full, with or without health fields."""
    stored = {k: v for k, v in data.items() if k != "links"}  # events stored before links moved
    out_links = links(event_type, stored)
    if mode == PayloadMode.THIN:
        thin: dict[str, Any] = {
            k: stored[k] for k in ("id", "slug", "locale", "revision") if k in stored
        }
        return {**thin, "links": out_links}
    out = {**stored, "links": out_links}
    if event_type.startswith(LEAD_EVENT_PREFIX) and not health:
        for field in HEALTH_FIELDS:
            out.pop(field, None)
    return out
