# The reference app (tests/fixtures/refapp) on Heroku's container stack
# (heroku.yml), built from this repository: the build context is the
# repository root (this file's directory), so the first stage compiles
# Slipway's binaries from the same source as the buildpacks.
#
# heroku.yml cannot list buildpacks, so the image does what they do:
#   - `release-phase` (the release phase and the autoscaler) on PATH, for
#     heroku.yml's `release:` and the `autoscale` process type;
#   - `slipway assets build .`: the same Node build and collectstatic as
#     slipway/static-assets, with node_modules kept out of the image.
# tests/docker.rs runs these steps without Docker and keeps this file true.

FROM rust:1.95-slim-bookworm AS slipway
WORKDIR /src
COPY . .
RUN cargo build --locked --release -p slipway --bin slipway -p release-phase-buildpack --bin release-phase \
 && install -D -t /opt/slipway/bin target/release/slipway target/release/release-phase

FROM python:3.12-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
COPY --from=slipway /opt/slipway/bin/ /usr/local/bin/
WORKDIR /app
COPY tests/fixtures/refapp/requirements.txt requirements.txt
RUN pip install --no-cache-dir -r requirements.txt
COPY tests/fixtures/refapp/ .
RUN slipway assets build .
RUN release-phase check
CMD gunicorn refapp.wsgi --bind 0.0.0.0:$PORT --log-file -
