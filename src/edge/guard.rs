//! A key's guard: one Durable Object per key id (binding `KEY_GUARD`). It
//! meters the key's rate with the core's GCRA, knows at once when the key
//! is revoked, and keeps the key's usage. The decisions are
//! `core::guard::decide` and `core::usage`; this file only keeps the state
//! and speaks HTTP to the edge.

use super::{config::Config, deadline};
use crate::core::guard::{decide, Answer, Ask, Reply};
use crate::core::usage::{OriginReport, Usage};
use crate::core::UnixMillis;
use std::cell::{Cell, RefCell};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{durable_object, Date, DurableObject, Env, Method, Request, RequestInit, Response, Result, State};

const BINDING: &str = "KEY_GUARD";
const REVOKED: &str = "revoked";
const USAGE: &str = "usage";
/// Usage is written at most this often (plus at once for a first use or a
/// new source); an alarm writes what is left. A guard that is evicted
/// between two writes loses at most this much of its counts.
const USAGE_FLUSH_MS: u64 = 10_000;

#[durable_object]
pub struct KeyGuard {
    state: State,
    /// GCRA state. In memory only: a restart forgets it, which can admit at
    /// most one extra burst (see docs/rate-limits.md).
    tat: Cell<Option<u64>>,
    /// Revocation, cached after the first read of durable storage.
    revoked: Cell<Option<bool>>,
    /// Usage, loaded from durable storage on first need.
    usage: RefCell<Option<Usage>>,
    /// When usage was last written, and whether it changed since.
    written_at: Cell<u64>,
    dirty: Cell<bool>,
    alarm_set: Cell<bool>,
}

impl DurableObject for KeyGuard {
    fn new(state: State, _env: Env) -> Self {
        Self {
            state,
            tat: Cell::new(None),
            revoked: Cell::new(None),
            usage: RefCell::new(None),
            written_at: Cell::new(0),
            dirty: Cell::new(false),
            alarm_set: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/check" => {
                // One string across the boundary, parsed in wasm: cheaper than
                // JSON.parse plus a field-by-field conversion of the JS object.
                let ask: Ask = serde_json::from_str(&req.text().await?)?;
                let Some(quota) = ask.quota() else { return Response::error("zero quota", 400) };
                let revoked = self.is_revoked().await?;
                self.load_usage().await;
                // No await between reading and writing the GCRA state: the
                // object runs one event at a time, so this check-and-set is atomic.
                let now_ms = Date::now().as_millis();
                let (answer, class, tat) = decide(revoked, ask.denied, &quota, self.tat.get(), now_ms.saturating_mul(1000));
                if tat.is_some() {
                    self.tat.set(tat);
                }
                let noted = self.with_usage(|usage| {
                    if let Some(report) = &ask.origin {
                        usage.note_origin(UnixMillis(now_ms), report);
                    }
                    usage.note(UnixMillis(now_ms), ask.counted_as(class), ask.source.as_ref())
                });
                self.save_usage(noted.first_use || noted.new_source, now_ms).await;
                Response::from_json(&Reply { answer, new_source: noted.new_source })
            }
            "/status" => {
                // Revocation and usage, without metering: for the doctor and the admin route.
                let revoked = self.is_revoked().await?;
                self.load_usage().await;
                let usage = self.with_usage(|usage| usage.report(UnixMillis(Date::now().as_millis())));
                Response::from_json(&serde_json::json!({ "revoked": revoked, "usage": usage }))
            }
            "/revoke" => {
                self.state.storage().put(REVOKED, true).await?;
                self.revoked.set(Some(true));
                Response::from_json(&Reply { answer: Answer::Revoked, new_source: false })
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_set.set(false);
        self.save_usage(true, Date::now().as_millis()).await;
        Response::empty()
    }
}

impl KeyGuard {
    async fn is_revoked(&self) -> Result<bool> {
        if let Some(known) = self.revoked.get() {
            return Ok(known);
        }
        let stored = self.state.storage().get::<bool>(REVOKED).await?.unwrap_or(false);
        self.revoked.set(Some(stored));
        Ok(stored)
    }

    /// Usage never stops the guard: unreadable storage starts a fresh record.
    async fn load_usage(&self) {
        if self.usage.borrow().is_some() {
            return;
        }
        let stored = self.state.storage().get::<String>(USAGE).await.ok().flatten();
        let mut slot = self.usage.borrow_mut();
        if slot.is_none() {
            *slot = Some(stored.as_deref().map(Usage::decode).unwrap_or_default());
        }
    }

    fn with_usage<T>(&self, f: impl FnOnce(&mut Usage) -> T) -> T {
        let mut slot = self.usage.borrow_mut();
        f(slot.get_or_insert_with(Usage::default))
    }

