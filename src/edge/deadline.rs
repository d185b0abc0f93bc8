//! Bounding every wait on something the edge depends on (KV, a key's guard,
//! the origin): a dependency that never answers must end the request with a
//! SCIM error the IdP can act on, never leave it hanging.

use futures_util::future::{select, Either};
use std::future::Future;
use std::time::Duration;
use worker::Delay;

/// The dependency did not answer within its deadline.
pub struct TimedOut;

/// `work`'s output, or `TimedOut` after `ms` milliseconds. `work` is
/// dropped on timeout; whatever it started may still complete.
pub async fn within<F: Future>(ms: u64, work: F) -> Result<F::Output, TimedOut> {
    let deadline = Delay::from(Duration::from_millis(ms));
    futures_util::pin_mut!(work, deadline);
    match select(work, deadline).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(_) => Err(TimedOut),
    }
}
