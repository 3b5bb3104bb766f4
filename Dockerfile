# syntax=docker/dockerfile:1
# The relayer service: `relayer serve` on port 8080 as an unprivileged user.
#
#   docker build -t relayer .
#   docker run -p 8080:8080 -v relayer-data:/var/lib/relayer relayer
#
# Configuration comes from RELAYER_* variables or a TOML file mounted at
# /etc/relayer/relayer.toml (pass `serve --config /etc/relayer/relayer.toml`).
# Secrets (API keys file, custody keys, the PostgreSQL URL) come from the
# environment or mounted files, never from the image.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build: dependencies
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# Compilers only for packages without a wheel for this platform, and npm for the
# explorer's chart library; they stay in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config autoconf \
       automake libtool libffi-dev libgmp-dev npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The explorer's front-end libraries: package.json's dependencies (uPlot), from the npm
# registry; the devDependencies (anvil, solc) are for development only.
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund
COPY pyproject.toml constraints.txt README.md ./
COPY relayer ./relayer
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install -c constraints.txt . \
    && /opt/venv/bin/pip uninstall -y relayer

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="relayer" \
      org.opencontainers.image.description="Cross-chain Dutch-auction relayer (Ethereum <-> Cardano)"
RUN groupadd --system --gid 10001 relayer \
    && useradd --system --uid 10001 --gid relayer --home-dir /var/lib/relayer \
       --shell /usr/sbin/nologin relayer \
    && install -d -o relayer -g relayer -m 0750 /var/lib/relayer \
    && install -d -m 0755 /etc/relayer
COPY --from=build /opt/venv /opt/venv
# The source tree as in the repository: the Ethereum monitor reads contracts-abi/ beside it.
WORKDIR /app
COPY relayer ./relayer
COPY contracts-abi ./contracts-abi
# The explorer serves its chart library from node_modules beside the source tree.
COPY --from=build /src/node_modules/uplot/dist ./node_modules/uplot/dist
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RELAYER_SERVER_HOST=0.0.0.0 \
    RELAYER_SERVER_PORT=8080 \
    RELAYER_DATA_DIR=/var/lib/relayer \
    RELAYER_LOG_FORMAT=json
USER 10001:10001
EXPOSE 8080
VOLUME ["/var/lib/relayer"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('RELAYER_SERVER_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health/live', timeout=2).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "relayer"]
CMD ["serve"]
