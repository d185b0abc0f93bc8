//! The Workers shell: the only code that touches KV, `fetch` and the clock.
//! It holds no policy; every decision is a call into [`crate::core`].

mod alert;
mod check;
mod cold;
mod config;
mod deadline;
mod diagnostics;
mod guard;
mod log;
mod object;
mod origin;
mod pipeline;
mod respond;
mod store;
mod throttle;

use crate::core::api::route::PREFIX;
use crate::core::api::{Kind, Problem};
use crate::core::audit::{AuditRecord, RequestFacts};
use crate::core::oauth::metadata::{APPROVE_PATH, TOKEN_PATH};
use crate::core::{Outcome, UnixMillis};
use worker::{event, Context, Env, Request, Response, Result};

/// The management API's Worker (`provgate-control`), bound as a service.
const CONTROL: &str = "CONTROL";

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    // The management API lives in its own Worker, so that none of its code
    // loads with the SCIM path; it writes its own audit line.
    // The same screens as every request first (method, secrets in the URL, plain HTTP).
    if (is_api(&req.path()) || is_oauth(&req)) && pipeline::passes_screen(&req, &env) {
        if let Ok(control) = env.service(CONTROL) {
            if diagnostics::is_route(&req) {
                return Ok(cold::out_of_line(diagnostics::run(req, &env, control)).await.unwrap_or_else(unreachable_control));
            }
            return Ok(cold::out_of_line(control.fetch_request(req)).await.unwrap_or_else(|_| unreachable_control()));
        }
    }
    Ok(pipeline::handle(req, &env, &ctx).await)
}

/// The control Worker failed: 503, with its own audit line.
fn unreachable_control() -> Response {
    let request_id = pipeline::new_request_id();
    let outcome = Outcome::Api(Problem::new(Kind::StoreUnavailable, "the management API's Worker (provgate-control) failed; retry"));
    let now = UnixMillis(worker::Date::now().as_millis());
    let facts = RequestFacts { method: "?".into(), resource: Some("api".into()), ..RequestFacts::default() };
    log::emit(&AuditRecord::new(&request_id, facts, &outcome, now, now));
    respond::error(&outcome, &request_id)
}

/// The OAuth endpoints that provgate-control serves: the token endpoint,
/// and where the authorization page posts the pasted key (the page itself
/// is a static asset).
fn is_oauth(req: &Request) -> bool {
    matches!(req.path().as_str(), TOKEN_PATH | APPROVE_PATH)
}

fn is_api(path: &str) -> bool {
    path.strip_prefix(PREFIX).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
