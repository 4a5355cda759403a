"""Text from data made inert for each output format.

Names and titles come from GEM, OpenStreetMap, Natural Earth and the user's own files
and study files; an output must show them as text and never run them. One function per
format, used by every writer of that format:

- HTML: :func:`planner.webmap.escape_text` (also safe inside folium's template literals);
- CSV: :func:`csv_cell` / :func:`csv_frame`, used by :func:`planner.io.write_csv`, the
  one CSV writer of the outputs: a cell a spreadsheet would read as a formula gets a
  leading ``'`` (OWASP "CSV injection" advice);
- Markdown: :func:`markdown_text` escapes Markdown punctuation (``$`` too, which starts
  math on GitHub) and HTML, and flattens
  line breaks, so a name is one line of literal text in a heading or a table cell;
- matplotlib: pass text with ``parse_math=False`` (:data:`MPL_TEXT`), so ``$`` never
  starts mathtext.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

import pandas as pd

#: First characters that make a spreadsheet cell a formula (or start one after a
#: separator): ``= + - @``, tab and carriage return.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Keyword arguments for matplotlib text from data (titles, labels): no mathtext.
MPL_TEXT: dict[str, Any] = {"parse_math": False}

# ( ) and ! need no escape once [ ] have one (no link or image can start)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~$])")  # $: math in GitHub Markdown
_MD_LEADING = re.compile(r"^(\d*)([-+=.)])")  # a list item or heading underline at start
_NUMBER = re.compile(r"^[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def csv_cell(value: object) -> object:
    """A value as a CSV cell a spreadsheet shows as text: formulas get a leading ``'``.

    Numbers (and text that is a plain number, such as ``-3.5``) are left as they are.

    Examples
    --------
    >>> csv_cell("=HYPERLINK(\\"http://x\\")"), csv_cell("@SUM(A1)"), csv_cell("Almaty")
    ('\\'=HYPERLINK("http://x")', "'@SUM(A1)", 'Almaty')
    >>> csv_cell(-2.5), csv_cell("-2.5"), csv_cell("\\tx")
    (-2.5, '-2.5', "'\\tx")
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _NUMBER.match(value):
        return value
    return "'" + value


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell and column name passed through :func:`csv_cell`.

    Examples
    --------
    >>> csv_frame(pd.DataFrame({"name": ["=1+1", "Shymkent"], "km": [-1.0, 2.0]})).to_dict("list")
    {'name': ["'=1+1", 'Shymkent'], 'km': [-1.0, 2.0]}
    """
    out = df.copy()
    for c in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c])):
            out[c] = out[c].map(csv_cell)
    out.columns = [csv_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def markdown_text(value: object) -> str:
    """A value as literal Markdown text on one line: HTML escaped, punctuation backslashed.

    ``None`` and NaN give an empty string.

    Examples
    --------
    >>> markdown_text("<b>Tashkent</b> | *big*")
    '&lt;b&gt;Tashkent&lt;/b&gt; \\\\| \\\\*big\\\\*'
    >>> markdown_text("[link](javascript:alert(1))\\n# heading")
    '\\\\[link\\\\](javascript:alert(1)) \\\\# heading'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = " ".join(str(value).split())
    if _NUMBER.match(text):
        return text
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return _MD_LEADING.sub(r"\1\\\2", text, count=1)


__all__ = ["FORMULA_PREFIXES", "MPL_TEXT", "csv_cell", "csv_frame", "markdown_text"]
