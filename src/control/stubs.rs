//! Calls to Durable Objects: the keys' guards (`KEY_GUARD`) and records
//! writers (`KEY_RECORDS`), both in this Worker. One non-generic, boxed
//! path, bounded in time; the answer is text.

use super::{deadline, object};
use std::future::Future;
use std::pin::Pin;
use worker::{Env, Result};

/// The keys' guards.
pub const GUARDS: &str = "KEY_GUARD";
/// The keys' records writers.
pub const RECORDS: &str = "KEY_RECORDS";

/// Which namespace serves `path`: the writer's own paths, else the guard.
pub fn binding_for(path: &str) -> &'static str {
    if matches!(path, "/write" | "/record" | "/touch") || path.starts_with("/idem/") {
        RECORDS
    } else {
        GUARDS
    }
}

pub fn call<'a>(env: &'a Env, binding: &'a str, name: &'a str, path: &'a str, body: Option<String>, timeout_ms: u64) -> Pin<Box<dyn Future<Output = Result<String>> + 'a>> {
    Box::pin(async move {
        let call = async {
            let stub = env.durable_object(binding)?.id_from_name(name)?.get_stub()?;
            object::post(stub, &format!("https://object{path}"), body).await
        };
        deadline::within(timeout_ms, call).await.unwrap_or_else(|deadline::TimedOut| Err(worker::Error::RustError("no answer in time".into())))
    })
}
