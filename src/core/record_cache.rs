//! Decoded key records kept in one isolate's memory for a short time, so a
//! busy key costs one KV read and one decode per TTL rather than one per
//! request.
//!
//! Entries are keyed by the record's digest (HMAC-SHA256 of the key under
//! the pepper: the request computes it anyway, and it reveals nothing), hold
//! a record only (misses are never kept: see docs/configuration.md), and
//! are bounded in number. The caller passes `now`; an entry is used while
//! it is younger than the TTL, and a TTL of zero keeps nothing.

use super::time::UnixMillis;
use std::collections::HashMap;

/// Records fetched recently, by digest.
#[derive(Debug)]
pub struct RecordCache<V> {
    ttl_ms: u64,
    capacity: usize,
    entries: HashMap<[u8; 32], (UnixMillis, V)>,
}

impl<V: Clone> RecordCache<V> {
    /// A cache that keeps records for `ttl_ms` and holds at most `capacity`.
    pub fn new(ttl_ms: u64, capacity: usize) -> Self {
        Self { ttl_ms, capacity, entries: HashMap::new() }
    }

    /// The record fetched under `digest` less than the TTL before `now`.
    pub fn get(&self, digest: &[u8; 32], now: UnixMillis) -> Option<V> {
        let (fetched, value) = self.entries.get(digest)?;
        self.is_fresh(*fetched, now).then(|| value.clone())
    }

    /// Keeps `value`, fetched at `now`. When full, expired entries go
    /// first, then the oldest one.
    pub fn put(&mut self, digest: [u8; 32], value: V, now: UnixMillis) {
        if self.ttl_ms == 0 || self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&digest) {
            let (ttl_ms, entries) = (self.ttl_ms, &mut self.entries);
            entries.retain(|_, (fetched, _)| fresh(ttl_ms, *fetched, now));
            if entries.len() >= self.capacity {
                let oldest = entries.iter().min_by_key(|(_, (fetched, _))| *fetched).map(|(d, _)| *d);
                oldest.map(|d| entries.remove(&d));
            }
        }
        self.entries.insert(digest, (now, value));
    }

    /// Records held, fresh or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn is_fresh(&self, fetched: UnixMillis, now: UnixMillis) -> bool {
        fresh(self.ttl_ms, fetched, now)
    }
}

/// Younger than the TTL; a clock that went backwards makes an entry stale,
/// never fresher.
fn fresh(ttl_ms: u64, fetched: UnixMillis, now: UnixMillis) -> bool {
    now >= fetched && now.0 - fetched.0 < ttl_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMillis = UnixMillis(1_800_000_000_000);

    fn at(ms: u64) -> UnixMillis {
        UnixMillis(T0.0 + ms)
    }

    fn digest(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn an_entry_is_used_for_exactly_the_ttl() {
        let mut cache = RecordCache::new(10_000, 8);
        cache.put(digest(1), "record", T0);
        assert_eq!(cache.get(&digest(1), T0), Some("record"));
        assert_eq!(cache.get(&digest(1), at(9_999)), Some("record"));
        assert_eq!(cache.get(&digest(1), at(10_000)), None);
        assert_eq!(cache.get(&digest(2), T0), None);
        // A clock that went backwards does not make an entry fresh again.
        assert_eq!(cache.get(&digest(1), UnixMillis(T0.0 - 1)), None);
        // Fetching again restarts its time.
        cache.put(digest(1), "edited", at(10_000));
        assert_eq!(cache.get(&digest(1), at(19_999)), Some("edited"));
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let mut cache = RecordCache::new(0, 8);
        cache.put(digest(1), "record", T0);
        assert!(cache.is_empty());
        assert_eq!(cache.get(&digest(1), T0), None);
    }

    #[test]
    fn it_never_holds_more_than_its_capacity() {
        let mut cache = RecordCache::new(10_000, 3);
        for n in 0..3 {
            cache.put(digest(n), n, at(u64::from(n)));
        }
        // Full of fresh entries: the oldest (0) makes room.
        cache.put(digest(9), 9, at(5));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&digest(0), at(5)), None);
        assert_eq!(cache.get(&digest(1), at(5)), Some(1));
        // Expired entries go before any fresh one.
        cache.put(digest(7), 7, at(10_002)); // 1 and 2 have expired by now, 9 has not
        assert_eq!(cache.len(), 2);
        assert_eq!((cache.get(&digest(9), at(10_002)), cache.get(&digest(7), at(10_002))), (Some(9), Some(7)));
        // Replacing a held entry never evicts another.
        let mut full = RecordCache::new(10_000, 2);
        full.put(digest(1), 1, T0);
        full.put(digest(2), 2, T0);
        full.put(digest(1), 10, at(1));
        assert_eq!((full.get(&digest(1), at(1)), full.get(&digest(2), at(1))), (Some(10), Some(2)));
    }
}
