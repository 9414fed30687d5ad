# One static binary on a minimal base. Base images are named in full
# (registry/namespace/name:tag) so that no registry default is assumed.
#
#   docker build -t tsunagu --build-arg VERSION=$(git describe --always) .
#   docker run --env-file deploy/tsunagu.env -p 127.0.0.1:8080:8080 tsunagu
#
# A custom flow: mount it and name it (the default flow is built in):
#   docker run --env-file deploy/tsunagu.env -p 127.0.0.1:8080:8080 \
#     -v "$PWD/flow:/etc/tsunagu/flow:ro" -e TSUNAGU_FLOW=/etc/tsunagu/flow tsunagu
# Check it first with the same binary:
#   docker run --rm -v "$PWD/flow:/etc/tsunagu/flow:ro" tsunagu flows lint /etc/tsunagu/flow
FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/tsunagu ./cmd/tsunagu \
 && /out/tsunagu flows lint

FROM gcr.io/distroless/static-debian12:nonroot
# The time zone data the business hours need is embedded with the binary's
# tzdata fallback (see cmd/tsunagu/tz.go), so the base needs none.
COPY --from=build /out/tsunagu /tsunagu
USER nonroot:nonroot
EXPOSE 8080
# `tsunagu health` asks the running service's /readyz (Redis, Slack, the flow;
# docs/operations.md#probes) and exits 0 or 1; distroless has no shell or curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/tsunagu", "health"]
ENTRYPOINT ["/tsunagu"]
CMD ["serve"]
