# The CLI and the forecast server (`neuro-divergent serve`) in a small image: compiled in a Rust
# stage, copied into a Debian slim stage that holds only the C library, CA certificates and the
# binary (the build context keeps .git, 3 MB, so that --version names the commit). Build and
# run (see README.md, "Install"):
#   docker build -t neuro-divergent .
#   docker run --rm -v "$PWD/examples:/data" neuro-divergent forecast --data /data/air_passengers.csv --horizon 12 --input-size 24
#   docker run --rm -p 8080:8080 -v nd-store:/store neuro-divergent serve --store sqlite:/store/models.db --bind 0.0.0.0:8080

FROM rust:1.94-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked -p neuro-divergent-cli \
    && install -D target/dist/neuro-divergent /out/neuro-divergent

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home forecaster \
    && mkdir /store && chown forecaster /store
COPY --from=build /out/neuro-divergent /usr/local/bin/neuro-divergent
USER forecaster
WORKDIR /store
EXPOSE 8080
ENTRYPOINT ["neuro-divergent"]
CMD ["--help"]
