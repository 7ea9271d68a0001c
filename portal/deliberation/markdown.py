"""Posts are written in Markdown and shown as sanitised HTML.

Markdown-it renders CommonMark with raw HTML switched off (so ``<script>`` stays text) and
without images; nh3 (the Rust ``ammonia`` sanitiser) then keeps only a short list of tags, drops
every attribute except a link's ``href``, allows only http, https and mailto links, and gives
every link ``rel="noopener nofollow"``. Two layers: a bug in one is caught by the other.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "a", "h3", "h4"}
ALLOWED_ATTRIBUTES = {"*": set(), "a": {"href"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener nofollow"


def _linkify_available() -> bool:
    try:
        import linkify_it  # noqa: F401
    except ImportError:
        return False
    return True


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": _linkify_available(), "typographer": False})
    if parser.options.get("linkify"):
        parser.enable("linkify")
    # No images (they could track readers, or shock them): an image shows as its description.
    parser.add_render_rule("image", _image_as_text)
    return parser


def _image_as_text(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    return escapeHtml(self.renderInlineAsText(token.children or [], options, env))


_PARSER = _parser()

# Headings in a post sit below the page's own h1 and h2: # and ## become h3, the rest h4.
_HEADING_MAP = {"h1": "h3", "h2": "h3", "h3": "h3", "h4": "h4", "h5": "h4", "h6": "h4"}


def _demote_headings(tokens) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = _HEADING_MAP.get(token.tag, "h4")


def render_markdown(text: str) -> str:
    """Sanitised HTML for the Markdown ``text`` (empty text gives an empty string)."""
    if not text or not text.strip():
        return ""
    tokens = _PARSER.parse(text)
    _demote_headings(tokens)
    html = _PARSER.renderer.render(tokens, _PARSER.options, {})
    return sanitise_html(html)


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
