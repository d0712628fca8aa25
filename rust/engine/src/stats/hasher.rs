//! The hasher of the per-level maps: the key (a side and a price) comes from orders, so a
//! client could pick prices; the key is mixed with a per-map random seed through a full
//! avalanche (MurmurHash3's finaliser), so colliding buckets cannot be chosen from outside,
//! at a few nanoseconds per lookup (SipHash costs several times that on the matching thread).

use std::hash::{BuildHasher, Hasher};

/// Hashes one `u64` key.
#[derive(Clone, Copy)]
pub(crate) struct LevelKeyHasher {
    seed: u64,
    state: u64,
}

impl Hasher for LevelKeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(self.state.rotate_left(8) ^ u64::from(*b));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        let mut h = n ^ self.seed ^ self.state.rotate_left(29);
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        self.state = h;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.state
    }
}

/// Builds [`LevelKeyHasher`]s with one random seed per map.
#[derive(Clone, Copy)]
pub(crate) struct RandomLevelKeys {
    seed: u64,
}

impl Default for RandomLevelKeys {
    fn default() -> Self {
        // std's per-process random keys, drawn once per map.
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x6c66_7473_u64);
        RandomLevelKeys { seed }
    }
}

impl BuildHasher for RandomLevelKeys {
    type Hasher = LevelKeyHasher;

    #[inline]
    fn build_hasher(&self) -> LevelKeyHasher {
        LevelKeyHasher { seed: self.seed, state: 0 }
    }
}

/// A `HashMap` keyed by one packed `u64` per level.
pub(crate) type LevelMap<V> = std::collections::HashMap<u64, V, RandomLevelKeys>;

/// The packed key of a level.
#[inline]
pub(crate) fn level_key(side: crate::types::Side, price: crate::types::Ticks) -> u64 {
    (price as u64) << 1 | side as u64
}
