"""Dockerfile / Containerfile: every image a build pulls.

- `FROM [--platform=...] IMAGE [AS name]`, with the `ARG`s declared before the first `FROM`
  (their defaults, and `${VAR:-default}`), resolved as BuildKit does;
- `COPY --from=IMAGE` and `RUN --mount=...,from=IMAGE` (stage names and numeric stage indexes
  are not images, and are skipped);
- the `# syntax=IMAGE` parser directive (the BuildKit frontend image).

`scratch` and build-stage names are never reported. Line continuations (with `\\` or the
character the `# escape=` directive sets), comment lines inside them, and heredoc bodies
(`<<EOF ... EOF`, also `<<-`, quoted and several per instruction) are handled; each image has
the physical line of its own token. One pass over the lines: linear in the file's size.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from shipsign.gate.model import FileProblem, ImageUse, RefKind
from shipsign.gate.refs.interpolate import expand
from shipsign.gate.refs.normalize import make_use

__all__ = ["scan_dockerfile"]

SOURCE = "dockerfile"
_DIRECTIVE = re.compile(r"#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*")
_TOKEN = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")
_HEREDOC = re.compile(r"""(?<!<)<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2(?!<)""")
_STAGE_INDEX = re.compile(r"[0-9]+")
_DIRECTIVES = frozenset({"syntax", "escape", "check"})


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class _Instruction:
    keyword: str  # upper case
    args: tuple[_Token, ...]
    line: int


class _Unknown:
    """An ARG declared without a default: its value is whatever the build passes."""


_UNKNOWN = _Unknown()


def scan_dockerfile(file: str, text: str) -> tuple[list[ImageUse], list[FileProblem]]:
    lines = text.splitlines()
    escape = "\\"
    uses: list[ImageUse] = []
    problems: list[FileProblem] = []
    start = 0
    for number, raw in enumerate(lines):
        match = _DIRECTIVE.fullmatch(raw.strip())
        if not raw.lstrip().startswith("#") or match is None:
            break
        key, value = match.group(1).lower(), match.group(2)
        if key not in _DIRECTIVES:
            break  # an unknown directive is a comment, and the directives end there
        start = number + 1
        if key == "escape" and value in ("\\", "`"):
            escape = value
        elif key == "syntax" and value:
            uses.append(
                make_use(
                    file=file,
                    line=number + 1,
                    text=value,
                    source=SOURCE,
                    note="# syntax= directive: the BuildKit frontend image",
                )
            )
    instructions = _instructions(lines, start, escape)
    stages = {
        a[2].text.lower()
        for i in instructions
        if i.keyword == "FROM"
        for a in [_positional(i.args)]
        if len(a) >= 3 and a[1].text.lower() == "as"
    }
    _Walker(file, escape, stages, uses, problems).run(instructions)
    return uses, problems


def _instructions(lines: list[str], start: int, escape: str) -> list[_Instruction]:
    out: list[_Instruction] = []
    n = len(lines)
    pos = start
    while pos < n:
        stripped = lines[pos].strip()
        if not stripped or stripped.startswith("#"):
            pos += 1
            continue
        parts: list[str] = []
        offsets: list[int] = []  # where each physical line starts in the joined text
        numbers: list[int] = []
        length = 0
        while True:
            content = lines[pos].rstrip()
            continued = content.endswith(escape)
            piece = content[: -len(escape)] if continued else content
            offsets.append(length)
            numbers.append(pos + 1)
            parts.append(piece)
            length += len(piece)
            pos += 1
            if not continued:
                break
            while pos < n and (not lines[pos].strip() or lines[pos].lstrip().startswith("#")):
                pos += 1  # comment and empty lines inside a continuation are dropped
            if pos >= n:
                break
        joined = "".join(parts)
        tokens = [
            _Token(m.group(), numbers[bisect.bisect_right(offsets, m.start()) - 1])
            for m in _TOKEN.finditer(joined)
        ]
        if not tokens:
            continue
        keyword = tokens[0].text.upper()
        out.append(_Instruction(keyword, tuple(tokens[1:]), tokens[0].line))
        if "<<" in joined:
            pos = _skip_heredocs(lines, pos, joined)
    return out


def _skip_heredocs(lines: list[str], pos: int, joined: str) -> int:
    """Skip the bodies of the heredocs `joined` opens; return the line after the last one."""
    for match in _HEREDOC.finditer(joined):
        strip_tabs, word = match.group(1) == "-", match.group(3)
        while pos < len(lines):
            body = lines[pos].lstrip("\t") if strip_tabs else lines[pos]
            pos += 1
            if body.rstrip("\r") == word:
                break
    return pos


def _positional(args: tuple[_Token, ...]) -> list[_Token]:
    """The arguments after the `--flag` options."""
    i = 0
    while i < len(args) and args[i].text.startswith("--"):
        i += 1
    return list(args[i:])


def _flags(args: tuple[_Token, ...], name: str) -> list[_Token]:
    """The values of `--name=value` options before the first positional argument."""
    out = []
    prefix = f"--{name}="
    for token in args:
        if not token.text.startswith("--"):
            break
        if token.text.lower().startswith(prefix):
            out.append(_Token(_unquote(token.text[len(prefix) :]), token.line))
    return out


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


class _Walker:
    def __init__(
        self,
        file: str,
        escape: str,
        stages: set[str],
        uses: list[ImageUse],
        problems: list[FileProblem],
    ) -> None:
        self.file = file
        self.escape = escape
        self.all_stages = stages
        self.uses = uses
        self.problems = problems
        self.global_args: dict[str, str | _Unknown] = {}
        self.stage_vars: dict[str, str | _Unknown] = {}
        self.earlier_stages: set[str] = set()
        self.in_stage = False

    def run(self, instructions: list[_Instruction]) -> None:
        for instruction in instructions:
            keyword = instruction.keyword
            if keyword == "ARG":
                self._arg(instruction)
            elif keyword == "ENV" and self.in_stage:
                self._env(instruction)
            elif keyword == "FROM":
                self._from(instruction)
            elif keyword == "COPY":
                for token in _flags(instruction.args, "from"):
                    self._stage_or_image(token, "COPY --from")
            elif keyword == "RUN":
                for token in _flags(instruction.args, "mount"):
                    self._mount(token)

    # variables

    def _lookup_global(self, name: str) -> str | None:
        value = self.global_args.get(name)
        return value if isinstance(value, str) else None

    def _lookup_stage(self, name: str) -> str | None:
        value = self.stage_vars.get(name)
        return value if isinstance(value, str) else None

    def _expand(self, text: str, in_stage: bool) -> str | None:
        lookup = self._lookup_stage if in_stage else self._lookup_global
        return expand(text, lookup, escape=self.escape)

    def _arg(self, instruction: _Instruction) -> None:
        for token in instruction.args:
            name, eq, default = token.text.partition("=")
            target = self.stage_vars if self.in_stage else self.global_args
            if eq:
                value = self._expand(_unquote(default), self.in_stage)
                target[name] = _UNKNOWN if value is None else value
            elif self.in_stage and name in self.global_args:
                target[name] = self.global_args[name]  # `ARG NAME` in a stage inherits it
            else:
                target[name] = _UNKNOWN

    def _env(self, instruction: _Instruction) -> None:
        args = instruction.args
        if len(args) >= 2 and "=" not in args[0].text:  # legacy `ENV NAME value`
            joined = " ".join(t.text for t in args[1:])
            value = self._expand(_unquote(joined), True)
            self.stage_vars[args[0].text] = _UNKNOWN if value is None else value
            return
        for token in args:
            name, eq, raw = token.text.partition("=")
            if eq:
                value = self._expand(_unquote(raw), True)
                self.stage_vars[name] = _UNKNOWN if value is None else value

    # images

    def _from(self, instruction: _Instruction) -> None:
        args = _positional(instruction.args)
        self.in_stage = True
        self.stage_vars = {}
        if not args:
            self.problems.append(
                FileProblem(file=self.file, line=instruction.line, reason="FROM without an image")
            )
            return
        image = args[0]
        named = len(args) >= 3 and args[1].text.lower() == "as"
        stage = args[2].text.lower() if named else ""
        resolved = self._expand(image.text, False)
        if resolved is None:
            self._report(image, None, "FROM: a build argument without a default")
        elif resolved.lower() not in self.earlier_stages and resolved.lower() != "scratch":
            note = "FROM" if resolved == image.text else "FROM, ARG defaults applied"
            self._report(image, resolved, note)
        if stage:
            self.earlier_stages.add(stage)

    def _mount(self, token: _Token) -> None:
        for part in token.text.split(","):
            key, eq, value = part.partition("=")
            if eq and key.strip().lower() == "from":
                self._stage_or_image(_Token(_unquote(value.strip()), token.line), "RUN --mount")

    def _stage_or_image(self, token: _Token, what: str) -> None:
        if _STAGE_INDEX.fullmatch(token.text):
            return  # --from=0: a stage by its index
        resolved = self._expand(token.text, True)
        if resolved is None:
            self._report(token, None, f"{what}: a build argument without a default")
            return
        lowered = resolved.lower()
        if lowered in self.all_stages or lowered == "scratch" or _STAGE_INDEX.fullmatch(lowered):
            return
        note = what if resolved == token.text else f"{what}, ARG defaults applied"
        self._report(token, resolved, note)

    def _report(self, token: _Token, resolved: str | None, note: str) -> None:
        self.uses.append(
            make_use(
                file=self.file,
                line=token.line,
                text=token.text if resolved is None else resolved,
                source=SOURCE,
                kind=RefKind.DYNAMIC if resolved is None else RefKind.STATIC,
                note=note,
            )
        )
