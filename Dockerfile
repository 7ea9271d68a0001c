# Production image: the portal on PostgreSQL + Redis (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORTAL_VAR_DIR=/var/lib/portal
WORKDIR /app

# The locked versions first (hashes checked), in a layer of their own that a code change keeps.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY portal ./portal
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY tenants ./tenants
# Editable: the portal finds templates/, static/ and migrations/ beside its package.
RUN pip install --no-cache-dir --no-deps -e . \
    && useradd --system --home /var/lib/portal portal \
    && mkdir -p /var/lib/portal && chown portal /var/lib/portal

USER portal
EXPOSE 8000
CMD ["sh", "-c", "portal migrate && portal tenants load tenants && portal serve --host 0.0.0.0 --port 8000"]
