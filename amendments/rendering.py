"""Policy texts are Markdown; what reaches a page is sanitised HTML (nh3), never raw input."""

import difflib
from dataclasses import dataclass

import markdown
import nh3

ALLOWED_TAGS = {"h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "a", "blockquote", "code", "pre", "br",
                "hr", "table", "thead", "tbody", "tr", "th", "td"}


def policy_html(text: str) -> str:
    """Markdown to HTML with only harmless tags; links keep only their address."""
    rendered = markdown.markdown(text or "", extensions=["tables", "sane_lists"], output_format="html")
    return nh3.clean(rendered, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}}, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer")


def _blocks(text: str) -> list[str]:
    """Blocks separated by blank lines, as written (a heading, list or table keeps its lines)."""
    blocks, current = [], []
    for line in (text or "").splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


@dataclass(frozen=True)
class DiffBlock:
    kind: str  # "same", "added", "removed"
    html: str


def policy_diff(old: str, new: str) -> list[DiffBlock]:
    """Paragraph by paragraph: kept, added or removed, each rendered (sanitised) for the page. Blocks are compared with
    their whitespace folded, and rendered as written, so a heading or a list stays one."""
    before, after = _blocks(old), _blocks(new)
    matcher = difflib.SequenceMatcher(a=[_folded(b) for b in before], b=[_folded(b) for b in after], autojunk=False)
    blocks = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            blocks += [DiffBlock("same", policy_html(p)) for p in after[j1:j2]]  # as the new version words it
            continue
        blocks += [DiffBlock("removed", policy_html(p)) for p in before[i1:i2]]
        blocks += [DiffBlock("added", policy_html(p)) for p in after[j1:j2]]
    return blocks


def _folded(block: str) -> str:
    return " ".join(block.split())
