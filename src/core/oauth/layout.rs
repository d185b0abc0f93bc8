//! The compact binary layout of sealed claims: fixed-width big-endian
//! integers, length-prefixed strings, and short codes for the common
//! scopes. Decoding is strict and canonical: whatever decodes encodes back
//! to the same bytes, so a token has one spelling only.

use crate::core::key::{KeyId, KEY_ID_PREFIX};
use crate::core::record::valid_tenant;
use crate::core::scope::Scope;
use ipnet::IpNet;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The code of a scope written as its text; the common ones have their own.
const TEXT_SCOPE: u8 = 7;

/// The one-byte code of a common scope.
fn code_of(scope: &Scope) -> Option<u8> {
    match scope {
        Scope::All => Some(0),
        Scope::Me => Some(1),
        Scope::Bulk => Some(2),
        Scope::Read(r) if r == "users" => Some(3),
        Scope::Write(r) if r == "users" => Some(4),
        Scope::Read(r) if r == "groups" => Some(5),
        Scope::Write(r) if r == "groups" => Some(6),
        _ => None,
    }
}

/// The common scope of a code (names borrowed: nothing to allocate).
fn coded(code: u8) -> Option<Scope> {
    Some(match code {
        0 => Scope::All,
        1 => Scope::Me,
        2 => Scope::Bulk,
        3 => Scope::Read(Cow::Borrowed("users")),
        4 => Scope::Write(Cow::Borrowed("users")),
        5 => Scope::Read(Cow::Borrowed("groups")),
        6 => Scope::Write(Cow::Borrowed("groups")),
        _ => return None,
    })
}

/// Builds a layout.
#[derive(Default)]
pub struct Writer(Vec<u8>);

/// Reads a layout; every method returns `None` on a defect.
pub struct Reader<'a>(&'a [u8]);

impl Writer {
    /// The bytes written.
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    /// Four bytes, big-endian.
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    /// Eight bytes, big-endian.
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    /// Raw bytes of a known width.
    pub fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    /// A string of at most 255 bytes, after its length; `None` if longer.
    pub fn short_text(&mut self, v: &str) -> Option<()> {
        self.u8(u8::try_from(v.len()).ok()?);
        self.bytes(v.as_bytes());
        Some(())
    }
    /// A string of at most 65,535 bytes, after its two-byte length.
    pub fn text(&mut self, v: &str) -> Option<()> {
        self.0.extend_from_slice(&u16::try_from(v.len()).ok()?.to_be_bytes());
        self.bytes(v.as_bytes());
        Some(())
    }
    /// A key id without its `key_` prefix.
    pub fn key_id(&mut self, id: &KeyId) -> Option<()> {
        self.short_text(&id.as_str()[KEY_ID_PREFIX.len()..])
    }
    /// A tenant, or an empty string for none (a tenant is never empty).
    pub fn tenant(&mut self, tenant: Option<&str>) -> Option<()> {
        self.short_text(tenant.unwrap_or_default())
    }
    /// A count, then each scope: its code, or the text code and its text.
    pub fn scopes(&mut self, scopes: &[Scope]) -> Option<()> {
        self.u8(u8::try_from(scopes.len()).ok()?);
        for scope in scopes {
            match code_of(scope) {
                Some(code) => self.u8(code),
                None => {
                    self.u8(TEXT_SCOPE);
                    self.short_text(&scope.to_string())?;
                }
            }
        }
        Some(())
    }
    /// A count, then each network: 4 or 6, its address, its prefix length.
    pub fn networks(&mut self, nets: &[IpNet]) -> Option<()> {
        self.u8(u8::try_from(nets.len()).ok()?);
        for net in nets {
            match net.addr() {
                IpAddr::V4(a) => {
                    self.u8(4);
                    self.bytes(&a.octets());
                }
                IpAddr::V6(a) => {
                    self.u8(6);
                    self.bytes(&a.octets());
                }
            }
            self.u8(net.prefix_len());
        }
        Some(())
    }
}

