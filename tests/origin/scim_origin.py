"""A real SCIM origin for provgate's dev server and tests.

It is scim2-server's own application (in-memory Users and Groups, filters,
ETags, /Bulk, discovery), trusting X-Forwarded-* so that Location and
meta.location name the edge, served by waitress (HTTP/1.1, keep-alive,
chunked bodies) instead of wsgiref. Loopback only.

    python scim_origin.py --port 0 --bearer-token TOKEN [--signing-secret S]

With --signing-secret it runs behind the example verifier
(examples/origin-verifier), accepting only requests signed by the edge,
and verifies each of them a second time with http-message-signatures
(pyauth), an RFC 9421 implementation this project did not write: a forward
either rejects is answered 401, which the edge reports as 502.
With --record-requests (tests only) it prints every request it receives,
headers included, as `request {json}`, for the harness's leak scan.

prints one line `listening http://127.0.0.1:PORT/v2` once it accepts.
"""

import argparse
import datetime
import io
import json
import os
import secrets
import sys
import threading
import types
import warnings

import waitress
from http_message_signatures import HTTPMessageVerifier, InvalidSignature, MappingKeyResolver, algorithms
from http_message_signatures.signatures import SignatureVerifyWarning

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "origin-verifier"))
from provgate_verify import ProvgateVerifier, key_id_for, raw_target  # noqa: E402
from scim2_models import ScimProvider
from scim2_server.applications.wsgi import ForwardedHeaders
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)


def build_app(bearer_token):
    config = load_default_service_provider_config()
    if bearer_token:
        config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=os.environ.get("SCIM2_SERVER_SECRET") or secrets.token_urlsafe(32))
    app = BearerTokenApplication(InMemoryStorage(), provider, service=service, bearer_tokens=[bearer_token] if bearer_token else [])
    return ForwardedHeaders(app)


class IndependentVerifier:
    """Verifies each forward with http-message-signatures, inside the example
    verifier (which has read and bounded the body, and checked freshness and
    replay): the signature base, the HMAC, the covered components and the
    Content-Digest are all computed by code this project did not write."""

    LABELS = ("provgate", "provgate-previous")

    def __init__(self, app, secrets, max_age):
        self.app, self.max_age = app, max_age
        keys = {key_id_for(s): s.encode() for s in secrets}
        self.verifier = HTTPMessageVerifier(
            signature_algorithm=algorithms.HMAC_SHA256, key_resolver=MappingKeyResolver(public_keys=keys, private_keys={})
        )
        # The edge's two signatures during a rotation differ by label (and key id) only.
        self.verifier.allow_label_only_selection = True

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        url = "%s://%s%s" % (environ["wsgi.url_scheme"], environ.get("HTTP_HOST", ""), raw_target(environ))
        message = types.SimpleNamespace(method=environ["REQUEST_METHOD"], url=url, headers=headers)
        required = ["@method", "@target-uri", "content-digest"] + [h for h in ("x-provgate-key-id", "x-provgate-tenant") if h in headers]
        reasons = []
        for label in [l for l in self.LABELS if l + "=" in headers.get("signature-input", "")]:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SignatureVerifyWarning)
                    self.verifier.verify(
                        message, expect_label=label, max_age=datetime.timedelta(seconds=self.max_age),
                        require_components=required, body=body,
                    )
                return self.app(environ, start_response)
            except Exception as why:  # InvalidSignature or any other failure: refused
                reasons.append("%s: %s" % (label, why))
        print("independent-verify: rejected %s %s: %s" % (environ["REQUEST_METHOD"], url.split("?")[0], "; ".join(reasons) or "no signature"), file=sys.stderr, flush=True)
        payload = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401", "detail": "http-message-signatures rejected the forward"}).encode()
        start_response("401 Unauthorized", [("Content-Type", "application/scim+json"), ("Content-Length", str(len(payload)))])
        return [payload]


class RequestRecorder:
    """Prints each request's method, target and headers as one JSON line.

    A test aid (the headers hold the origin's credential): the end-to-end
    harness checks that no other secret, such as the IdP's key, arrived.
    """

    def __init__(self, app):
        self.app, self.lock = app, threading.Lock()

    def __call__(self, environ, start_response):
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers.update({k.replace("_", "-").lower(): environ[k] for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(k)})
        query = environ.get("QUERY_STRING")
        target = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "") + ("?" + query if query else "")
        line = "request " + json.dumps({"method": environ["REQUEST_METHOD"], "target": target, "headers": headers})
        with self.lock:  # one whole line per request, whatever the thread
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        return self.app(environ, start_response)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bearer-token", default=None)
    parser.add_argument("--signing-secret", action="append", default=[], help="accept only requests signed by the edge")
    parser.add_argument("--max-age", type=int, default=60)
    parser.add_argument("--record-requests", action="store_true", help="print every request received (tests only)")
    args = parser.parse_args()
    app = build_app(args.bearer_token)
    if args.signing_secret:
        # Outside ForwardedHeaders, so they see the Host and path the edge addressed.
        app = IndependentVerifier(app, secrets=args.signing_secret, max_age=args.max_age)
        app = ProvgateVerifier(app, secrets=args.signing_secret, max_age=args.max_age)
    if args.record_requests:
        # Outside the verifier: requests it rejects were received all the same.
        app = RequestRecorder(app)
    server = waitress.create_server(
        app, host="127.0.0.1", port=args.port, threads=8, backlog=1024, ident="scim-origin",
        # The app's ForwardedHeaders middleware interprets them; waitress must not strip them.
        clear_untrusted_proxy_headers=False,
    )
    print(f"listening http://127.0.0.1:{server.effective_port}/v2", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
