#!/usr/bin/env python3
"""Writes the checked-in seed corpora (fuzz/corpus/<target>/).

Seeds are real inputs: the reference key of tests/fixtures, the paths
Okta and Entra ID send (docs/idp/), bulk bodies from the tests, and records
as `provgate key mint --emit json` writes them (pass the CLI's path to
regenerate those; without it the checked-in record seeds are kept).
Each target reads `[mode or method byte][...][text]` (see its source), so a
seed is a few header bytes and the text. Run: python3 fuzz/seeds.py [CLI]
"""
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REF = open(os.path.join(HERE, "../tests/fixtures/reference_key.txt")).read()
KEY = next(line.split()[1] for line in REF.splitlines() if line.startswith("key "))

# Indices into provgate_fuzz::METHODS and the scope pool of scopes_from.
GET, HEAD, POST, PUT, PATCH, DELETE = range(6)
ALL, ME, BULK, USERS_R, USERS_W, GROUPS_R, GROUPS_W = range(7)


def write(target, seeds):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for data in seeds:
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def with_scopes(head, scopes, text):
    return bytes([head, len(scopes), *scopes]) + text.encode()


typo = KEY[:10] + ("b" if KEY[10] != "b" else "c") + KEY[11:]
headers = [
    f"Bearer {KEY}", KEY, f"bearer {KEY}", f"BEARER   {KEY} ", "Bearer", "Bearer ", "", "   ",
    "Basic dXNlcjpwYXNzd29yZA==", f"Bearer {KEY}, Bearer {KEY}", f"{KEY}, {KEY}", f"Bearer\t{KEY}",
    f"Bearer Bearer {KEY}", f"Bearer {typo}", f"Bearer {KEY[:-1]}", f"\u00a0Bearer {KEY}", f"Bearer {KEY}\u3000",
]
queries = [
    f"access_token={KEY}", f"key={KEY}", "filter=userName%20eq%20%22bjensen%40example.com%22",
    "aadOptscim062020", "startIndex=1&count=100", "x=%70vk_abc", "ACCESS_TOKEN=", "count=2&startIndex=1",
]
write("authorization", [b"\x00" + h.encode() for h in headers] + [b"\x01" + q.encode() for q in queries])

user = "2819c223-7f76-453a-919d-413861904646"
requests = [
    (GET, [USERS_R], "/scim/v2/Users?startIndex=1&count=2"),
    (GET, [USERS_R], "/scim/v2/Users?filter=userName%20eq%20%22bjensen%40example.com%22"),
    (GET, [USERS_R], "/scim/v2/Users?aadOptscim062020&filter=userName+eq+%2200000000-0000-0000-0000-000000000000%22"),
    (POST, [USERS_R, USERS_W], "/scim/v2/Users"),
    (PUT, [USERS_W], "/scim/v2/Users/00ujl29u0le5T6Aj10h7"),
    (PATCH, [USERS_R], f"/scim/v2/Users/{user}"),
    (DELETE, [GROUPS_W], "/scim/v2/Groups/abf4dd94-a4c0-4f67-89c9-76b03340cb9b"),
    (GET, [GROUPS_R], "/scim/v2/Groups?filter=displayName%20eq%20%22Engineering%22&excludedAttributes=members"),
    (GET, [], "/scim/v2/ServiceProviderConfig"),
    (HEAD, [], "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
    (GET, [], "/scim/v2/ResourceTypes/User"),
    (POST, [BULK], "/scim/v2/Bulk"),
    (POST, [USERS_R], "/scim/v2/.search"),
    (POST, [USERS_R], "/scim/v2/Users/.search"),
    (GET, [ME], "/scim/v2/Me"),
    (GET, [ALL], "/scim/v2/Devices/7"),
    (GET, [USERS_R], "/scim/v2/users/"),
    (GET, [USERS_R], "/scim/v2/USERS/a%40b#frag"),
    (GET, [USERS_R], "/scim/v2/Users/caf%C3%A9"),
    (GET, [USERS_R], "/scim/v2/Users/%2e%2e/Groups"),
    (GET, [USERS_R], "/scim/v2/Users/..%2fGroups"),
    (GET, [USERS_R], "/scim/v2/Users/%252e%252e"),
    (GET, [USERS_R], "/scim/v2//Users"),
    (GET, [USERS_R], "/scim/v2/Users;jsessionid=1"),
    (GET, [USERS_R], "/scim/v2/Users\\..\\Groups"),
    (GET, [USERS_R], "/scim/v2Users"),
    (GET, [USERS_R], "?x=1"),
]
write("scim_path", [with_scopes(m, s, t) for m, s, t in requests])

BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
user_op = {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "a"}}
group_op = {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "admins"}}
bodies = [
    ([BULK, USERS_W], json.dumps({"schemas": [BULK_SCHEMA], "Operations": [user_op, group_op]})),
    ([BULK, USERS_W, GROUPS_W], json.dumps({"schemas": [BULK_SCHEMA], "Operations": [user_op, group_op]})),
    ([BULK, USERS_W], json.dumps({"schemas": [BULK_SCHEMA], "Operations": [user_op], "operations": [group_op]})),
    ([BULK], f'{{"schemas":["{BULK_SCHEMA}"],"Operations":[{{"method":"POST","path":"/Users","path":"/Groups","bulkId":"x"}}]}}'),
    ([BULK, USERS_W], json.dumps({"Operations": [{"method": "patch", "path": "/groups/g1", "data": {}},
                                                 {"method": "DELETE", "path": "/Users/bulkId:u1"}]})),
    ([BULK], '{"operations":[{"METHOD":"POST","Path":"/Groups","BULKID":"x"}]}'),
    ([BULK, USERS_R], json.dumps({"Operations": [{"method": "POST", "path": "/Users/.search", "bulkId": "s"}]})),
    ([BULK], json.dumps({"Operations": [{"method": "GET", "path": "/Groups", "bulkId": "r"}]})),
    ([BULK], json.dumps({"Operations": [{"method": "POST", "path": "/Users/../Groups", "bulkId": "d"}]})),
    ([BULK], "not json"),
    ([BULK], '{"Operations":[1]}'),
]
write("bulk_body", [with_scopes(0, s, b) for s, b in bodies])

