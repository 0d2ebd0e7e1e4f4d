"""Markdown to sanitized HTML and plain text, with real libraries (markdown-it-py, nh3)."""

import html

import nh3
from markdown_it import MarkdownIt

# Raw HTML in Markdown is disabled at the parser and anything left is sanitized again.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")

ALLOWED_TAGS = {
    "p",
    "a",
    "em",
    "strong",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h3",
    "h4",
    "h5",
    "h6",
    "br",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "s",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


def render_markdown(markdown: str) -> tuple[str, str]:
    """Render Markdown to (sanitized HTML, plain text)."""
    raw = _MARKDOWN.render(markdown)
    safe = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    ).strip()
    text = html.unescape(nh3.clean(raw, tags=set()))
    return safe, " ".join(text.split())
