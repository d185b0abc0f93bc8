//! Keeping rare paths out of the hot poll function.
//!
//! V8 compiles a wasm function when it is first called, whole. The async
//! pipeline compiles to a few poll functions into which everything awaited
//! is inlined, so a rare path (the doctor's check, failed-attempt metering,
//! draining a denied body) made the first request of every isolate compile
//! it too. Awaited through [`out_of_line`], a path's poll is its own
//! function, reached through a vtable, compiled only if it runs.

use std::future::Future;
use std::pin::Pin;

/// `work`, boxed behind `dyn Future`: its poll is never inlined into the caller's.
#[inline(never)]
pub fn out_of_line<'a, T>(work: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(work)
}
