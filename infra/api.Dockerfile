# One image for the API, the migration job and every worker (infra/compose.yaml picks the
# command). Build from the repository root:
#   docker build -f infra/api.Dockerfile -t effi-core .

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# CPU wheels from PyTorch's own index: the PyPI wheels carry CUDA and weigh ~5 GB more.
# pip then sees torch==2.14.1 as satisfied by 2.14.1+cpu and does not fetch it again.
RUN pip install --index-url https://download.pytorch.org/whl/cpu \
        torch==2.14.1 torchvision==0.29.1

WORKDIR /app
COPY pyproject.toml README.md* ./
COPY api ./api
COPY workers ./workers
COPY contracts ./contracts
RUN pip install .


FROM python:3.11-slim

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin effi
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENV=production \
    LOG_FORMAT=json

WORKDIR /app
COPY alembic.ini ./
COPY api ./api
COPY workers ./workers
COPY contracts ./contracts
COPY weights ./weights

USER effi
EXPOSE 8000
CMD ["uvicorn", "api.main:app", "--host=0.0.0.0", "--port=8000", "--proxy-headers", \
     "--forwarded-allow-ips=*"]
