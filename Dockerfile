# Portail OVA application image: gunicorn, non-root, migrations applied on start.
# (Docker does not run on the project's CI machines; this file is kept simple and reviewed by hand.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    OVA_INSTANCE_PATH=/var/lib/ova/instance OVA_PHOTO_DIR=/var/lib/ova/photos
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/ova ova

WORKDIR /app
# The whole source tree (see .dockerignore): templates/, migrations/ and geodata/ live beside the
# packages, so the project is installed in place (editable) rather than copied to site-packages.
COPY . .
RUN pip install -e .[pii] && pybabel compile -d portal/translations

USER ova
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
# Settings in gunicorn.conf.py (GUNICORN_WORKERS, GUNICORN_THREADS… override them).
CMD ["sh", "-c", "ova db upgrade && exec gunicorn -c /app/gunicorn.conf.py 'portal:create_app()'"]
