# syntax=docker/dockerfile:1
#
# KPI Arena: one binary (`kpi-arena`) plus its site directory (the hydration WASM, JS and CSS).
#
#   docker build -t kpi-arena .
#   docker run -e DATABASE_URL=postgres://user:password@host:5432/kpi_arena -p 3000:3000 kpi-arena
#
# The image has no PostgreSQL: it needs DATABASE_URL (without it `kpi-arena` would try to start
# its embedded cluster, whose server binaries are not in the image). deploy/compose.yaml runs it
# with PostgreSQL, two instances and Caddy in front; deploy/README.md says how.
#
# No HEALTHCHECK (the image has no curl): orchestrators and load balancers probe over HTTP
# themselves: GET /healthz (liveness: 200 "ok" while the process runs) and GET /readyz (readiness:
# 200 when the database answers, migrations are applied and scoring keeps up; 503 otherwise).

# Where the binary and the site come from: `builder`, compiled below (the default), or `prebuilt`,
# a build context holding dist/ (kpi-arena, hash.txt and site/ of `cargo leptos build --release --precompress --split`),
# as scripts/image.sh makes it to build and smoke-test the image without a second compile.
ARG ARTIFACTS=builder

# --- builder -------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# The build's tools, at the versions scripts/setup.sh installs.
ARG CARGO_LEPTOS_VERSION=0.3.11
# Must equal the `wasm-bindgen` that Cargo.toml pins (`=0.2.130`) and Cargo.lock locks: the build
# below fails with a message if they differ.
ARG WASM_BINDGEN_VERSION=0.2.130
# wasm-opt older than 116 (Debian bookworm ships 108) breaks the reference-type tables current
# rustc and wasm-bindgen emit; npm's binaryen is current (a Node.js program: hence nodejs).
ARG BINARYEN_VERSION=132

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# The toolchain rust-toolchain.toml pins, with its components and the wasm32 target (rustup reads
# the file in this directory; older rustup installs it on `rustup show active-toolchain`).
COPY rust-toolchain.toml ./
RUN (rustup toolchain install || rustup show active-toolchain) \
 && rustup target add wasm32-unknown-unknown \
 && rustc --version

# cargo-leptos (slow: about half an hour on 2 cores; cached as its own layer).
RUN cargo install cargo-leptos --version "=${CARGO_LEPTOS_VERSION}" --locked \
 && cargo leptos --version

# wasm-bindgen-cli at exactly the version of the wasm-bindgen crate. (The registry can lag behind
# the CLI's own lockfile: then resolve afresh, as scripts/setup.sh does.)
RUN cargo install wasm-bindgen-cli --version "=${WASM_BINDGEN_VERSION}" --locked \
 || cargo install wasm-bindgen-cli --version "=${WASM_BINDGEN_VERSION}"

RUN npm install --prefix /opt/binaryen --no-audit --no-fund --no-save "binaryen@${BINARYEN_VERSION}"
ENV PATH=/opt/binaryen/node_modules/.bin:$PATH
RUN wasm-bindgen --version && wasm-opt --version

COPY . .

# The registry and target/ are cache mounts (BuildKit): a rebuild after a code change recompiles
# only what changed. Their contents are not in the layer, so the results are copied to /out.
# cargo-leptos writes hash.txt (the hashed file names) beside the binary: the binary reads it from
# its own directory, so it travels with it.
RUN --mount=type=cache,id=kpi-arena-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=kpi-arena-cargo-git,target=/usr/local/cargo/git \
    --mount=type=cache,id=kpi-arena-target,target=/src/target \
    set -eu; \
    locked=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock); \
    if [ "$locked" != "$WASM_BINDGEN_VERSION" ]; then \
      echo "Cargo.lock locks wasm-bindgen $locked but this Dockerfile installs wasm-bindgen-cli $WASM_BINDGEN_VERSION: update WASM_BINDGEN_VERSION" >&2; \
      exit 1; \
    fi; \
    rm -rf target/site; \
    cargo leptos build --release --precompress --split; \
    mkdir -p /out; \
    cp target/release/kpi-arena target/release/hash.txt /out/; \
    cp -r target/site /out/site

# --- prebuilt (ARTIFACTS=prebuilt) ---------------------------------------------------------------
FROM scratch AS prebuilt
COPY dist/ /out/

FROM ${ARTIFACTS} AS artifacts

# --- runtime -------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# postgresql-client (15 on bookworm, like compose's server): `kpi-arena backup` and `restore` run
# pg_dump, pg_restore and psql. A newer server needs the matching client (pg_dump refuses newer).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
      postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kpi-arena \
 && useradd --system --uid 10001 --gid kpi-arena --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin kpi-arena

WORKDIR /app
# /app/kpi-arena and /app/hash.txt side by side (leptos finds hash.txt next to the executable),
# the site under /app/site. Owned by root: the app only reads them.
COPY --from=artifacts /out/kpi-arena /out/hash.txt /app/
COPY --from=artifacts /out/site /app/site

# The binary takes its Leptos settings from the release layout (output name `kpi-arena`, pkg dir
# `pkg`, production mode, hashed names when hash.txt is beside it) and only the site root from
# LEPTOS_SITE_ROOT. Do not set LEPTOS_OUTPUT_NAME: that switches it to leptos's
# get_configuration(), which reads every LEPTOS_* variable and defaults LEPTOS_ENV to DEV and
# LEPTOS_HASH_FILES to false.
ENV PATH=/app:$PATH \
    LEPTOS_SITE_ROOT=/app/site \
    KPI_ARENA_ADDR=0.0.0.0:3000

USER 10001:10001
EXPOSE 3000

# SIGTERM: stops accepting, ends the event streams, lets requests finish for up to 10 s, exits.
# Give it 20 s or more before SIGKILL (compose: stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["kpi-arena"]
CMD ["serve"]
