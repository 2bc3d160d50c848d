"""Each scanner's rules on small inputs: Dockerfile, Compose, variables, normal form, YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipsign.errors import InputError
from shipsign.gate.model import RefKind
from shipsign.gate.refs import scan_files
from shipsign.gate.refs.dockerfile import scan_dockerfile
from shipsign.gate.refs.dotenv import parse_dotenv
from shipsign.gate.refs.interpolate import expand
from shipsign.gate.refs.kustomize import split_image
from shipsign.gate.refs.normalize import make_use, normalize
from shipsign.gate.refs.yamlnodes import Map, Scalar, YamlProblem, compose_documents, get

SHA = "sha256:" + "c" * 64


def dockerfile(text: str) -> list[tuple[int, str, str]]:
    uses, problems = scan_dockerfile("Dockerfile", text)
    assert problems == []
    return [(u.line, u.text, u.kind.value) for u in uses]


# normal form


@pytest.mark.parametrize(
    ("text", "image"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("user/app:1", "docker.io/user/app:1"),
        ("docker.io/nginx:1.27", "docker.io/library/nginx:1.27"),
        ("index.docker.io/user/app", "docker.io/user/app:latest"),
        (f"nginx@{SHA}", f"docker.io/library/nginx@{SHA}"),
        (f"ghcr.io/a/b:v1@{SHA}", f"ghcr.io/a/b:v1@{SHA}"),  # the digest is kept
        ("localhost:5000/app", "localhost:5000/app:latest"),
    ],
)
def test_normal_form(text: str, image: str) -> None:
    assert normalize(text) == image


@pytest.mark.parametrize("text", ["Nginx", "app:", "a/b@sha256:short", "UPPER/Case/x", " x"])
def test_an_invalid_reference_is_reported_not_dropped(text: str) -> None:
    with pytest.raises(InputError):
        normalize(text)
    use = make_use(file="f", line=3, text=text, source="kubernetes")
    assert (use.image, use.kind, use.invalid) == (None, RefKind.STATIC, True)
    assert "invalid image reference" in use.note


@pytest.mark.parametrize("text", ["$IMAGE", "a:${TAG}", "${{ inputs.image }}", "{{ .Values.x }}"])
def test_variables_and_expressions_are_dynamic(text: str) -> None:
    use = make_use(file="f", line=1, text=text, source="workflow")
    assert (use.kind, use.image, use.text, use.invalid) == (RefKind.DYNAMIC, None, text, False)


# variables


def test_variable_expansion() -> None:
    known = {"SET": "v", "EMPTY": ""}.get
    assert expand("a:${UNSET:-1}", known) == "a:1"
    assert expand("a:${UNSET-1}", known) == "a:1"
    assert expand("a:${EMPTY:-1}", known) == "a:1"
    assert expand("a:${EMPTY-1}", known) == "a:"
    assert expand("a:${SET:-1}", known) == "a:v"
    assert expand("a:$SET-${SET}", known) == "a:v-v"
    assert expand("${A:-${B:-x}}/y", known) == "x/y"
    assert expand("a:${SET:+alt}", known) == "a:alt"
    assert expand("a:$UNSET", known) is None
    assert expand("a:${UNSET}", known) is None
    assert expand("a:${UNSET:?must be set}", known) is None
    assert expand("a:${SET#v}", known) is None  # a pattern: not resolved here
    assert expand("a:${SET", known) is None
    assert expand("$$x", known, dollar_dollar=True) == "$x"
    assert expand("\\$x", known, escape="\\") == "$x"
    assert expand("${A:-" * 50 + "x" + "}" * 50, known) is None  # nesting is bounded


# Dockerfile


def test_from_forms_and_what_is_skipped() -> None:
    text = """\
ARG REG=ghcr.io/acme
ARG TAG
FROM --platform=linux/amd64 ${REG}/base:${TAG:-1} AS Builder
FROM builder AS second
FROM BUILDER
FROM scratch
FROM SCRATCH
COPY --from=Builder /a /b
COPY --from=1 /a /b
COPY --from=$REG /a /b
RUN --mount=type=bind,from=second,target=/x true
RUN --mount=type=cache,target=/c,from=ghcr.io/acme/cache:1 true
FROM ghcr.io/acme/final:${TAG}
"""
    assert dockerfile(text) == [
        (3, "ghcr.io/acme/base:1", "static"),
        (10, "$REG", "dynamic"),  # a global ARG is not seen in a stage that does not redeclare it
        (12, "ghcr.io/acme/cache:1", "static"),
        (13, "ghcr.io/acme/final:${TAG}", "dynamic"),
    ]


def test_args_in_a_stage_and_env() -> None:
    text = """\
