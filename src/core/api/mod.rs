//! The management API's decisions (`/_provgate/api/v1`, docs/api.md): who
//! may call what, what a body may say, what a write does to a stored
//! record, listings, idempotency, and the problem for each failure. Pure,
//! like the rest of the core: the edge (`edge::api`, the key's guard) does
//! the KV and Durable Object I/O around these calls.

pub mod actor;
pub mod diagnostics;
pub mod fields;
pub mod idempotency;
pub mod io;
pub mod list;
pub mod metadata;
pub mod mint;
pub mod patch;
pub mod problem;
pub mod route;
pub mod serve;
pub mod summary;
pub mod token;
pub mod view;
pub mod write;

pub use actor::{Actor, TokenScope};
pub use problem::{Kind, Problem};
pub use route::{Action, Call};
