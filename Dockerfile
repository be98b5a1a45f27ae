# chainrule's image. A build stage makes the wheel (`make wheel`: the UI built with Node and
# packed into it); the runtime is a slim Python that installs only that wheel and the pinned
# runtime dependencies, runs as a user without privileges, and needs no network to start.
#   docker build -t chainrule .  &&  docker run -p 8000:8000 chainrule
# tests/browser/test_wheel.py runs this file's CMD and HEALTHCHECK against the wheel.

FROM python:3.11-slim AS build
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       make nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make wheel PYTHON=python3

FROM python:3.11-slim
COPY backend/requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt
COPY --from=build /src/dist/ /tmp/dist/
RUN pip install --no-cache-dir --disable-pip-version-check --no-deps /tmp/dist/chainrule-*.whl \
    && rm -rf /tmp/dist /tmp/requirements.txt \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin chainrule
USER chainrule
WORKDIR /home/chainrule
ENV HOST=0.0.0.0 PORT=8000 CHAINRULE_WORKERS=2 PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['PORT']}/healthz\", timeout=2)"]
CMD ["chainrule", "serve"]
