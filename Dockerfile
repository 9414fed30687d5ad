# One static binary on a minimal base. Build: docker build -t tsunagu .
# Run: docker run --env-file tsunagu.env -p 8080:8080 tsunagu
FROM golang:1.26-bookworm AS build
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
HEALTHCHECK NONE
ENTRYPOINT ["/tsunagu"]
CMD ["serve"]
