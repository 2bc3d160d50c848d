"""Identity patterns a policy file may hold, checked so that every engine reads them the same way.

Admission engines compile regular expressions with Go's RE2 and match them *unanchored*;
shipsign's own verifier matches them against the whole value. A pattern is accepted only when
both readings agree: valid in Python's `re` and in RE2's syntax, anchored `^...$`, and with no
literal `.` left unescaped. Globs (`*`, `**`, `?`) are turned into such patterns here.
Standard library only.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

__all__ = [
    "PatternProblem",
    "anchored",
    "glob_to_regexp",
    "is_glob",
    "literal_prefix",
    "pattern_problems",
    "re2_problem",
]

_META = set(".^$*+?()[]{}|\\")
# Inline flags RE2 and Python both understand with the same meaning.
_SHARED_FLAGS = set("ims")
# `\` followed by one of these is an escape both engines read alike (besides punctuation).
_SHARED_ESCAPES = set("dDsSwWbBAnrtfv0")


@dataclass(frozen=True, slots=True)
class PatternProblem:
    """Why a pattern is refused: a sentence, and how to write it instead."""

    what: str
    hint: str


def is_glob(value: str) -> bool:
    """True when `value` uses glob wildcards (`*` or `?`)."""
    return "*" in value or "?" in value


def glob_to_regexp(glob: str) -> str:
    """An anchored RE2 pattern for `glob`: `*` is any run without `/`, `**` any run, `?` one
    character but `/`; everything else is literal. Raises ValueError for `***` or brackets."""
    if "***" in glob:
        raise ValueError("`***` is not a glob: use `*` (within one path segment) or `**` (any)")
    for bad in "[]{}":
        if bad in glob:
            raise ValueError(f"`{bad}` is not supported in a glob (only `*`, `**` and `?`)")
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        char = glob[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append("\\" + char if char in _META else char)
        i += 1
    return "^" + "".join(out) + "$"


def anchored(pattern: str) -> str:
    """`pattern` anchored for an unanchored matcher: as is when it already is, else `^(?:...)$`."""
    if _is_anchored(pattern):
        return pattern
    return f"^(?:{pattern})$"


def literal_prefix(pattern: str) -> str:
    """The literal text an anchored pattern starts with (escapes resolved), up to its first
    metacharacter; e.g. `^https://github\\.com/a/b@.*$` gives `https://github.com/a/b@`."""
    text = pattern[1:] if pattern.startswith("^") else pattern
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and not text[i + 1].isalnum():
            out.append(text[i + 1])
            i += 2
            continue
        if char in _META:
            # A quantifier applies to the character before it, so that one is not certain.
            if char in "*?{" and out:
                out.pop()
            break
        out.append(char)
        i += 1
    return "".join(out)


def re2_problem(pattern: str) -> str | None:
    """Why `pattern` is not read alike by RE2 and Python's `re`, or None when it is.

    Refuses what RE2 lacks (look-around, back-references, conditionals, atomic groups,
    possessive quantifiers, `\\Z`, inline flags other than i, m, s) and anything Python
    cannot compile.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # `[[`: refused below
            re.compile(pattern)
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
        if char == "\\":
            if nxt.isdigit() and nxt != "0":
                return f"back-reference `\\{nxt}` (RE2 has none)"
            if nxt == "Z":
                return "`\\Z` (RE2 spells the end of text `\\z`; write `$`)"
            if nxt == "g" and not in_class:
                return "`\\g<...>` back-reference (RE2 has none)"
            if nxt.isalpha() and nxt not in _SHARED_ESCAPES:
                return f"escape `\\{nxt}` (RE2 and Python read it differently or not at all)"
            i += 2
            continue
        if in_class:
            if char == "[" and nxt == ":":
                return "`[:` inside a class (RE2 reads `[[:alpha:]]` as a POSIX class)"
            if char == "]":
                in_class = False
            i += 1
            continue
        if char == "[":
            in_class = True
            i += 1
            if i < len(pattern) and pattern[i] == "^":
                i += 1
            if i < len(pattern) and pattern[i] == "]":  # a literal `]` first in the class
                i += 1
            continue
        if char == "(" and nxt == "?":
            problem = _group_problem(pattern[i + 2 : i + 5])
            if problem:
                return problem
        if char in "*+?}" and nxt == "+":
            return f"possessive quantifier `{char}+` (RE2 has none)"
        if char == "{" and re.match(r"\{,\d", pattern[i:]):
            return "`{,n}` (RE2 reads it literally; write `{0,n}`)"
        i += 1
    return None


