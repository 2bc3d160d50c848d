"""Helm charts rendered by a real `helm template`: the pinned helm peer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipsign.gate.refs import scan_files
from stack.peers import HELM_VERSION, peer_binary
from unit.gate.test_corpus import CORPUS, rows


@pytest.fixture(scope="module")
def helm() -> str:
    """The pinned helm peer (install.sh --peers builds it); missing, the test fails."""
    return str(peer_binary("helm", HELM_VERSION))


def test_a_local_chart_is_rendered_and_attributed_to_its_templates(helm: str) -> None:
    result = scan_files(CORPUS, ["charts/web/values.yaml"], helm_binary=helm)
    deployment = "charts/web/templates/deployment.yaml"
    # deployment.yaml renders four images from three `image:` lines (toYaml adds one): line 0
    assert sorted(rows(result), key=repr) == sorted(
        [
            (deployment, 0, "static", "helm", "busybox:1.36", "docker.io/library/busybox:1.36"),
            (deployment, 0, "static", "helm",
             "ghcr.io/acme/log-forwarder@sha256:" + "7" * 64,
             "ghcr.io/acme/log-forwarder@sha256:" + "7" * 64),
            (deployment, 0, "static", "helm", "ghcr.io/acme/web:1.4.0", "ghcr.io/acme/web:1.4.0"),
            (deployment, 0, "static", "helm", "ghcr.io/acme/web:1.4.1", "ghcr.io/acme/web:1.4.1"),
            (deployment, 0, "static", "helm",
             "prom/statsd-exporter:v0.27.1", "docker.io/prom/statsd-exporter:v0.27.1"),
            (deployment, 0, "dynamic", "helm",
             "prom/statsd-exporter:{{ .Chart.AppVersion }}", None),
            ("charts/web/templates/hook-migrate.yaml", 13, "static", "helm",
             "bitnami/kubectl:1.31", "docker.io/bitnami/kubectl:1.31"),
        ],
        key=repr,
    )  # fmt: skip
    assert result.problems == ()
    notes = {u.text: u.note for u in result.uses}
    assert notes["ghcr.io/acme/web:1.4.1"].endswith("helm template -f values-production.yaml")


def test_a_template_line_is_found_when_the_counts_agree(tmp_path: Path, helm: str) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: one\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("tag: 1.2.3\n")
    (chart / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
        '    - name: a\n      image: "ghcr.io/acme/one:{{ .Values.tag }}"\n'
    )
    result = scan_files(tmp_path, ["chart/templates/pod.yaml"], helm_binary=helm)
    assert [(u.where, u.text) for u in result.uses] == [
        ("chart/templates/pod.yaml:8", "ghcr.io/acme/one:1.2.3")
    ]


def test_a_chart_helm_cannot_render_falls_back_to_the_values(tmp_path: Path, helm: str) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: app\nversion: 1.0.0\nappVersion: 2.0.0\ndependencies:\n"
        "  - name: redis\n    version: 20.x\n    repository: oci://registry-1.docker.io/bitnamicharts\n"
    )
    (chart / "values.yaml").write_text("image:\n  repository: ghcr.io/acme/app\n")
    result = scan_files(tmp_path, ["chart/values.yaml"], helm_binary=helm)
    assert [(u.where, u.text, u.kind.value) for u in result.uses] == [
        ("chart/values.yaml:2", "ghcr.io/acme/app:2.0.0", "heuristic")
    ]
    [problem] = result.problems
    assert problem.file == "chart/Chart.yaml"
    assert problem.reason.startswith("helm template failed (")
    assert "missing in charts/ directory" in problem.reason  # no download was attempted
    assert problem.reason.endswith("; the values convention was used")


def test_a_missing_helm_binary_means_the_values_convention(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("image: ghcr.io/acme/app:1\n")
    for helm in (None, str(tmp_path / "no-helm-here")):
        result = scan_files(tmp_path, helm_binary=helm)
        assert [(u.where, u.kind.value) for u in result.uses] == [
            ("chart/values.yaml:1", "heuristic")
        ]
        assert result.problems == ()


def test_a_chart_with_a_link_out_of_the_root_is_not_rendered(tmp_path: Path, helm: str) -> None:
    root = tmp_path / "repo"
    chart = root / "chart"
    (chart / "templates").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("image: evil:1\n")
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("image: ghcr.io/acme/app:1\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
        'data:\n  leak: {{ .Files.Get "leak.txt" | quote }}\n'
    )
    os.symlink(tmp_path / "secret.txt", chart / "leak.txt")
    result = scan_files(root, ["chart/values.yaml"], helm_binary=helm)
    assert [(u.where, u.text, u.kind.value) for u in result.uses] == [
        ("chart/values.yaml:1", "ghcr.io/acme/app:1", "heuristic")
    ]
    assert [(p.file, p.reason) for p in result.problems] == [
        (
            "chart/Chart.yaml",
            "chart/leak.txt links outside the scanned root: not rendered by helm; "
            "the values convention was used",
        )
    ]
