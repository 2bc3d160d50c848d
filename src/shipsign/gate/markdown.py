"""The gate's report as Markdown: the check run's summary, the pull-request comment and the
job's step summary, all the same table (pure).

One row per distinct image: where it is used, the digest checked, the verdict, the signer and
the signature's format; failing rows first. References built at run time and files not read
are listed under the table. Every text that comes from the change (paths, references, details)
is escaped, so a file name cannot break the table, inject HTML or mention anybody.

Each surface has a size limit: a check run's summary 65,535 (GitHub counts bytes), a comment
65,536 characters, a step summary 1 MiB. A report too long for its limit is cut, never
refused: the counts stay, failing rows come first, and a line says how many rows were left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shipsign.gate.model import Conclusion, FileProblem, GateImage, GateReport, ImageUse, Verdict

__all__ = [
    "CHECK_RUN_LIMIT",
    "COMMENT_LIMIT",
    "DEFAULT_CHECK_NAME",
    "STEP_SUMMARY_LIMIT",
    "check_run_title",
    "comment_markdown",
    "comment_marker",
    "ordered_images",
    "report_markdown",
    "resolved_markdown",
    "size",
    "step_summary_markdown",
    "verdict_label",
]

DEFAULT_CHECK_NAME = "shipsign gate"
CHECK_RUN_LIMIT = 65535  # output.summary; GitHub refuses more bytes ("maximum bytesize")
COMMENT_LIMIT = 65536  # characters of an issue comment
STEP_SUMMARY_LIMIT = 1_000_000  # GITHUB_STEP_SUMMARY takes 1 MiB per step; keep a margin
_USES_SHOWN = 3  # places listed per image; the rest are counted
_CELL_MAX = 300  # characters of any one value in a cell
_NOTE_RESERVE = 400  # bytes kept for the "… N more" lines when cutting
_LABELS = {
    Verdict.PASSED: "passed",
    Verdict.FAILED: "signature does not pass the policy",
    Verdict.UNSIGNED: "not signed",
    Verdict.UNREACHABLE: "registry could not be read",
    Verdict.NOT_COVERED: "no policy covers it",
    Verdict.DYNAMIC: "built at run time: not checked",
    Verdict.INVALID: "not a valid image reference",
}
_COUNTED = {  # "3 unsigned, 2 unreachable": images not failing the gate, by verdict
    Verdict.PASSED: "passed",
    Verdict.FAILED: "with a signature the policy refuses",
    Verdict.UNSIGNED: "unsigned",
    Verdict.UNREACHABLE: "unreachable",
    Verdict.NOT_COVERED: "not covered by a policy",
    Verdict.DYNAMIC: "built at run time (not checked)",
    Verdict.INVALID: "invalid",
}
_ESCAPED = set("\\`*_[]<>|~")  # `#` and `!` are harmless inside a line


def size(text: str) -> int:
    """What GitHub's limits count: UTF-8 bytes (never fewer than characters)."""
    return len(text.encode("utf-8"))


def verdict_label(verdict: Verdict) -> str:
    return _LABELS.get(verdict, verdict.value)


def ordered_images(report: GateReport) -> tuple[GateImage, ...]:
    """Failing images first, then the ones to look at (not passed, or with warnings), then the
    rest; in the report's order within each group."""

    def rank(image: GateImage) -> int:
        if image.failing:
            return 0
        if image.verdict is not Verdict.PASSED or image.warnings:
            return 1
        return 2

    return tuple(sorted(report.images, key=rank))


def _icon(image: GateImage) -> str:
    if image.failing:
        return "❌"
    if image.verdict is Verdict.PASSED and not image.warnings:
        return "✅"
    return "⚠️"


def _conclusion_icon(conclusion: Conclusion) -> str:
    return {Conclusion.FAILURE: "❌", Conclusion.SUCCESS: "✅"}.get(conclusion, "⚠️")


