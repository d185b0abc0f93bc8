//! `POST /diagnostics/origin`: whether the origin trusts the edge, checked
//! with one signed forward of a harmless request, `GET
//! <origin>/ServiceProviderConfig`, exactly as a SCIM call is forwarded
//! (the origin's credential, the RFC 9421 signature) but with no key. The
//! origin's answer says it: 2xx accepted, 401/403 rejected (the signature
//! or the credential), no answer unreachable, anything else unexpected.
//! `provgate doctor --edge` calls it after a deploy.

use super::fields::{self, Form};
use super::problem::Problem;
use serde_json::{json, Value};

/// The path forwarded, below the origin's base URL: discovery, which reads
/// nothing and changes nothing.
pub const PATH: &str = "/ServiceProviderConfig";

/// How the forward went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// The origin answered with this status.
    Answered(u16),
    /// No connection, or the connection failed before an answer.
    Unreachable,
    /// No answer within `ORIGIN_TIMEOUT_MS`.
    TimedOut,
}

/// What the origin's answer says about its trust in the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: the signature and the credential were accepted.
    Accepted,
    /// 401 or 403: the origin refused the edge.
    Rejected,
    /// No answer at all.
    Unreachable,
    /// Another status: the origin answered, but not as a SCIM server would.
    Unexpected,
}

impl Verdict {
    /// The verdict of a forward.
    pub fn of(sent: Sent) -> Self {
        match sent {
            Sent::Answered(200..=299) => Verdict::Accepted,
            Sent::Answered(401 | 403) => Verdict::Rejected,
            Sent::Answered(_) => Verdict::Unexpected,
            Sent::Unreachable | Sent::TimedOut => Verdict::Unreachable,
        }
    }

    /// Its name in the answer.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
            Verdict::Unreachable => "unreachable",
            Verdict::Unexpected => "unexpected",
        }
    }
}

/// The request body: `{}` or `{"tenant": …}` (the tenant whose origin a
/// `{tenant}` ORIGIN_URL names).
pub fn parse(body: &[u8]) -> Result<Option<String>, Problem> {
    let mut form = Form::parse(body, &["tenant"], true)?;
    let tenant = form.nullable("tenant", fields::tenant).flatten();
    form.finish()?;
    Ok(tenant)
}

/// The answer: the verdict, the origin's status and what it means.
pub fn answer(sent: Sent, tenant: Option<&str>, origin_timeout_ms: u64) -> Value {
    let verdict = Verdict::of(sent);
    let detail = match sent {
        Sent::Answered(status) => match verdict {
            Verdict::Accepted => format!("the origin answered {status}: it accepts the edge's signature and credential"),
            Verdict::Rejected => format!("the origin answered {status}: it refuses the edge's signature (ORIGIN_SIGNING_SECRET) or credential (ORIGIN_AUTHORIZATION)"),
            _ => format!("the origin answered {status} to GET {PATH}: is ORIGIN_URL its SCIM base URL?"),
        },
        Sent::Unreachable => "no connection to the origin: check ORIGIN_URL and that the origin accepts connections from Cloudflare".to_owned(),
        Sent::TimedOut => format!("no answer from the origin within ORIGIN_TIMEOUT_MS ({origin_timeout_ms} ms)"),
    };
    json!({
        "verdict": verdict.name(),
        "origin_status": match sent { Sent::Answered(s) => Some(s), _ => None },
        "path": PATH,
        "tenant": tenant,
        "detail": detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::api::problem::Kind;

    #[test]
    fn the_origins_answer_is_the_verdict() {
        assert_eq!(Verdict::of(Sent::Answered(200)), Verdict::Accepted);
        assert_eq!(Verdict::of(Sent::Answered(204)), Verdict::Accepted);
        assert_eq!(Verdict::of(Sent::Answered(401)), Verdict::Rejected);
        assert_eq!(Verdict::of(Sent::Answered(403)), Verdict::Rejected);
        for other in [301, 404, 500, 502] {
            assert_eq!(Verdict::of(Sent::Answered(other)), Verdict::Unexpected, "{other}");
        }
        assert_eq!(Verdict::of(Sent::Unreachable), Verdict::Unreachable);
        assert_eq!(Verdict::of(Sent::TimedOut), Verdict::Unreachable);
        let a = answer(Sent::Answered(401), Some("acme"), 10_000);
        assert_eq!((a["verdict"].as_str(), a["origin_status"].as_u64(), a["tenant"].as_str()), (Some("rejected"), Some(401), Some("acme")));
        assert!(answer(Sent::TimedOut, None, 1234)["detail"].as_str().unwrap().contains("1234 ms"));
        assert!(answer(Sent::Unreachable, None, 1)["origin_status"].is_null());
    }

    #[test]
    fn the_body_names_a_tenant_or_nothing() {
        assert_eq!(parse(b"").unwrap(), None);
        assert_eq!(parse(b"{}").unwrap(), None);
        assert_eq!(parse(br#"{"tenant":null}"#).unwrap(), None);
        assert_eq!(parse(br#"{"tenant":"acme"}"#).unwrap().as_deref(), Some("acme"));
        assert_eq!(parse(br#"{"tenant":"a/b"}"#).unwrap_err().kind, Kind::InvalidField);
        assert_eq!(parse(br#"{"tenants":"acme"}"#).unwrap_err().kind, Kind::UnknownField);
        assert_eq!(parse(b"[]").unwrap_err().kind, Kind::InvalidJson);
    }
}
