//! Alerts: which events are worth telling an operator at once, what the
//! message says, and how often the same alert may be sent.
//!
//! An alert names a key only by its public id and a caller only by its
//! address; it never holds a key, token, hash, query string or body (the
//! type has no field that could). The edge posts it to `ALERT_WEBHOOK_URL`
//! after the response; [`Dedup`] keeps an alert storm (a key used from
//! hundreds of new addresses, an address hammering bad keys) down to one
//! message per key (or address) and kind per window.

use super::audit::RequestFacts;
use super::outcome::Outcome;
use super::time::UnixMillis;
use super::usage::Source;
use serde_json::json;

/// A management action on a key, as the management API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A key was minted.
    KeyMint,
    /// A key was rotated (a successor minted, the old one given a grace period).
    KeyRotate,
    /// A key was revoked.
    KeyRevoke,
    /// A key's record was changed (scopes, addresses, quota, validity).
    KeyUpdate,
}

impl Action {
    /// The action's name in alerts, e.g. `key.revoke`.
    pub fn name(self) -> &'static str {
        match self {
            Action::KeyMint => "key.mint",
            Action::KeyRotate => "key.rotate",
            Action::KeyRevoke => "key.revoke",
            Action::KeyUpdate => "key.update",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A key was used from an address or country its history does not hold.
    NewSource(Source),
    /// The origin answered 401/403 to the edge: the edge's own credential
    /// or signature is refused, so every forward fails.
    OriginRejectedEdge {
        /// The origin's status.
        origin_status: u16,
    },
    /// An address went over the failed-attempt limit (bad keys or admin tokens).
    AuthThrottled,
    /// An operator acted on a key.
    Management(Action),
}

impl Kind {
    /// The kind's name, in the message and as half of the dedup key.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::NewSource(_) => "new_source",
            Kind::OriginRejectedEdge { .. } => "origin_rejected_edge",
            Kind::AuthThrottled => "auth_throttled",
            Kind::Management(action) => action.name(),
        }
    }
}

/// One alert, before deduplication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// What happened.
    pub kind: Kind,
    /// When (the request's arrival).
    pub at: UnixMillis,
    /// The request it happened in.
    pub request_id: String,
    /// The key concerned, if known.
    pub key_id: Option<String>,
    /// The key's tenant, if any.
    pub tenant: Option<String>,
    /// The caller's address, if known.
    pub client_ip: Option<String>,
}

impl Alert {
    fn from_facts(kind: Kind, request_id: &str, facts: &RequestFacts, at: UnixMillis) -> Self {
        Self {
            kind,
            at,
            request_id: request_id.to_owned(),
            key_id: facts.key_id.clone(),
            tenant: facts.tenant.clone(),
            client_ip: facts.client_ip.clone(),
        }
    }

    /// The alert a request's outcome calls for, if any.
    pub fn for_outcome(outcome: &Outcome, request_id: &str, facts: &RequestFacts, at: UnixMillis) -> Option<Self> {
        let kind = match outcome {
            Outcome::OriginRejectedEdge { origin_status } => Kind::OriginRejectedEdge { origin_status: *origin_status },
            Outcome::AuthThrottled { .. } => Kind::AuthThrottled,
            Outcome::AdminRevoked => Kind::Management(Action::KeyRevoke),
            _ => return None,
        };
        Some(Self::from_facts(kind, request_id, facts, at))
    }

    /// A key used from a new source.
    pub fn new_source(source: &Source, request_id: &str, facts: &RequestFacts, at: UnixMillis) -> Self {
        Self::from_facts(Kind::NewSource(source.clone()), request_id, facts, at)
    }

    /// An operator's action on `key_id`, for the management API to report.
    pub fn management(action: Action, key_id: &str, request_id: &str, facts: &RequestFacts, at: UnixMillis) -> Self {
        Self { key_id: Some(key_id.to_owned()), ..Self::from_facts(Kind::Management(action), request_id, facts, at) }
    }

    /// Who the alert is about, for deduplication: the address for
    /// throttling (a bad key has no id), the key otherwise.
    pub fn subject(&self) -> Option<&str> {
        match self.kind {
            Kind::AuthThrottled => self.client_ip.as_deref(),
            _ => self.key_id.as_deref(),
        }
    }

    /// The webhook body: Slack-compatible (`text`), with the same facts as
    /// fields under `provgate` for other receivers. `suppressed` is how many
    /// alerts like this one were held back since the last one was sent.
    pub fn to_json(&self, suppressed: u32) -> String {
        let source = match &self.kind {
            Kind::NewSource(source) => Some(source),
            _ => None,
        };
        json!({
            "text": self.text(suppressed),
            "provgate": {
                "kind": self.kind.name(),
                "ts": self.at.to_rfc3339(),
                "request_id": self.request_id,
                "key_id": self.key_id,
                "tenant": self.tenant,
                "client_ip": self.client_ip,
                "source": source,
                "origin_status": match self.kind { Kind::OriginRejectedEdge { origin_status } => Some(origin_status), _ => None },
                "suppressed": suppressed,
            }
        })
        .to_string()
    }

