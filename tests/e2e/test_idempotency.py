"""Idempotency-Key on writes: the same key and body replays the first answer instead of writing twice."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.e2e.directory import sign_in


def post(api, path, body, key):
    return requests.post(api.url + path, json=body, headers={**api.headers(), "Idempotency-Key": key}, timeout=15)


def found(api, name):
    return [item["id"] for item in api.ok(api.get("/api/v1/profiles", params={"q": name}))["items"]
            if item["family_name"] == name.split()[-1]]


def test_a_retried_create_replays_the_first_answer_and_writes_once(practitioner):
    pat, surname = practitioner, f"Once{uuid.uuid4().hex[:8]}"
    body, key = {"kind": "person", "given_name": "Ida", "family_name": surname}, str(uuid.uuid4())
    first, again = post(pat, "/api/v1/profiles", body, key), post(pat, "/api/v1/profiles", body, key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first.headers["Location"] == again.headers["Location"]
    assert found(pat, f"Ida {surname}") == [first.json()["id"]]
    other = post(pat, "/api/v1/profiles", body, str(uuid.uuid4()))          # a new key is a new request
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]

    reused = post(pat, "/api/v1/profiles", {**body, "given_name": "Ada"}, key)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json()["errors"]
    for bad in ("x" * 256, "tab\there", "ünïcode"):
        response = requests.post(pat.url + "/api/v1/profiles", json=body, timeout=15,
                                 headers={**pat.headers(), "Idempotency-Key": bad.encode("utf-8").decode("latin-1")})
        assert response.status_code == 400, bad


def test_concurrent_twins_write_once(practitioner):
    pat, surname = practitioner, f"Twin{uuid.uuid4().hex[:8]}"
    body, key = {"kind": "person", "given_name": "Ivy", "family_name": surname}, str(uuid.uuid4())
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: post(pat, "/api/v1/profiles", body, key), range(6)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert found(pat, f"Ivy {surname}") == [answers[0].json()["id"]]


def test_keys_belong_to_their_caller_and_a_failed_request_stores_nothing(practitioner, system):
    pat, surname = practitioner, f"Mine{uuid.uuid4().hex[:8]}"
    colleague = sign_in(system, pat.directory.user("col", [(pat.directory.hub, "practitioner")])["username"])
    key = str(uuid.uuid4())
    body = {"kind": "person", "given_name": "Una", "family_name": surname}
    assert post(pat, "/api/v1/profiles", {**body, "date_of_birth": "3000-01-01"}, key).status_code == 422
    mine = post(pat, "/api/v1/profiles", body, key)
    theirs = post(colleague, "/api/v1/profiles", body, key)
    assert mine.status_code == theirs.status_code == 201 and mine.json()["id"] != theirs.json()["id"]


def test_patch_and_delete_replay_too(practitioner, system):
    pat, key = practitioner, str(uuid.uuid4())
    created = pat.ok(pat.post("/api/v1/profiles", {"kind": "person", "given_name": "Pat", "family_name": "Ch"}), 201)
    path = pat.url + f"/api/v1/profiles/{created['id']}"
    headers = {**pat.headers(), "Idempotency-Key": key, "If-Match": '"1"'}
    first = requests.patch(path, json={"gender": "female"}, headers=headers, timeout=15)
    again = requests.patch(path, json={"gender": "female"}, headers=headers, timeout=15)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert first.json()["version"] == 2                 # not 412: the retry is answered, not re-run
    assert len(pat.ok(pat.get(f"/api/v1/profiles/{created['id']}/history"))["items"]) == 4

    team = pat.directory.npt["id"]
    grant = pat.ok(pat.post(f"/api/v1/profiles/{created['id']}/grants", {
        "grantee_type": "team", "grantee_id": team, "level": "view", "justification": "MASH strategy meeting.",
        "lawful_basis": "UK GDPR Art. 6(1)(e) public task"}), 201)
    revoke = f"{path}/grants/{grant['id']}"
    gone = [requests.delete(revoke, headers={**pat.headers(), "Idempotency-Key": key + "-d"}, timeout=15)
            for _ in range(2)]
    assert [g.status_code for g in gone] == [204, 204]


def test_answers_with_a_secret_are_never_stored_so_the_key_is_ignored(practitioner):
    admin, key = practitioner.admin, str(uuid.uuid4())
    body = {"name": "Records system", "organisation_id": practitioner.directory.org["id"], "scopes": ["profiles:read"]}
    first, second = post(admin, "/api/v1/api-clients", body, key), post(admin, "/api/v1/api-clients", body, key)
    assert first.status_code == second.status_code == 201
    assert first.json()["client_id"] != second.json()["client_id"]
