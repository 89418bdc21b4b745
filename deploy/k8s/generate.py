"""Writes deploy/k8s/base/*.yaml: the Kubernetes manifests of every Concord component, from one table.

Five services and the gateway run the same image and differ only in a few values; writing six near-identical
Deployments by hand invites drift (a probe or a limit forgotten on one). This script is the source; the YAML it
writes is committed so that `kubectl apply -k` and reviewers see plain manifests. tests/unit/test_k8s.py fails
when the committed files differ from what this script writes.

    .venv/bin/python deploy/k8s/generate.py        # after changing this file
"""
import sys
from pathlib import Path

import yaml

BASE = Path(__file__).parent / "base"
IMAGE = "concord"                 # overlays set the registry and tag (kustomize `images:`)
NAMESPACE_INGRESS = "ingress-nginx"
NAMESPACE_MONITORING = "monitoring"
NAMESPACE_KEDA = "keda"
PG_CLUSTER = "concord-pg"         # CloudNativePG Cluster: services reach its primary at concord-pg-rw
BROKER = "concord-rabbitmq"       # RabbitmqCluster: the operator names its Service after it
VHOST = "concord"
OPS_PORT = 9100

# The services work off RabbitMQ queues, so KEDA scales them on their queue depth: the RPC queue for the
# request/answer services, their event queues for the consumers (anchored: not their retry and dead-letter
# queues, whose messages wait on purpose). Requests and the replica ceiling per service.
SERVICES = {
    "profiles": {"queues": "rpc-profiles", "cpu": "250m", "memory": "384Mi", "max": 10},
    "cases": {"queues": "rpc-cases", "cpu": "250m", "memory": "384Mi", "max": 10},
    "permissions": {"queues": "rpc-permissions", "cpu": "250m", "memory": "384Mi", "max": 10},
    "audit": {"queues": r"^evt-.*--audit\.[a-z_0-9]+$", "cpu": "250m", "memory": "384Mi", "max": 6},
    "notifications": {"queues": r"^evt-.*--notifications\.[a-z_0-9]+$", "cpu": "100m", "memory": "256Mi",
                      "max": 4},
}
COMPONENTS = (*SERVICES, "gateway")


def labels(component: str) -> dict:
    return {"app.kubernetes.io/name": f"concord-{component}",
            "app.kubernetes.io/component": "gateway" if component == "gateway" else "service"}


def common_env(component: str) -> list[dict]:
    """What every component reads: the broker (its own user: the password file in CONCORD_KEYS_DIR, which
    concord_common.broker.component_uri adds to the URI), the broker's CA, its keys, its ops port."""
    return [
        {"name": "AMQP_URI", "value": f"amqps://{BROKER}:5671/{VHOST}"},
        {"name": "SSL_CERT_FILE", "value": "/run/secrets/concord/ca.crt"},
        {"name": "CONCORD_KEYS_DIR", "value": "/run/secrets/concord"},
        {"name": "OPS_PORT", "value": str(OPS_PORT)},
        {"name": "OPS_HOST", "value": "hostname"},       # the pod's own address: kubelet and Prometheus reach it
    ]


def service_env(component: str) -> list[dict]:
    """A service's database: its own role and password (the CloudNativePG managed role), on the primary."""
    return [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"concord-db-{component}",
                                                               "key": "password"}}},
        {"name": "DATABASE_URL",
         "value": f"postgresql+psycopg://concord_{component}:$(DB_PASSWORD)@{PG_CLUSTER}-rw:5432/postgres"},
        {"name": "DATABASE_PREFIX", "value": "concord"},
    ]


