"""What the scanners must find in `corpus/`, exactly: every row, and nothing else.

A row is (file, line, kind, source, text, normalised image or None). Scanned without helm
(`helm_binary=None`): the chart is read by the values convention. NOT_REPORTED lists texts that
appear in the corpus and must never be reported (stage names, `scratch`, `--from=0`, a build's
output tag, heredoc bodies, a local action's Dockerfile, non-workload YAML).
"""

from __future__ import annotations


def _sha(digit: str) -> str:
    return "sha256:" + digit * 64


D1, D2, D3, D4, D5, D6, D7, D8, D9 = (_sha(str(n)) for n in range(1, 10))
DAB = _sha("ab")[: len("sha256:") + 64]

Row = tuple[str, int, str, str, str, "str | None"]

EXPECTED_USES: list[Row] = [
    # GitHub: a Docker container action; job container, service containers, docker:// steps
    (".github/actions/scan/action.yml", 9, "static", "action",
     "ghcr.io/acme/scanner-action:1.8.0", "ghcr.io/acme/scanner-action:1.8.0"),
    (".github/workflows/ci.yml", 11, "static", "workflow",
     "node:22-bookworm", "docker.io/library/node:22-bookworm"),
    (".github/workflows/ci.yml", 14, "static", "workflow",
     "postgres:16", "docker.io/library/postgres:16"),
    (".github/workflows/ci.yml", 18, "dynamic", "workflow",
     "${{ matrix.redis-image }}", None),
    (".github/workflows/ci.yml", 25, "static", "workflow",
     "koalaman/shellcheck:v0.10.0", "docker.io/koalaman/shellcheck:v0.10.0"),
    (".github/workflows/ci.yml", 32, "dynamic", "workflow",
     "ghcr.io/acme/ci-runner:${{ github.sha }}", None),
    (".github/workflows/ci.yml", 37, "static", "workflow",
     f"ghcr.io/acme/e2e@{DAB}", f"ghcr.io/acme/e2e@{DAB}"),
    # Flux HelmRelease: values by the convention; a tag-only override; a post-renderer entry
    ("apps/base/podinfo/release.yaml", 18, "heuristic", "flux-helmrelease",
     "ghcr.io/stefanprodan/podinfo:6.7.1", "ghcr.io/stefanprodan/podinfo:6.7.1"),
    ("apps/base/podinfo/release.yaml", 24, "heuristic", "flux-helmrelease",
     "docker.io/library/redis:7.4.1-alpine", "docker.io/library/redis:7.4.1-alpine"),
    ("apps/base/podinfo/release.yaml", 27, "heuristic", "flux-helmrelease",
     "fluent/fluent-bit:3.1.9", "docker.io/fluent/fluent-bit:3.1.9"),
    ("apps/base/podinfo/release.yaml", 30, "dynamic", "flux-helmrelease",
     "(chart default):2024.10.1", None),
    ("apps/base/podinfo/release.yaml", 34, "heuristic", "flux-helmrelease",
     f"ghcr.io/stefanprodan/podinfo@{D3}", f"ghcr.io/stefanprodan/podinfo@{D3}"),
    ("apps/production/podinfo-values.yaml", 9, "dynamic", "flux-helmrelease",
     "(chart default):6.7.2", None),
    # Helm chart without helm: a literal image in a template, values.yaml and an override
    ("charts/web/templates/hook-migrate.yaml", 13, "heuristic", "helm",
     "bitnami/kubectl:1.31", "docker.io/bitnami/kubectl:1.31"),
    ("charts/web/values-production.yaml", 2, "heuristic", "helm",
     "ghcr.io/acme/web:1.4.1", "ghcr.io/acme/web:1.4.1"),
    ("charts/web/values-production.yaml", 5, "dynamic", "helm",
     "prom/statsd-exporter:{{ .Chart.AppVersion }}", None),
    ("charts/web/values.yaml", 9, "heuristic", "helm",  # empty tag: appVersion
     "ghcr.io/acme/web:1.4.0", "ghcr.io/acme/web:1.4.0"),
    ("charts/web/values.yaml", 18, "heuristic", "helm",  # the digest wins over the tag
     f"ghcr.io/acme/log-forwarder@{D7}", f"ghcr.io/acme/log-forwarder@{D7}"),
    ("charts/web/values.yaml", 23, "heuristic", "helm",
     "prom/statsd-exporter:v0.27.1", "docker.io/prom/statsd-exporter:v0.27.1"),
    ("charts/web/values.yaml", 27, "heuristic", "helm",
     "busybox:1.36", "docker.io/library/busybox:1.36"),
    # Flux Kustomization whose source is not this repository: its images: entries alone
    ("clusters/production/apps.yaml", 33, "heuristic", "flux-kustomization",
     "quay.io/prometheus/prometheus:v2.55.0", "quay.io/prometheus/prometheus:v2.55.0"),
    ("clusters/production/apps.yaml", 36, "dynamic", "flux-kustomization",
     "grafana/grafana", None),
    # Flux OCIRepository: digest, semver (dynamic), tag, nothing (latest)
    ("clusters/production/sources.yaml", 10, "static", "flux-ocirepository",
     f"ghcr.io/acme/manifests/monitoring@{D5}", f"ghcr.io/acme/manifests/monitoring@{D5}"),
    ("clusters/production/sources.yaml", 21, "dynamic", "flux-ocirepository",
     "ghcr.io/stefanprodan/charts/podinfo (semver >=6.7.0 <7.0.0)", None),
    ("clusters/production/sources.yaml", 32, "static", "flux-ocirepository",
     "registry.acme.example:5000/platform/policies:v3.2.0",
     "registry.acme.example:5000/platform/policies:v3.2.0"),
    ("clusters/production/sources.yaml", 41, "static", "flux-ocirepository",
     "ghcr.io/acme/dashboards:latest", "ghcr.io/acme/dashboards:latest"),
    # Compose: defaults of ${VAR:-x} and ${VAR-x} applied, merge keys followed, $VAR dynamic
    ("compose/docker-compose.yml", 3, "static", "compose",
     "ghcr.io/acme/sidecar:0.9.0", "ghcr.io/acme/sidecar:0.9.0"),
    ("compose/docker-compose.yml", 11, "static", "compose",
     "alpine:3.20", "docker.io/library/alpine:3.20"),
    ("compose/docker-compose.yml", 14, "static", "compose",
     "postgres:16-alpine", "docker.io/library/postgres:16-alpine"),
    ("compose/docker-compose.yml", 16, "static", "compose",
     f"redis:7.4@{D9}", f"docker.io/library/redis:7.4@{D9}"),
    ("compose/docker-compose.yml", 18, "dynamic", "compose", "${QUEUE_IMAGE}", None),
    ("compose/docker-compose.yml", 20, "dynamic", "compose", "$PROXY_IMAGE", None),
    ("compose/docker-compose.yml", 25, "static", "compose",
     "docker.io/acme/worker:1.2.3", "docker.io/acme/worker:1.2.3"),
    # Dockerfiles: `# escape=`, ARG defaults, --platform, COPY --from and RUN --mount images
    ("docker/Containerfile", 3, "static", "dockerfile",
     "mcr.microsoft.com/windows/servercore:ltsc2022",
     "mcr.microsoft.com/windows/servercore:ltsc2022"),
    ("docker/Containerfile", 8, "static", "dockerfile",
     "mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022",
     "mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022"),
    ("docker/Dockerfile", 6, "static", "dockerfile",
     "golang:1.23-bookworm", "docker.io/library/golang:1.23-bookworm"),
    ("docker/Dockerfile", 15, "static", "dockerfile",
     "node:22-alpine", "docker.io/library/node:22-alpine"),
    ("docker/Dockerfile", 20, "dynamic", "dockerfile", "$NODE_IMAGE", None),
    ("docker/Dockerfile", 26, "static", "dockerfile",
     "alpine:3.20", "docker.io/library/alpine:3.20"),
    ("docker/Dockerfile", 28, "static", "dockerfile",
     "gcr.io/distroless/static-debian12:nonroot", "gcr.io/distroless/static-debian12:nonroot"),
    ("docker/tools.Dockerfile", 1, "static", "dockerfile",
     "docker/dockerfile:1.10", "docker.io/docker/dockerfile:1.10"),
    ("docker/tools.Dockerfile", 4, "static", "dockerfile",
     f"docker.io/library/debian:12-slim@{D8}", f"docker.io/library/debian:12-slim@{D8}"),
    ("docker/tools.Dockerfile", 13, "static", "dockerfile",
     "ghcr.io/acme/toolchain:2025.1", "ghcr.io/acme/toolchain:2025.1"),
    ("docker/tools.Dockerfile", 23, "static", "dockerfile",
     "quay.io/acme/scanner:0.4", "quay.io/acme/scanner:0.4"),
    # Kustomize: the base as written, and as each overlay / Flux Kustomization rewrites it
    ("k8s/base/deployment.yaml", 19, "static", "kubernetes",
     "ghcr.io/acme/web-migrations:1.4.0", "ghcr.io/acme/web-migrations:1.4.0"),
    ("k8s/base/deployment.yaml", 19, "static", "kustomize",  # newTag and digest: both kept
     f"ghcr.io/acme/web-migrations:1.5.0@{D1}", f"ghcr.io/acme/web-migrations:1.5.0@{D1}"),
    ("k8s/base/deployment.yaml", 23, "static", "kubernetes",
     "ghcr.io/acme/web:1.4.0", "ghcr.io/acme/web:1.4.0"),
    ("k8s/base/deployment.yaml", 23, "static", "kustomize",
     "ghcr.io/acme/web:1.5.0", "ghcr.io/acme/web:1.5.0"),
    ("k8s/base/deployment.yaml", 23, "static", "kustomize",
     "ghcr.io/acme/web:1.5.0-rc.1", "ghcr.io/acme/web:1.5.0-rc.1"),
    ("k8s/base/deployment.yaml", 23, "static", "flux-kustomization",
     "ghcr.io/acme/web:1.6.0", "ghcr.io/acme/web:1.6.0"),
    ("k8s/base/deployment.yaml", 27, "static", "kubernetes",
     "envoyproxy/envoy:v1.31.2", "docker.io/envoyproxy/envoy:v1.31.2"),
    ("k8s/base/deployment.yaml", 27, "static", "flux-kustomization",  # digest replaces the tag
     f"envoyproxy/envoy@{D4}", f"docker.io/envoyproxy/envoy@{D4}"),
    ("k8s/base/deployment.yaml", 27, "static", "kustomize",
     "mirror.acme.example/envoyproxy/envoy:v1.31.2",
     "mirror.acme.example/envoyproxy/envoy:v1.31.2"),
    ("k8s/components/debug/toolbox.yaml", 16, "static", "kubernetes",
     "busybox", "docker.io/library/busybox:latest"),
    ("k8s/components/debug/toolbox.yaml", 16, "static", "kustomize",
     "busybox:1.37.0", "docker.io/library/busybox:1.37.0"),
    ("k8s/overlays/production/worker.yaml", 17, "static", "kubernetes",
     "busybox:1.36", "docker.io/library/busybox:1.36"),
    ("k8s/overlays/production/worker.yaml", 17, "static", "kustomize",  # by the component
     "busybox:1.37.0", "docker.io/library/busybox:1.37.0"),
    ("k8s/overlays/production/worker.yaml", 20, "static", "kubernetes",
     f"ghcr.io/acme/worker@{D2}", f"ghcr.io/acme/worker@{D2}"),
    # the staging overlay names a remote base: its unmatched entries are reported on their own
    ("k8s/overlays/staging/kustomization.yaml", 9, "heuristic", "kustomize",
     "ghcr.io/acme/memcached:1.6.32", "ghcr.io/acme/memcached:1.6.32"),
    ("k8s/overlays/staging/kustomization.yaml", 12, "dynamic", "kustomize",
     "ghcr.io/acme/cache-warmer", None),
    # Kubernetes objects: CronJob, List (ReplicaSet, ReplicationController, Job), Pod with an
    # ephemeral container and an image volume, a second document, an Argo Rollout
    ("workloads/cronjob.yaml", 15, "static", "kubernetes",
     "curlimages/curl:8.10.1", "docker.io/curlimages/curl:8.10.1"),
    ("workloads/cronjob.yaml", 18, "dynamic", "kubernetes",
     "${REGISTRY}/reports:${REPORT_TAG:=1.0.0}", None),
    ("workloads/list.yaml", 16, "static", "kubernetes",
     "quay.io/acme/legacy-api:0.9", "quay.io/acme/legacy-api:0.9"),
    ("workloads/list.yaml", 26, "static", "kubernetes", "Acme/Frontend:2", None),  # invalid
    ("workloads/list.yaml", 36, "static", "kubernetes",
     f"postgres:17@{D6}", f"docker.io/library/postgres:17@{D6}"),
    ("workloads/pod-image-volume.yaml", 8, "static", "kubernetes",
     "ghcr.io/acme/model-server:2.0.0", "ghcr.io/acme/model-server:2.0.0"),
    ("workloads/pod-image-volume.yaml", 14, "static", "kubernetes",
     "nicolaka/netshoot", "docker.io/nicolaka/netshoot:latest"),
    ("workloads/pod-image-volume.yaml", 18, "static", "kubernetes",
     "ghcr.io/acme/model-weights:2024-10", "ghcr.io/acme/model-weights:2024-10"),
    ("workloads/pod-image-volume.yaml", 37, "static", "kubernetes",
     "ghcr.io/acme/node-agent:v0.3.0", "ghcr.io/acme/node-agent:v0.3.0"),
    ("workloads/rollout.yaml", 22, "static", "kubernetes",
     "registry.acme.example/shop/checkout:3.2.1", "registry.acme.example/shop/checkout:3.2.1"),
]  # fmt: skip

