"""Checks the published signature vectors (tests/fixtures/signature-vectors.json)
with two verifiers: http-message-signatures (pyauth, PyPI), an RFC 9421
implementation this project did not write, and the example verifier
(examples/origin-verifier). Each vector must verify under both, and each
tampered copy (body, URL, method, key id, tenant) must fail under both.

    python check_vectors.py [VECTORS.json]

Prints one JSON line with the counts; exits 1 on any disagreement.
"""

import datetime
import json
import os
import sys
import types
import warnings

from http_message_signatures import HTTPMessageVerifier, MappingKeyResolver, algorithms
from http_message_signatures.signatures import SignatureVerifyWarning

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "origin-verifier"))
import provgate_verify  # noqa: E402


class AtCreation(HTTPMessageVerifier):
    """The vectors are dated: their time window is checked by the example
    verifier at the vector's own `created`, not against today's clock."""

    def validate_created_and_expires(self, sig_input, max_age=None):
        pass


def request(vector, label_secret_pairs):
    i = vector["input"]
    headers = {
        "content-digest": vector["expected"]["content_digest"],
        "signature-input": vector["expected"]["signature_input"],
        "signature": vector["expected"]["signature"],
    }
    if i["key_id"]:
        headers["x-provgate-key-id"] = i["key_id"]
    if i["tenant"]:
        headers["x-provgate-tenant"] = i["tenant"]
    return types.SimpleNamespace(method=i["method"], url=i["target_uri"], headers=headers), i["body"].encode()


def independent(message, body, secrets, labels):
    keys = {provgate_verify.key_id_for(s): s.encode() for s in secrets}
    verifier = AtCreation(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=MappingKeyResolver(public_keys=keys, private_keys={}))
    verifier.allow_label_only_selection = True
    required = ["@method", "@target-uri", "content-digest"] + [h for h in ("x-provgate-key-id", "x-provgate-tenant") if h in message.headers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SignatureVerifyWarning)
        for label in labels:
            verifier.verify(message, expect_label=label, max_age=None, require_components=required, body=body)


def example(message, body, secrets, created):
    return provgate_verify.verify(message.method, message.url, message.headers, body, secrets, now=created)


def tampered(message, body):
    """Copies of the request that no verifier may accept."""
    def copy(**changes):
        m = types.SimpleNamespace(method=message.method, url=message.url, headers=dict(message.headers))
        for k, v in changes.items():
            if k == "headers":
                m.headers.update(v)
            else:
                setattr(m, k, v)
        return m

    yield "body", message, body + b" "
    yield "url", copy(url=message.url.replace("/scim/v2/", "/scim/v2/x/", 1)), body
    yield "method", copy(method="PUT" if message.method != "PUT" else "POST"), body
    yield "key id", copy(headers={"x-provgate-key-id": "key_other"}), body
    yield "tenant", copy(headers={"x-provgate-tenant": "globex"}), body


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "fixtures", "signature-vectors.json")
    vectors = json.load(open(path))["vectors"]
    checked, refused, failures = 0, 0, []
    for v in vectors:
        secrets = v["input"]["secrets"]
        labels = ["provgate", "provgate-previous"][: len(secrets)]
        message, body = request(v, None)
        try:
            independent(message, body, secrets, labels)
            key_id = example(message, body, secrets, v["input"]["created"])
            if key_id != v["input"]["key_id"]:
                failures.append("%s: the example verifier returned %r" % (v["name"], key_id))
            checked += 1
        except Exception as why:
            failures.append("%s: rejected: %s" % (v["name"], why))
        for what, m, b in tampered(message, body):
            for name, check in (("http-message-signatures", lambda: independent(m, b, secrets, labels)), ("example", lambda: example(m, b, secrets, v["input"]["created"]))):
                try:
                    check()
                    failures.append("%s: %s accepted a tampered %s" % (v["name"], name, what))
                except Exception:
                    refused += 1
    print(json.dumps({"vectors": checked, "tampered_refused": refused, "failures": failures}))
    sys.exit(1 if failures or checked != len(vectors) else 0)


if __name__ == "__main__":
    main()
