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
# The image of the build stage. Where no registry is reachable, `make images`
# passes a local one (Debian plus the machine's Go, integration/images/golang).
ARG GO_IMAGE=golang:${GO_VERSION}
# Set by BuildKit; the classic builder needs it declared and passed
# (--build-arg BUILDPLATFORM=linux/amd64, as make images does).
ARG BUILDPLATFORM

# ---- build -----------------------------------------------------------------
# Runs on the build machine's platform and cross-compiles (pure Go, no cgo).
# Plain RUN steps (no cache mounts): the file builds with BuildKit and with
# the classic builder alike; the layer of downloaded modules stays cached
# while go.mod and go.sum do not change.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src

# Dependencies first, so that source changes keep this layer cached.
# GOPROXY: empty means Go's default. GO_MODULES=vendor builds from a vendor/
# directory in the context (go mod vendor) and downloads nothing: make images
# does so, since a build container may not trust the machine's TLS proxy.
COPY go.mod go.sum ./
ARG GOPROXY
ARG GO_MODULES=download
RUN if [ "$GO_MODULES" != vendor ]; then go mod download; fi

COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS="${TARGETOS}" GOARCH="${TARGETARCH:-$(go env GOARCH)}" \
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
