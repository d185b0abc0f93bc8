//! The doctor's checks of a deployed edge, each ending in pass, fail (with
//! the fix) or skip (with how to turn it on). Credentials go only to the
//! edge named, over HTTPS (or to a loopback dev edge), and never into the
//! report.

use super::api::API_PREFIX;
use super::doctor::{Check, Setup};
use super::fail::Fail;
use super::http::{self, Reply};
use super::parse::is_loopback;
use super::problem;
use crate::core::key::{KeyFormatError, ProvisioningKey};
use serde_json::{json, Value};
use std::time::Duration;
use ureq::Agent;
use url::Url;

/// Every check, in order.
pub fn all(setup: &Setup) -> Result<Vec<Check>, Fail> {
    let agent = http::agent();
    let key = std::env::var("PROVGATE_KEY").ok().filter(|k| !k.trim().is_empty()).map(|k| k.trim().to_owned());
    let token = setup.edge_args.token()?;
    Ok(vec![
        discovery(&agent, setup, key.as_deref()),
        https(setup),
        doctor_page(&agent, setup),
        key_verifies(&agent, setup, key.as_deref()),
        origin_trust(&agent, setup, token.map(|t| t.bearer())),
    ])
}

fn at(setup: &Setup, path: &str) -> Url {
    setup.edge.join(path).expect("the edge's URL takes a path")
}

/// A SCIM error body's `detail`, cleaned, for a detail line.
fn scim_detail(reply: &Reply) -> String {
    reply.json().and_then(|v| v["detail"].as_str().map(problem::clean)).map(|d| format!(": {d}")).unwrap_or_default()
}

fn discovery(agent: &Agent, setup: &Setup, key: Option<&str>) -> Check {
    const NAME: &str = "discovery";
    let url = at(setup, &format!("{}/ServiceProviderConfig", setup.scim_base));
    let path = url.path().to_owned();
    let mut reply = match http::send(agent, "GET", &url, &[], None) {
        Ok(r) => r,
        Err(e) => return Check::fail(NAME, format!("cannot reach the edge ({e})"), "check the host name, DNS and the Worker's route or custom domain (wrangler.toml)"),
    };
    let mut with_key = false;
    if reply.status == 401 {
        let Some(key) = key else {
            return Check::skip(NAME, format!("GET {path} needs a key here (PUBLIC_DISCOVERY=false): set PROVGATE_KEY to check it"));
        };
        match http::send(agent, "GET", &url, &[("authorization", format!("Bearer {key}"))], None) {
            Ok(r) => (reply, with_key) = (r, true),
            Err(e) => return Check::fail(NAME, format!("cannot reach the edge ({e})"), "check the host name, DNS and the Worker's route"),
        }
    }
    let how = if with_key { " (with PROVGATE_KEY)" } else { "" };
    let is_spc = reply.json().is_some_and(|v| {
        v["schemas"].as_array().is_some_and(|s| s.iter().any(|s| s == "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"))
    });
    match reply.status {
        200 if is_spc => Check::pass(NAME, format!("GET {path}{how} answered the origin's ServiceProviderConfig")),
        200 => Check::fail(NAME, format!("GET {path}{how} answered 200 but not a SCIM ServiceProviderConfig"), "ORIGIN_URL must be the origin's SCIM base URL (e.g. https://origin.example.com/scim/v2)"),
        404 => Check::fail(
            NAME,
            format!("GET {path}{how} answered 404{}", scim_detail(&reply)),
            "pass --scim-base with the edge's SCIM_BASE_PATH; if it is right, ORIGIN_URL must be the origin's SCIM base URL",
        ),
        502 | 504 => Check::fail(
            NAME,
            format!("GET {path}{how} answered {}{}", reply.status, scim_detail(&reply)),
            "the edge cannot get an answer from its origin: check ORIGIN_URL and that the origin is up and reachable from Cloudflare (the origin check below says more)",
        ),
        503 => Check::fail(
            NAME,
            format!("GET {path}{how} answered 503{}", scim_detail(&reply)),
            "the edge's configuration is incomplete or a binding is failing: its audit line names the reason (docs/errors.md, docs/configuration.md)",
        ),
        status => Check::fail(NAME, format!("GET {path}{how} answered {status}{}", scim_detail(&reply)), "see docs/errors.md for that status"),
    }
}

