"""Metric names in a PromQL expression, for cross-checking dashboards and rules against /metrics.

A small lexer rather than a full parser: strings, label matchers, range selectors and the
label lists of by/without/on/ignoring/group_* are removed, then every remaining identifier that
is not a function call, a keyword or a number is a metric name.
"""

from __future__ import annotations

import re

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:\\.|[^"\\])*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\boffset\s+-?\w+", "", text)
    text = re.sub(r"\b(by|without)\s*\([^)]*\)", "", text)  # sum by (x) (...) -> sum (...): a call
    text = re.sub(r"\b(on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"(?<![\w.])\d+(?:\.\d+)?(?:e[+-]?\d+)?", "", text)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][\w:]*", text):
        rest = text[m.end():].lstrip()
        if m.group(0).lower() in KEYWORDS or rest.startswith("("):
            continue
        names.add(m.group(0))
    return names


def declared_names(exposition: str) -> set[str]:
    """Every sample name a /metrics page declares (histograms' _bucket/_sum/_count included)."""
    names = set()
    for line in exposition.splitlines():
        m = re.match(r"# TYPE (\S+) (\w+)", line)
        if m:
            name, kind = m.groups()
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
            if kind == "counter" and not name.endswith("_total"):
                names.add(f"{name}_total")
    return names


def sampled_names(exposition: str) -> set[str]:
    """Names that have at least one sample on the page (not only HELP/TYPE lines)."""
    return {m.group(1) for m in re.finditer(r"^([A-Za-z_:][\w:]*)[{ ]", exposition, re.M)}
