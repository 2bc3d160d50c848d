"""Hostile input: each bad file gets its FileProblem, the good file beside it is still found,
and the scan ends in bounded time and memory.

The scans that could run away (alias bombs, deep nesting, huge files) run in a child process
with a generous timeout, so that a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipsign.gate.refs import MAX_FILE_BYTES, scan_files

GOOD = """\
apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  containers:
    - name: web
      image: nginx:1.27
"""
GOOD_ROW = [
    "good/pod.yaml",
    8,
    "static",
    "kubernetes",
    "nginx:1.27",
    "docker.io/library/nginx:1.27",
]
_CHILD = """
import json, sys
from pathlib import Path
from shipsign.gate.refs import scan_files
files = json.loads(sys.argv[2])
result = scan_files(Path(sys.argv[1]), files, helm_binary=None)
print(json.dumps({
    "uses": [[u.file, u.line, u.kind.value, u.source, u.text, u.image] for u in result.uses],
    "problems": [[p.file, p.line, p.reason] for p in result.problems],
    "files_scanned": result.files_scanned,
}))
"""
TIMEOUT = 120  # generous: each of these scans takes well under a few seconds


def guarded_scan(root: Path, files: list[str] | None = None) -> dict[str, list[list[object]]]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), json.dumps(files)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[list[object]]] = json.loads(done.stdout)
    return result


def tree(tmp_path: Path, bad_name: str, bad: str | bytes) -> Path:
    root = tmp_path / "repo"
    (root / "good").mkdir(parents=True)
    (root / "good" / "pod.yaml").write_text(GOOD)
    path = root / bad_name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(bad, bytes):
        path.write_bytes(bad)
    else:
        path.write_text(bad)
    return root


def only_problem(result: dict[str, list[list[object]]], file: str) -> str:
    assert GOOD_ROW in result["uses"]
    problems = [p for p in result["problems"] if p[0] == file]
    assert len(problems) == 1, result["problems"]
    reason = problems[0][2]
    assert isinstance(reason, str)
    return reason


def test_malformed_yaml(tmp_path: Path) -> None:
    root = tree(tmp_path, "bad/deploy.yaml", "kind: Pod\nspec:\n  containers: [\n  - image: x\n")
    result = guarded_scan(root)
    reason = only_problem(result, "bad/deploy.yaml")
    assert reason.startswith("not valid YAML at line ")


def test_malformed_yaml_has_its_line(tmp_path: Path) -> None:
    root = tree(tmp_path, "bad.yaml", "kind: Pod\nspec: {a: 1}\n  b: 2\n")
    [problem] = scan_files(root, ["bad.yaml"], helm_binary=None).problems
    assert problem.line == 3
    assert problem.reason.startswith("not valid YAML at line 3: ")


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    root = tree(tmp_path, "huge/deploy.yaml", "")
    with open(root / "huge" / "deploy.yaml", "wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB by stat, nothing written
    reason = only_problem(guarded_scan(root), "huge/deploy.yaml")
    assert reason.startswith("larger than 5 MiB (52,428,800 bytes): skipped")


def test_a_file_just_under_the_cap_is_read(tmp_path: Path) -> None:
    padding = "# " + "x" * 1000 + "\n"
    body = GOOD.replace("good", "big") + padding * ((MAX_FILE_BYTES - 2000) // len(padding))
    root = tree(tmp_path, "big/pod.yaml", body)
    result = guarded_scan(root)
    assert result["problems"] == []
    assert ["big/pod.yaml", 8, "static", "kubernetes", "nginx:1.27",
            "docker.io/library/nginx:1.27"] in result["uses"]  # fmt: skip


def test_deeply_nested_flow_yaml(tmp_path: Path) -> None:
    root = tree(tmp_path, "deep.yaml", "kind: Pod\nspec: " + "[" * 100_000 + "]" * 100_000)
    reason = only_problem(guarded_scan(root), "deep.yaml")
    assert reason == "YAML nested deeper than 200 levels: skipped"


def test_deeply_nested_block_yaml(tmp_path: Path) -> None:
    text = "kind: Pod\n" + "".join("  " * i + "a:\n" for i in range(1000))
    root = tree(tmp_path, "deep.yaml", text)
    reason = only_problem(guarded_scan(root), "deep.yaml")
    assert reason == "YAML nested deeper than 200 levels: skipped"


def test_billion_laughs(tmp_path: Path) -> None:
    lines = ["kind: List", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append("items:\n  - spec: {containers: *a9}")
    root = tree(tmp_path, "lol.yaml", "\n".join(lines) + "\n")
    reason = only_problem(guarded_scan(root), "lol.yaml")
    assert reason.startswith("YAML expands to more than 1,000,000 nodes")


def test_too_many_aliases(tmp_path: Path) -> None:
    text = "kind: Pod\nx: &x 1\nitems: [" + ", ".join(["*x"] * 1500) + "]\n"
    root = tree(tmp_path, "aliases.yaml", text)
    reason = only_problem(guarded_scan(root), "aliases.yaml")
    assert reason == "more than 1000 YAML aliases in one document: skipped"


def test_an_alias_may_not_point_into_itself(tmp_path: Path) -> None:
    root = tree(tmp_path, "loop.yaml", "kind: Pod\nspec: &s\n  containers: *s\n")
    reason = only_problem(guarded_scan(root), "loop.yaml")
    assert "alias *s names no complete anchor" in reason


def test_a_wide_yaml_file_under_the_size_cap(tmp_path: Path) -> None:
    text = "kind: Pod\nitems: [" + "a," * 1_500_000 + "a]\n"  # 3 MB, 1.5 million nodes
    root = tree(tmp_path, "wide.yaml", text)
    reason = only_problem(guarded_scan(root), "wide.yaml")
    assert reason.startswith("YAML expands to more than 1,000,000 nodes")


def test_a_binary_file(tmp_path: Path) -> None:
    root = tree(tmp_path, "blob/deploy.yaml", b"kind: Pod\n\x00\x01\x02\xff" * 100)
    reason = only_problem(guarded_scan(root), "blob/deploy.yaml")
    assert reason == "binary file (a NUL byte at offset 10): skipped"


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    root = tree(tmp_path, "Dockerfile", b"FROM alpine\nRUN echo \xff\xfe\n")
    reason = only_problem(guarded_scan(root), "Dockerfile")
    assert reason == "not UTF-8 text (byte 21 cannot be decoded): skipped"


def test_a_symlink_out_of_the_root_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(GOOD.replace("nginx:1.27", "evil:1"))
    root = tree(tmp_path, "placeholder.txt", "")
    os.symlink(outside / "secret.yaml", root / "escape.yaml")
    os.symlink(outside, root / "linked")
    os.symlink("../good/pod.yaml", root / "good" / "pod-link.yaml")  # inside the root: fine
    for files in (None, ["escape.yaml", "linked/secret.yaml", "good/pod.yaml",
                         "good/pod-link.yaml"]):  # fmt: skip
        result = scan_files(root, files, helm_binary=None)
        texts = {u.text for u in result.uses}
        assert "evil:1" not in texts
        assert [(u.file, u.text) for u in result.uses] == [
            ("good/pod-link.yaml", "nginx:1.27"),
            ("good/pod.yaml", "nginx:1.27"),
        ]
        reasons = {(p.file, p.reason) for p in result.problems}
        expected = {("escape.yaml", "symbolic link to outside the scanned root: not followed")}
        if files is not None:  # a walk does not enter a linked directory at all
            expected.add(
                ("linked/secret.yaml", "symbolic link to outside the scanned root: not followed")
            )
        assert reasons == expected


def test_a_kustomization_cannot_read_outside_the_root(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "pod.yaml").write_text(GOOD.replace("nginx:1.27", "evil:1"))
    root = tree(tmp_path, "k/kustomization.yaml", "resources:\n  - ../../outside/pod.yaml\n")
    os.symlink(tmp_path / "outside", root / "k" / "link")
    (root / "k" / "kustomization.yaml").write_text(
        "resources:\n  - ../../outside/pod.yaml\n  - link/pod.yaml\n  - /etc/passwd\n"
    )
    result = scan_files(root, helm_binary=None)
    assert {u.text for u in result.uses} == {"nginx:1.27"}
    assert [(p.line, p.reason) for p in result.problems] == [
        (2, "resource ../../outside/pod.yaml is outside the scanned root: not read"),
        (3, "resource link/pod.yaml links outside the scanned root: not followed"),
        (4, "resource /etc/passwd is outside the scanned root: not read"),
    ]


def test_kustomizations_that_include_each_other(tmp_path: Path) -> None:
    root = tree(tmp_path, "a/kustomization.yaml", "resources: [../b]\n")
    (root / "b").mkdir()
    (root / "b" / "kustomization.yaml").write_text("resources: [../a, ../good/pod.yaml]\n")
    result = guarded_scan(root)
    assert GOOD_ROW in result["uses"]
    assert ["good/pod.yaml", 8, "static", "kustomize", "nginx:1.27",
            "docker.io/library/nginx:1.27"] not in result["uses"]  # deduplicated  # fmt: skip
    assert sorted(result["problems"]) == [
        ["a/kustomization.yaml", 1, "kustomizations include each other: b/kustomization.yaml"],
        ["b/kustomization.yaml", 1, "kustomizations include each other: a/kustomization.yaml"],
    ]


def test_a_dockerfile_of_10000_lines(tmp_path: Path) -> None:
    lines = ["# syntax=docker/dockerfile:1", "ARG V=1"]
    for stage in range(100):
        lines.append(f"FROM registry.example/base{stage}:${{V}} AS s{stage}")
        lines.extend(f"RUN echo {stage}-{i}" for i in range(35))
        lines.append(f"COPY --from=s{max(stage - 1, 0)} /a /b")
        lines.append("RUN <<EOF")
        lines.extend(f"FROM not-an-image-{i}" for i in range(30))
        lines.append("EOF")
        lines.append("RUN a \\")
        lines.extend(["  b \\"] * 30)
        lines.append("  c")
    assert len(lines) > 10_000
    root = tree(tmp_path, "Dockerfile", "\n".join(lines) + "\n")
    result = guarded_scan(root)
    assert result["problems"] == []
    dockerfile = [u for u in result["uses"] if u[0] == "Dockerfile"]
    assert len(dockerfile) == 101  # the syntax image and 100 FROMs, no stage, no heredoc line
    assert dockerfile[-1][4] == "registry.example/base99:1"
    assert not any("not-an-image" in str(u[4]) for u in dockerfile)


def test_one_instruction_continued_over_10000_lines(tmp_path: Path) -> None:
    text = "FROM \\\n" + "  \\\n" * 10_000 + "  alpine:3.20 \\\n  AS x\n"
    root = tree(tmp_path, "Dockerfile", text)
    result = guarded_scan(root)
    assert ["Dockerfile", 10_002, "static", "dockerfile", "alpine:3.20",
            "docker.io/library/alpine:3.20"] in result["uses"]  # fmt: skip


def test_an_unterminated_heredoc_ends_with_the_file(tmp_path: Path) -> None:
    root = tree(tmp_path, "Dockerfile", "FROM alpine\nRUN <<EOF\nFROM evil\n")
    result = scan_files(root, helm_binary=None)
    assert [u.text for u in result.uses if u.file == "Dockerfile"] == ["alpine"]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("../outside.yaml", "outside the scanned root: skipped"),
        ("/etc/passwd", "outside the scanned root: skipped"),
        ("missing/deploy.yaml", "no such file"),
    ],
)
def test_given_files_that_cannot_be_read(tmp_path: Path, given: str, reason: str) -> None:
    root = tree(tmp_path, "placeholder.txt", "")
    result = scan_files(root, [given, "good/pod.yaml", "README.md"], helm_binary=None)
    assert [(p.file, p.reason) for p in result.problems] == [(given, reason)]
    assert [u.text for u in result.uses] == ["nginx:1.27"]


def test_a_directory_named_like_a_file_is_not_a_file(tmp_path: Path) -> None:
    root = tree(tmp_path, "Dockerfile/keep.txt", "")
    result = scan_files(root, ["Dockerfile", "good/pod.yaml"], helm_binary=None)
    assert [(p.file, p.reason) for p in result.problems] == [
        ("Dockerfile", "not a regular file: skipped")
    ]


def test_the_git_directory_is_not_scanned(tmp_path: Path) -> None:
    root = tree(tmp_path, ".git/hooks/deploy.yaml", GOOD.replace("nginx:1.27", "git:1"))
    result = scan_files(root, helm_binary=None)
    assert [u.text for u in result.uses] == ["nginx:1.27"]
    assert scan_files(root, [".git/hooks/deploy.yaml"], helm_binary=None).uses == ()


def test_a_kustomization_that_includes_a_big_file_many_times(tmp_path: Path) -> None:
    containers = "".join(f"    - {{name: c{i}, image: app{i}:1}}\n" for i in range(2000))
    root = tree(tmp_path, "k/pods.yaml", "kind: Pod\nspec:\n  containers:\n" + containers)
    entries = "".join(f"  - {{name: app{i}, newTag: '2'}}\n" for i in range(5000))
    resources = "".join("  - pods.yaml\n" for _ in range(200))
    (root / "k" / "kustomization.yaml").write_text(f"resources:\n{resources}images:\n{entries}")
    result = guarded_scan(root, ["k/kustomization.yaml", "good/pod.yaml"])
    assert GOOD_ROW in result["uses"]
    assert result["problems"] == [
        ["k/kustomization.yaml", 52, "more than 100,000 image fields: the rest skipped"]
    ]
    rewritten = {u[4] for u in result["uses"] if u[0] == "k/pods.yaml"}
    assert rewritten == {f"app{i}:2" for i in range(2000)}
