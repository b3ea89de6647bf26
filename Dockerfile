# faqsearch, CPU image. The GPU image is Dockerfile.cuda.
#   docker build -t faqsearch .
#   docker run -p 8000:8000 -v /path/to/model:/models/model:ro -v faqsearch-data:/data faqsearch
# An e5 model also needs -e FAQSEARCH_MODEL_PREFIX="query: " (mounted here, its folder name no longer says e5).
# The model is mounted, never baked in; FAQSEARCH_API_KEY is given at run time (-e), never here.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- builder: a venv with torch and faqsearch, the same steps as scripts/setup.sh ----------------
FROM ${PYTHON_IMAGE} AS builder
# The version scripts/setup.sh installs. The CPU index has the CPU-only build; PyPI's plain torch
# would pull several GB of CUDA packages this image never uses.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# pip itself is upgraded unpinned, exactly as scripts/setup.sh does (DL3013 asks for a pin).
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --quiet --upgrade pip \
    && pip install --no-cache-dir --quiet "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"
WORKDIR /src
# Only what the package is built from (see [tool.setuptools] in pyproject.toml).
COPY pyproject.toml README.md ./
COPY faqsearch faqsearch
COPY models models
COPY indexing indexing
COPY app app
COPY eval eval
COPY training training
# Not editable: the runtime stage gets the venv alone, without /src.
RUN pip install --no-cache-dir --quiet .

# -- runtime: the venv, a non-root user, nothing else -------------------------------------------
FROM ${PYTHON_IMAGE}
COPY --from=builder /opt/venv /opt/venv
RUN groupadd --gid 10001 faqsearch \
    && useradd --create-home --uid 10001 --gid 10001 faqsearch \
    && mkdir -p /models/model /data \
    && chown faqsearch:faqsearch /data
# Offline at run time: the model comes from the mounted folder, never from a hub.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    FAQSEARCH_MODEL=/models/model \
    FAQSEARCH_DATA_DIR=/data
# /models/model: the encoder folder (mount read-only); /data: FAQ store and index snapshots.
VOLUME ["/models/model", "/data"]
# Numeric, so a runtime that insists on a non-root user (runAsNonRoot) can check it.
USER 10001:10001
WORKDIR /home/faqsearch
EXPOSE 8000
# slim has no curl: Python's urllib does the check (non-zero exit on any error or non-2xx).
# The start period covers loading the model and the index before uvicorn listens.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["faqsearch", "serve", "--host", "0.0.0.0", "--port", "8000"]
