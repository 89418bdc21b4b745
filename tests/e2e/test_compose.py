"""The container deployment: docker-compose.yml, the Dockerfile and the nginx config.

The shape is checked without Docker (always); `docker compose config` validates the file
against the Compose specification where the compose plugin is installed.
"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from concord_common.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
LOAD_BALANCER = "loadbalancer"
CONCORD = (*SERVICE_NAMES, "gateway")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_no_service_has_a_container_name(compose):
    assert "container_name" not in COMPOSE_FILE.read_text()
    for name, service in compose["services"].items():
        assert "container_name" not in service, name


def test_every_concord_component_runs_replicas_of_one_image(compose):
    services = compose["services"]
    images = set()
    for name in CONCORD:
        assert name in services, f"{name} missing from docker-compose.yml"
        service = services[name]
        assert service["deploy"]["replicas"] >= 2, name
        assert service["command"] == ["serve", name], name
        assert service.get("build") == "." or "image" in service, name
        images.add((service.get("build"), service.get("image")))
    assert len(images) == 1, f"Concord components built from different images: {images}"


def test_every_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), name
        assert check["test"][0] != "NONE", name


def test_health_probes_hit_the_right_ports(compose):
    services = compose["services"]
    for name in SERVICE_NAMES:
        env = services[name]["environment"]
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert str(env["OPS_PORT"]) in probe and "/healthz" in probe, name
    gateway = services["gateway"]
    port = gateway["environment"]["GATEWAY_ADDRESS"].rsplit(":", 1)[1]
    assert gateway["environment"]["GATEWAY_ADDRESS"].startswith("0.0.0.0:")
    assert f"127.0.0.1:{port}/healthz" in " ".join(gateway["healthcheck"]["test"])


def test_services_wait_for_a_healthy_broker_and_database(compose):
    services = compose["services"]
    for name in SERVICE_NAMES:
        env = services[name]["environment"]
        assert env["AMQP_URI"] == "amqps://rabbitmq:5671/concord", name      # TLS; its own user (below)
        assert re.match(r"postgresql\+psycopg://postgres(:[^@]*)?@postgres:5432/postgres$", env["DATABASE_URL"]), name
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        # The broker is healthy and its least-privilege users exist before a service connects.
        assert depends["broker-setup"]["condition"] == "service_completed_successfully", name
    assert services["broker-setup"]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert services["gateway"]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"


def test_each_component_mounts_only_its_own_keys_and_broker_password(compose):
    for name in (*SERVICE_NAMES, "gateway"):
        service = compose["services"][name]
        assert "guest" not in service["environment"]["AMQP_URI"], name
        assert service["environment"]["CONCORD_KEYS_DIR"] == "/run/secrets", name
        secrets = set(service["secrets"])
        assert {f"{name}.key", "trusted.pub", f"broker-{name}.password"} <= secrets, name
        assert not {secret for secret in secrets if secret.endswith((".key", ".password"))} - {
            f"{name}.key", f"broker-{name}.password"}, name


def test_only_the_load_balancer_publishes_ports(compose):
    for name, service in compose["services"].items():
        if name == LOAD_BALANCER:
            assert any(str(port).endswith(":80") for port in service["ports"])
        else:
            assert "ports" not in service, f"{name} publishes ports; only {LOAD_BALANCER} should"


def test_load_balancer_proxies_to_every_gateway_replica(compose):
    lb = compose["services"][LOAD_BALANCER]
    mounts = [volume.split(":")[0] for volume in lb["volumes"]]
    assert "./deploy/nginx.conf" in mounts
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"resolver\s+127\.0\.0\.11\b", conf)
    assert "gateway:8080" in conf
    assert re.search(r"proxy_set_header\s+X-Request-Id\s", conf)
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;", conf)
    next_upstream = re.search(r"^\s*proxy_next_upstream\s+([^;]*);", conf, re.M)
    assert next_upstream and next_upstream.group(1).split() == ["error", "timeout"]


def test_dockerfile_runs_concord_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert re.search(r"^USER (?!root\b|0\b)\S+", dockerfile, re.M)
    assert 'ENTRYPOINT ["concord"]' in dockerfile
    assert 'CMD ["serve", "gateway"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".venv", "var", ".git"):
        assert entry in ignored, entry


def _docker_compose_available() -> str | None:
    """None when `docker compose` can run, else why not."""
    if not shutil.which("docker"):
        return "no docker CLI on PATH"
    try:
        version = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker compose version` did not run: {exc}"
    if version.returncode != 0:
        said = (version.stderr or version.stdout).strip().splitlines()
        return f"the docker compose plugin is not installed (`docker compose version`: {said[0] if said else 'failed'})"
    return None


_NO_ENGINE = re.compile(r"cannot connect to the docker daemon|docker daemon is not running|"
                        r"error during connect|permission denied while trying to connect", re.I)


def test_docker_compose_accepts_the_file():
    reason = _docker_compose_available()
    if reason:
        pytest.skip(reason)
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    output = (result.stderr + result.stdout).strip()
    if result.returncode != 0 and _NO_ENGINE.search(output):
        pytest.skip(f"docker compose needs a Docker engine here: {output.splitlines()[0]}")
    assert result.returncode == 0, output
