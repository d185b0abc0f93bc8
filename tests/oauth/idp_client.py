"""Real OAuth 2.0 client libraries playing the IdP against the edge.

Each command fetches a token from the edge's token endpoint with one
library, then makes one SCIM call with it the way that library sends
tokens, and prints one JSON line: the token response as the library
returned it and the SCIM call's status. The edge runs on loopback over
plain HTTP, which both libraries refuse unless told it is a test.

    idp_client.py authlib-cc URL CLIENT_ID SECRET METHOD [SCOPE]
    idp_client.py oauthlib-cc URL CLIENT_ID SECRET
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


def main(argv):
    command, *args = argv
    if command == "authlib-cc":
        result = authlib_client_credentials(*args)
    elif command == "oauthlib-cc":
        result = oauthlib_client_credentials(*args)
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
