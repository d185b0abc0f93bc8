//! Asking a key's guard (the `KeyGuard` Durable Object, binding
//! `KEY_GUARD`, which lives in the `provgate-control` Worker with all of
//! provgate's state): once per request with a verified key, to meter it,
//! learn of its revocation and count it; and for the doctor, its status.

use super::{config::Config, deadline, object};
use crate::core::guard::{Answer, Ask, Reply};
use crate::core::lease::{Lease, LeaseSetting};
use crate::core::usage::OriginReport;
use crate::core::UnixMillis;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use worker::{Env, Result};

const BINDING: &str = "KEY_GUARD";

/// One call to the guard named `name`, failing after `timeout_ms`: a guard
/// that does not answer counts as one that cannot be asked.
async fn call<T: serde::de::DeserializeOwned>(env: &Env, name: &str, path: &str, body: Option<String>, timeout_ms: u64) -> Result<T> {
    Ok(serde_json::from_str(&call_text(env, name, path, body, timeout_ms).await?)?)
}

/// The call's answer as text; one non-generic, boxed path for every kind
/// of call (each instance would otherwise cost the wasm its own copy).
fn call_text<'a>(env: &'a Env, name: &'a str, path: &'a str, body: Option<String>, timeout_ms: u64) -> Pin<Box<dyn Future<Output = Result<String>> + 'a>> {
    Box::pin(async move {
        deadline::within(timeout_ms, call_unbounded(env, name, path, body))
            .await
            .unwrap_or_else(|deadline::TimedOut| Err(worker::Error::RustError(format!("guard did not answer within {timeout_ms} ms"))))
    })
}

async fn call_unbounded(env: &Env, name: &str, path: &str, body: Option<String>) -> Result<String> {
    let namespace = env.durable_object(BINDING)?;
    let id = namespace.id_from_name(name)?;
    // The hint places a guard when it is created (near the IdP, not near
    // whoever calls first); it changes nothing for one that exists.
    let stub = match Config::for_isolate(env).ok().and_then(|c| c.guard_location_hint) {
        Some(hint) => id.get_stub_with_location_hint(hint)?,
        None => id.get_stub()?,
    };
    object::post(stub, &format!("https://guard{path}"), body).await
}

/// Asks the key's guard about one request; hands it what the origin made
/// of this key's earlier forwards from this isolate.
pub async fn check(env: &Env, key_id: &str, ask: &mut Ask, timeout_ms: u64) -> Result<Reply> {
    ask.origin = take_origin_report(key_id);
    ask.key_id = Some(key_id.to_owned());
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

/// [`check`], or with `GUARD_LEASE` (`setting`) an admission from this
/// isolate's lease for the key when it holds one (no call), else a call
/// that asks for a new lease. Every call reports the admissions spent from
/// the lease since the last. Denied requests are only counted: no lease.
pub async fn check_leased(env: &Env, key_id: &str, ask: &mut Ask, timeout_ms: u64, setting: Option<&LeaseSetting>, now_ms: u64) -> Result<Reply> {
    let Some(setting) = setting else { return check(env, key_id, ask, timeout_ms).await };
    let admitting = ask.denied.is_none();
    if admitting {
        if let Some(answer) = with_lease(key_id, now_ms, |held| held.spend(now_ms)).flatten() {
            return Ok(Reply { answer, new_source: false, lease: None });
        }
        ask.lease = Some(setting.size);
    }
    ask.spent = with_lease(key_id, now_ms, |held| held.lease.take_report()).unwrap_or(0);
    let reply = check(env, key_id, ask, timeout_ms).await;
    with_lease(key_id, now_ms, |held| match &reply {
        Err(_) => held.lease.restore(ask.spent),
        Ok(Reply { answer: Answer::Admit { remaining, reset_after_us }, lease: Some(granted), .. }) => {
            held.lease.granted(*granted, now_ms, setting);
            held.remaining = *remaining;
            held.reset_at_ms = now_ms.saturating_add(reset_after_us / 1000);
        }
        Ok(_) if admitting => held.lease.end(),
        Ok(_) => {}
    });
    reply
}

/// One key's lease in this isolate, with the guard's counts at its grant
/// (for the RateLimit fields of the requests it admits).
#[derive(Default)]
struct Held {
    lease: Lease,
    remaining: u32,
    reset_at_ms: u64,
}

impl Held {
    fn spend(&mut self, now_ms: u64) -> Option<Answer> {
        self.lease.spend(now_ms).then(|| Answer::Admit {
            remaining: self.remaining.saturating_add(self.lease.left()),
            reset_after_us: self.reset_at_ms.saturating_sub(now_ms).saturating_mul(1000),
        })
    }
}

thread_local! {
    /// This isolate's leases, per key id (`GUARD_LEASE`).
    static LEASES: RefCell<Vec<(String, Held)>> = const { RefCell::new(Vec::new()) };
}

/// `f` on the key's lease, made if missing; `None` when the isolate holds
/// [`PENDING_KEYS`] leases still in use (the request then asks as if exact).
fn with_lease<T>(key_id: &str, now_ms: u64, f: impl FnOnce(&mut Held) -> T) -> Option<T> {
    LEASES.with(|l| {
        let mut leases = l.borrow_mut();
        if let Some((_, held)) = leases.iter_mut().find(|(id, _)| id == key_id) {
            return Some(f(held));
        }
        if leases.len() >= PENDING_KEYS {
            leases.retain(|(_, held)| !held.lease.is_idle(now_ms));
            if leases.len() >= PENDING_KEYS {
                return None;
            }
        }
        leases.push((key_id.to_owned(), Held::default()));
        leases.last_mut().map(|(_, held)| f(held))
    })
}

/// The key's usage report, without metering (the doctor's check, which
/// was metered and told of a revocation by `check` already).
pub async fn usage(env: &Env, key_id: &str, timeout_ms: u64) -> Result<serde_json::Value> {
    let mut v: serde_json::Value = call(env, key_id, "/status", None, timeout_ms).await?;
    Ok(v["usage"].take())
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