def check_run_title(report: GateReport) -> str:
    """One line: what the gate concluded."""
    total = len(report.images)
    failing = len(report.failing)
    if failing:
        return f"{failing} of {_count(total, 'image')} fail{'s' if total == 1 else ''} the gate"
    if not total:
        return "No image references in the changed files"
    unreachable = sum(1 for i in report.images if i.verdict is Verdict.UNREACHABLE)
    if unreachable:
        return f"{_count(unreachable, 'image')} could not be checked (registry unreachable)"
    return f"{'The image passes' if total == 1 else f'All {total} images pass'} the gate"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _counts_line(report: GateReport) -> str:
    parts: list[str] = []
    failing = len(report.failing)
    if failing:
        parts.append(f"{failing} failing")
    by_verdict: dict[Verdict, int] = {}
    for image in report.images:
        if not image.failing:
            by_verdict[image.verdict] = by_verdict.get(image.verdict, 0) + 1
    for verdict in Verdict:
        if by_verdict.get(verdict):
            parts.append(f"{by_verdict[verdict]} {_COUNTED.get(verdict, verdict.value)}")
    if report.problems:
        parts.append(f"{_count(len(report.problems), 'file')} not read")
    checked = f"{_count(len(report.images), 'image')} in {_count(report.files_checked, 'file')}"
    origin = []
    if report.changed_files_source:
        origin.append(_text(report.changed_files_source))
    if report.head_sha:
        origin.append(f"commit {_code(report.head_sha[:12], table=False)}")
    where = f" ({', '.join(origin)})" if origin else ""
    return f"Checked {checked}{where}" + (f": {', '.join(parts)}." if parts else ".")


