//! A key's usage as its guard sees it: when and from where the key was
//! used, and how its requests ended, over rolling windows.
//!
//! The record is bounded whatever the traffic: three windows of a fixed
//! number of buckets, at most [`MAX_SOURCES`] client addresses and
//! [`MAX_COUNTRIES`] countries, counters that saturate. The guard keeps it
//! and persists it; this module is only the arithmetic, with `now` passed in.

use super::outcome::{KeyRejection, Outcome};
use super::oauth::error::{ClientProblem, OAuthError};
use super::time::UnixMillis;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// Client addresses remembered per key (most recently seen first).
pub const MAX_SOURCES: usize = 16;
/// Countries remembered per key (most recently seen first).
pub const MAX_COUNTRIES: usize = 16;
/// An upper bound of the record's JSON size, whatever the traffic (tested).
pub const MAX_RECORD_BYTES: usize = 32 * 1024;

/// How one request with this key ended, as counted: the edge's decision,
/// what the origin made of the allowed ones, and the connection doctor's
/// checks of the key (the last class: classes are stored in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Admitted and forwarded.
    Allowed,
    /// Over the key's rate.
    RateLimited,
    /// Revoked (record or admin route).
    Revoked,
    /// Past `expires_at`.
    Expired,
    /// Before `not_before`.
    NotYetValid,
    /// From an address outside the key's allowlist.
    IpDenied,
    /// The key's scopes do not cover the request.
    ScopeDenied,
    /// Refused for its shape after the key verified (body too large, bad /Bulk, …).
    Rejected,
    /// The origin answered below 400.
    OriginOk,
    /// The origin answered 4xx.
    OriginClientError,
    /// The origin answered 5xx, or could not be reached in time.
    OriginError,
    /// Checked with the connection doctor (`/_provgate/check`) and admitted
    /// by the key's guard: whoever holds the key asked what it may do.
    Introspected,
}

const CLASSES: [Class; 12] = [
    Class::Allowed,
    Class::RateLimited,
    Class::Revoked,
    Class::Expired,
    Class::NotYetValid,
    Class::IpDenied,
    Class::ScopeDenied,
    Class::Rejected,
    Class::OriginOk,
    Class::OriginClientError,
    Class::OriginError,
    Class::Introspected,
];

impl Class {
    /// The name used in reports and in storage.
    pub fn name(self) -> &'static str {
        match self {
            Class::Allowed => "allowed",
            Class::RateLimited => "rate_limited",
            Class::Revoked => "revoked",
            Class::Expired => "expired",
            Class::NotYetValid => "not_yet_valid",
            Class::IpDenied => "ip_denied",
            Class::ScopeDenied => "scope_denied",
            Class::Rejected => "rejected",
            Class::OriginOk => "origin_ok",
            Class::OriginClientError => "origin_client_error",
            Class::OriginError => "origin_error",
            Class::Introspected => "introspected",
        }
    }

    /// The class of the edge's denial of a request whose key verified.
    pub fn of_denial(outcome: &Outcome) -> Class {
        match outcome {
            Outcome::InvalidKey(KeyRejection::Revoked) => Class::Revoked,
            Outcome::InvalidKey(KeyRejection::Expired) => Class::Expired,
            Outcome::InvalidKey(KeyRejection::NotYetValid) => Class::NotYetValid,
            Outcome::IpDenied => Class::IpDenied,
            Outcome::InsufficientScope { .. } => Class::ScopeDenied,
            Outcome::RateLimited { .. } => Class::RateLimited,
            Outcome::OAuth(OAuthError::InvalidClient { problem: ClientProblem::Key(rejection), .. }) => Class::of_denial(&Outcome::InvalidKey(*rejection)),
            Outcome::OAuth(OAuthError::InvalidClient { problem: ClientProblem::AddressDenied, .. }) => Class::IpDenied,
            Outcome::OAuth(OAuthError::InvalidScope(_)) => Class::ScopeDenied,
            _ => Class::Rejected,
        }
    }

    /// The class of what the origin made of a forwarded request (`None`: no answer).
    pub fn of_origin(status: Option<u16>) -> Class {
        match status {
            Some(s) if s < 400 => Class::OriginOk,
            Some(s) if s < 500 => Class::OriginClientError,
            _ => Class::OriginError,
        }
    }
}

/// Counters by class; saturating. Stored as an array in class order (new
/// classes go last); shown as a map without zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts(#[serde(with = "counts_array")] [u64; CLASSES.len()]);