def keys_volume(component: str) -> dict:
    """Only this component's private key and broker password, everyone's public keys, the broker's CA."""
    return {"name": "concord-secrets", "projected": {"defaultMode": 0o440, "sources": [
        {"secret": {"name": f"concord-{component}-keys"}},
        {"secret": {"name": "concord-trusted-keys"}},
        {"secret": {"name": "concord-rabbitmq-tls", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    ]}}


def probe(path: str, port, period: int, failures: int) -> dict:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "timeoutSeconds": 3,
            "failureThreshold": failures}


def container(component: str) -> dict:
    spec = SERVICES.get(component, {"cpu": "250m", "memory": "256Mi"})
    is_gateway = component == "gateway"
    env = common_env(component) + ([] if is_gateway else service_env(component))
    if is_gateway:
        env += [{"name": "GATEWAY_ADDRESS", "value": "0.0.0.0:8080"},
                {"name": "TRUSTED_PROXIES", "valueFrom": {"configMapKeyRef": {
                    "name": "concord-settings", "key": "TRUSTED_PROXIES"}}}]
    if component == "notifications":      # e-mail (docs/notifications.md): the relay's URL holds its password
        env += [{"name": "SMTP_URL", "valueFrom": {"secretKeyRef": {"name": "concord-smtp", "key": "url",
                                                                    "optional": True}}},
                {"name": "PUBLIC_URL", "valueFrom": {"configMapKeyRef": {"name": "concord-settings",
                                                                         "key": "PUBLIC_URL"}}}]
    if component == "audit":
        env += [{"name": "AUDIT_SIGNING_KEY_FILE", "value": "/run/secrets/concord-audit/signing.key"},
                {"name": "AUDIT_CHECKPOINT_DIR", "value": "/var/lib/concord/checkpoints"}]
    ports = [{"name": "ops", "containerPort": OPS_PORT}]
    if is_gateway:
        ports.insert(0, {"name": "http", "containerPort": 8080})
    mounts = [{"name": "concord-secrets", "mountPath": "/run/secrets/concord", "readOnly": True}]
    if component == "audit":
        mounts += [{"name": "audit-signing", "mountPath": "/run/secrets/concord-audit", "readOnly": True},
                   {"name": "checkpoints", "mountPath": "/var/lib/concord/checkpoints"}]
    # A gateway pod keeps serving for a moment after it is marked terminating, while the endpoints controller,
    # kube-proxy and the ingress controller stop sending it new connections; only then SIGTERM starts its drain
    # (gateway/drain.py: GATEWAY_DRAIN_SECONDS, 10). 5 s + 10 s + the stop stays within the 40 s grace period.
    lifecycle = {"lifecycle": {"preStop": {"sleep": {"seconds": 5}}}} if is_gateway else {}
    return {
        "name": component,
        "image": IMAGE,
        "args": ["serve", component],
        "envFrom": [{"configMapRef": {"name": "concord-settings"}}],
        "env": env,
        "ports": ports,
        # Liveness: this process answers. Readiness: a gateway takes traffic once every service answers it
        # (/readyz); a service takes its work from queues, so it is ready when it is up and migrated (/healthz).
        "livenessProbe": probe("/healthz", "http" if is_gateway else "ops", 10, 3),
        "readinessProbe": probe("/readyz" if is_gateway else "/healthz", "http" if is_gateway else "ops", 5, 2),
        "startupProbe": probe("/healthz", "http" if is_gateway else "ops", 5, 36),   # first start migrates
        "resources": {"requests": {"cpu": spec["cpu"], "memory": spec["memory"]},
                      "limits": {"cpu": "1", "memory": _double(spec["memory"])}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": mounts + [{"name": "tmp", "mountPath": "/tmp"}],
        **lifecycle,
    }


def _double(memory: str) -> str:
    return f"{int(memory[:-2]) * 2}{memory[-2:]}"


def workload(component: str) -> dict:
    """A Deployment; audit is a StatefulSet so each replica keeps its checkpoint files across restarts."""
    volumes = [keys_volume(component), {"name": "tmp", "emptyDir": {}}]
    if component == "audit":
        volumes.append({"name": "audit-signing", "secret": {"secretName": "concord-audit-signing-key"}})
    pod = {
        "metadata": {"labels": labels(component),
                     "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(OPS_PORT)}},
        "spec": {
            "automountServiceAccountToken": False,
            "securityContext": {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            # SIGTERM: a service finishes the work in hand, a gateway drains its connections (RPC_TIMEOUT + margin).
            "terminationGracePeriodSeconds": 40,
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                           "whenUnsatisfiable": "ScheduleAnyway",
                                           "labelSelector": {"matchLabels": labels(component)}}],
            "containers": [container(component)],
            "volumes": volumes,
        },
    }
    spec = {"replicas": 2, "selector": {"matchLabels": labels(component)}, "template": pod}
    if component == "audit":
        spec.update(serviceName="concord-audit", podManagementPolicy="Parallel",
                    volumeClaimTemplates=[{"metadata": {"name": "checkpoints"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}])
        return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(component), "spec": spec}
    spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(component), "spec": spec}


def meta(component: str, suffix: str = "") -> dict:
    return {"name": f"concord-{component}{suffix}", "labels": labels(component)}


def disruption_budget(component: str) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(component),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels(component)}}}


def scaled_object(component: str) -> dict:
    """KEDA: one replica per 20 waiting messages on the component's queues (summed where a regex names several),
    between 2 and the table's maximum."""
    spec = SERVICES[component]
    metadata = {"protocol": "http", "mode": "QueueLength", "value": "20", "vhostName": VHOST,
                "queueName": spec["queues"]}
    if "*" in spec["queues"]:
        metadata.update(useRegex="true", operation="sum", excludeUnacknowledged="false")
    kind = "StatefulSet" if component == "audit" else "Deployment"
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": meta(component),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": f"concord-{component}"},
                     "minReplicaCount": 2, "maxReplicaCount": spec["max"], "pollingInterval": 15,
                     "cooldownPeriod": 300,
                     "triggers": [{"type": "rabbitmq", "metadata": metadata,
                                   "authenticationRef": {"name": "concord-rabbitmq-monitor"}}]}}


def gateway_autoscaler() -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("gateway"),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "concord-gateway"},
                     "minReplicas": 2, "maxReplicas": 10,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 70}}}],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}}}}


def gateway_service() -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta("gateway"),
            "spec": {"selector": labels("gateway"), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def audit_headless_service() -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta("audit"),
            "spec": {"clusterIP": "None", "selector": labels("audit"),
                     "ports": [{"name": "ops", "port": OPS_PORT, "targetPort": "ops"}]}}


def render() -> dict[str, str]:
    files = {}
    for component in SERVICES:
        docs = [workload(component), disruption_budget(component), scaled_object(component)]
        if component == "audit":
            docs.insert(1, audit_headless_service())
        files[f"{component}.yaml"] = yaml_text(docs)
    files["gateway.yaml"] = yaml_text([workload("gateway"), gateway_service(), disruption_budget("gateway"),
                                       gateway_autoscaler()])
    return files


def yaml_text(documents: list[dict]) -> str:
    return "# Written by deploy/k8s/generate.py from its table: change that, then run it.\n" + yaml.safe_dump_all(
        documents, sort_keys=False, width=120)


def main(argv: list[str]) -> int:
    for name, text in render().items():
        (BASE / name).write_text(text)
    print(f"wrote {len(render())} files in {BASE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