# --- escaping ---------------------------------------------------------------------------------
def _flat(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _CELL_MAX else flat[: _CELL_MAX - 1] + "…"


def _text(text: str) -> str:
    """Plain text from the change, safe in a table cell and in Markdown at large."""
    out = []
    for c in _flat(text):
        if c in _ESCAPED:
            out.append("\\" + c)
        elif c == "@":
            out.append("&#64;")  # never a mention
        elif c == "&":
            out.append("&amp;")
        else:
            out.append(c)
    return "".join(out)


def _code(text: str, *, table: bool = True) -> str:
    """A code span holding `text` as it is (backticks and `|` included)."""
    flat = _flat(text)
    if not flat:
        return ""
    run = longest = 0
    for c in flat:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    body = flat.replace("|", "\\|") if table else flat
    return f"{fence}{pad}{body}{pad}{fence}"


def _where(use: ImageUse) -> str:
    return _code(use.where)


# --- rows and sections ------------------------------------------------------------------------
_TABLE_HEAD = (
    "| | Image | Used in | Digest | Verdict | Signer | Format |\n|---|---|---|---|---|---|---|\n"
)


def _row(image: GateImage) -> str:
    places = [_where(u) for u in image.uses[:_USES_SHOWN]]
    if len(image.uses) > _USES_SHOWN:
        places.append(f"and {len(image.uses) - _USES_SHOWN} more")
    digest = ""
    if image.digest:
        algorithm, _, value = image.digest.partition(":")
        digest = _code(f"{algorithm}:{value[:12]}…" if len(value) > 12 else image.digest)
    verdict = verdict_label(image.verdict)
    if image.failing and image.verdict is Verdict.PASSED:
        verdict = "fails the gate"  # passed the policy, failed an option (e.g. a digest needed)
    notes = [_text(verdict)]
    if image.detail:
        notes[0] += ": " + _text(image.detail)
    notes += [f"⚠️ {_text(w)}" for w in image.warnings]
    signer = _code(image.signer) if image.signer else ""
    if signer and image.issuer:
        signer += f"<br>{_text('issuer ' + image.issuer)}"
    cells = [_icon(image), _code(image.image), "<br>".join(places), digest, "<br>".join(notes),
             signer, _text(image.format)]  # fmt: skip
    return "| " + " | ".join(cells) + " |\n"


def _dynamic_items(report: GateReport) -> list[str]:
    items = []
    for image in report.images:
        if image.verdict is not Verdict.DYNAMIC:
            continue
        mark = "❌ " if image.failing else ""
        for use in image.uses:
            note = f" ({_text(use.note)})" if use.note else ""
            items.append(
                f"- {mark}{_code(use.where, table=False)}: {_code(use.text, table=False)}{note}\n"
            )
    return items


def _problem_items(problems: Iterable[FileProblem]) -> list[str]:
    items = []
    for problem in problems:
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        items.append(f"- {_code(where, table=False)}: {_text(problem.reason)}\n")
    return items


@dataclass
class _Budget:
    left: int

    def take(self, text: str) -> bool:
        n = size(text)
        if n > self.left:
            return False
        self.left -= n
        return True


def report_markdown(report: GateReport, *, limit: int = CHECK_RUN_LIMIT, heading: str = "") -> str:
    """The report as Markdown of at most `limit` UTF-8 bytes (a check run's summary by default).

    `heading`, when given, is put first as it is (already Markdown).
    """
    head = (heading + "\n\n" if heading else "") + _counts_line(report) + "\n\n"
    rows = [
        (_row(i), i.failing) for i in ordered_images(report) if i.verdict is not Verdict.DYNAMIC
    ]
    dynamic = _dynamic_items(report)
    problems = _problem_items(report.problems)
    dynamic_title = "**Not checked** (references built at run time):\n\n"
    problems_title = "**Files not read:**\n\n"
    full = head
    if rows:
        full += _TABLE_HEAD + "".join(r for r, _ in rows) + "\n"
    if dynamic:
        full += dynamic_title + "".join(dynamic) + "\n"
    if problems:
        full += problems_title + "".join(problems) + "\n"
    if size(full) <= limit:
        return full.rstrip("\n") + "\n"
    return _cut(head, rows, (dynamic_title, dynamic), (problems_title, problems), limit)


def _cut(
    head: str,
    rows: list[tuple[str, bool]],
    dynamic: tuple[str, list[str]],
    problems: tuple[str, list[str]],
    limit: int,
) -> str:
    """The report cut to `limit`: the counts, as many rows as fit (failing first), then as many
    list items as fit; a line for what was left out of each."""
    budget = _Budget(limit - _NOTE_RESERVE * 3)
    if not budget.take(head):
        return _hard_cut(head, limit)
    lists = sum(size(t) + sum(size(i) for i in items) for t, items in (dynamic, problems) if items)
    keep_for_lists = min(lists, budget.left // 5)
    out = [head]
    if rows:
        budget.left -= keep_for_lists
        out.append(_TABLE_HEAD if budget.take(_TABLE_HEAD) else "")
        shown = 0
        for text, _ in rows:
            if not budget.take(text):
                break
            out.append(text)
            shown += 1
        budget.left += keep_for_lists
        left_out = rows[shown:]
        if left_out:
            failing = sum(1 for _, f in left_out if f)
            also = f" ({failing} of them failing)" if failing else ""
            out.append(
                f"\n_… {_count(len(left_out), 'more row')}{also} not shown: "
                "the report is too long for this page; the job's log has all of it._\n"
            )
        out.append("\n")
    for title, items in (dynamic, problems):
        if not items or not budget.take(title):
            continue
        out.append(title)
        shown = 0
        for item in items:
            if not budget.take(item):
                break
            out.append(item)
            shown += 1
        if shown < len(items):
            out.append(f"- _… and {len(items) - shown} more_\n")
        out.append("\n")
    text = "".join(out).rstrip("\n") + "\n"
    return text if size(text) <= limit else _hard_cut(text, limit)


def _hard_cut(text: str, limit: int) -> str:
    """The whole lines of `text` that fit in `limit` bytes, and a mark that it was cut."""
    mark = "\n_… cut: too long for this page._\n"
    keep = text.encode("utf-8")[: max(0, limit - size(mark))].decode("utf-8", "ignore")
    return keep[: keep.rfind("\n") + 1] + mark


# --- the three surfaces -----------------------------------------------------------------------
def step_summary_markdown(report: GateReport, *, name: str = DEFAULT_CHECK_NAME) -> str:
    """The job's step summary (`GITHUB_STEP_SUMMARY`): a heading and the same table."""
    heading = f"### {_conclusion_icon(report.conclusion)} {_text(name)}: {check_run_title(report)}"
    return report_markdown(report, limit=STEP_SUMMARY_LIMIT, heading=heading)


def comment_marker(name: str = DEFAULT_CHECK_NAME) -> str:
    """The hidden first line by which the gate finds its own comment again (one per check
    name, so that two gate jobs on one pull request keep a comment each)."""
    safe = "".join(c for c in " ".join(name.split()) if c not in "<>-!")[:100]
    return f"<!-- shipsign-gate: {safe} -->"


def comment_markdown(
    report: GateReport, *, name: str = DEFAULT_CHECK_NAME, check_run_url: str = ""
) -> str:
    """The pull-request comment: the marker, a heading, the table; within GitHub's limit."""
    heading = f"### {_conclusion_icon(report.conclusion)} {_text(name)}: {check_run_title(report)}"
    marker = comment_marker(name) + "\n"
    tail = f"\n[Details in the check run]({check_run_url})\n" if check_run_url else ""
    room = COMMENT_LIMIT - 64 - size(marker) - size(tail)
    return marker + report_markdown(report, limit=room, heading=heading) + tail


def resolved_markdown(
    report: GateReport, *, name: str = DEFAULT_CHECK_NAME, check_run_url: str = ""
) -> str:
    """The comment once the gate passes again: it says so, and no longer lists failures."""
    at = f" at commit {_code(report.head_sha[:12], table=False)}" if report.head_sha else ""
    lines = [
        comment_marker(name),
        f"### ✅ {_text(name)}: resolved",
        "",
        f"Nothing fails the gate any more{at}. {check_run_title(report)}.",
        "",
        _counts_line(report),
    ]
    if check_run_url:
        lines += ["", f"[Details in the check run]({check_run_url})"]
    return "\n".join(lines) + "\n"