    fn text(&self, suppressed: u32) -> String {
        let key = match (&self.key_id, &self.tenant) {
            (Some(id), Some(tenant)) => format!("key {id} (tenant {tenant})"),
            (Some(id), None) => format!("key {id}"),
            (None, _) => "a key".to_owned(),
        };
        let address = self.client_ip.as_deref().unwrap_or("an unknown address");
        let mut text = match &self.kind {
            Kind::NewSource(source) => {
                let mut from = source.ip.clone();
                if let Some(country) = &source.country {
                    from.push_str(&format!(", {country}"));
                }
                if let Some(asn) = source.asn {
                    from.push_str(&format!(", AS{asn}"));
                }
                format!("provgate: {key} was used from a new source ({from}). If that is not your identity provider, revoke the key.")
            }
            Kind::OriginRejectedEdge { origin_status } => format!(
                "provgate: the origin answered {origin_status} to the edge for {key}: it refuses the edge's own credential or signature, so SCIM calls fail with 502. Check ORIGIN_AUTHORIZATION and ORIGIN_SIGNING_SECRET."
            ),
            Kind::AuthThrottled => format!(
                "provgate: {address} is over the failed-attempt limit (invalid keys or admin tokens); its requests get 429."
            ),
            Kind::Management(action) => format!("provgate: {} on {key}, from {address}.", action.name()),
        };
        if suppressed > 0 {
            text.push_str(&format!(" ({suppressed} more like this since the last alert.)"));
        }
        text.push_str(&format!(" Request {}.", self.request_id));
        text
    }
}

/// Whether to send an alert now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it, saying how many like it were held back before.
    Send {
        /// Alerts of this kind and subject held back since the last one sent.
        suppressed: u32,
    },
    /// One like it was sent less than a window ago.
    Suppress,
}

#[derive(Debug, Clone)]
struct Entry {
    kind: &'static str,
    subject: Option<String>,
    sent_at: u64,
    suppressed: u32,
}

/// At most one alert per kind and subject per window, with a bounded
/// memory. When it is full of subjects alerted within the window, further
/// new subjects of a kind share one entry without subject: a flood from
/// many addresses still sends one alert per kind per window.
#[derive(Debug, Clone)]
pub struct Dedup {
    entries: Vec<Entry>,
    capacity: usize,
}

impl Dedup {
    /// A deduplicator remembering at most `capacity` subjects.
    pub fn new(capacity: usize) -> Self {
        Self { entries: Vec::new(), capacity }
    }

