//! Deterministic identifiers and hashing: no process-random state anywhere, so replays of
//! the same commands produce the same ids, events and state hash.

use core::hash::{BuildHasher, Hasher};

use crate::types::OrderId;

/// SplitMix64 step: a cheap, well-mixed 64-bit generator.
#[inline]
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `n`-th generated id of a book seeded with `seed`, shaped as a version-4 UUID.
pub(crate) fn generated_order_id(seed: u64, n: u64) -> OrderId {
    let hi = splitmix64(seed ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let lo = splitmix64(hi ^ n);
    let raw = ((hi as u128) << 64) | lo as u128;
    // version 4 (random) and RFC 4122 variant bits
    (raw & !(0xF000u128 << 64) & !(0xC000u128 << 48)) | (0x4000u128 << 64) | (0x8000u128 << 48)
}

/// The multiplicative inverse of an odd `a` modulo 2^64 (Newton's iteration).
const fn inverse(a: u64) -> u64 {
    let mut x = a;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// The inverse of [`splitmix64`].
fn unsplitmix64(z: u64) -> u64 {
    let mut z = z ^ (z >> 31) ^ (z >> 62);
    z = z.wrapping_mul(const { inverse(0x94D0_49BB_1331_11EB) });
    z = z ^ (z >> 27) ^ (z >> 54);
    z = z.wrapping_mul(const { inverse(0xBF58_476D_1CE4_E5B9) });
    z = z ^ (z >> 30) ^ (z >> 60);
    z.wrapping_sub(0x9E37_79B9_7F4A_7C15)
}

/// `Some(n)` when `id` is the `n`-th generated id of a book seeded with `seed` (so a
/// replay can move the book's id counter past the ids drawn before a crash). The version
/// bits overwrote four bits of the high word: each of the 16 candidates is checked.
pub(crate) fn generated_index(seed: u64, id: OrderId) -> Option<u64> {
    let hi = (id >> 64) as u64;
    (0..16u64).find_map(|c| {
        let candidate = (hi & !(0xF << 12)) | (c << 12);
        let n = (unsplitmix64(candidate) ^ seed).wrapping_mul(const { inverse(0xD6E8_FEB8_6659_FD93) });
        (generated_order_id(seed, n) == id).then_some(n)
    })
}

/// FNV-1a, 64-bit: the state-hash function (stable across runs and platforms).
#[derive(Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    /// Mix in raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// Mix in an integer (little-endian).
    pub fn int(&mut self, v: i128) {
        self.bytes(&v.to_le_bytes());
    }
    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// Hasher for the order-id map: ids are already well mixed (UUIDs) or small integers,
/// so one multiply-fold is enough; fixed seed keeps iteration order deterministic.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u64(&mut self, v: u64) {
        let m = ((self.0 ^ v) as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
}

/// Builder for [`IdHasher`].
#[derive(Default, Clone, Copy)]
pub(crate) struct BuildIdHasher;

impl BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher::default()
    }
}

/// A 128-bit id stored as two `u64` halves: 8-byte alignment instead of `u128`'s 16 keeps
/// resting-order records and id-map entries small (memory per resting order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct PackedId([u64; 2]);

impl core::hash::Hash for PackedId {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
        state.write_u64(self.0[1]);
    }
}

impl From<OrderId> for PackedId {
    #[inline]
    fn from(id: OrderId) -> Self {
        PackedId([id as u64, (id >> 64) as u64])
    }
}

impl PackedId {
    /// The id as a `u128`.
    #[inline]
    pub(crate) fn get(self) -> OrderId {
        (self.0[1] as u128) << 64 | self.0[0] as u128
    }
}

#[cfg(test)]
mod tests {
    use super::{generated_index, generated_order_id, splitmix64, unsplitmix64};

    #[test]
    fn splitmix_inverts_and_generated_ids_give_back_their_index() {
        for x in [0u64, 1, 42, u64::MAX, 0x1234_5678_9abc_def0] {
            assert_eq!(unsplitmix64(splitmix64(x)), x);
        }
        for seed in [0u64, 7, 0xdead_beef_cafe_f00d] {
            for n in [0u64, 1, 2, 999, 1 << 40] {
                assert_eq!(generated_index(seed, generated_order_id(seed, n)), Some(n));
            }
            assert_eq!(generated_index(seed, 12345), None);
            assert_eq!(generated_index(seed ^ 1, generated_order_id(seed, 5)), None);
        }
    }
}
