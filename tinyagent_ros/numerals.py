"""Spelled-out numbers read as digits, for scoring transcripts and reading dates.

Works on words with their character spans, so a caller can point back at what
was said ("forty five" -> "45", spanning both words).
"""

from __future__ import annotations

from dataclasses import dataclass

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate(
    "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_SCALES = {"hundred": 100, "thousand": 1000}


@dataclass(frozen=True)
class Word:
    """A word of a text and where it stands in it (``end`` exclusive)."""

    text: str
    start: int = 0
    end: int = 0


def numbers_as_digits(words: list[Word]) -> list[Word]:
    """Spelled-out numbers as one digit word ("forty five" -> "45") spanning what was said.

    "and" after hundred or thousand joins ("one hundred and fifty" -> "150").
    A unit after a unit starts a new number, and so does a tens word after a
    unit, as people read clock times ("three thirty" -> "3", "30") and digits
    one by one ("one two three" -> "1", "2", "3").
    """
    out: list[Word] = []
    value: int | None = None
    start = end = 0
    last = ""

    def flush() -> None:
        if value is not None:
            out.append(Word(str(value), start, end))

    for n, word in enumerate(words):
        if word.text == "and" and last == "scale" and n + 1 < len(words) and \
                (words[n + 1].text in _UNITS or words[n + 1].text in _TENS):
            continue  # "one hundred and fifty"
        if word.text in _TENS:
            if value is not None and last == "scale":
                value += _TENS[word.text]
            else:
                flush()
                value, start = _TENS[word.text], word.start
            last = "tens"
        elif word.text in _UNITS:
            unit = _UNITS[word.text]
            if value is not None and (last == "scale" or (last == "tens" and 0 < unit < 10)):
                value += unit
            else:
                flush()
                value, start = unit, word.start
            last = "unit"
        elif word.text in _SCALES and value is not None and last in ("unit", "tens"):
            value *= _SCALES[word.text]
            last = "scale"
        else:
            flush()
            out.append(word)
            value, last = None, ""
            continue
        end = word.end
    flush()
    return out