def _group_problem(after: str) -> str | None:
    if after.startswith(("=", "!")):
        return "look-ahead `(?=...)`/`(?!...)` (RE2 has none)"
    if after.startswith(("<=", "<!")):
        return "look-behind `(?<=...)`/`(?<!...)` (RE2 has none)"
    if after.startswith("P="):
        return "named back-reference `(?P=...)` (RE2 has none)"
    if after.startswith("("):
        return "conditional group `(?(...)...)` (RE2 has none)"
    if after.startswith(">"):
        return "atomic group `(?>...)` (RE2 has none)"
    if after.startswith(("P<", ":")):
        return None
    flags = re.match(r"[a-zA-Z-]*", after)
    used = set(flags.group(0) if flags else "") - {"-"}
    if used - _SHARED_FLAGS:
        odd = "".join(sorted(used - _SHARED_FLAGS))
        return f"inline flag(s) `{odd}` (RE2 and Python share only i, m and s)"
    return None


def _is_anchored(pattern: str) -> bool:
    """`^...$` with no alternation outside a group (`^a|b$` is `(^a)|(b$)`)."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    if pattern.endswith("\\$") and not pattern.endswith("\\\\$"):
        return False
    depth, in_class, i = 0, False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return False
        i += 1
    return True


def _unescaped_dots(pattern: str) -> list[int]:
    """Offsets of `.` outside classes, unescaped and not quantified (`.*`, `.+` are wildcards
    on purpose; a bare `.` is almost always a literal dot, as in `github.com`)."""
    found: list[int] = []
    in_class, i = False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif char == "." and pattern[i + 1 : i + 2] not in ("*", "+", "?", "{"):
            found.append(i)
        i += 1
    return found


def pattern_problems(pattern: str, *, release: bool) -> list[PatternProblem]:
    """Every reason `pattern` would match more, or otherwise, than its author meant.

    `release`: the policy is for release signatures (a `refs/tags/` ref), so a pattern that
    also admits a branch (`@refs/heads/...`) is refused.
    """
    problem = re2_problem(pattern)
    if problem is not None:
        return [
            PatternProblem(problem, "write the pattern in the syntax Go's RE2 and Python share")
        ]
    problems: list[PatternProblem] = []
    if not _is_anchored(pattern):
        problems.append(
            PatternProblem(
                "the pattern is not anchored: admission engines match it anywhere in the "
                "identity, so a longer identity that contains a match passes",
                f"write ^...$ around it, e.g. {anchored(pattern)!r}",
            )
        )
    dots = _unescaped_dots(pattern)
    if dots:
        at = dots[0]
        shown = pattern[max(0, at - 10) : at + 10]
        problems.append(
            PatternProblem(
                f"unescaped `.` in ...{shown}...: it matches any character, so `github.com` "
                "would also match `githubXcom`",
                "write `\\.` for a literal dot",
            )
        )
    if release:
        prefix = literal_prefix(pattern)
        base = prefix.split("@", 1)[0] if "@" in prefix else ""
        if base:
            probe = f"{base}@refs/heads/main"
            try:
                compiled = re.compile(pattern)
            except re.error:  # already reported by re2_problem
                return problems
            if compiled.search(probe):
                problems.append(
                    PatternProblem(
                        f"a release policy whose pattern also admits a branch ({probe}): any "
                        "push to that branch could sign a release",
                        "name the tags, e.g. `@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$`",
                    )
                )
    return problems