    /// Decides `kind` about `subject` at `now`, with a window of `window_ms`.
    pub fn admit(&mut self, kind: &'static str, subject: Option<&str>, now: UnixMillis, window_ms: u64) -> Verdict {
        let live = |e: &Entry| now.0.saturating_sub(e.sent_at) < window_ms;
        if let Some(entry) = self.entries.iter_mut().find(|e| e.kind == kind && e.subject.as_deref() == subject) {
            if live(entry) {
                entry.suppressed = entry.suppressed.saturating_add(1);
                return Verdict::Suppress;
            }
            let suppressed = std::mem::take(&mut entry.suppressed);
            entry.sent_at = now.0;
            return Verdict::Send { suppressed };
        }
        if self.entries.len() >= self.capacity {
            self.entries.retain(|e| live(e) || e.subject.is_none());
        }
        if subject.is_some() && self.entries.iter().filter(|e| e.subject.is_some()).count() >= self.capacity {
            return self.admit(kind, None, now, window_ms);
        }
        self.entries.push(Entry { kind, subject: subject.map(str::to_owned), sent_at: now.0, suppressed: 0 });
        Verdict::Send { suppressed: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outcome::KeyRejection;

    const MIN: u64 = 60_000;

    fn facts() -> RequestFacts {
        RequestFacts {
            method: "GET".into(),
            resource: Some("users".into()),
            key_id: Some("key_a".into()),
            tenant: Some("acme".into()),
            client_ip: Some("192.0.2.9".into()),
        }
    }

    #[test]
    fn outcomes_that_alert_and_those_that_do_not() {
        let at = UnixMillis(0);
        let kind = |o: &Outcome| Alert::for_outcome(o, "r", &facts(), at).map(|a| a.kind.name());
        assert_eq!(kind(&Outcome::OriginRejectedEdge { origin_status: 401 }), Some("origin_rejected_edge"));
        assert_eq!(kind(&Outcome::AuthThrottled { retry_after: 60 }), Some("auth_throttled"));
        assert_eq!(kind(&Outcome::AdminRevoked), Some("key.revoke"));
        for quiet in [Outcome::Forwarded { origin_status: 200, unmetered: false }, Outcome::InvalidKey(KeyRejection::Unknown), Outcome::RateLimited { retry_after: 1 }, Outcome::AdminUsage] {
            assert_eq!(kind(&quiet), None, "{quiet:?}");
        }
    }

    #[test]
    fn the_subject_is_the_address_for_throttling_and_the_key_otherwise() {
        let at = UnixMillis(0);
        let throttled = Alert::for_outcome(&Outcome::AuthThrottled { retry_after: 60 }, "r", &facts(), at).unwrap();
        assert_eq!(throttled.subject(), Some("192.0.2.9"));
        let source = Source::new("198.51.100.4", Some("NZ"), Some(64_500)).unwrap();
        assert_eq!(Alert::new_source(&source, "r", &facts(), at).subject(), Some("key_a"));
        let minted = Alert::management(Action::KeyMint, "key_new", "r", &RequestFacts::default(), at);
        assert_eq!((minted.subject(), minted.kind.name()), (Some("key_new"), "key.mint"));
    }

    #[test]
    fn the_body_is_slack_text_plus_fields() {
        let source = Source::new("198.51.100.4", Some("NZ"), Some(64_500)).unwrap();
        let body: serde_json::Value = serde_json::from_str(&Alert::new_source(&source, "r1", &facts(), UnixMillis(0)).to_json(3)).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(text.contains("key key_a (tenant acme)") && text.contains("198.51.100.4, NZ, AS64500"), "{text}");
        assert!(text.contains("3 more like this") && text.ends_with("Request r1."), "{text}");
        assert_eq!(body["provgate"]["kind"], "new_source");
        assert_eq!(body["provgate"]["source"]["ip"], "198.51.100.4");
        assert_eq!(body["provgate"]["suppressed"], 3);
        assert_eq!(body["provgate"]["ts"], "1970-01-01T00:00:00Z");
        let fields: Vec<&String> = body["provgate"].as_object().unwrap().keys().collect();
        assert_eq!(fields, ["client_ip", "key_id", "kind", "origin_status", "request_id", "source", "suppressed", "tenant", "ts"]);

        let rejected = Alert::for_outcome(&Outcome::OriginRejectedEdge { origin_status: 403 }, "r2", &facts(), UnixMillis(0)).unwrap();
        let body: serde_json::Value = serde_json::from_str(&rejected.to_json(0)).unwrap();
        assert_eq!(body["provgate"]["origin_status"], 403);
        assert!(!body["text"].as_str().unwrap().contains("more like this"));
    }

    #[test]
    fn one_alert_per_kind_and_subject_per_window() {
        let mut d = Dedup::new(8);
        assert_eq!(d.admit("new_source", Some("key_a"), UnixMillis(0), 5 * MIN), Verdict::Send { suppressed: 0 });
        assert_eq!(d.admit("new_source", Some("key_a"), UnixMillis(MIN), 5 * MIN), Verdict::Suppress);
        assert_eq!(d.admit("new_source", Some("key_a"), UnixMillis(5 * MIN - 1), 5 * MIN), Verdict::Suppress);
        // Another subject, another kind: their own windows.
        assert_eq!(d.admit("new_source", Some("key_b"), UnixMillis(MIN), 5 * MIN), Verdict::Send { suppressed: 0 });
        assert_eq!(d.admit("key.revoke", Some("key_a"), UnixMillis(MIN), 5 * MIN), Verdict::Send { suppressed: 0 });
        // The window is over: sent again, with the count held back.
        assert_eq!(d.admit("new_source", Some("key_a"), UnixMillis(5 * MIN), 5 * MIN), Verdict::Send { suppressed: 2 });
        assert_eq!(d.admit("new_source", Some("key_a"), UnixMillis(5 * MIN + 1), 5 * MIN), Verdict::Suppress);
        // A clock going backwards counts as no time passed.
        assert_eq!(d.admit("new_source", Some("key_b"), UnixMillis(0), 5 * MIN), Verdict::Suppress);
    }

    #[test]
    fn a_flood_of_subjects_sends_one_alert_per_kind_once_full() {
        let mut d = Dedup::new(4);
        let window = 5 * MIN;
        let sent = (0..1_000).filter(|i| matches!(d.admit("auth_throttled", Some(&format!("10.0.0.{i}")), UnixMillis(*i), window), Verdict::Send { .. })).count();
        assert_eq!(sent, 4 + 1, "four subjects, then one shared alert");
        assert!(d.entries.len() <= 5);
        // Another kind still gets through, once.
        assert_eq!(d.admit("new_source", Some("key_z"), UnixMillis(2_000), window), Verdict::Send { suppressed: 0 });
        assert_eq!(d.admit("new_source", Some("key_y"), UnixMillis(2_001), window), Verdict::Suppress);
        // Once the window is over, room is made for new subjects again.
        assert_eq!(d.admit("auth_throttled", Some("10.9.9.9"), UnixMillis(window + 5_000), window), Verdict::Send { suppressed: 0 });
    }

    #[test]
    fn the_shared_entry_reports_what_it_held_back() {
        let mut d = Dedup::new(1);
        let window = MIN;
        assert_eq!(d.admit("auth_throttled", Some("a"), UnixMillis(0), window), Verdict::Send { suppressed: 0 });
        assert_eq!(d.admit("auth_throttled", Some("b"), UnixMillis(1), window), Verdict::Send { suppressed: 0 });
        assert_eq!(d.admit("auth_throttled", Some("c"), UnixMillis(2), window), Verdict::Suppress);
        assert_eq!(d.admit("auth_throttled", None, UnixMillis(window + 1), window), Verdict::Send { suppressed: 1 });
    }
}
