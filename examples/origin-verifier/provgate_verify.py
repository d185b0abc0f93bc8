"""Verify at the origin that a request came through provgate.

provgate signs every request it forwards (RFC 9421 HTTP Message Signatures,
hmac-sha256, over @method, @target-uri, content-digest and the
X-Provgate-Key-Id / X-Provgate-Tenant headers) and sends the body's
Content-Digest (RFC 9530). This module checks all of it, with the Python
standard library and one maintained parser for the Structured Fields the
signature headers are written in (`http-sfv`, RFC 8941):

    pip install 'http-sfv==0.9.9'

    from provgate_verify import ProvgateVerifier
    app = ProvgateVerifier(app, secrets=[os.environ["ORIGIN_SIGNING_SECRET"]])

A request sent straight to the origin, replayed, too old, or with a changed
body, method, URL, key id or tenant is answered 401 with a SCIM error and
never reaches `app`. During a secret rotation pass both secrets; the edge
signs with each, and the key id tells which is which.
"""

import base64
import hashlib
import hmac
import io
import json
import sys
import threading
import time

import http_sfv

__all__ = ["ProvgateVerifier", "Rejected", "verify", "key_id_for", "signature_base"]

#: What every provgate signature must cover; the key id and tenant headers
#: too whenever they are present.
REQUIRED = ("@method", "@target-uri", "content-digest")
ASSERTED = ("x-provgate-key-id", "x-provgate-tenant")


class Rejected(Exception):
    """The request is not a valid, fresh forward from the edge."""

    def __init__(self, reason, status=401):
        super().__init__(reason)
        self.status = status


def key_id_for(secret):
    """The keyid the edge announces for a secret: provgate-<16 hex of SHA-256>."""
    return "provgate-" + hashlib.sha256(_bytes(secret)).hexdigest()[:16]


def _bytes(value):
    return value.encode() if isinstance(value, str) else value


def _dictionary(name, value):
    """An RFC 8941 Dictionary header, parsed by http-sfv."""
    parsed = http_sfv.Dictionary()
    try:
        parsed.parse((value or "").encode("ascii"))
    except (ValueError, UnicodeEncodeError) as why:
        raise Rejected("malformed %s (%s)" % (name, why)) from None
    return parsed


def _components(member):
    """The covered component names of one Signature-Input member."""
    if not isinstance(member, http_sfv.InnerList):
        raise Rejected("malformed Signature-Input")
    names = []
    for item in member:
        if not isinstance(item.value, str) or item.params or item.value in names:
            raise Rejected("malformed component list")
        names.append(item.value)
    return names


def signature_base(method, target_uri, headers, member):
    """The RFC 9421 §2.5 signature base for one parsed Signature-Input member.

    headers: a dict with lowercase names. The `@signature-params` line is
    the member's own serialisation, as the RFC prescribes.
    """
    lines = []
    for name in _components(member):
        if name == "@method":
            value = method.upper()
        elif name == "@target-uri":
            value = target_uri
        elif name.startswith("@") or name not in headers:
            raise Rejected("a covered component is missing or unsupported: " + name)
        else:
            value = headers[name].strip(" \t")
        lines.append('"%s": %s' % (name, value))
    lines.append('"@signature-params": ' + str(member))
    return "\n".join(lines)


class _Nonces:
    """Nonces seen within the replay window, forgotten after it."""

    def __init__(self):
        self._seen = {}
        self._lock = threading.Lock()

    def first_use(self, nonce, until, now):
        with self._lock:
            for old in [n for n, t in self._seen.items() if t < now]:
                del self._seen[old]
            if nonce in self._seen:
                return False
            self._seen[nonce] = until
            return True


