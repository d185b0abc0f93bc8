//! A key's guard: one Durable Object per key id (binding `KEY_GUARD`). It
//! meters the key's rate with the core's GCRA and knows at once when the
//! key is revoked. The decision itself is `core::guard::decide`; this file
//! only keeps the state and speaks HTTP to the edge.

use super::deadline;
use crate::core::guard::{decide, Answer, Ask};
use std::cell::Cell;
use worker::{durable_object, Date, DurableObject, Env, Method, Request, RequestInit, Response, Result, State};

const BINDING: &str = "KEY_GUARD";
const REVOKED: &str = "revoked";

#[durable_object]
pub struct KeyGuard {
    state: State,
    /// GCRA state. In memory only: a restart forgets it, which can admit at
    /// most one extra burst (see docs/rate-limits.md).
    tat: Cell<Option<u64>>,
    /// Revocation, cached after the first read of durable storage.
    revoked: Cell<Option<bool>>,
}

impl DurableObject for KeyGuard {
    fn new(state: State, _env: Env) -> Self {
        Self { state, tat: Cell::new(None), revoked: Cell::new(None) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/check" => {
                let ask: Ask = req.json().await?;
                let Some(quota) = ask.quota() else { return Response::error("zero quota", 400) };
                let revoked = self.is_revoked().await?;
                // No await between reading and writing the state: the object
                // runs one event at a time, so this check-and-set is atomic.
                let now_us = Date::now().as_millis().saturating_mul(1000);
                let (answer, tat) = decide(revoked, &quota, self.tat.get(), now_us);
                if tat.is_some() {
                    self.tat.set(tat);
                }
                Response::from_json(&answer)
            }
            "/status" => {
                // Revocation only, without metering: for the connection doctor.
                let answer = if self.is_revoked().await? { Answer::Revoked } else { Answer::Admit { remaining: 0, reset_after_us: 0 } };
                Response::from_json(&answer)
            }
            "/revoke" => {
                self.state.storage().put(REVOKED, true).await?;
                self.revoked.set(Some(true));
                Response::from_json(&Answer::Revoked)
            }
            _ => Response::error("not found", 404),
        }
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
}

/// One call to the key's guard, failing after `timeout_ms`: a guard that does
/// not answer counts as one that cannot be asked.
async fn call(env: &Env, key_id: &str, path: &str, body: Option<String>, timeout_ms: u64) -> Result<Answer> {
    deadline::within(timeout_ms, call_unbounded(env, key_id, path, body))
        .await
        .unwrap_or_else(|deadline::TimedOut| Err(worker::Error::RustError(format!("guard did not answer within {timeout_ms} ms"))))
}

async fn call_unbounded(env: &Env, key_id: &str, path: &str, body: Option<String>) -> Result<Answer> {
    let stub = env.durable_object(BINDING)?.id_from_name(key_id)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(body.map(Into::into));
    let mut resp = stub.fetch_with_request(Request::new_with_init(&format!("https://guard{path}"), &init)?).await?;
    if resp.status_code() != 200 {
        return Err(worker::Error::RustError(format!("guard answered {}", resp.status_code())));
    }
    resp.json().await
}

/// Asks the key's guard about one request.
pub async fn check(env: &Env, key_id: &str, ask: Ask, timeout_ms: u64) -> Result<Answer> {
    call(env, key_id, "/check", Some(serde_json::to_string(&ask)?), timeout_ms).await
}

/// Whether the key's guard has it revoked (no metering).
pub async fn is_revoked(env: &Env, key_id: &str, timeout_ms: u64) -> Result<bool> {
    Ok(call(env, key_id, "/status", None, timeout_ms).await? == Answer::Revoked)
}

/// Makes the key's guard refuse the key from now on.
pub async fn revoke(env: &Env, key_id: &str, timeout_ms: u64) -> Result<()> {
    call(env, key_id, "/revoke", None, timeout_ms).await.map(|_| ())
}
