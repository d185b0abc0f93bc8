//! How the origin's answer is relayed to the IdP.
//!
//! Once the status is on its way to the IdP, a failure of the origin can no
//! longer become a SCIM error: the runtime can only cut the connection. With
//! a `Content-Length` that is enough (the IdP sees fewer bytes than promised).
//! Without one (chunked), workerd ends the chunked body cleanly even when its
//! source failed, so the IdP would take a truncated answer for a whole one.
//! Such bodies are therefore read before answering, up to a bound that covers
//! SCIM pages; a failure within it is a 502 like any other.

/// How much of a body without a declared length is read before answering.
/// Longer bodies stream on after this prefix, with the runtime's limitation.
pub const UNFRAMED_PREFIX_BYTES: usize = 1024 * 1024;

/// Whether the origin's body must be read before the IdP gets the status:
/// only when the origin did not declare its length.
///
/// ```
/// use provgate::core::relay::read_before_answering;
/// assert!(read_before_answering(None));
/// assert!(!read_before_answering(Some("1048576")));
/// assert!(read_before_answering(Some("not a number")));
/// ```
pub fn read_before_answering(content_length: Option<&str>) -> bool {
    content_length.and_then(|v| v.trim().parse::<u64>().ok()).is_none()
}
