//! The pure core: every decision provgate makes, and nothing else.
//!
//! This module does no network or storage I/O and never reads a clock: the
//! caller passes `now` and the bytes it fetched. That is what lets the whole
//! decision path be tested natively and deterministically, while the Worker
//! shell (`edge`) stays a thin sequence of I/O calls around it.

#![deny(missing_docs)]

pub mod alert;
pub mod api;
pub mod audit;
pub mod bulk;
pub mod compat;
pub mod credential;
pub mod decide;
pub mod doctor;
pub mod forward;
pub mod gcra;
pub mod guard;
pub mod key;
pub mod lease;
pub mod lookup;
pub mod oauth;
pub mod outcome;
pub mod parsed;
pub mod preset;
pub mod record;
pub mod relay;
pub mod record_cache;
pub mod scim;
pub mod screen;
pub mod scope;
pub mod sign;
pub mod status;
pub mod time;
pub mod usage;

pub use decide::{authorize, Grant};
pub use key::{KeyId, ProvisioningKey};
pub use outcome::{KeyRejection, Outcome};
pub use record::KeyRecord;
pub use scim::{Action, Resource, ScimRequest};
pub use time::UnixMillis;
