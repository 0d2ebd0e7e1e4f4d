"""Markdown to sanitized HTML and plain text, with real libraries (markdown-it-py, nh3)."""

import html
import re
from collections.abc import Mapping

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


# Pandoc-style citations: [@feder2014] or [@feder2014; @feder2021]
_CITATION = re.compile(r"\[(@[a-z0-9-]+(?:\s*;\s*@[a-z0-9-]+)*)\]")


def cited_ids(markdown: str) -> list[str]:
    """The reference ids a Markdown body cites, in order of first citation."""
    ids = (
        i.strip().removeprefix("@") for m in _CITATION.finditer(markdown) for i in m[1].split(";")
    )
    return list(dict.fromkeys(ids))


def reference_anchor(ref_id: str) -> str:
    """The fragment a citation links to; the page gives each reference this id."""
    return f"ref-{ref_id}"


def _link_citations(markdown: str, numbers: Mapping[str, int]) -> str:
    def replace(match: re.Match[str]) -> str:
        ids = [i.strip().removeprefix("@") for i in match[1].split(";")]
        links = (f"[{numbers[i]}](#{reference_anchor(i)})" for i in ids if i in numbers)
        return "[" + ", ".join(links) + "]"

    return _CITATION.sub(replace, markdown)


def render_markdown(markdown: str, numbers: Mapping[str, int] | None = None) -> tuple[str, str]:
    """Render Markdown to (sanitized HTML, plain text); citations become numbered links to the
    article's references (`numbers` maps a reference id to its number)."""
    raw = _MARKDOWN.render(_link_citations(markdown, numbers or {}))
    safe = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    ).strip()
    text = html.unescape(nh3.clean(raw, tags=set()))
    return safe, " ".join(text.split())
