# Build stage: a static, pure-Go binary (modernc.org/sqlite needs no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
# a patched dependency (search/zapx/VANTHU.md), needed to resolve modules
COPY search/zapx/go.mod search/zapx/go.sum search/zapx/
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/vanthu ./cmd/vanthu

# Runtime: Poppler (pdftotext, pdftoppm) and Tesseract with Vietnamese for OCR.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils tesseract-ocr tesseract-ocr-vie ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/vanthu --create-home vanthu
COPY --from=build /out/vanthu /usr/local/bin/vanthu
USER vanthu
ENV VANTHU_DATA=/var/lib/vanthu VANTHU_ADDR=0.0.0.0:8080
EXPOSE 8080
VOLUME /var/lib/vanthu
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/local/bin/vanthu", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/vanthu"]
CMD ["serve"]
