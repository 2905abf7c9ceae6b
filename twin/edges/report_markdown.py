"""Markdown (a line's README) rendered as safe, self-contained HTML for the report.

CommonMark with tables (markdown-it-py); raw HTML in the Markdown is shown as text, never
passed through; links keep their text with the address in brackets (nothing in the report
points outside it); images are shown as their alt text; headings are moved two levels down
(``#`` becomes ``h3``) so the README sits under its section heading.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

HEADING_SHIFT = 2
"""Levels a README heading moves down (``#`` -> ``h3``)."""


@lru_cache(maxsize=1)
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        env.setdefault("links", []).append(tokens[idx].attrGet("href") or "")
        return '<span class="link">'

    def link_close(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        href = env["links"].pop()
        inner = "".join(t.content for t in _between(tokens, idx))
        shown = "" if not href or href == inner or href.startswith("#") else \
            f" ({html.escape(href)})"
        return f"</span>{shown}"

    def image(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        alt = "".join(c.content for c in tokens[idx].children or [])
        return f'<span class="image">[{html.escape(alt or "image")}]</span>'

    def heading(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        level = min(int(tokens[idx].tag[1]) + HEADING_SHIFT, 6)
        return f"<h{level}>" if tokens[idx].nesting == 1 else f"</h{level}>\n"

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    md.add_render_rule("image", image)
    md.add_render_rule("heading_open", heading)
    md.add_render_rule("heading_close", heading)
    return md


def _between(tokens: Any, close: int) -> list[Any]:
    """The inline tokens between a link's opening and the closing token at ``close``."""
    depth, out = 0, []
    for t in reversed(tokens[:close]):
        if t.type == "link_close":
            depth += 1
        elif t.type == "link_open":
            if depth == 0:
                break
            depth -= 1
        out.append(t)
    return out[::-1]


def markdown_html(source: str) -> str:
    """``source`` (Markdown) as HTML inside ``<div class="readme">``."""
    return f'<div class="readme">{_renderer().render(source, {})}</div>'
