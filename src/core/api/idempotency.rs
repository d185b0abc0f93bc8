//! `Idempotency-Key` for mint and rotate: the state a Durable Object keeps
//! per actor and key (so retries at any location, even concurrent ones,
//! meet the same state), and its decisions.
//!
//! A call reserves its key id and record name in a `pending` state before
//! it writes anything; finishing stores its answer (without the key, which
//! is never stored). A retry of a call still pending after
//! [`PENDING_MS`] takes over: the edge revokes the reserved key id at its
//! guard and deletes its entries before minting anew, so whatever the
//! stopped call wrote can never work and no retry leaves two working keys.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long an idempotency key is remembered.
pub const TTL_MS: u64 = 24 * 3_600_000;
/// How long a call may stay pending before a retry takes it over: well
/// beyond the writes of one call, each bounded by `BINDING_TIMEOUT_MS`.
pub const PENDING_MS: u64 = 60_000;

/// Whether a header value is a usable key: 1 to 255 printable ASCII characters.
pub fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// The Durable Object's name for `actor`'s key: the key itself is not kept.
pub fn object_name(actor: &str, key: &str) -> String {
    format!("idem:{actor}:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

/// What identifies "the same request": the route and the body's JSON,
/// canonical (object fields sorted, no insignificant whitespace).
pub fn fingerprint(route: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body).map(|v| v.to_string()).unwrap_or_default();
    hex::encode(Sha256::digest(format!("{route}\n{canonical}").as_bytes()))
}

/// The key id and record name a call reserves before writing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// The key id it mints under.
    pub key_id: String,
    /// The KV name of its record (`hash:…`).
    pub record: String,
    /// Its tenant, for its `tenant:` entry.
    pub tenant: Option<String>,
}

/// What the object stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// A call is running (or stopped midway).
    Pending {
        /// The request's fingerprint.
        fingerprint: String,
        /// What it reserved.
        attempt: Attempt,
        /// When it began (Unix ms).
        started: u64,
    },
    /// A call finished; its answer, to replay.
    Done {
        /// The request's fingerprint.
        fingerprint: String,
        /// The replayed body (no key).
        body: String,
    },
}

impl State {
    fn fingerprint(&self) -> &str {
        match self {
            State::Pending { fingerprint, .. } | State::Done { fingerprint, .. } => fingerprint,
        }
    }
}

/// The stored state and when it is forgotten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    /// The state.
    pub state: State,
    /// Unix ms after which the key is forgotten.
    pub expires: u64,
}

/// What a call with an idempotency key does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Begin {
    /// First of its kind: go ahead with the reserved attempt.
    Proceed,
    /// A call stopped midway: revoke and purge its attempt, then go ahead.
    Takeover {
        /// What the stopped call reserved.
        previous: Attempt,
    },
    /// Answer the first call's result again.
    Replay {
        /// Its body.
        body: String,
    },
    /// The key was used for another request: 422.
    Reused,
    /// The first call is still running: 409, retry soon.
    InProgress,
}

/// The decision for a call with `fingerprint` reserving `attempt` at `now`,
/// and the state to store (if it changes).
pub fn begin(stored: Option<&Stored>, fingerprint: &str, attempt: &Attempt, now: u64) -> (Begin, Option<Stored>) {
    let pending = || Some(Stored { state: State::Pending { fingerprint: fingerprint.into(), attempt: attempt.clone(), started: now }, expires: now + TTL_MS });
    let live = stored.filter(|s| now < s.expires);
    match live.map(|s| &s.state) {
        None => (Begin::Proceed, pending()),
        Some(state) if state.fingerprint() != fingerprint => (Begin::Reused, None),
        Some(State::Done { body, .. }) => (Begin::Replay { body: body.clone() }, None),
        Some(State::Pending { started, .. }) if now.saturating_sub(*started) < PENDING_MS => (Begin::InProgress, None),
        Some(State::Pending { attempt: previous, .. }) => (Begin::Takeover { previous: previous.clone() }, pending()),
    }
}