ARG VERSION=3.20
FROM alpine:${VERSION}
ARG VERSION
ENV TOOLS=ghcr.io/acme/tools:${VERSION}
COPY --from=${TOOLS} /bin/t /bin/t
ENV LEGACY ghcr.io/acme/legacy:2
COPY --from=$LEGACY /x /y
"""
    assert dockerfile(text) == [
        (2, "alpine:3.20", "static"),
        (5, "ghcr.io/acme/tools:3.20", "static"),
        (7, "ghcr.io/acme/legacy:2", "static"),
    ]


def test_a_stage_arg_without_redeclaration_is_not_visible() -> None:
    text = "ARG IMG=alpine:3\nFROM busybox\nCOPY --from=$IMG /a /b\n"
    assert dockerfile(text) == [(2, "busybox", "static"), (3, "$IMG", "dynamic")]


def test_directives_only_at_the_top() -> None:
    text = "\n# syntax=docker/dockerfile:1\nFROM alpine\n"
    assert dockerfile(text) == [(3, "alpine", "static")]
    text = "# a comment\n# syntax=docker/dockerfile:1\nFROM alpine\n"
    assert dockerfile(text) == [(3, "alpine", "static")]
    text = "#syntax = docker/dockerfile:1.9\n#escape=`\nFROM `\n alpine\n"
    assert dockerfile(text) == [(1, "docker/dockerfile:1.9", "static"), (4, "alpine", "static")]


def test_continuations_with_comments_and_each_token_on_its_line() -> None:
    text = (
        "FROM \\\n# a comment inside\n\n  alpine:3.20 \\\n  AS base\n"
        "COPY \\\n  --from=nginx:1 \\\n  /a /b\n"
    )
    assert dockerfile(text) == [(4, "alpine:3.20", "static"), (7, "nginx:1", "static")]


def test_heredocs_are_skipped() -> None:
    text = """\
FROM alpine AS a
RUN <<EOF bash
FROM evil:1
EOF
COPY <<"ONE" <<'TWO' /etc/
FROM evil:2
ONE
FROM evil:3
TWO
RUN <<-EOT
\tFROM evil:4
\tEOT
RUN echo $((1<<2)) && cat <<< "FROM here-string"
FROM nginx:1.27
"""
    assert dockerfile(text) == [(1, "alpine", "static"), (14, "nginx:1.27", "static")]


def test_from_without_an_image_is_a_problem() -> None:
    uses, problems = scan_dockerfile("Dockerfile", "FROM --platform=linux/arm64\n")
    assert uses == []
    assert [(p.line, p.reason) for p in problems] == [(1, "FROM without an image")]


@pytest.mark.parametrize(
    "name",
    ["Dockerfile", "Containerfile", "app.Dockerfile", "Dockerfile.prod", "dockerfile"],
)
def test_dockerfile_names(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("FROM alpine:3\n")
    (tmp_path / "Dockerfile.dockerignore").write_text("FROM evil\n")
    result = scan_files(tmp_path, helm_binary=None)
    assert [(u.file, u.text) for u in result.uses] == [(name, "alpine:3")]


# Compose and workflows


def test_compose_services(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        """\
services:
  built:
    build: .
    image: ghcr.io/acme/built:dev
  built-long:
    build:
      context: .
      additional_contexts:
        - base=docker-image://debian:12
        - local=../src
    image: ghcr.io/acme/built-long:dev
  pulled:
    image: ${IMAGE:-ghcr.io/acme/pulled}:${TAG:?set TAG}
  plain:
    image: "mariadb:11"
  empty:
    image:
"""
    )
    result = scan_files(tmp_path, helm_binary=None)
    assert [(u.line, u.text, u.kind.value) for u in result.uses] == [
        (9, "debian:12", "static"),
        (13, "${IMAGE:-ghcr.io/acme/pulled}:${TAG:?set TAG}", "dynamic"),
        (15, "mariadb:11", "static"),
    ]


@pytest.mark.parametrize(
    "name", ["docker-compose.yml", "compose.prod.yaml", "docker-compose.ci.yaml"]
)
def test_compose_names(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("services:\n  a:\n    image: redis:7\n")
    assert [u.source for u in scan_files(tmp_path, helm_binary=None).uses] == ["compose"]


def test_a_composite_action_with_a_docker_step(tmp_path: Path) -> None:
    (tmp_path / "action.yaml").write_text(
        """\
