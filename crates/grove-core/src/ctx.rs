//! What every change needs from outside the core: the time, who is acting, and randomness
//! for new ids. Passing them in keeps the core deterministic under test.

use rand_core::RngCore;

use crate::clock::Timestamp;

/// Lower-case Crockford base32: no i, l, o, u, so ids survive being read aloud or retyped.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const ID_CHARS: usize = 10;

pub struct Ctx<'r> {
    pub now: Timestamp,
    /// The acting member's id.
    pub member: String,
    pub rng: &'r mut dyn RngCore,
}

impl<'r> Ctx<'r> {
    pub fn new(now: Timestamp, member: impl Into<String>, rng: &'r mut dyn RngCore) -> Self {
        Ctx {
            now,
            member: member.into(),
            rng,
        }
    }

    /// A fresh id `PREFIX-xxxxxxxxxx` (50 random bits: collisions between devices creating
    /// entities concurrently are negligible at any realistic circle size).
    pub fn new_id(&mut self, prefix: &str) -> String {
        let mut id = String::with_capacity(prefix.len() + 1 + ID_CHARS);
        id.push_str(prefix);
        id.push('-');
        let mut bits = self.rng.next_u64();
        for _ in 0..ID_CHARS {
            id.push(char::from(ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        id
    }
}
