#!/bin/sh
# Every Secret Concord's Kubernetes manifests mount, as one YAML file to `kubectl apply -f` (once per
# namespace; keep the key directory somewhere safe, or store its files in your secrets manager instead):
#   deploy/k8s/make-secrets.sh NAMESPACE KEYDIR > secrets.yaml && kubectl apply -f secrets.yaml
# KEYDIR keeps what was made: running again with the same KEYDIR re-emits the same keys and passwords.
# Made here: each component's signing key and broker password, trusted.pub, each service's database password,
# the audit checkpoint key, the broker monitor's URL for KEDA, and the broker's TLS certificate from a private
# CA (production: your own CA, or cert-manager). The Ingress certificate (concord-tls) comes from cert-manager.
set -eu
namespace=${1:?usage: make-secrets.sh NAMESPACE KEYDIR}
dir=${2:?usage: make-secrets.sh NAMESPACE KEYDIR}
here=$(cd "$(dirname "$0")/../.." && pwd)
concord=${CONCORD:-$here/.venv/bin/concord}
kubectl=${KUBECTL:-$here/.venv/bin/kubectl}
mkdir -p "$dir"
CONCORD_KEYS_DIR=$dir "$concord" keys init >&2
[ -f "$dir/broker-cert.pem" ] || sh "$here/deploy/make-broker-tls.sh" "$dir" concord-rabbitmq \
    "concord-rabbitmq.$namespace.svc" "concord-rabbitmq.$namespace.svc.cluster.local" >&2 2>/dev/null
[ -f "$dir/audit-signing.key" ] || "$concord" audit keygen | sed -n 's/^AUDIT_SIGNING_KEY=//p' > "$dir/audit-signing.key"
for service in profiles cases permissions audit notifications; do
    [ -f "$dir/db-$service.password" ] || openssl rand -hex 24 > "$dir/db-$service.password"
done

secret() {   # secret NAME [--type=T] --from-...: one Secret document
    name=$1; shift
    "$kubectl" create secret generic "$name" --namespace "$namespace" --dry-run=client -o yaml "$@"
    echo "---"
}
for component in gateway profiles cases permissions audit notifications; do
    secret "concord-$component-keys" --from-file="$dir/$component.key" \
        --from-file="$dir/broker-$component.password"
done
secret concord-trusted-keys --from-file="$dir/trusted.pub"
set --
for file in "$dir"/broker-*.password; do set -- "$@" --from-file="$file"; done
secret concord-broker-passwords "$@"
for service in profiles cases permissions audit notifications; do
    secret "concord-db-$service" --type=kubernetes.io/basic-auth --from-literal=username="concord_$service" \
        --from-literal=password="$(cat "$dir/db-$service.password")"
done
secret concord-audit-signing-key --from-file=signing.key="$dir/audit-signing.key"
secret concord-rabbitmq-monitor --from-literal=host="http://concord-monitor:$(cat "$dir/broker-monitor.password")@concord-rabbitmq.$namespace.svc:15672/concord"
"$kubectl" create secret generic concord-rabbitmq-tls --namespace "$namespace" --dry-run=client -o yaml \
    --from-file=tls.crt="$dir/broker-cert.pem" --from-file=tls.key="$dir/broker-key.pem" \
    --from-file=ca.crt="$dir/broker-ca.pem"
