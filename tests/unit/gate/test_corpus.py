"""The scanners on a corpus of real-shaped files: exactly the expected table, nothing more."""

from __future__ import annotations

from pathlib import Path

from shipsign.gate.model import ImageUse, RefKind, ScanResult
from shipsign.gate.refs import scan_files
from unit.gate.expected import EXPECTED_PROBLEMS, EXPECTED_USES, NOT_REPORTED, Row

CORPUS = Path(__file__).parent / "corpus"


def rows(result: ScanResult) -> list[Row]:
    return [(u.file, u.line, u.kind.value, u.source, u.text, u.image) for u in result.uses]


def assert_same(got: list[Row], want: list[Row]) -> None:
    missing = [r for r in want if r not in got]
    extra = [r for r in got if r not in want]
    assert (missing, extra) == ([], []), f"missing: {missing}\nextra: {extra}"
    assert sorted(got, key=repr) == sorted(want, key=repr)  # duplicates count too


def use_at(result: ScanResult, file: str, line: int, text: str) -> ImageUse:
    [use] = [u for u in result.uses if (u.file, u.line, u.text) == (file, line, text)]
    return use


def test_the_corpus_gives_exactly_the_expected_table() -> None:
    result = scan_files(CORPUS, helm_binary=None)
    assert_same(rows(result), EXPECTED_USES)
    assert [(p.file, p.line, p.reason) for p in result.problems] == EXPECTED_PROBLEMS


def test_the_result_is_sorted_by_place() -> None:
    uses = scan_files(CORPUS, helm_binary=None).uses
    assert [(u.file, u.line) for u in uses] == sorted((u.file, u.line) for u in uses)


def test_what_is_not_an_image_pulled_is_never_reported() -> None:
    result = scan_files(CORPUS, helm_binary=None)
    texts = {u.text for u in result.uses}
    images = {u.image for u in result.uses}
    for name in NOT_REPORTED:
        assert name not in texts, name
    assert "docker.io/library/scratch:latest" not in images
    assert not any(u.text.lower() in {"build", "assets", "certs", "tools"} for u in result.uses)


def test_every_file_a_scanner_applies_to_is_counted() -> None:
    result = scan_files(CORPUS, helm_binary=None)
    scanned = [p for p in CORPUS.rglob("*") if p.is_file()]
    assert result.files_scanned == len(scanned)  # every corpus file is of a scanned kind


def test_an_invalid_reference_is_reported_with_the_reason() -> None:
    use = use_at(scan_files(CORPUS, helm_binary=None), "workloads/list.yaml", 26, "Acme/Frontend:2")
    assert use.invalid
    assert use.kind is RefKind.STATIC
    assert "lowercase" in use.note


def test_a_dynamic_reference_is_not_invalid() -> None:
    result = scan_files(CORPUS, helm_binary=None)
    use = use_at(result, "docker/Dockerfile", 20, "$NODE_IMAGE")
    assert (use.kind, use.image, use.invalid) == (RefKind.DYNAMIC, None, False)


def test_transformed_images_name_the_entry_that_rewrote_them() -> None:
    result = scan_files(CORPUS, helm_binary=None)
    use = use_at(result, "k8s/base/deployment.yaml", 23, "ghcr.io/acme/web:1.5.0")
    assert "k8s/overlays/production/kustomization.yaml:10" in use.note
    flux = use_at(result, "k8s/base/deployment.yaml", 23, "ghcr.io/acme/web:1.6.0")
    assert "clusters/production/apps.yaml:15" in flux.note


def test_a_changed_overlay_reads_the_bases_it_names_from_the_root() -> None:
    result = scan_files(CORPUS, ["k8s/overlays/production/kustomization.yaml"], helm_binary=None)
    assert_same(
        rows(result),
        [
            ("k8s/base/deployment.yaml", 19, "static", "kustomize",
             "ghcr.io/acme/web-migrations:1.5.0@sha256:" + "1" * 64,
             "ghcr.io/acme/web-migrations:1.5.0@sha256:" + "1" * 64),
            ("k8s/base/deployment.yaml", 23, "static", "kustomize",
             "ghcr.io/acme/web:1.5.0", "ghcr.io/acme/web:1.5.0"),
            ("k8s/base/deployment.yaml", 27, "static", "kustomize",
             "mirror.acme.example/envoyproxy/envoy:v1.31.2",
             "mirror.acme.example/envoyproxy/envoy:v1.31.2"),
            ("k8s/components/debug/toolbox.yaml", 16, "static", "kustomize",
             "busybox:1.37.0", "docker.io/library/busybox:1.37.0"),
            # a component's images: apply to the overlay's other resources too
            ("k8s/overlays/production/worker.yaml", 17, "static", "kustomize",
             "busybox:1.37.0", "docker.io/library/busybox:1.37.0"),
            # not rewritten, still deployed by the overlay
            ("k8s/overlays/production/worker.yaml", 20, "static", "kustomize",
             "ghcr.io/acme/worker@sha256:" + "2" * 64, "ghcr.io/acme/worker@sha256:" + "2" * 64),
        ],
    )  # fmt: skip
    assert result.problems == ()
    assert result.files_scanned == 1


def test_a_changed_flux_kustomization_builds_its_path() -> None:
    result = scan_files(CORPUS, ["clusters/production/apps.yaml"], helm_binary=None)
    assert [(u.file, u.line, u.text, u.source) for u in result.uses if u.line < 30] == [
        ("k8s/base/deployment.yaml", 23, "ghcr.io/acme/web:1.6.0", "flux-kustomization"),
        (
            "k8s/base/deployment.yaml",
            27,
            "envoyproxy/envoy@sha256:" + "4" * 64,
            "flux-kustomization",
        ),
    ]


def test_a_changed_template_scans_its_chart_once() -> None:
    changed = ["charts/web/templates/deployment.yaml", "charts/web/Chart.yaml"]
    result = scan_files(CORPUS, changed, helm_binary=None)
    want = [r for r in EXPECTED_USES if r[0].startswith("charts/web/")]
    assert_same(rows(result), want)
    assert result.files_scanned == 2


def test_compose_build_output_tag_is_not_reported() -> None:
    """`build:` with `image:` names what the build produces, not an image it pulls."""
    result = scan_files(CORPUS, ["compose/docker-compose.yml"], helm_binary=None)
    assert "ghcr.io/acme/web:dev" not in {u.text for u in result.uses}
    services = {u.note.split(",")[0].split(":")[0] for u in result.uses}
    assert "service builder" not in services
    assert "service web" in services  # only its build context image


def test_helm_on_path_is_not_needed_for_the_heuristic() -> None:
    result = scan_files(CORPUS, ["charts/web/values.yaml"], helm_binary="no-such-helm-binary")
    assert {u.kind for u in result.uses} == {RefKind.HEURISTIC, RefKind.DYNAMIC}