# url_secret: `[mode][text]`, an even mode taking the text as a path or query.
urls = [
    f"/scim/v2/{KEY}", f"/scim/v2/Users/{KEY}", f"/scim/v2/Users/{KEY.lower()}", "/scim/v2/Users/2819c223-7f76-453a-919d-413861904646",
    "/scim/v2/pvm_0123", "/scim/v2/Users/%70%76%6B%5Fabc", "/scim/v2/Users/%2570vk_abc", "/x/%25252525252570",
    "filter=userName%20eq%20%22bjensen%40example.com%22", f"access_token={KEY}", "aadOptscim062020", "x=PVA_1&y=pvr_2",
]
write("url_secret", [b"\x00" + u.encode() for u in urls] + [b"\x01" + bytes(range(40))])

# forward_headers: arbitrary bytes, decoded by the target as headers and flags.
write("forward_headers", [bytes([i, 7, 3, 0, 1, 0, 65, 1, 2, 9, 0, 0, 0, 1, 120, 95, 97]) * 3 for i in range(4)]
      + [b"\x00\x02accept\x00x_forwarded_host\x01\x00x-custom", b"\x05" * 64])

# OAuth (oauth_token): tokens and codes sealed with the target's secrets by the
# independent layout of tests/fixtures/reference_token.py; token requests and
# authorization queries as Okta and Entra ID send them.
sys.path.insert(0, os.path.join(HERE, "../tests/fixtures"))
import reference_token as ref  # noqa: E402
import base64  # noqa: E402
import urllib.parse  # noqa: E402