runs:
  using: composite
  steps:
    - uses: docker://alpine:3.20
    - uses: actions/checkout@v4
"""
    )
    result = scan_files(tmp_path, helm_binary=None)
    assert [(u.line, u.text, u.source) for u in result.uses] == [(4, "alpine:3.20", "action")]


def test_a_workflow_outside_github_workflows_is_plain_yaml(tmp_path: Path) -> None:
    text = "jobs:\n  a:\n    container: node:22\n"
    (tmp_path / ".github" / "workflows" / "nested").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(text)
    (tmp_path / ".github" / "workflows" / "nested" / "x.yml").write_text(text)
    result = scan_files(tmp_path, helm_binary=None)
    assert [(u.file, u.text) for u in result.uses] == [(".github/workflows/ci.yml", "node:22")]


# kustomize


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("nginx", ("nginx", "", "")),
        ("nginx:1", ("nginx", "1", "")),
        ("localhost:5000/a", ("localhost:5000/a", "", "")),
        ("localhost:5000/a:t", ("localhost:5000/a", "t", "")),
        (f"a/b:t@{SHA}", ("a/b", "t", SHA)),
        (f"a/b@{SHA}", ("a/b", "", SHA)),
    ],
)
def test_kustomize_splits_names(text: str, parts: tuple[str, str, str]) -> None:
    assert split_image(text) == parts


def test_kustomize_matches_the_name_exactly_entry_by_entry(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        """\
resources: [pod.yaml]
images:
  - name: nginx
    newTag: "1.27"
  - name: ghcr.io/acme/app
    digest: sha256:"""
        + "d" * 64
        + """
  - name: ghcr.io/acme/app
    newName: ghcr.io/acme/renamed
"""
    )
    (tmp_path / "pod.yaml").write_text(
        """\
kind: Pod
spec:
  containers:
    - {name: a, image: docker.io/library/nginx:1.25}
    - {name: b, image: nginx:1.25}
    - {name: c, image: "ghcr.io/acme/app:v1"}
    - {name: d, image: ghcr.io/acme/application:v1}
"""
    )
    result = scan_files(tmp_path, ["kustomization.yaml"], helm_binary=None)
    assert [(u.line, u.text) for u in result.uses] == [
        (4, "docker.io/library/nginx:1.25"),  # kustomize does not normalise before matching
        (5, "nginx:1.27"),
        (6, "ghcr.io/acme/renamed@sha256:" + "d" * 64),  # entries apply one after the other
        (7, "ghcr.io/acme/application:v1"),
    ]


def test_a_missing_resource_reports_unmatched_entries(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n  - gone.yaml\n  - nodir\nimages:\n  - name: app\n    newTag: v2\n"
    )
    (tmp_path / "nodir").mkdir()
    result = scan_files(tmp_path, helm_binary=None)
    assert [(u.line, u.text, u.kind.value) for u in result.uses] == [(5, "app:v2", "heuristic")]
    assert [(p.line, p.reason) for p in result.problems] == [
        (2, "resource gone.yaml not found"),
        (3, "nodir: no kustomization.yaml in this directory"),
    ]


# YAML


def test_each_scalar_has_its_line_and_merge_keys_resolve() -> None:
    text = "---\nbase: &b\n  image: a:1\n  tag: x\nchild:\n  <<: *b\n  tag: y\n---\n---\nz: 1\n"
    for pure_python in (False, True):
        docs = compose_documents(text, pure_python=pure_python)
        assert len(docs) == 2  # the empty document is left out
        image = get(docs[0], "child", "image")
        assert isinstance(image, Scalar)
        assert (image.value, image.line) == ("a:1", 3)
        tag = get(docs[0], "child", "tag")
        assert isinstance(tag, Scalar)
        assert (tag.value, tag.line) == ("y", 7)
        assert isinstance(docs[1], Map)


@pytest.mark.parametrize("pure_python", [False, True])
def test_limits_hold_with_either_parser(pure_python: bool) -> None:
    with pytest.raises(YamlProblem, match="nested deeper than 200"):
        compose_documents("a: " + "[" * 300 + "]" * 300, pure_python=pure_python)
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(7)
    )
    with pytest.raises(YamlProblem, match=r"expands to more than 1,000,000 nodes"):
        compose_documents(bomb, pure_python=pure_python)


def test_null_and_quoted_scalars() -> None:
    [doc] = compose_documents("a: null\nb: 'null'\nc: ~\nd: !!str null\n")
    values = {k: get(doc, k) for k in "abcd"}
    assert [isinstance(v, Scalar) and v.is_null for v in values.values()] == [
        True,
        False,
        True,
        False,
    ]


def test_kustomize_helm_charts_are_named_as_not_rendered(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "helmCharts:\n  - name: redis\n    repo: https://charts.example\n"
        "images:\n  - name: redis\n    newTag: '7'\n"
    )
    result = scan_files(tmp_path, helm_binary=None)
    assert [(u.line, u.text, u.kind.value) for u in result.uses] == [(5, "redis:7", "heuristic")]
    assert [(p.line, p.reason.split(":")[0]) for p in result.problems] == [(2, "helmCharts")]


def test_dotenv_format_as_compose_reads_it() -> None:
    text = """\
