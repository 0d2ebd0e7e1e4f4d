# Clinic Content & Leads API: dependencies built in one stage, copied into a slim non-root
# runtime. `docker build -t clinic-api .`, then see the README ("Container") for volumes.

# The base image, pinned by digest so that a rebuild starts from the same bytes: the tag says
# what it is, the digest makes it so. To move on: `docker buildx imagetools inspect
# python:3.11-slim-bookworm` prints the current digest; change tag and digest together, in one
# reviewed commit (or let Renovate/Dependabot propose it).
ARG PYTHON_IMAGE=python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Exact versions with their hashes (requirements.lock); nothing is resolved at build time.
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    CLINIC_DATABASE_URL=sqlite:////app/data/clinic.db
WORKDIR /app
RUN groupadd --system --gid 10001 clinic \
    && useradd --system --uid 10001 --gid clinic --home-dir /app clinic \
    && mkdir -p /app/data && chown clinic:clinic /app/data

COPY --from=build /opt/venv /opt/venv
# The code runs from /app (python -m cli), next to its content and migrations.
COPY api ./api
COPY core ./core
COPY db ./db
COPY schemas ./schemas
COPY services ./services
COPY main.py cli.py ./
COPY content ./content
# The app's own modules compiled at build time: the non-root user cannot write __pycache__ here,
# and pip already compiled the dependencies.
RUN python -m compileall -q api core db schemas services main.py cli.py

# SQLite's file (and its local key file, when CLINIC_DATA_KEY is not given) live here: mount
# a volume on it, or lose them with the container.
VOLUME ["/app/data"]
USER 10001
EXPOSE 8000
# Ready means migrated and able to answer from the database, not just a live process.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"]

CMD ["python", "-m", "cli", "serve", "--host", "0.0.0.0", "--port", "8000"]