impl<'a> Reader<'a> {
    /// Reads `bytes` from the start.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }
    /// `Some` if everything was read: trailing bytes are a defect.
    pub fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }
    /// Four bytes, big-endian.
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.array()?))
    }
    /// Eight bytes, big-endian.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.array()?))
    }
    /// A string written by [`Writer::short_text`].
    pub fn short_text(&mut self) -> Option<&'a str> {
        let len = self.u8()?;
        std::str::from_utf8(self.take(usize::from(len))?).ok()
    }
    /// A string written by [`Writer::text`].
    pub fn text(&mut self) -> Option<&'a str> {
        let len = u16::from_be_bytes(self.array()?);
        std::str::from_utf8(self.take(usize::from(len))?).ok()
    }
    /// A key id written by [`Writer::key_id`].
    pub fn key_id(&mut self) -> Option<KeyId> {
        KeyId::from_body(self.short_text()?)
    }
    /// A tenant written by [`Writer::tenant`], valid as a record's.
    pub fn tenant(&mut self) -> Option<Option<String>> {
        match self.short_text()? {
            "" => Some(None),
            t if valid_tenant(t) => Some(Some(t.to_owned())),
            _ => None,
        }
    }
    /// Scopes written by [`Writer::scopes`]; a coded scope written as text
    /// is a defect (it would have two spellings).
    pub fn scopes(&mut self) -> Option<Vec<Scope>> {
        let count = self.u8()?;
        let mut scopes = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let scope = match self.u8()? {
                TEXT_SCOPE => Some(self.short_text()?.parse().ok()?).filter(|s| code_of(s).is_none())?,
                code => coded(code)?,
            };
            scopes.push(scope);
        }
        Some(scopes)
    }
    /// Networks written by [`Writer::networks`], each with its host bits
    /// clear (as records hold them).
    pub fn networks(&mut self) -> Option<Vec<IpNet>> {
        let count = self.u8()?;
        let mut nets = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let addr = match self.u8()? {
                4 => IpAddr::V4(Ipv4Addr::from(self.array::<4>()?)),
                6 => IpAddr::V6(Ipv6Addr::from(self.array::<16>()?)),
                _ => return None,
            };
            let net = IpNet::new(addr, self.u8()?).ok()?;
            nets.push(Some(net).filter(|n| n.trunc() == *n)?);
        }
        Some(nets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::parse_network;
    use crate::core::scope::parse_list;

    #[test]
    fn round_trips_and_codes_the_common_scopes() {
        let scopes = parse_list("*,me,bulk,users:read,users:write,groups:read,groups:write,devices:read,x-1:write").unwrap();
        let nets = vec![parse_network("203.0.113.0/24").unwrap(), parse_network("2001:db8::/32").unwrap()];
        let id = KeyId::parse("key_3mXq8Jt0aZ").unwrap();
        let mut w = Writer::default();
        w.key_id(&id).unwrap();
        w.tenant(Some("acme")).unwrap();
        w.tenant(None).unwrap();
        w.scopes(&scopes).unwrap();
        w.networks(&nets).unwrap();
        w.text("https://a.example/cb").unwrap();
        w.u32(7);
        w.u64(u64::MAX);
        let bytes = w.finish();
        // 7 coded scopes are one byte each; two custom ones are 2 + text.
        assert_eq!(&bytes[17..28], &[9, 0, 1, 2, 3, 4, 5, 6, 7, 12, b'd']);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.key_id(), Some(id));
        assert_eq!(r.tenant(), Some(Some("acme".to_owned())));
        assert_eq!(r.tenant(), Some(None));
        assert_eq!(r.scopes(), Some(scopes));
        assert_eq!(r.networks(), Some(nets));
        assert_eq!(r.text(), Some("https://a.example/cb"));
        assert_eq!((r.u32(), r.u64()), (Some(7), Some(u64::MAX)));
        assert_eq!(r.end(), Some(()));
        assert_eq!(r.u8(), None);
    }

    #[test]
    fn non_canonical_or_invalid_values_are_refused() {
        let read = |bytes: &[u8], f: fn(&mut Reader) -> bool| f(&mut Reader::new(bytes));
        assert!(!read(&[1, TEXT_SCOPE, 10, b'u', b's', b'e', b'r', b's', b':', b'r', b'e', b'a', b'd'], |r| r.scopes().is_some()));
        assert!(!read(&[1, 42], |r| r.scopes().is_some()));
        assert!(!read(&[1, TEXT_SCOPE, 5, b'U', b':', b'r', b'e', b'a'], |r| r.scopes().is_some()));
        assert!(!read(&[1, 4, 203, 0, 113, 9, 24], |r| r.networks().is_some()), "host bits set");
        assert!(!read(&[1, 4, 203, 0, 113, 0, 33], |r| r.networks().is_some()), "prefix too long");
        assert!(!read(&[1, 5, 203, 0, 113, 0, 24], |r| r.networks().is_some()), "unknown family");
        assert!(!read(&[2, b'.', b'.'], |r| r.tenant().is_some()));
        assert!(!read(&[3, b'a', b'\r', b'b'], |r| r.key_id().is_some()));
        assert!(!read(&[0], |r| r.key_id().is_some()));
        assert!(!read(&[2, 0xff, 0xfe], |r| r.short_text().is_some()));
        assert!(!read(&[5, b'a'], |r| r.short_text().is_some()), "truncated");
    }
}
