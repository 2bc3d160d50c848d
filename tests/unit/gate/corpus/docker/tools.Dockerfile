# syntax=docker/dockerfile:1.10
# check=error=true

FROM docker.io/library/debian:12-slim@sha256:8888888888888888888888888888888888888888888888888888888888888888 AS base
RUN <<EOF
set -eu
apt-get update
# the next line is part of the heredoc body, not an instruction
FROM not-an-image-heredoc:1
EOF

FROM base AS tools
RUN --mount=type=bind,from=ghcr.io/acme/toolchain:2025.1,source=/opt/tools,target=/mnt/tools \
    --mount=type=cache,target=/var/cache/apt \
    cp -r /mnt/tools /opt/tools
RUN --mount=from=base,source=/etc,target=/mnt/etc ls /mnt/etc
COPY <<-EOT /etc/motd
	FROM not-an-image-heredoc-dash:2
	EOT
COPY --from=tools \
     --chmod=0755 /opt/tools /opt/tools
FROM tools
COPY --link --from=quay.io/acme/scanner:0.4 \
  /bin/scanner /usr/local/bin/scanner
