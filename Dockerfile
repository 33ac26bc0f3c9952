# syntax=docker/dockerfile:1
#
# traefik-zk-sidecar: a static Go binary on an empty base image.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" -t traefik-zk-sidecar .
#   docker run --rm traefik-zk-sidecar version
#
# The final image holds only the binary, CA certificates and a passwd entry
# for the unprivileged user 65532: no shell, no package manager, no curl. So
# the image has no HEALTHCHECK (Docker runs health checks inside the
# container); probe GET /healthz (process up) and GET /readyz (ZooKeeper
# session up) from outside instead, e.g. Kubernetes httpGet probes on port
# 8480. Secrets are never baked in: give --token-file and --key-secret-file
# (mode 0600, readable by uid 65532) at run time, e.g. as compose secrets.

ARG GO_VERSION=1.26

# ---- build -----------------------------------------------------------------
# Runs on the build machine's platform and cross-compiles (pure Go, no cgo).
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src

# Dependencies first, so that source changes keep this layer cached.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS="${TARGETOS}" GOARCH="${TARGETARCH:-$(go env GOARCH)}" \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/traefik-zk-sidecar ./cmd/traefik-zk-sidecar

# The user the final image runs as (no login shell, no home).
RUN mkdir -p /out/etc \
    && echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' > /out/etc/passwd \
    && echo 'nonroot:x:65532:' > /out/etc/group

# ---- final -----------------------------------------------------------------
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="traefik-zk-sidecar" \
      org.opencontainers.image.description="Publishes Zoe executions' web ports behind Traefik v3 through a ZooKeeper ensemble" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/etc/passwd /out/etc/group /etc/
COPY --from=build /out/traefik-zk-sidecar /usr/local/bin/traefik-zk-sidecar

USER 65532:65532
# The HTTP API (--listen, default 0.0.0.0:8480).
EXPOSE 8480
ENTRYPOINT ["/usr/local/bin/traefik-zk-sidecar"]
CMD ["serve"]
