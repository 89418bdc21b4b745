"""API clients (partner systems): registration, client-credentials tokens, and what a token stands for.

The secret is shown once and stored as an argon2id hash, like a password.
"""
import secrets
import uuid
from datetime import datetime

from sqlalchemy import select

from concord_common import clock
from concord_common.errors import Unauthenticated, ValidationFailed, load_or_fail
from services.permissions import passwords, views
from services.permissions.access import actor_for, require_admin_of
from services.permissions.models import ApiClient, ClientToken, Organisation
from services.permissions.schema_parts import utc
from services.permissions.schemas import ApiClientCreateSchema
from services.permissions.tokens import NOT_SIGNED_IN, new_token, token_hash

BAD_CLIENT = "The client id or client secret is incorrect."


def create_api_client(uow, payload) -> dict:
    session = uow.session
    actor = actor_for(session, uow.caller)
    require_admin_of(actor, payload.get("organisation_id") if isinstance(payload, dict) else None,
                     "create API clients")

    def organisation_exists(data):
        if "organisation_id" in data and session.get(Organisation, str(data["organisation_id"])) is None:
            return {"organisation_id": ["There is no such organisation."]}
        return {}

    data = load_or_fail(ApiClientCreateSchema(), payload, organisation_exists)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(id=str(uuid.uuid4()), client_id="cc_" + secrets.token_urlsafe(16),
                       secret_hash=passwords.hash_password(secret), name=data["name"],
                       organisation_id=str(data["organisation_id"]), scopes=list(dict.fromkeys(data["scopes"])),
                       created_by=actor.id, created_at=clock.now())
    session.add(client)
    session.flush()
    body = views.api_client(client)
    uow.add_event("api_client.created", {"record": views.record("api_client", client.id), "client": body})
    return {"id": client.id, "client_id": client.client_id, "client_secret": secret, "name": client.name,
            "organisation_id": client.organisation_id, "scopes": list(client.scopes)}


def client_token(uow, settings, client_id, client_secret, scope=None) -> dict:
    """OAuth 2 client credentials: an access token for a partner system."""
    if not isinstance(client_id, str) or not isinstance(client_secret, str) or len(client_secret) > 1024:
        raise Unauthenticated(BAD_CLIENT)
    session, now = uow.session, clock.now()
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    secret_ok = passwords.verify_password(client.secret_hash if client else None, client_secret)
    if client is None or not secret_ok or client.disabled:
        raise Unauthenticated(BAD_CLIENT)
    if scope is not None and not isinstance(scope, str):
        raise ValidationFailed("One or more fields are invalid.", {"scope": ["Give scopes separated by spaces."]})
    requested = list(dict.fromkeys(scope.split())) if scope and scope.strip() else list(client.scopes)
    not_granted = [item for item in requested if item not in client.scopes]
    if not_granted:
        raise ValidationFailed("One or more fields are invalid.", {
            "scope": [f"Not granted to this client: {' '.join(not_granted)}."]})
    token = new_token()
    session.add(ClientToken(token_hash=token_hash(token), api_client_id=client.id, scopes=requested,
                            issued_at=now, expires_at=now + settings.client_token_lifetime))
    uow.add_event("api_client.token_issued", {"record": views.record("api_client", client.id), "scopes": requested})
    return {"access_token": token, "token_type": "Bearer",
            "expires_in": int(settings.client_token_lifetime.total_seconds()), "scope": " ".join(requested)}


def principal(session, digest: str, now: datetime) -> dict:
    """The client a token (by its hash) stands for; Unauthenticated if none, expired or disabled."""
    row = session.execute(select(ClientToken, ApiClient).join(ApiClient, ApiClient.id == ClientToken.api_client_id)
                          .where(ClientToken.token_hash == digest)).first()
    if row is None or now >= row.ClientToken.expires_at or row.ApiClient.disabled:
        raise Unauthenticated(NOT_SIGNED_IN)
    client = row.ApiClient
    # A scope taken from the client since the token was issued no longer counts.
    scopes = [scope for scope in row.ClientToken.scopes if scope in client.scopes]
    return {"kind": "client", "id": client.id, "client_id": client.client_id, "display_name": client.name,
            "organisation_id": client.organisation_id, "teams": [], "roles": [], "scopes": scopes,
            "expires_at": utc(row.ClientToken.expires_at)}