EXPECTED_PROBLEMS: list[tuple[str, int, str]] = [
    ("k8s/overlays/staging/kustomization.yaml", 5,
     "remote resource https://github.com/acme/common-manifests//cache?ref=v2.1.0: not fetched "
     "(the gate reads only the repository)"),
]  # fmt: skip

# Written in the corpus, never an image the change pulls: each must appear in no reported text.
NOT_REPORTED = [
    "scratch",  # docker/Dockerfile: FROM scratch AS certs
    "build",  # stage names used in FROM and COPY --from
    "assets",
    "certs",
    "tools",
    "base",
    "win",
    "0",  # COPY --from=0
    "ghcr.io/acme/web:dev",  # compose: build: + image: names the build's output
    "not-an-image-heredoc:1",  # heredoc bodies
    "not-an-image-heredoc-dash:2",
    "not-an-image-crd:1",  # a CustomResourceDefinition's schema
    "not-an-image-configmap:1",  # data in a ConfigMap
    "not-an-image-settings:1",  # YAML that is no Kubernetes object
    "Dockerfile",  # action.yml `image: Dockerfile`: a local build
    "redis:7.4",  # a kustomize images: entry that matches nothing in a complete build
    "redis",
    "ghcr.io/stefanprodan/charts",  # a HelmRepository's URL is not an image
    "",  # an empty container image (GitHub runs no container)
]
