"""Markdown rendering is sanitized by a real sanitizer."""

from services.content.rendering import render_markdown


def test_markdown_renders_to_html_and_text():
    html, text = render_markdown("Some **bold** words and a [link](https://example.com).\n\n- one")
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer">link</a>' in html
    assert "<li>one</li>" in html
    assert text == "Some bold words and a link. one"


def test_hostile_markup_is_neutralised():
    html, _ = render_markdown(
        "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
        "\n\n[y](data:text/html,hi) <a href='javascript:alert(2)'>z</a>"
        "\n\n[ok](https://example.com/a)"
    )
    assert "<script" not in html and "<img" not in html
    assert 'href="javascript' not in html and 'href="data' not in html
    assert "<a href='" not in html
    assert html.count("<a ") == 1 and 'href="https://example.com/a"' in html
