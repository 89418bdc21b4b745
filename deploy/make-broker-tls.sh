#!/bin/sh
# A private CA and the broker's TLS certificate, into DIR (default ./secrets), for the host names given
# (default "rabbitmq", compose's; deploy/k8s/make-secrets.sh names the Kubernetes service's).
# Production: use your organisation's CA instead and put its certificate in broker-ca.pem.
set -eu
dir=${1:-./secrets}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- rabbitmq
first=$1
names=$(printf 'DNS:%s,' "$@")
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=Concord broker CA" \
        -keyout broker-ca.key -out broker-ca.pem
openssl req -newkey rsa:3072 -nodes -subj "/CN=$first" -keyout broker-key.pem -out broker.csr
printf 'subjectAltName=%s\n' "${names%,}" > broker.ext
openssl x509 -req -in broker.csr -CA broker-ca.pem -CAkey broker-ca.key -CAcreateserial -days 825 \
        -extfile broker.ext -out broker-cert.pem
rm -f broker.csr broker.ext
chmod 600 broker-ca.key broker-key.pem