fn https(setup: &Setup) -> Check {
    const NAME: &str = "https";
    if setup.edge.scheme() == "http" && is_loopback(&setup.edge) {
        return Check::skip(NAME, "a loopback dev edge over http: HTTPS is not checked");
    }
    let mut plain = at(setup, &format!("{}/ServiceProviderConfig", setup.scim_base));
    plain.set_scheme("http").expect("https → http");
    plain.set_port(None).expect("a host URL has a port");
    // No credentials over plain HTTP, and a short wait: a dropped port is as good as a refusal.
    let agent = Agent::new_with_config(
        Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).http_status_as_error(false).max_redirects(0).build(),
    );
    match http::send(&agent, "GET", &plain, &[], None) {
        Err(e) => plain_http(Err(&e), plain.path()),
        Ok(r) => plain_http(Ok((r.status, r.header("location"))), plain.path()),
    }
}

/// What a plain-HTTP request's fate says: refused (or no answer) and
/// redirected to `https://` pass; any answer served over HTTP fails.
fn plain_http(sent: Result<(u16, Option<&str>), &str>, path: &str) -> Check {
    const NAME: &str = "https";
    match sent {
        Err(e) => Check::pass(NAME, format!("plain HTTP is not served ({e})")),
        Ok((status, Some(location))) if (300..400).contains(&status) && location.starts_with("https://") => {
            Check::pass(NAME, format!("plain HTTP is redirected to HTTPS ({status})"))
        }
        Ok((status, _)) => Check::fail(
            NAME,
            format!("GET {path} over plain HTTP answered {status} instead of redirecting to HTTPS"),
            "turn on Always Use HTTPS for the zone (SSL/TLS → Edge Certificates) or a redirect rule, and HSTS; serve the Worker on a custom domain only (workers_dev = false)",
        ),
    }
}

fn doctor_page(agent: &Agent, setup: &Setup) -> Check {
    const NAME: &str = "doctor page";
    let url = at(setup, "/");
    let fix = "the connection doctor is the Worker's static assets: keep [assets] directory = \"www\" in wrangler.toml and deploy from the repository";
    match http::send(agent, "GET", &url, &[], None) {
        Err(e) => Check::fail(NAME, format!("cannot load / ({e})"), fix),
        Ok(r) if r.status == 200 && r.text.contains("provgate connection doctor") => Check::pass(NAME, format!("{} loads", url.as_str())),
        Ok(r) if r.status == 200 => Check::fail(NAME, "/ answered 200 but not the connection doctor", fix),
        Ok(r) => Check::fail(NAME, format!("/ answered {}", r.status), fix),
    }
}

fn key_verifies(agent: &Agent, setup: &Setup, key: Option<&str>) -> Check {
    const NAME: &str = "key";
    let Some(key) = key else {
        return Check::skip(NAME, "set PROVGATE_KEY to check that a key verifies (it is never printed)");
    };
    match ProvisioningKey::parse(key) {
        Err(KeyFormatError::Malformed) => return Check::fail(NAME, "PROVGATE_KEY is not a provisioning key", "a key is pvk_ and 49 letters and digits, exactly as minted"),
        Err(KeyFormatError::BadChecksum) => return Check::fail(NAME, "PROVGATE_KEY has a typo or is cut short (its checksum fails)", "copy the key again, whole"),
        Ok(_) => {}
    }
    let url = at(setup, "/_provgate/check");
    let reply = match http::send(agent, "POST", &url, &[("authorization", format!("Bearer {key}"))], None) {
        Ok(r) => r,
        Err(e) => return Check::fail(NAME, format!("cannot reach {} ({e})", url.path()), "check the edge's address"),
    };
    let body = reply.json().unwrap_or(Value::Null);
    if reply.status == 200 && body["valid"] == json!(true) {
        let tenant = body["tenant"].as_str().map(|t| format!(", tenant {t}")).unwrap_or_default();
        let scopes = super::output::text(&body, "scopes");
        return Check::pass(NAME, format!("{} ({}{tenant}) verifies; scopes {scopes}", problem::field(&body, "key_id"), problem::clean(problem::field(&body, "label"))));
    }
    if reply.status != 200 {
        return Check::fail(NAME, format!("{} answered {}{}", url.path(), reply.status, scim_detail(&reply)), "see docs/errors.md for that status");
    }
    let reason = body["reason"].as_str().unwrap_or("unknown");
    let fix = match reason {
        "unknown" => "this edge has no record of the key: minted at another edge or under another pepper, or less than a minute ago (KV propagation: retry after its usable_everywhere_by)",
        "revoked" => "the key is revoked: mint a new one (provgate key mint) and update the IdP",
        "expired" => "the key has expired: rotate or mint a new one and update the IdP",
        "not_yet_valid" => "the key's not_before is still ahead (provgate key show)",
        "ip_not_allowed" => "the key's allow_ips does not include this machine's address: run the doctor from an allowed network, or check allow_ips",
        _ => "see docs/doctor.md",
    };
    Check::fail(NAME, format!("the key does not verify ({reason})"), fix)
}

