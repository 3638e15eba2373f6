# Madoguchi web image; the same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# gettext compiles the message catalogues (locale/) at build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself (PYTHONPATH=/app keeps /app, with templates/, static/ and locale/ beside
# the package, ahead of the installed copy).
COPY . .
RUN pip install --no-deps . && rm -rf build *.egg-info

# Static files (served by WhiteNoise) and compiled catalogues are built into the image. The
# DATABASE_URL and REDIS_URL here are dummies: they only keep the settings from starting the
# embedded PostgreSQL or creating the filesystem broker's folders; nothing connects to them.
RUN SECRET_KEY=build-only-not-secret \
    DATABASE_URL=postgres://x@localhost/x \
    REDIS_URL=redis://localhost:6379/0 \
    sh -c 'python manage.py collectstatic --noinput \
        && if find locale -name "*.po" | grep -q .; then python manage.py compilemessages; fi'

RUN useradd --create-home --uid 1000 madoguchi \
    && mkdir -p /app/media \
    && chown madoguchi:madoguchi /app/media
USER madoguchi

EXPOSE 8000

# /healthz checks the database and the broker. The request names an allowed host and says it
# came over HTTPS, so neither ALLOWED_HOSTS nor SECURE_SSL_REDIRECT turns it away.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request as r; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('*.') or 'localhost'; r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': host, 'X-Forwarded-Proto': 'https'}), timeout=8)"

# uvicorn reads WEB_CONCURRENCY for its number of worker processes. Each serves one page at a
# time (helpdesk/serving.py): set it to one or two per core of the container.
ENV WEB_CONCURRENCY=3
CMD ["uvicorn", "helpdesk.asgi:application", "--host", "0.0.0.0", "--port", "8000"]