impl Counts {
    fn add(&mut self, class: Class, n: u64) {
        let slot = &mut self.0[class as usize];
        *slot = slot.saturating_add(n);
    }

    fn merge(&mut self, other: &Counts) {
        for class in CLASSES {
            self.add(class, other.get(class));
        }
    }

    /// The count of one class.
    pub fn get(&self, class: Class) -> u64 {
        self.0[class as usize]
    }

    /// `{"allowed": 3, …}`, without zeros.
    pub fn to_map(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for class in CLASSES.into_iter().filter(|c| self.get(*c) > 0) {
            map.insert(class.name().to_owned(), self.get(class).into());
        }
        map.into()
    }
}

/// A stored array shorter or longer than this version's classes still
/// reads: usage must never be the reason a guard stops answering.
mod counts_array {
    use super::CLASSES;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(counts: &[u64; CLASSES.len()], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(counts)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u64; CLASSES.len()], D::Error> {
        let stored = Vec::<u64>::deserialize(d)?;
        let mut counts = [0; CLASSES.len()];
        counts.iter_mut().zip(stored).for_each(|(slot, n)| *slot = n);
        Ok(counts)
    }
}

/// A rolling window: `len` buckets of `bucket_ms` each.
struct Span {
    name: &'static str,
    bucket_ms: u64,
    len: u64,
}

const MINUTE_MS: u64 = 60_000;
/// The windows, shortest first. "1h" is the current 5-minute bucket and
/// the eleven before it, so it covers 55 to 60 minutes; likewise for the others.
const SPANS: [Span; 3] = [
    Span { name: "1h", bucket_ms: 5 * MINUTE_MS, len: 12 },
    Span { name: "24h", bucket_ms: 60 * MINUTE_MS, len: 24 },
    Span { name: "30d", bucket_ms: 24 * 60 * MINUTE_MS, len: 30 },
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Bucket {
    /// The bucket's index: time / bucket size.
    at: u64,
    n: Counts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Window(Vec<Bucket>);

impl Window {
    fn add(&mut self, span: &Span, now: UnixMillis, class: Class, n: u64) {
        let at = now.0 / span.bucket_ms;
        match self.0.last_mut() {
            // A clock that steps back counts into the newest bucket.
            Some(last) if last.at >= at => last.n.add(class, n),
            _ => {
                let mut bucket = Bucket { at, n: Counts::default() };
                bucket.n.add(class, n);
                self.0.push(bucket);
            }
        }
        let oldest = at.saturating_sub(span.len - 1);
        self.0.retain(|b| b.at >= oldest);
        // Buckets from the future (a clock that stepped back a long way)
        // must not pile up either.
        let excess = self.0.len().saturating_sub(span.len as usize);
        self.0.drain(..excess);
    }

    fn sum(&self, span: &Span, now: UnixMillis) -> Counts {
        let oldest = (now.0 / span.bucket_ms).saturating_sub(span.len - 1);
        let mut total = Counts::default();
        self.0.iter().filter(|b| b.at >= oldest).for_each(|b| total.merge(&b.n));
        total
    }
}

/// Where a request came from, as the edge saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The client's address (`CF-Connecting-IP`).
    pub ip: String,
    /// Two-character country code from the request's `cf` data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Autonomous system number from the request's `cf` data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
}

impl Source {
    /// A source from what the edge read; `None` unless `ip` is an address.
    /// The country is kept only in Cloudflare's two-character form, so the
    /// record cannot grow from what a caller sends.
    pub fn new(ip: &str, country: Option<&str>, asn: Option<u32>) -> Option<Self> {
        let ip: IpAddr = ip.trim().parse().ok()?;
        let country = country.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphanumeric())).map(str::to_ascii_uppercase);
        Some(Self { ip: ip.to_string(), country, asn })
    }
}

/// A source and when it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// The address, country and network.
    pub source: Source,
    /// First request from this address (while remembered).
    pub first_seen: UnixMillis,
    /// Latest request from this address.
    pub last_seen: UnixMillis,
    /// Requests from this address (while remembered).
    pub count: u64,
}

/// What the origin answered to this key's forwarded requests since the
/// last report. One isolate gathers it and sends it with the key's next
/// guard call, so it costs no extra round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginReport {
    /// The latest status (`None`: the origin did not answer).
    pub last_status: Option<u16>,
    /// When the latest answer came.
    pub last_at: Option<UnixMillis>,
    /// Counts by origin class since the last report.
    pub counts: Counts,
}