/// The state after the call that reserved `key_id` finished with `body`;
/// `None` if that call was taken over meanwhile (its key is revoked).
pub fn finish(stored: Option<&Stored>, key_id: &str, body: String) -> Option<Stored> {
    match stored {
        Some(Stored { state: State::Pending { fingerprint, attempt, .. }, expires }) if attempt.key_id == key_id => {
            Some(Stored { state: State::Done { fingerprint: fingerprint.clone(), body }, expires: *expires })
        }
        _ => None,
    }
}

/// Whether the call that reserved `key_id` may clear the state after it
/// failed without writing anything that works (a retry then starts afresh).
pub fn may_abort(stored: Option<&Stored>, key_id: &str) -> bool {
    matches!(stored, Some(Stored { state: State::Pending { attempt, .. }, .. }) if attempt.key_id == key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: &str) -> Attempt {
        Attempt { key_id: id.into(), record: format!("hash:{id}"), tenant: None }
    }

    #[test]
    fn first_retry_replay_and_reuse() {
        let fp = fingerprint("POST /keys", br#"{"label":"x","scopes":["*"]}"#);
        assert_eq!(fp, fingerprint("POST /keys", b"{ \"scopes\": [\"*\"], \"label\": \"x\" }"), "canonical JSON");
        assert_ne!(fp, fingerprint("POST /keys/key_a/rotate", br#"{"label":"x","scopes":["*"]}"#));
        let (first, stored) = begin(None, &fp, &attempt("key_1"), 1_000);
        assert_eq!(first, Begin::Proceed);
        let stored = stored.unwrap();
        assert_eq!(begin(Some(&stored), &fp, &attempt("key_2"), 2_000), (Begin::InProgress, None));
        assert_eq!(begin(Some(&stored), "other", &attempt("key_2"), 2_000).0, Begin::Reused);
        let done = finish(Some(&stored), "key_1", "{\"replayed\":true}".into()).unwrap();
        assert_eq!(begin(Some(&done), &fp, &attempt("key_3"), 3_000).0, Begin::Replay { body: "{\"replayed\":true}".into() });
        assert_eq!(begin(Some(&done), "other", &attempt("key_3"), 3_000).0, Begin::Reused);
        assert_eq!(begin(Some(&done), "other", &attempt("key_3"), 1_000 + TTL_MS).0, Begin::Proceed, "forgotten after 24 h");
    }

    #[test]
    fn a_stopped_call_is_taken_over_and_cannot_finish() {
        let (_, stored) = begin(None, "fp", &attempt("key_1"), 0);
        let (answer, taken) = begin(stored.as_ref(), "fp", &attempt("key_2"), PENDING_MS);
        assert_eq!(answer, Begin::Takeover { previous: attempt("key_1") });
        let taken = taken.unwrap();
        assert_eq!(finish(Some(&taken), "key_1", "late".into()), None, "the stopped call finishing late is refused");
        assert!(!may_abort(Some(&taken), "key_1") && may_abort(Some(&taken), "key_2"));
        assert!(finish(Some(&taken), "key_2", "ok".into()).is_some());
    }

    #[test]
    fn keys_and_names() {
        assert!(valid_key("a") && valid_key(&"x".repeat(255)) && valid_key("3f2a-…".split('…').next().unwrap()));
        assert!(!valid_key("") && !valid_key(&"x".repeat(256)) && !valid_key("a\tb") && !valid_key("é"));
        let name = object_name("tok_a", "k1");
        assert!(name.starts_with("idem:tok_a:") && !name.contains("k1") && name != object_name("root", "k1"));
        let json = serde_json::to_string(&Begin::Takeover { previous: attempt("key_1") }).unwrap();
        assert_eq!(serde_json::from_str::<Begin>(&json).unwrap(), Begin::Takeover { previous: attempt("key_1") });
    }
}