fn origin_trust(agent: &Agent, setup: &Setup, bearer: Option<String>) -> Check {
    const NAME: &str = "origin";
    let Some(bearer) = bearer else {
        return Check::skip(NAME, "set PROVGATE_TOKEN (a management token) to check that the origin accepts the edge's signed requests");
    };
    let url = at(setup, &format!("{API_PREFIX}/diagnostics/origin"));
    let body = json!(setup.tenant.as_ref().map_or_else(|| json!({}), |t| json!({ "tenant": t })));
    let headers = [("authorization", bearer), ("content-type", "application/json".to_owned())];
    let reply = match http::send(agent, "POST", &url, &headers, Some(body.to_string().into_bytes())) {
        Ok(r) => r,
        Err(e) => return Check::fail(NAME, format!("cannot reach the edge ({e})"), "check the edge's address"),
    };
    if reply.status != 200 {
        let fix = match reply.status {
            401 => "PROVGATE_TOKEN must be a management token (or the root token) of this edge",
            403 => "use a token with usage:read (provgate token mint --label doctor --scopes usage:read), of this tenant if it is restricted",
            404 => "the management API is off: set the ROOT_TOKEN secret of provgate-control (docs/api.md)",
            _ => "retry; if it persists, see the edge's audit line for this request id",
        };
        return Check::fail(NAME, problem::describe(&reply, "POST /_provgate/api/v1/diagnostics/origin"), fix);
    }
    let answer = reply.json().unwrap_or(Value::Null);
    let status = answer["origin_status"].as_u64().map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
    let detail = answer["detail"].as_str().map(problem::clean).map(|d| format!(": {d}")).unwrap_or_default();
    match answer["verdict"].as_str() {
        Some("accepted") => Check::pass(NAME, format!("the origin accepted a signed forward ({status})")),
        Some("rejected") => Check::fail(
            NAME,
            format!("the origin refused the edge's signed request ({status}){detail}"),
            "the origin's verifier must hold the edge's ORIGIN_SIGNING_SECRET (during a rotation, ORIGIN_SIGNING_SECRET_PREVIOUS: docs/origin.md) and ORIGIN_AUTHORIZATION must be the origin's credential",
        ),
        Some("unreachable") => Check::fail(NAME, format!("the edge cannot reach its origin{detail}"), "check ORIGIN_URL and that the origin is up and accepts connections from Cloudflare"),
        _ => Check::fail(NAME, format!("the origin answered {status} to a signed GET /ServiceProviderConfig{detail}"), "ORIGIN_URL must be the origin's SCIM base URL, and the origin must serve /ServiceProviderConfig"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::doctor::Verdict;

    #[test]
    fn plain_http_must_be_refused_or_sent_to_https() {
        let verdict = |sent| plain_http(sent, "/scim/v2/ServiceProviderConfig").result;
        assert!(verdict(Err("the connection was refused")) == Verdict::Pass);
        assert!(verdict(Ok((301, Some("https://scim.example.com/scim/v2/ServiceProviderConfig")))) == Verdict::Pass);
        assert!(verdict(Ok((308, Some("https://scim.example.com/")))) == Verdict::Pass);
        assert!(verdict(Ok((200, None))) == Verdict::Fail, "served over HTTP");
        assert!(verdict(Ok((401, None))) == Verdict::Fail, "the edge itself answered over HTTP");
        assert!(verdict(Ok((301, Some("http://elsewhere.example/")))) == Verdict::Fail, "a redirect that stays on HTTP");
        assert!(verdict(Ok((302, None))) == Verdict::Fail);
        let failed = plain_http(Ok((200, None)), "/x");
        assert!(failed.fix.unwrap().contains("Always Use HTTPS"));
    }
}
