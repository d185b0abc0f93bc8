//! Posting alerts to `ALERT_WEBHOOK_URL`, after the response.
//!
//! What to alert on, the message and the deduplication are the core's
//! (`core::alert`); this file keeps the per-isolate dedup state and makes
//! the one POST, through `ctx.wait_until`, so the SCIM response never waits
//! for it. A post is bounded in time, never retried, and a failure is
//! logged once, without the URL (a webhook URL is a credential).

use super::config::Config;
use super::deadline;
use crate::core::alert::{Action, Alert, Dedup, Verdict};
use crate::core::audit::RequestFacts;
use crate::core::usage::Source;
use crate::core::{Outcome, UnixMillis};
use std::cell::RefCell;
use worker::{AbortController, Context, Env, Fetch, Headers, Method, Request, RequestInit};

/// How long one post may take before it is abandoned.
const POST_TIMEOUT_MS: u64 = 5_000;
/// Subjects (keys, addresses) one isolate remembers for deduplication.
const DEDUP_SUBJECTS: usize = 256;

thread_local! {
    /// Deduplication is per isolate: several isolates may each send one
    /// alert for the same event within a window (docs/alerts.md).
    static DEDUP: RefCell<Dedup> = RefCell::new(Dedup::new(DEDUP_SUBJECTS));
}

/// Raises the alert a finished request's outcome calls for, if any.
pub fn after_request(ctx: &Context, env: &Env, outcome: &Outcome, request_id: &str, facts: &RequestFacts, at: UnixMillis) {
    if let Some(alert) = Alert::for_outcome(outcome, request_id, facts, at) {
        raise(ctx, env, alert);
    }
}

/// A key used from a new address or country.
pub fn new_source(ctx: &Context, env: &Env, source: &Source, request_id: &str, facts: &RequestFacts, at: UnixMillis) {
    raise(ctx, env, Alert::new_source(source, request_id, facts, at));
}

/// An operator's action on a key: the management API reports its actions here.
#[allow(dead_code)] // until the management API calls it
pub fn management(ctx: &Context, env: &Env, action: Action, key_id: &str, request_id: &str, facts: &RequestFacts, at: UnixMillis) {
    raise(ctx, env, Alert::management(action, key_id, request_id, facts, at));
}

fn raise(ctx: &Context, env: &Env, alert: Alert) {
    let Ok(config) = Config::for_isolate(env) else { return };
    let Some(url) = config.alert_webhook_url.clone() else { return };
    let verdict = DEDUP.with(|d| d.borrow_mut().admit(alert.kind.name(), alert.subject(), alert.at, config.alert_dedup_ms));
    let Verdict::Send { suppressed } = verdict else { return };
    let kind = alert.kind.name();
    let body = alert.to_json(suppressed);
    ctx.wait_until(async move {
        if let Err(failure) = post(&url, body).await {
            worker::console_error!("{}", serde_json::json!({ "level": "error", "reason": "alert_undelivered", "kind": kind, "failure": failure }));
        }
    });
}

/// One POST of `body`; `Err` names the failure without the URL.
async fn post(url: &str, body: String) -> Result<(), String> {
    let headers = Headers::new();
    headers.set("content-type", "application/json").map_err(|_| "request")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    let request = Request::new_with_init(url, &init).map_err(|_| "request")?;
    let controller = AbortController::default();
    let signal = controller.signal();
    match deadline::within(POST_TIMEOUT_MS, Fetch::Request(request).send_with_signal(&signal)).await {
        Ok(Ok(response)) if (200..300).contains(&response.status_code()) => Ok(()),
        Ok(Ok(response)) => Err(format!("answered {}", response.status_code())),
        Ok(Err(_)) => Err("unreachable".into()),
        Err(deadline::TimedOut) => {
            controller.abort();
            Err(format!("no answer within {POST_TIMEOUT_MS} ms"))
        }
    }
}
