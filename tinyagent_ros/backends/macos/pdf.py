"""Read a PDF's text with pypdf and shorten it; the summariser is swappable (the local model)."""

from __future__ import annotations

import re
from pathlib import Path

from tinyagent_ros.backends.base import SkillFailed, one_line

#: Pages read at most: a summary needs the opening, and long PDFs would block for minutes.
MAX_PAGES = 30
#: Characters of the default summary.
SUMMARY_CHARS = 500

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def extract_text(path: str, max_pages: int = MAX_PAGES) -> str:
    """The text of the first ``max_pages`` pages, spaces collapsed; SkillFailed if unreadable."""
    from pypdf import PdfReader  # imported here: only this tool needs it
    from pypdf.errors import PyPdfError

    file = Path(path).expanduser()
    if not file.is_file():
        raise SkillFailed(f"summarize_pdf: no file at {one_line(path, 120)!r}")
    try:
        reader = PdfReader(file)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkillFailed(f"summarize_pdf: {file.name} is password-protected")
        parts = []
        for number, page in enumerate(reader.pages):
            if number >= max_pages:
                break
            parts.append(page.extract_text() or "")
    except (OSError, ValueError, PyPdfError) as err:
        raise SkillFailed(f"summarize_pdf: cannot read {file.name}: {one_line(err)}") from None
    text = " ".join(" ".join(parts).split())
    if not text:
        raise SkillFailed(f"summarize_pdf: {file.name} has no text layer (a scanned PDF?)")
    return text


def first_sentences(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The opening sentences of ``text``, at most ``limit`` characters: a stand-in summariser."""
    out = ""
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        if out and len(out) + 1 + len(sentence) > limit:
            break
        out = f"{out} {sentence}" if out else sentence
    return out if len(out) <= limit else out[: limit - 3].rstrip() + "..."
