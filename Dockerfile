# netspace API server and GPU worker image. The same image runs `netspace serve` or `netspace worker`.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# torch comes with the base image (CUDA build); install the rest of netspace on top of it.
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY db ./db
COPY workers ./workers
COPY frontend ./frontend
RUN pip install --no-cache-dir -e .

EXPOSE 8000
# Datasets are mounted read-only at /data (e.g. /data/cifar-10-batches-py, /data/imagenet/{train,val}).
VOLUME ["/data"]
CMD ["netspace", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "0"]
