//! An API error (RFC 9457 problem details) as one line an operator can act
//! on: the problem's title and detail, each field it names, and what to do
//! for the cases that need a hint. Text from the edge is cleaned first: no
//! control characters, bounded length, and anything shaped like a key, a
//! token or a long hex id (a hash, an account or namespace id) blanked.

use super::http::Reply;
use serde_json::Value;

/// The line for an answer that is not a success.
pub fn describe(reply: &Reply, what: &str) -> String {
    let Some(problem) = reply.json().filter(|v| v["type"].as_str().is_some_and(|t| t.starts_with("urn:provgate:problem:"))) else {
        return not_a_problem(reply, what);
    };
    let slug = problem["type"].as_str().unwrap_or_default().trim_start_matches("urn:provgate:problem:");
    let mut line = clean(problem["title"].as_str().unwrap_or(slug));
    if let Some(detail) = problem["detail"].as_str().map(clean).filter(|d| !d.is_empty() && *d != line) {
        line = format!("{line}: {detail}");
    }
    let fields: Vec<String> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| format!("{}: {}", clean(e["field"].as_str().unwrap_or("?")), clean(e["detail"].as_str().unwrap_or(""))))
        .collect();
    if !fields.is_empty() {
        line = format!("{line} ({})", fields.join("; "));
    }
    if let Some(hint) = hint(slug, reply) {
        line = format!("{line}. {hint}");
    }
    let request = problem["request_id"].as_str().map(clean).map(|id| format!(", request {id}")).unwrap_or_default();
    format!("{what}: {line} [{} {slug}{request}]", reply.status)
}

/// What to do next, where the problem's own words do not say it.
fn hint(slug: &str, reply: &Reply) -> Option<String> {
    Some(match slug {
        "unauthorized" => "PROVGATE_TOKEN is not a valid management token (or root token) for this edge".into(),
        "auth_throttled" => format!("too many failed attempts from this address: wait {} s", reply.header("retry-after").unwrap_or("a minute")),
        "idempotency_in_progress" => "the first call with this --idempotency-key is still running: retry in a second".into(),
        "key_active" => "revoke it first (provgate key revoke <id>)".into(),
        "key_incomplete" => "its mint never finished: delete it (provgate key delete <id>)".into(),
        "summary_not_written" => "the change is saved; run `provgate key update <id> --repair` to rewrite the listing".into(),
        "store_unavailable" => "nothing that works was written: retry".into(),
        _ => return None,
    })
}

/// An answer without a problem body: no API at that address (the edge
/// answers 404 everywhere under the prefix until ROOT_TOKEN is set), or
/// something in front of it.
fn not_a_problem(reply: &Reply, what: &str) -> String {
    match reply.status {
        404 => format!("{what}: the edge answered 404: the management API is not turned on there (set the ROOT_TOKEN secret, docs/api.md), or this is not a provgate edge"),
        301 | 302 | 303 | 307 | 308 => format!("{what}: the edge redirects (HTTP {}) to {}: pass that address as --edge", reply.status, reply.header("location").map(clean).unwrap_or_default()),
        status => format!("{what}: the edge answered HTTP {status} without a problem description: is this a provgate edge?"),
    }
}

/// Edge-supplied text made safe to print on one line.
pub fn clean(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect();
    blank_secrets(&one_line)
}

/// Blanks `pvk_…`/`pvm_…` secrets and runs of 32 or more hex digits.
fn blank_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let run = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
        if run == 0 {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let word = &rest[..run];
        let secret = word.starts_with("pvk_") || word.starts_with("pvm_") || (run >= 32 && word.bytes().all(|b| b.is_ascii_hexdigit()));
        out.push_str(if secret { "<redacted>" } else { word });
        rest = &rest[run..];
    }
    out
}

/// A JSON string field, or `-`.
pub fn field<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name].as_str().unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderMap;

    fn reply(status: u16, text: &str) -> Reply {
        Reply { status, headers: HeaderMap::new(), text: text.into() }
    }

    #[test]
    fn a_problem_is_one_line_with_its_fields() {
        let r = reply(400, r#"{"type":"urn:provgate:problem:invalid_field","title":"A field has an invalid value","status":400,"detail":"The request has invalid fields.","request_id":"5f1c","errors":[{"field":"scopes[1]","detail":"expected a scope"}]}"#);
        let line = describe(&r, "key mint");
        assert_eq!(line, "key mint: A field has an invalid value: The request has invalid fields. (scopes[1]: expected a scope) [400 invalid_field, request 5f1c]");
    }

    #[test]
    fn secrets_and_long_hex_ids_are_blanked_and_lines_stay_single() {
        let key = format!("pvk_{}", "a".repeat(49));
        let account = "0123456789abcdef0123456789abcdef";
        let text = format!("bad {key} in\naccount {account}, id key_abc, status 404");
        let cleaned = clean(&text);
        assert_eq!(cleaned, "bad <redacted> in account <redacted>, id key_abc, status 404");
        assert!(clean(&"x".repeat(1000)).len() <= 300);
    }

    #[test]
    fn answers_that_are_not_problems_are_explained() {
        assert!(describe(&reply(404, r#"{"schemas":[],"status":"404"}"#), "key list").contains("ROOT_TOKEN"));
        assert!(describe(&reply(500, "oops"), "key list").contains("HTTP 500"));
    }
}