impl OriginReport {
    /// Adds one forwarded request's result.
    pub fn add(&mut self, status: Option<u16>, at: UnixMillis) {
        self.last_status = status;
        self.last_at = Some(at);
        self.counts.add(Class::of_origin(status), 1);
    }
}

/// The latest origin answer known to the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginSeen {
    /// The status (`None`: the origin did not answer).
    pub status: Option<u16>,
    /// When it answered.
    pub at: UnixMillis,
}

/// What noting a request found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Noted {
    /// The first request ever noted for this key.
    pub first_use: bool,
    /// The request came from an address or country the key's history does
    /// not hold (never true for the first use: there is no history yet).
    pub new_source: bool,
}

/// A key's usage record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    first_used: Option<UnixMillis>,
    last_used: Option<UnixMillis>,
    last_allowed: Option<UnixMillis>,
    last_origin: Option<OriginSeen>,
    total: Counts,
    windows: [Window; 3],
    sources: Vec<Seen>,
    countries: Vec<String>,
}

impl Usage {
    /// Notes one request with this key: its class and where it came from.
    pub fn note(&mut self, now: UnixMillis, class: Class, source: Option<&Source>) -> Noted {
        let first_use = self.first_used.is_none();
        self.first_used.get_or_insert(now);
        self.last_used = Some(now);
        if class == Class::Allowed {
            self.last_allowed = Some(now);
        }
        self.count(now, class, 1);
        let new_source = match source {
            Some(source) => self.see(now, source) && !first_use,
            None => false,
        };
        Noted { first_use, new_source }
    }

    /// Requests an isolate admitted from its guard lease (`core::lease`),
    /// reported with its next ask: counted as allowed, as of `now`.
    pub fn note_leased(&mut self, now: UnixMillis, spent: u32) {
        if spent == 0 {
            return;
        }
        self.first_used.get_or_insert(now);
        self.last_used = Some(now);
        self.last_allowed = Some(now);
        self.count(now, Class::Allowed, u64::from(spent));
    }

    /// Adds what the origin answered, reported after the fact.
    pub fn note_origin(&mut self, now: UnixMillis, report: &OriginReport) {
        for class in [Class::OriginOk, Class::OriginClientError, Class::OriginError] {
            let n = report.counts.get(class);
            if n > 0 {
                self.count(now, class, n);
            }
        }
        if let Some(at) = report.last_at {
            if self.last_origin.is_none_or(|seen| seen.at <= at) {
                self.last_origin = Some(OriginSeen { status: report.last_status, at });
            }
        }
    }

    fn count(&mut self, now: UnixMillis, class: Class, n: u64) {
        self.total.add(class, n);
        for (window, span) in self.windows.iter_mut().zip(&SPANS) {
            window.add(span, now, class, n);
        }
    }

    /// Remembers the source; true if its address or country was not known.
    fn see(&mut self, now: UnixMillis, source: &Source) -> bool {
        let known_ip = match self.sources.iter().position(|s| s.source.ip == source.ip) {
            Some(i) => {
                let mut seen = self.sources.remove(i);
                seen.last_seen = now;
                seen.count = seen.count.saturating_add(1);
                seen.source.country = source.country.clone().or(seen.source.country);
                seen.source.asn = source.asn.or(seen.source.asn);
                self.sources.insert(0, seen);
                true
            }
            None => {
                self.sources.insert(0, Seen { source: source.clone(), first_seen: now, last_seen: now, count: 1 });
                self.sources.truncate(MAX_SOURCES);
                false
            }
        };
        let known_country = match &source.country {
            None => true,
            Some(country) => {
                let known = self.countries.iter().position(|c| c == country).map(|i| self.countries.remove(i)).is_some();
                self.countries.insert(0, country.clone());
                self.countries.truncate(MAX_COUNTRIES);
                known
            }
        };
        !(known_ip && known_country)
    }

    /// The latest use, if any.
    pub fn last_used(&self) -> Option<UnixMillis> {
        self.last_used
    }

    /// What operators and the doctor are shown, as of `now`.
    pub fn report(&self, now: UnixMillis) -> serde_json::Value {
        let mut windows = serde_json::Map::new();
        for (span, window) in SPANS.iter().zip(&self.windows) {
            windows.insert(span.name.to_owned(), window.sum(span, now).to_map());
        }
        serde_json::json!({
            "first_used": self.first_used,
            "last_used": self.last_used,
            "last_allowed": self.last_allowed,
            "last_source": self.sources.first().map(|s| &s.source),
            "last_origin_status": self.last_origin.and_then(|o| o.status),
            "last_origin_at": self.last_origin.map(|o| o.at),
            "windows": windows,
            "total": self.total.to_map(),
            "sources": self.sources,
            "countries": self.countries,
        })
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("usage serialises")
    }

