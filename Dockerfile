# Clinic Content & Leads API: slim Python, non-root, migrations and content import on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLINIC_DATABASE_URL=sqlite:////app/data/clinic.db

WORKDIR /app
RUN groupadd --system --gid 10001 clinic && useradd --system --uid 10001 --gid clinic --home-dir /app clinic

COPY requirements.lock ./
# The pinned, hash-checked dependencies first: this layer is rebuilt only when the lock changes.
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY api ./api
COPY core ./core
COPY db ./db
COPY schemas ./schemas
COPY services ./services
COPY main.py cli.py ./
RUN pip install --no-cache-dir --no-deps . && mkdir -p /app/data && chown clinic:clinic /app/data

COPY content ./content

USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]

CMD ["python", "-m", "cli", "serve", "--host", "0.0.0.0", "--port", "8000"]
