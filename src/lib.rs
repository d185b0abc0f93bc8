//! provgate: an edge verifier for SCIM provisioning keys.
//!
//! An identity provider (Okta, Entra ID, OneLogin, …) calls the edge with a
//! provisioning key. The edge verifies the key against an HMAC of it kept in
//! Workers KV, checks what the key may do, and forwards the SCIM call to the
//! origin with the origin's own credential. Everything else gets a SCIM error.
//!
//! ```text
//!   IdP ──request──▶ edge::pipeline ─────────────────────────────▶ origin SCIM
//!                     parse → verify → authorize → forward → log
//!                       │        │          │
//!                       └────────┴──────────┴── core (pure, no I/O, no clock)
//! ```
//!
//! Module map:
//! - [`core`]: pure decisions (key format, hashing, records, SCIM request
//!   classification, scopes, the outcome enum, forwarding plan, audit record).
//!   Builds and tests natively.
//! - `edge` (wasm32 only): the Worker; the one place that touches KV, `fetch`
//!   and the clock.
//! - `control` (wasm32, feature `control`): the `provgate-control` Worker,
//!   the management API and the keys' records writers.
//! - `cli` (native only): the operator's `provgate` command.

#![forbid(unsafe_code)]

pub mod core;

#[cfg(all(target_arch = "wasm32", not(feature = "control")))]
mod edge;

#[cfg(all(target_arch = "wasm32", feature = "control"))]
mod control;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
