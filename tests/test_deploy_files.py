"""The fleet files: docker-compose.yml is valid Compose and wires db, api and GPU workers."""

from __future__ import annotations

import os
import shutil
import subprocess

import yaml
from conftest import ROOT, missing_service


def compose_config(**env: str) -> subprocess.CompletedProcess:
    """`docker-compose config` of our file with only the given NETSPACE_* variables set."""
    if shutil.which("docker-compose") is None:
        missing_service("docker-compose (Debian package) is not installed")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NETSPACE_")}
    return subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_compose_file_is_accepted_and_reserves_a_gpu_per_worker():
    out = compose_config(NETSPACE_TOKEN="t0ken")
    assert out.returncode == 0, out.stderr
    cfg = yaml.safe_load(out.stdout)
    assert set(cfg["services"]) == {"db", "api", "worker"}
    worker = cfg["services"]["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert worker["command"][:2] == ["netspace", "worker"]
    assert "postgresql+psycopg://" in worker["environment"]["NETSPACE_DB"]
    api = cfg["services"]["api"]
    assert api["environment"]["NETSPACE_DB"] == worker["environment"]["NETSPACE_DB"]
    assert api["environment"]["NETSPACE_TOKEN"] == "t0ken" and "--insecure" not in api["command"]
    assert "NETSPACE_TOKEN" not in worker["environment"]  # workers talk to the database, never the API


def test_compose_refuses_to_start_the_api_without_a_token():
    """Issue 18, item 3: the API is published on every interface, so no token (or an empty one) is an error
    that says how to set one, not an open API."""
    for env in ({}, {"NETSPACE_TOKEN": ""}):
        out = compose_config(**env)
        assert out.returncode != 0, out.stdout
        assert "set NETSPACE_TOKEN first" in out.stderr and "openssl rand" in out.stderr, out.stderr


def test_dockerfile_copies_every_package_it_installs():
    text = (ROOT / "Dockerfile").read_text()
    for pkg in ("backend", "db", "workers", "frontend"):
        assert f"COPY {pkg} ./{pkg}" in text and (ROOT / pkg).is_dir()