    /// Writes usage now if it matters or is due; otherwise makes sure an
    /// alarm writes it soon. A failed write is retried by the next request.
    async fn save_usage(&self, now_or_never: bool, now_ms: u64) {
        self.dirty.set(true);
        let due = now_ms.saturating_sub(self.written_at.get()) >= USAGE_FLUSH_MS;
        if now_or_never || due {
            let encoded = self.with_usage(|usage| usage.encode());
            if self.state.storage().put(USAGE, encoded).await.is_ok() {
                self.written_at.set(now_ms);
                self.dirty.set(false);
            }
        } else if !self.alarm_set.get() && self.state.storage().set_alarm(USAGE_FLUSH_MS as i64).await.is_ok() {
            self.alarm_set.set(true);
        }
    }
}

/// One call to the key's guard, failing after `timeout_ms`: a guard that does
/// not answer counts as one that cannot be asked.
async fn call<T: serde::de::DeserializeOwned>(env: &Env, key_id: &str, path: &str, body: Option<String>, timeout_ms: u64) -> Result<T> {
    deadline::within(timeout_ms, call_unbounded(env, key_id, path, body))
        .await
        .unwrap_or_else(|deadline::TimedOut| Err(worker::Error::RustError(format!("guard did not answer within {timeout_ms} ms"))))
}

async fn call_unbounded<T: serde::de::DeserializeOwned>(env: &Env, key_id: &str, path: &str, body: Option<String>) -> Result<T> {
    let namespace = env.durable_object(BINDING)?;
    let id = namespace.id_from_name(key_id)?;
    // The hint places a guard when it is created (near the IdP, not near
    // whoever calls first); it changes nothing for one that exists.
    let stub = match Config::for_isolate(env).ok().and_then(|c| c.guard_location_hint) {
        Some(hint) => id.get_stub_with_location_hint(hint)?,
        None => id.get_stub()?,
    };
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(body.map(Into::into));
    let resp = stub.fetch_with_request(Request::new_with_init(&format!("https://guard{path}"), &init)?).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!("guard answered {}", resp.status_code())));
    }
    // The reply whole through the runtime's text(), not chunk by chunk
    // through a stream reader (several boundary crossings per chunk).
    let raw = worker::web_sys::Response::from(resp);
    let text = JsFuture::from(raw.text()?).await?.as_string().unwrap_or_default();
    Ok(serde_json::from_str(&text)?)
}

/// Asks the key's guard about one request; hands it what the origin made
/// of this key's earlier forwards from this isolate.
pub async fn check(env: &Env, key_id: &str, ask: &mut Ask, timeout_ms: u64) -> Result<Reply> {
    ask.origin = take_origin_report(key_id);
    let reply = call(env, key_id, "/check", Some(serde_json::to_string(&*ask)?), timeout_ms).await;
    if let (Err(_), Some(report)) = (&reply, ask.origin.take()) {
        // Not delivered: keep it for the next call, unless newer answers were noted meanwhile.
        PENDING.with(|p| {
            let mut pending = p.borrow_mut();
            if pending.iter().all(|(id, _)| id != key_id) {
                pending.push((key_id.to_owned(), report));
            }
        });
    }
    reply
}

/// What the key's guard knows: revocation, and the usage report.
pub struct Status {
    pub revoked: bool,
    pub usage: serde_json::Value,
}

/// Revocation and usage, without metering.
pub async fn status(env: &Env, key_id: &str, timeout_ms: u64) -> Result<Status> {
    let v: serde_json::Value = call(env, key_id, "/status", None, timeout_ms).await?;
    Ok(Status { revoked: v["revoked"] == true, usage: v["usage"].clone() })
}

/// Makes the key's guard refuse the key from now on.
pub async fn revoke(env: &Env, key_id: &str, timeout_ms: u64) -> Result<()> {
    call::<Reply>(env, key_id, "/revoke", None, timeout_ms).await.map(|_| ())
}

thread_local! {
    /// Origin answers not yet reported, per key id, in this isolate.
    static PENDING: RefCell<Vec<(String, OriginReport)>> = const { RefCell::new(Vec::new()) };
}

/// Keys with pending reports one isolate holds; beyond it, new keys'
/// reports are dropped (counts are lost, never the requests).
const PENDING_KEYS: usize = 1024;

/// Remembers what the origin answered to a forward with this key.
pub fn note_origin(key_id: &str, status: Option<u16>, at: UnixMillis) {
    PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        if let Some((_, report)) = pending.iter_mut().find(|(id, _)| id == key_id) {
            report.add(status, at);
        } else if pending.len() < PENDING_KEYS {
            let mut report = OriginReport::default();
            report.add(status, at);
            pending.push((key_id.to_owned(), report));
        }
    });
}

fn take_origin_report(key_id: &str) -> Option<OriginReport> {
    PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        let i = pending.iter().position(|(id, _)| id == key_id)?;
        Some(pending.swap_remove(i).1)
    })
}
