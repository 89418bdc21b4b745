# One image for every Concord component. The component is the argument:
#   docker run IMAGE serve profiles      (a service: profiles, cases, permissions, audit, notifications)
#   docker run IMAGE                     (the gateway; CMD's default)
# docker-compose.yml runs it with the broker and PostgreSQL; see docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_ADDRESS=0.0.0.0:8080

WORKDIR /app

# Pinned dependencies first, in their own layer, so a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The project itself, installed editable: the code, the YAML configs and each service's
# migrations stay in /app, where concord_common.settings and `concord migrate` look for them.
COPY . .
RUN pip install --no-deps --no-build-isolation -e . \
    && useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin concord \
    && mkdir -p /var/lib/concord/checkpoints /var/lib/concord/mail \
    && chown concord /var/lib/concord/checkpoints /var/lib/concord/mail

# The code belongs to root and is read-only for the process; logs go to stdout.
USER concord

EXPOSE 8080
ENTRYPOINT ["concord"]
CMD ["serve", "gateway"]
