"""Verify at the origin that a request came through provgate.

provgate signs every request it forwards (RFC 9421 HTTP Message Signatures,
hmac-sha256, over @method, @target-uri, content-digest and the
X-Provgate-Key-Id / X-Provgate-Tenant headers) and sends the body's
Content-Digest (RFC 9530). This module checks all of it with the Python
standard library only:

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

__all__ = ["ProvgateVerifier", "Rejected", "verify", "key_id_for"]


class Rejected(Exception):
    """The request is not a valid, fresh forward from the edge."""


def key_id_for(secret):
    """The keyid the edge announces for a secret: provgate-<16 hex of SHA-256>."""
    return "provgate-" + hashlib.sha256(_bytes(secret)).hexdigest()[:16]


def _bytes(value):
    return value.encode() if isinstance(value, str) else value


def _split_top_level(value):
    """Split a structured-field dictionary at top-level commas."""
    members, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(value):
        if ch == '"' and (i == 0 or value[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            members.append(value[start:i].strip())
            start = i + 1
    members.append(value[start:].strip())
    return [m for m in members if m]


def _dictionary(value):
    out = {}
    for member in _split_top_level(value or ""):
        label, sep, rest = member.partition("=")
        if not sep or label in out:
            raise Rejected("malformed or repeated signature label")
        out[label.strip()] = rest.strip()
    return out


def _inner_list(text):
    """Parse `("a" "b");p=1;q="x"` into (["a", "b"], {"p": 1, "q": "x"})."""
    if not text.startswith("(") or ")" not in text:
        raise Rejected("malformed Signature-Input")
    inside, _, params_text = text[1:].partition(")")
    components = inside.split()
    if any(len(c) < 2 or c[0] != '"' or c[-1] != '"' for c in components):
        raise Rejected("malformed component list")
    params = {}
    for param in filter(None, params_text.split(";")):
        name, _, raw = param.partition("=")
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            params[name] = raw[1:-1]
        elif raw.isdigit():
            params[name] = int(raw)
        else:
            raise Rejected("malformed signature parameter")
    return [c[1:-1] for c in components], params


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
    inputs = _dictionary(headers.get("signature-input"))
    signatures = _dictionary(headers.get("signature"))
    by_key_id = {key_id_for(s): _bytes(s) for s in secrets}
    for label, text in inputs.items():
        components, params = _inner_list(text)
        secret = by_key_id.get(params.get("keyid"))
        if secret is None:
            continue
        if params.get("alg", "hmac-sha256") != "hmac-sha256":
            raise Rejected("unexpected algorithm")
        required = {"@method", "@target-uri", "content-digest"}
        required |= {h for h in ("x-provgate-key-id", "x-provgate-tenant") if h in headers}
        if not required <= set(components):
            raise Rejected("the signature does not cover " + ", ".join(sorted(required - set(components))))
        lines = []
        for name in components:
            if name == "@method":
                value = method.upper()
            elif name == "@target-uri":
                value = target_uri
            elif name in headers:
                value = headers[name].strip()
            else:
                raise Rejected("a covered header is missing: " + name)
            lines.append('"%s": %s' % (name, value))
        lines.append('"@signature-params": ' + text)
        expected = base64.b64encode(hmac.new(secret, "\n".join(lines).encode(), hashlib.sha256).digest()).decode()
        sent = signatures.get(label, "")
        if not (sent.startswith(":") and sent.endswith(":") and hmac.compare_digest(sent[1:-1], expected)):
            raise Rejected("bad signature")
        created, expires = params.get("created"), params.get("expires", 0)
        if not isinstance(created, int) or created > now + skew:
            raise Rejected("signature created in the future")
        if now - created > max_age or (expires and now > expires):
            raise Rejected("signature too old")
        nonce = params.get("nonce")
        if not nonce or (nonces is not None and not nonces.first_use(nonce, created + max_age + skew, now)):
            raise Rejected("replayed request")
        return headers.get("x-provgate-key-id")
    raise Rejected("not signed by a known edge key")


class ProvgateVerifier:
    """WSGI middleware: only verified forwards from the edge reach `app`.

    Put it outermost (before any X-Forwarded-* handling), so that it sees
    the Host and raw request target the edge addressed. `scheme` overrides
    wsgi.url_scheme when TLS ends in front of the app.
    """

    def __init__(self, app, secrets, max_age=60, scheme=None, log=sys.stderr):
        self.app, self.secrets, self.max_age, self.scheme, self.log = app, list(secrets), max_age, scheme, log
        self.nonces = _Nonces()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        target = environ.get("REQUEST_URI") or (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""))
        target_uri = "%s://%s%s" % (self.scheme or environ["wsgi.url_scheme"], environ.get("HTTP_HOST", ""), target)
        try:
            verify(environ["REQUEST_METHOD"], target_uri, headers, body, self.secrets, max_age=self.max_age, nonces=self.nonces)
        except Rejected as why:
            print("provgate-verify: rejected %s %s: %s" % (environ["REQUEST_METHOD"], target_uri.split("?")[0], why), file=self.log, flush=True)
            detail = "This origin accepts only requests forwarded by its provgate edge (%s)." % why
            payload = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401", "detail": detail}).encode()
            start_response("401 Unauthorized", [("Content-Type", "application/scim+json"), ("Content-Length", str(len(payload)))])
            return [payload]
        return self.app(environ, start_response)
