"""A real SCIM origin for provgate's dev server and tests.

It is scim2-server's own application (in-memory Users and Groups, filters,
ETags, /Bulk, discovery), trusting X-Forwarded-* so that Location and
meta.location name the edge, served by waitress (HTTP/1.1, keep-alive,
chunked bodies) instead of wsgiref. Loopback only.

    python scim_origin.py --port 0 --bearer-token TOKEN [--signing-secret S]

With --signing-secret it runs behind the example verifier
(examples/origin-verifier), accepting only requests signed by the edge.
With --record-requests (tests only) it prints every request it receives,
headers included, as `request {json}`, for the harness's leak scan.

prints one line `listening http://127.0.0.1:PORT/v2` once it accepts.
"""

import argparse
import json
import os
import secrets
import sys
import threading

import waitress

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "origin-verifier"))
from provgate_verify import ProvgateVerifier  # noqa: E402
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
        # Outside ForwardedHeaders, so it sees the Host and path the edge addressed.
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
