//! The Workers shell: the only code that touches KV, `fetch` and the clock.
//! It holds no policy; every decision is a call into [`crate::core`].

mod admin;
mod alert;
mod check;
mod config;
mod deadline;
mod guard;
mod log;
mod origin;
mod pipeline;
mod respond;
mod store;
mod throttle;

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(pipeline::handle(req, &env, &ctx).await)
}
