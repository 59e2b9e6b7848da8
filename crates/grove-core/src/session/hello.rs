//! The hello frame: the first frame each side sends a peer that is a member device of at
//! least one circle it holds, naming those circles by keyed tags (see [`super::access`]),
//! so both sides sync exactly the circles they share and an outsider learns nothing.
//!
//! It travels on the control channel (circle id [`CONTROL_CIRCLE`], which no real circle can
//! take since circle ids never contain `/`). Tags the receiver cannot match are simply not
//! synced; only an undecodable hello is a protocol error.
//!
//! The first hello a side sends on a connection is marked fresh: "I hold nothing of yours
//! from before; greet me and start our sync over". A peer can see the other end restart
//! without seeing its connection drop (libp2p may report the old connection closed only after
//! the new one is up, or much later on a half-open link), so a fresh hello from a peer whose
//! hello it already had is how it learns that it must greet it again.
//!
//! Layout: `version: u8 = 3`, `flags: u8` (bit 0: fresh; the others are reserved and
//! ignored), `count: u16 BE` (at most [`MAX_CIRCLES`]), then `count` tags of 32 bytes,
//! strictly ascending, nothing after.

use std::collections::BTreeSet;

use super::access::{Tag, TAG_LEN};

/// The wire circle id of control frames.
pub const CONTROL_CIRCLE: &str = "grove/control";
/// The message kind of a hello frame.
pub const HELLO: &str = "hello";
/// The message kind of every sync-engine frame (the envelope inside names the document).
pub const SYNC: &str = "sync";
const VERSION: u8 = 3;
const FRESH: u8 = 1;
/// Far above the circles one person belongs to; bounds what a hostile hello can make us hold.
pub const MAX_CIRCLES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HelloError {
    #[error("hello version {0} is not supported (this build speaks version {VERSION}); upgrade the older Grove")]
    Version(u8),
    #[error("hello frame is truncated")]
    Truncated,
    #[error("hello lists {0} circles, more than the limit of {MAX_CIRCLES}")]
    TooMany(usize),
    #[error("hello lists circle tags out of order or twice")]
    NotAscending,
    #[error("{0} unexpected bytes after the hello")]
    Trailing(usize),
}

/// A decoded hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The sender starts its sync with us over (see the module doc).
    pub fresh: bool,
    pub tags: BTreeSet<Tag>,
}

/// Encodes the tags of the circles we offer this peer (beyond the limit are left out).
pub fn encode(tags: &BTreeSet<Tag>, fresh: bool) -> Vec<u8> {
    let tags: Vec<&Tag> = tags.iter().take(MAX_CIRCLES).collect();
    let mut out = Vec::with_capacity(4 + tags.len() * TAG_LEN);
    out.push(VERSION);
    out.push(if fresh { FRESH } else { 0 });
    out.extend_from_slice(&(tags.len() as u16).to_be_bytes());
    for tag in tags {
        out.extend_from_slice(tag);
    }
    out
}

pub fn decode(bytes: &[u8]) -> Result<Hello, HelloError> {
    let (&version, rest) = bytes.split_first().ok_or(HelloError::Truncated)?;
    if version != VERSION {
        return Err(HelloError::Version(version));
    }
    let (&flags, rest) = rest.split_first().ok_or(HelloError::Truncated)?;
    let (count, rest) = rest.split_first_chunk::<2>().ok_or(HelloError::Truncated)?;
    let count = usize::from(u16::from_be_bytes(*count));
    if count > MAX_CIRCLES {
        return Err(HelloError::TooMany(count));
    }
    let body = rest.get(..count * TAG_LEN).ok_or(HelloError::Truncated)?;
    if rest.len() > body.len() {
        return Err(HelloError::Trailing(rest.len() - body.len()));
    }
    let mut out = BTreeSet::new();
    let mut previous: Option<Tag> = None;
    for chunk in body.chunks_exact(TAG_LEN) {
        let tag: Tag = chunk.try_into().map_err(|_| HelloError::Truncated)?;
        if previous.is_some_and(|p| p >= tag) {
            return Err(HelloError::NotAscending);
        }
        previous = Some(tag);
        out.insert(tag);
    }
    Ok(Hello {
        fresh: flags & FRESH != 0,
        tags: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hello_roundtrips_and_refuses_malformed_input() {
        let tags: BTreeSet<Tag> = [[1u8; 32], [2u8; 32]].into_iter().collect();
        let bytes = encode(&tags, true);
        assert_eq!(
            decode(&bytes).unwrap(),
            Hello {
                fresh: true,
                tags: tags.clone()
            }
        );
        assert_eq!(
            decode(&encode(&BTreeSet::new(), false)).unwrap(),
            Hello {
                fresh: false,
                tags: BTreeSet::new()
            }
        );
        assert!(
            decode(&[3, 0xfe, 0, 0]).is_ok_and(|h| !h.fresh),
            "reserved flag bits are ignored"
        );

        assert_eq!(decode(&[]), Err(HelloError::Truncated));
        assert_eq!(
            decode(&[2, 0, 0]),
            Err(HelloError::Version(2)),
            "a hello without flags is from an older Grove"
        );
        assert_eq!(decode(&[3, 0, 0]), Err(HelloError::Truncated));
        assert_eq!(decode(&[3, 0, 0, 1, 3]), Err(HelloError::Truncated));
        let mut unsorted = vec![3, 0, 0, 2];
        unsorted.extend([2u8; 32]);
        unsorted.extend([1u8; 32]);
        assert_eq!(decode(&unsorted), Err(HelloError::NotAscending));
        assert_eq!(decode(&[3, 0, 0, 0, 9]), Err(HelloError::Trailing(1)));
        assert_eq!(
            decode(&[3, 0, 0xff, 0xff]),
            Err(HelloError::TooMany(0xffff))
        );
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "prefix {len}");
        }
    }

    proptest! {
        #[test]
        fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&data);
            let mut framed = vec![VERSION];
            framed.extend_from_slice(&data);
            let _ = decode(&framed);
        }
    }
}
