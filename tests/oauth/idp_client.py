"""Real OAuth 2.0 client libraries playing the IdP against the edge.

Each command fetches a token from the edge's token endpoint with one
library, then makes one SCIM call with it the way that library sends
tokens, and prints one JSON line: the token response as the library
returned it and the SCIM call's status. The edge runs on loopback over
plain HTTP, which both libraries refuse unless told it is a test.

    idp_client.py authlib-cc URL CLIENT_ID SECRET METHOD [SCOPE]
    idp_client.py oauthlib-cc URL CLIENT_ID SECRET
    idp_client.py authlib-code URL CLIENT_ID SECRET REDIRECT_URI

authlib-code plays Okta: an authorization request with PKCE (S256) and a
state, the administrator's approval as the page's plain form post of the
key, the code exchanged at the token endpoint (state checked by Authlib),
a SCIM call, then a refresh and a SCIM call with the refreshed token.
"""

import json
import os
import sys

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def authlib_client_credentials(edge, client_id, secret, method, scope=None):
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, scope=scope)
    token = session.fetch_token(f"{edge}/oauth/token", grant_type="client_credentials")
    scim = session.get(f"{edge}/scim/v2/Users")
    return {"token": dict(token), "scim_status": scim.status_code}


def oauthlib_client_credentials(edge, client_id, secret):
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    session = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
    token = session.fetch_token(token_url=f"{edge}/oauth/token", client_id=client_id, client_secret=secret)
    scim = session.get(f"{edge}/scim/v2/Users")
    return {"token": dict(token), "scim_status": scim.status_code}


def authlib_authorization_code(edge, client_id, secret, redirect_uri):
    import requests
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(client_id, secret, redirect_uri=redirect_uri, scope="users:read groups:read", code_challenge_method="S256")
    verifier = generate_token(48)
    url, state = session.create_authorization_url(f"{edge}/oauth/authorize", code_verifier=verifier)
    # What the page's form does: post the key to /oauth/approve with the request's query.
    approval = requests.post(url.replace("/oauth/authorize?", "/oauth/approve?", 1), data={"key": secret}, allow_redirects=False)
    location = approval.headers.get("Location", "")
    first = session.fetch_token(f"{edge}/oauth/token", authorization_response=location, code_verifier=verifier)
    first_scim = session.get(f"{edge}/scim/v2/Users").status_code
    refreshed = session.refresh_token(f"{edge}/oauth/token", refresh_token=first["refresh_token"])
    second_scim = session.get(f"{edge}/scim/v2/Users").status_code
    return {
        "approval_status": approval.status_code,
        "location": location,
        "state": state,
        "token": dict(first),
        "scim_status": first_scim,
        "refreshed": dict(refreshed),
        "refreshed_scim_status": second_scim,
    }


def main(argv):
    command, *args = argv
    if command == "authlib-cc":
        result = authlib_client_credentials(*args)
    elif command == "authlib-code":
        result = authlib_authorization_code(*args)
    elif command == "oauthlib-cc":
        result = oauthlib_client_credentials(*args)
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