NOW_SECRET, THEN_SECRET = b"fuzz token signing secret, now!!", b"fuzz token signing secret, then!"
token = ref.seal(NOW_SECRET, "pva_", ref.access_body())
tokens = [
    token,
    ref.seal(THEN_SECRET, "pva_", ref.access_body(grant=1, family=None)),
    ref.seal(NOW_SECRET, "pva_", ref.access_body(expires_at=1_799_999_999)),
    ref.seal(NOW_SECRET, "pva_", ref.access_body(tenant=b"", scopes=bytes([0]), networks=bytes([0]))),
    ref.seal(NOW_SECRET, "pva_", ref.access_body(), version=2),
    token[:-1] + ("A" if token[-1] != "A" else "B"),
    token.replace("pva_", "pvc_", 1),
]
challenge = hashlib.sha256(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").digest()
codes = [
    ref.seal(NOW_SECRET, "pvc_", ref.code_body()),
    ref.seal(NOW_SECRET, "pvc_", ref.code_body(challenge=challenge)),
    ref.seal(THEN_SECRET, "pvc_", ref.code_body(expires_at=1_800_000_001)),
    "pvr_" + KEY[4:],
]
form = urllib.parse.urlencode
basic = "Basic " + base64.b64encode(f"key_3mXq8Jt0aZ:{KEY}".encode()).decode()
requests = [
    f"{basic}\n" + form({"grant_type": "client_credentials"}),
    f"{basic}\n" + form({"grant_type": "client_credentials", "scope": "users:read groups:read"}),
    "\n" + form({"grant_type": "client_credentials", "client_id": "key_3mXq8Jt0aZ", "client_secret": KEY}),
    f"{basic}\n" + form({"grant_type": "authorization_code", "code": codes[1], "redirect_uri": "https://acme.okta.com/oauth2/callback",
                           "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}),
    f"{basic}\n" + form({"grant_type": "refresh_token", "refresh_token": codes[3]}),
    f"{basic}\ngrant_type=client_credentials&client_secret={KEY}",
    f"{basic}\ngrant_type=client_credentials&grant_type=client_credentials",
    "\ngrant_type=password&username=a&password=b",
    "Bearer x\ngrant_type=client_credentials",
    "\ngrant_type=%ff",
]
queries = [
    form({"response_type": "code", "client_id": "key_3mXq8Jt0aZ", "redirect_uri": "https://acme.okta.com/oauth2/callback", "state": "xyz",
          "scope": "users:read", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}),
    form({"response_type": "code", "client_id": "key_3mXq8Jt0aZ", "redirect_uri": "https://a.example/cb?tenant=1"}),
    form({"response_type": "token", "client_id": "key_3mXq8Jt0aZ", "redirect_uri": "https://acme.okta.com/oauth2/callback", "state": "s"}),
    form({"response_type": "code", "client_id": "key_3mXq8Jt0aZ", "redirect_uri": "https://evil.example/cb"}),
    form({"response_type": "code", "client_id": "key_other", "redirect_uri": "https://acme.okta.com/oauth2/callback"}),
    form({"response_type": "code", "client_id": "key_3mXq8Jt0aZ", "redirect_uri": "https://acme.okta.com/oauth2/callback",
          "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "plain"}),
]
write("oauth_token", [b"\x00" + t.encode() for t in tokens] + [b"\x05" + c.encode() for c in codes]
      + [b"\x01" + r.encode() for r in requests] + [b"\x04" + q.encode() for q in queries]
      # Mode 6: claims bodies sealed by the target itself; the custom scope
      # "usera:write" is one byte from "users:write", which must be coded.
      + [b"\x06" + ref.access_body(), b"\x06" + ref.code_body(challenge=challenge),
         b"\x06" + ref.access_body(scopes=bytes([1, 7]) + ref.short(b"usera:write")),
         # A coded scope written as text: a second spelling, must not verify.
         b"\x06" + ref.access_body(scopes=bytes([1, 7]) + ref.short(b"users:write"))])

records_dir = os.path.join(HERE, "corpus", "key_record")
if len(sys.argv) > 1:
    mints = [
        ["--label", "Okta production", "--scopes", "users:read,users:write,groups:read,groups:write"],
        ["--label", "Entra ID", "--tenant", "acme", "--scopes", "users:read,users:write", "--expires", "90d"],
        ["--label", "OneLogin", "--scopes", "*", "--allow-ip", "203.0.113.0/24,2001:db8::/32",
         "--rate-per-minute", "600", "--burst", "20"],
        ["--label", "me and bulk", "--tenant", "a.b_c-1", "--scopes", "me,bulk,devices:write"],
    ]
    seeds = []
    for args in mints:
        out = subprocess.run([sys.argv[1], "key", "mint", "--emit", "json", *args], check=True,
                             capture_output=True, text=True,
                             env={**os.environ, "PEPPER": "seed-pepper", "PEPPER_ID": hashlib.sha256(b"seed-pepper").hexdigest()[:16]}).stdout
        seeds += [b"\x00" + e["value"].encode() for e in json.loads(out) if e["key"].startswith("hash:")]
    record = json.loads(seeds[0][1:])
    seeds.append(b"\x00" + json.dumps({**record, "status": "revoked", "rotated_from": "key_old"}).encode())
    seeds.append(b"\x00" + json.dumps({**record, "created_at": "2026-11-29T08:00:00.5Z"}).encode())
    seeds.append(b"\x00" + json.dumps({**record, "v": 2}).encode())
    write("key_record", seeds)