    /// Reads the stored form; a record this version cannot read starts afresh.
    pub fn decode(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }
}

/// Whether a key is stale: unused (or, never used, created) at least
/// `unused_for` before `now`.
pub fn is_stale(last_used: Option<UnixMillis>, created_at: UnixMillis, now: UnixMillis, unused_for: Duration) -> bool {
    last_used.unwrap_or(created_at).plus(unused_for) <= now
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: UnixMillis = UnixMillis(1_800_000_000_000);
    const HOUR: u64 = 60 * MINUTE_MS;

    fn src(ip: &str, country: Option<&str>) -> Source {
        Source::new(ip, country, Some(64_500)).unwrap()
    }

    fn at(ms: u64) -> UnixMillis {
        UnixMillis(T0.0 + ms)
    }

    #[test]
    fn windows_roll_and_totals_stay() {
        let mut u = Usage::default();
        u.note(T0, Class::Allowed, None);
        u.note(at(2 * MINUTE_MS), Class::ScopeDenied, None);
        u.note(at(2 * HOUR), Class::Allowed, None);
        let r = u.report(at(2 * HOUR));
        assert_eq!(r["windows"]["1h"], serde_json::json!({ "allowed": 1 }));
        assert_eq!(r["windows"]["24h"], serde_json::json!({ "allowed": 2, "scope_denied": 1 }));
        assert_eq!(r["total"], serde_json::json!({ "allowed": 2, "scope_denied": 1 }));
        let later = u.report(at(40 * 24 * HOUR));
        assert_eq!(later["windows"]["30d"], serde_json::json!({}), "everything aged out");
        assert_eq!(later["total"]["allowed"], 2);
        assert_eq!(later["first_used"], T0.to_rfc3339());
        assert_eq!(later["last_used"], at(2 * HOUR).to_rfc3339());
    }

    #[test]
    fn new_sources_are_flagged_once_and_never_on_first_use() {
        let mut u = Usage::default();
        assert_eq!(u.note(T0, Class::Allowed, Some(&src("192.0.2.1", Some("NZ")))), Noted { first_use: true, new_source: false });
        assert!(!u.note(at(1), Class::Allowed, Some(&src("192.0.2.1", Some("NZ")))).new_source);
        assert!(u.note(at(2), Class::Allowed, Some(&src("198.51.100.7", Some("NZ")))).new_source, "new address");
        assert!(!u.note(at(3), Class::Allowed, Some(&src("198.51.100.7", Some("NZ")))).new_source, "now known");
        assert!(u.note(at(4), Class::RateLimited, Some(&src("192.0.2.1", Some("FR")))).new_source, "new country, known address");
        assert!(!u.note(at(5), Class::Allowed, None).new_source, "no source, nothing to compare");
        let r = u.report(at(5));
        assert_eq!(r["last_source"], serde_json::json!({ "ip": "192.0.2.1", "country": "FR", "asn": 64_500 }));
        assert_eq!(r["countries"], serde_json::json!(["FR", "NZ"]));
        assert_eq!(r["sources"][0]["count"], 3);
    }

    #[test]
    fn sources_are_validated() {
        assert_eq!(Source::new("not an address", Some("NZ"), None), None);
        assert_eq!(Source::new("::ffff:192.0.2.1", Some("nz"), None).unwrap().country.as_deref(), Some("NZ"));
        assert_eq!(Source::new("192.0.2.1", Some("a very long country"), None).unwrap().country, None);
    }

    #[test]
    fn origin_reports_update_counts_and_the_latest_status() {
        let mut u = Usage::default();
        let mut report = OriginReport::default();
        report.add(Some(201), at(1));
        report.add(Some(404), at(2));
        report.add(None, at(3));
        u.note_origin(at(4), &report);
        let r = u.report(at(4));
        assert_eq!(r["total"], serde_json::json!({ "origin_ok": 1, "origin_client_error": 1, "origin_error": 1 }));
        assert_eq!(r["last_origin_status"], serde_json::Value::Null);
        let mut older = OriginReport::default();
        older.add(Some(200), at(0));
        u.note_origin(at(5), &older);
        assert_eq!(u.report(at(5))["last_origin_at"], serde_json::to_value(at(3)).unwrap(), "an older report does not replace a newer answer");
    }

    #[test]
    fn denials_map_to_classes() {
        assert_eq!(Class::of_denial(&Outcome::InvalidKey(KeyRejection::Expired)), Class::Expired);
        assert_eq!(Class::of_denial(&Outcome::InsufficientScope { missing: "users:write".into(), bulk_id: None }), Class::ScopeDenied);
        assert_eq!(Class::of_denial(&Outcome::BodyTooLarge), Class::Rejected);
        assert_eq!(Class::of_origin(Some(302)), Class::OriginOk);
        assert_eq!(Class::of_origin(Some(503)), Class::OriginError);
    }

    #[test]
    fn stale_means_unused_for_that_long() {
        let month = Duration::from_secs(30 * 24 * 3600);
        assert!(is_stale(None, T0, T0.plus(month), month), "never used, created a month ago");
        assert!(!is_stale(None, T0, at(HOUR), month), "never used, but new");
        assert!(!is_stale(Some(at(5 * 24 * HOUR)), T0, T0.plus(month), month), "used five days in");
    }

    #[test]
    fn stored_form_round_trips_and_junk_starts_afresh() {
        let mut u = Usage::default();
        u.note(T0, Class::Allowed, Some(&src("2001:db8::1", Some("DE"))));
        assert_eq!(Usage::decode(&u.encode()), u);
        assert_eq!(Usage::decode("{not json"), Usage::default());
        let shorter: Counts = serde_json::from_str("[1,2]").unwrap();
        assert_eq!((shorter.get(Class::Allowed), shorter.get(Class::RateLimited), shorter.get(Class::OriginError)), (1, 2, 0));
        let longer: Counts = serde_json::from_str(&format!("[{}]", ["7"; 20].join(","))).unwrap();
        assert_eq!(longer.get(Class::OriginError), 7);
    }

    proptest! {
        #[test]
        fn the_record_stays_bounded(steps in prop::collection::vec((0u64..100 * HOUR, 0usize..11, any::<u32>(), 0u8..40), 1..400)) {
            let mut u = Usage::default();
            let mut now = T0.0;
            for (dt, class, ip, country) in steps {
                // Time mostly moves forward, sometimes back.
                now = if class == 3 { now.saturating_sub(dt) } else { now + dt };
                let ip = std::net::Ipv4Addr::from(ip).to_string();
                let country = format!("{}{}", char::from(b'A' + country % 26), char::from(b'A' + country / 26));
                u.note(UnixMillis(now), CLASSES[class], Source::new(&ip, Some(&country), Some(u32::MAX)).as_ref());
                let mut report = OriginReport::default();
                report.add(Some(500), UnixMillis(now));
                u.note_origin(UnixMillis(now), &report);
            }
            prop_assert!(u.sources.len() <= MAX_SOURCES && u.countries.len() <= MAX_COUNTRIES);
            for (w, span) in u.windows.iter().zip(&SPANS) {
                prop_assert!(w.0.len() <= span.len as usize);
            }
            prop_assert!(u.encode().len() <= MAX_RECORD_BYTES, "{} bytes", u.encode().len());
        }
    }

    #[test]
    fn worst_case_size_is_under_the_bound() {
        // Every bucket of every window full of maximal counters, every source and country slot used.
        let mut u = Usage::default();
        let full = Counts([u64::MAX; CLASSES.len()]);
        for (w, span) in u.windows.iter_mut().zip(&SPANS) {
            w.0 = (0..span.len).map(|i| Bucket { at: u64::MAX - i, n: full.clone() }).collect();
        }
        u.total = full;
        u.sources = (0..MAX_SOURCES)
            .map(|i| Seen {
                source: Source { ip: format!("ffff:ffff:ffff:ffff:ffff:ffff:ffff:{i:04x}"), country: Some("ZZ".into()), asn: Some(u32::MAX) },
                first_seen: UnixMillis(253_402_300_799_000),
                last_seen: UnixMillis(253_402_300_799_000),
                count: u64::MAX,
            })
            .collect();
        u.countries = (0..MAX_COUNTRIES).map(|i| format!("Z{i:X}")).collect();
        u.first_used = Some(UnixMillis(253_402_300_799_000));
        u.last_used = u.first_used;
        u.last_allowed = u.first_used;
        u.last_origin = Some(OriginSeen { status: Some(599), at: UnixMillis(253_402_300_799_000) });
        let size = u.encode().len();
        println!("worst case: {size} bytes");
        assert!(size <= MAX_RECORD_BYTES, "worst case {size} bytes");
    }
}