# a comment
REGISTRY=ghcr.io/acme
export TAG=1.2.3   # inline comment after whitespace
IMAGE=${REGISTRY}/app:${TAG}
HASH=a#b
QUOTED='${REGISTRY} stays literal'
DOUBLE="${REGISTRY}/db\\"x\\"\\$HOME"
MULTI="first
second"
FROM_ENV=${HOME}/x
DEFAULTED=${MISSING:-docker.io/library/redis}
bare_key_only
"""
    assert parse_dotenv(text) == {
        "REGISTRY": "ghcr.io/acme",
        "TAG": "1.2.3",
        "IMAGE": "ghcr.io/acme/app:1.2.3",
        "HASH": "a#b",
        "QUOTED": "${REGISTRY} stays literal",
        "DOUBLE": 'ghcr.io/acme/db"x"$HOME',
        "MULTI": "first\nsecond",
        "FROM_ENV": None,  # only the environment knows HOME
        "DEFAULTED": "docker.io/library/redis",
    }
    assert parse_dotenv('OPEN="never closed\nNEXT=1\n') == {"OPEN": None}


def test_compose_takes_variables_from_the_dotenv_beside_it(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "compose.yaml").write_text(
        """\
services:
  app:
    image: ${REGISTRY}/app@${DIGEST}
  db:
    image: postgres:${PG:-16}
  cache:
    image: redis:${REDIS_TAG}
"""
    )
    digest = "sha256:" + "ab" * 32
    (tmp_path / "deploy" / ".env").write_text(f"REGISTRY=ghcr.io/acme\nDIGEST={digest}\nPG=17\n")
    (tmp_path / ".env").write_text("REDIS_TAG=7\n")  # another directory's: not this project's
    result = scan_files(tmp_path, helm_binary=None)
    assert [(u.line, u.text, u.kind.value, u.note) for u in result.uses] == [
        (3, f"ghcr.io/acme/app@{digest}", "static", "service app, DIGEST, REGISTRY from .env"),
        (5, "postgres:17", "static", "service db, PG from .env"),
        (
            7,
            "redis:${REDIS_TAG}",
            "dynamic",
            "service cache: a variable that neither a default nor .env sets",
        ),
    ]


def test_a_changed_dotenv_rescans_the_compose_files_beside_it(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "docker-compose.yml").write_text(
        "services:\n  app:\n    image: ghcr.io/acme/app:${TAG}\n"
    )
    (tmp_path / "svc" / ".env").write_text("TAG=2.0.0\n")
    (tmp_path / "other.yaml").write_text("services:\n  x:\n    image: nginx:1\n")
    result = scan_files(tmp_path, ["svc/.env"], helm_binary=None)
    assert [(u.file, u.text) for u in result.uses] == [
        ("svc/docker-compose.yml", "ghcr.io/acme/app:2.0.0")
    ]


def test_an_unreadable_dotenv_is_a_problem_and_the_compose_file_still_scanned(
    tmp_path: Path,
) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: ghcr.io/acme/app:${TAG:-1}\n"
    )
    (tmp_path / ".env").symlink_to("/etc/hostname")  # out of the repository
    result = scan_files(tmp_path, helm_binary=None)
    assert [u.text for u in result.uses] == ["ghcr.io/acme/app:1"]
    assert [p.file for p in result.problems] == [".env"]
