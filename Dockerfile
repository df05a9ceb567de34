# syntax=docker/dockerfile:1
# The production image: a wheel (with every dependency's wheel) built in one stage,
# installed into a slim runtime with no build tools, run as a non-root user.
# Not exercised by CI (no Docker engine there): see "Deployment" in README.md.

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    ENVIRONMENT=production \
    UPLOAD_DIR=/app/uploads \
    MAIL_DIR=/app/mail
RUN groupadd --system --gid 10001 conduit \
 && useradd --system --uid 10001 --gid conduit --home-dir /app --shell /usr/sbin/nologin conduit
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels conduit
WORKDIR /app
RUN mkdir -p /app/uploads /app/mail && chown -R conduit:conduit /app
USER conduit
EXPOSE 8000
# python's urllib, as the slim image has no curl; any answer but 2xx fails the check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# `conduit serve` applies pending migrations, then starts uvicorn.
CMD ["conduit", "serve", "--host", "0.0.0.0", "--workers", "2"]