def verify(method, target_uri, headers, body, secrets, now=None, max_age=60, skew=5, nonces=None):
    """Check one request; raise Rejected with the reason, or return the key id.

    headers: a dict with lowercase names. target_uri: the URL exactly as the
    edge addressed it (scheme, host, raw path and query).
    """
    now = int(time.time() if now is None else now)
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    if headers.get("content-digest") != digest:
        raise Rejected("the body does not match Content-Digest")
    inputs = _dictionary("Signature-Input", headers.get("signature-input"))
    signatures = _dictionary("Signature", headers.get("signature"))
    by_key_id = {key_id_for(s): _bytes(s) for s in secrets}
    for label, member in inputs.items():
        params = getattr(member, "params", {})
        secret = by_key_id.get(params.get("keyid"))
        if secret is None:
            continue
        if params.get("alg", "hmac-sha256") != "hmac-sha256":
            raise Rejected("unexpected algorithm")
        components = _components(member)
        required = set(REQUIRED) | {h for h in ASSERTED if h in headers}
        if not required <= set(components):
            raise Rejected("the signature does not cover " + ", ".join(sorted(required - set(components))))
        base = signature_base(method, target_uri, headers, member)
        expected = hmac.new(secret, base.encode(), hashlib.sha256).digest()
        sent = signatures[label].value if label in signatures else None
        if not isinstance(sent, bytes) or not hmac.compare_digest(sent, expected):
            raise Rejected("bad signature")
        created, expires = params.get("created"), params.get("expires", 0)
        if not isinstance(created, int) or isinstance(created, bool) or created > now + skew:
            raise Rejected("signature created in the future")
        if now - created > max_age or (expires and now > expires):
            raise Rejected("signature too old")
        nonce = params.get("nonce")
        if not isinstance(nonce, str) or not nonce or (nonces is not None and not nonces.first_use(nonce, created + max_age + skew, now)):
            raise Rejected("replayed request")
        return headers.get("x-provgate-key-id")
    raise Rejected("not signed by a known edge key")


def raw_target(environ):
    """The request target exactly as received (REQUEST_URI from waitress and
    uWSGI, RAW_URI from gunicorn). PATH_INFO is percent-decoded, so a URL
    rebuilt from it differs from the one the edge signed whenever an id holds
    `%XX`: without a raw target the request is refused, not guessed at."""
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if not target:
        raise Rejected("the server does not provide the raw request target (REQUEST_URI or RAW_URI)", status=500)
    return target


class ProvgateVerifier:
    """WSGI middleware: only verified forwards from the edge reach `app`.

    Put it outermost (before any X-Forwarded-* handling), so that it sees
    the Host and raw request target the edge addressed. `scheme` overrides
    wsgi.url_scheme when TLS ends in front of the app. `max_body` bounds the
    body it reads (default 1 MiB, the edge's MAX_BODY_BYTES): a larger one
    is refused (413) before it is read.
    """

    def __init__(self, app, secrets, max_age=60, scheme=None, max_body=1_048_576, log=sys.stderr):
        self.app, self.secrets, self.max_age, self.scheme, self.log = app, list(secrets), max_age, scheme, log
        self.max_body = max_body
        self.nonces = _Nonces()

    def _body(self, environ):
        declared = environ.get("CONTENT_LENGTH")
        try:
            length = int(declared) if declared else None
        except ValueError:
            raise Rejected("malformed Content-Length", status=400) from None
        if length is not None and (length < 0 or length > self.max_body):
            raise Rejected("the body is larger than this origin accepts", status=413)
        body = environ["wsgi.input"].read(length if length is not None else self.max_body + 1)
        if len(body) > self.max_body:
            raise Rejected("the body is larger than this origin accepts", status=413)
        return body

    def __call__(self, environ, start_response):
        method, target = environ["REQUEST_METHOD"], None
        try:
            target = raw_target(environ)
            body = self._body(environ)
            environ["wsgi.input"] = io.BytesIO(body)
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                if environ.get(key):
                    headers[key.replace("_", "-").lower()] = environ[key]
            if "://" not in target.split("?")[0]:
                target = "%s://%s%s" % (self.scheme or environ["wsgi.url_scheme"], environ.get("HTTP_HOST", ""), target)
            key_id = verify(method, target, headers, body, self.secrets, max_age=self.max_age, nonces=self.nonces)
            # The edge forwards one request without a key: public discovery.
            if key_id is None and not (method in ("GET", "HEAD") and target.split("?")[0].endswith("/ServiceProviderConfig")):
                raise Rejected("a request without X-Provgate-Key-Id other than discovery")
        except Rejected as why:
            where = target.split("?")[0] if target else "(no raw target)"
            print("provgate-verify: rejected %s %s: %s" % (method, where, why), file=self.log, flush=True)
            detail = "This origin accepts only requests forwarded by its provgate edge (%s)." % why
            payload = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(why.status), "detail": detail}).encode()
            status = {400: "400 Bad Request", 401: "401 Unauthorized", 413: "413 Content Too Large", 500: "500 Internal Server Error"}[why.status]
            start_response(status, [("Content-Type", "application/scim+json"), ("Content-Length", str(len(payload)))])
            return [payload]
        return self.app(environ, start_response)
