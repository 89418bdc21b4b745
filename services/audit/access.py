"""Who may read which part of the audit log. Deny by default; plain functions.

* a record's log: whoever its owning service says may `audit` it (its
  owning team and their supervisors) — the owning service decides, through
  `<service>.check_access(record_type, record_id, "audit")`, asked as the reader;
* a user's activity: a supervisor of any team the user is in, an org admin of
  the user's organisation, a system admin;
* an organisation's export and usage figures: its org admins, system admins;
* verification: system admins.
A record (or user) the reader may not know of answers 404, as if absent.
"""
from concord_common import record_types
from concord_common.context import Caller
from concord_common.errors import Forbidden, NotFound, Unauthenticated

SIGNED_IN_KINDS = ("user", "client", "system")


def require_signed_in(caller: Caller) -> None:
    if caller.kind not in SIGNED_IN_KINDS:
        raise Unauthenticated("Sign in, or send `Authorization: Bearer <token>`.")


def is_system_admin(caller: Caller) -> bool:
    return caller.kind == "system" or (caller.kind == "user" and caller.has_role("system_admin"))


def is_org_admin(caller: Caller, organisation_id: str | None) -> bool:
    return is_system_admin(caller) or (
        caller.kind == "user" and caller.has_role("org_admin") and organisation_id is not None
        and caller.organisation_id == str(organisation_id))


def require_system_admin(caller: Caller) -> None:
    require_signed_in(caller)
    if not is_system_admin(caller):
        raise Forbidden("Only a system administrator may verify the audit log.")


def require_org_admin(caller: Caller, organisation_id: str | None, what: str) -> None:
    require_signed_in(caller)
    if not is_org_admin(caller, organisation_id):
        raise Forbidden(f"Only an administrator of that organisation may {what}.")


def may_read_user(caller: Caller, user: dict) -> bool:
    """`user` as permissions.get_user answers it: {"id", "organisation_id", "teams": [{"id", "role"}]}."""
    if is_org_admin(caller, user.get("organisation_id")):
        return True
    if caller.kind != "user":
        return False
    return any(caller.team_role(team.get("id")) == "supervisor" for team in user.get("teams") or ())


def record_access(rpc, record_type: str, record_id: str) -> dict:
    """The owning service's answer to "may this caller read this record's audit log?".

    Raises NotFound (the caller may not know the record exists, or it does not)
    or Forbidden, as the owning service decided; NotFound for a type nobody owns.
    """
    registered = record_types.by_name(record_type)
    if registered is None:
        raise NotFound()
    answer = rpc.call(registered.service, "check_access", record_type, record_id, "audit")
    if not isinstance(answer, dict) or answer.get("allowed") is not True:
        raise Forbidden("You may not read this record's audit log.")
    return answer


def user_access(rpc, caller: Caller, user_id: str) -> dict:
    """The user (from the directory, asked as the reader) if the reader may read their activity."""
    require_signed_in(caller)
    if caller.kind == "client":
        raise Forbidden("API clients cannot read people's activity.")
    user = rpc.call("permissions", "get_user", user_id)    # NotFound: another organisation's user
    if not may_read_user(caller, user):
        raise Forbidden("Only their supervisor or an administrator of their organisation may read "
                        "this person's activity.")
    return user
