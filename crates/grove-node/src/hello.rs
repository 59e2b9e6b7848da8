//! The hello frame: the first frame each side sends on a new connection, listing the circles
//! it holds, so both sides sync exactly the circles they share.
//!
//! It travels on the control channel (circle id [`CONTROL_CIRCLE`], which no real circle can
//! take since circle ids never contain `/`). A peer holding circles we lack is normal and
//! those circles are simply not synced; only an undecodable hello is a protocol error.
//!
//! Layout: `version: u8 = 1`, `count: u16 BE` (at most [`MAX_CIRCLES`]), then `count` times
//! `len: u8` + circle id (1..=128 bytes of ASCII letters, digits, '-', '_', '.'), ids strictly
//! ascending, nothing after.

use std::collections::BTreeSet;

/// The wire circle id of control frames.
pub(crate) const CONTROL_CIRCLE: &str = "grove/control";
/// The wire doc id of a hello frame.
pub(crate) const HELLO_DOC: &str = "hello";
/// The wire doc id of every sync-engine frame (the envelope inside names the document).
pub(crate) const SYNC_DOC: &str = "sync";
const VERSION: u8 = 1;
/// Far above the circles one person belongs to; bounds what a hostile hello can make us hold.
pub(crate) const MAX_CIRCLES: usize = 1024;
const MAX_ID_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HelloError {
    #[error("hello version {0} is not supported (this build speaks version {VERSION}); upgrade the older Grove")]
    Version(u8),
    #[error("hello frame is truncated")]
    Truncated,
    #[error("hello lists {0} circles, more than the limit of {MAX_CIRCLES}")]
    TooMany(usize),
    #[error("hello lists an invalid or out-of-order circle id")]
    BadId,
    #[error("{0} unexpected bytes after the hello")]
    Trailing(usize),
}

fn valid_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Encodes the circles we hold; ids that could not go on the wire are left out (they cannot
/// be synced anyway) and so are any beyond the limit.
pub(crate) fn encode(circles: &BTreeSet<String>) -> Vec<u8> {
    let ids: Vec<&String> = circles
        .iter()
        .filter(|c| valid_id(c.as_bytes()))
        .take(MAX_CIRCLES)
        .collect();
    let mut out = vec![VERSION];
    out.extend_from_slice(&(ids.len() as u16).to_be_bytes());
    for id in ids {
        out.push(id.len() as u8);
        out.extend_from_slice(id.as_bytes());
    }
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<BTreeSet<String>, HelloError> {
    let (&version, rest) = bytes.split_first().ok_or(HelloError::Truncated)?;
    if version != VERSION {
        return Err(HelloError::Version(version));
    }
    let count = rest.get(..2).ok_or(HelloError::Truncated)?;
    let count = usize::from(u16::from_be_bytes([count[0], count[1]]));
    if count > MAX_CIRCLES {
        return Err(HelloError::TooMany(count));
    }
    let mut rest = &rest[2..];
    let mut out = BTreeSet::new();
    let mut previous: Option<&[u8]> = None;
    for _ in 0..count {
        let (&len, tail) = rest.split_first().ok_or(HelloError::Truncated)?;
        let id = tail.get(..usize::from(len)).ok_or(HelloError::Truncated)?;
        if !valid_id(id) || previous.is_some_and(|p| p >= id) {
            return Err(HelloError::BadId);
        }
        previous = Some(id);
        // valid_id admits ASCII only, so this never fails.
        out.insert(String::from_utf8_lossy(id).into_owned());
        rest = &tail[usize::from(len)..];
    }
    if !rest.is_empty() {
        return Err(HelloError::Trailing(rest.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_roundtrips_and_refuses_malformed_input() {
        let circles: BTreeSet<String> = ["c-1", "c-2abc"].iter().map(|s| s.to_string()).collect();
        let bytes = encode(&circles);
        assert_eq!(decode(&bytes).unwrap(), circles);
        assert_eq!(decode(&encode(&BTreeSet::new())).unwrap(), BTreeSet::new());

        assert_eq!(decode(&[]), Err(HelloError::Truncated));
        assert_eq!(decode(&[2, 0, 0]), Err(HelloError::Version(2)));
        assert_eq!(decode(&[1, 0]), Err(HelloError::Truncated));
        assert_eq!(decode(&[1, 0, 1, 3, b'a']), Err(HelloError::Truncated));
        assert_eq!(decode(&[1, 0, 1, 1, b'/']), Err(HelloError::BadId));
        assert_eq!(
            decode(&[1, 0, 2, 1, b'b', 1, b'a']),
            Err(HelloError::BadId),
            "ids must be ascending"
        );
        assert_eq!(decode(&[1, 0, 0, 9]), Err(HelloError::Trailing(1)));
        assert_eq!(decode(&[1, 0xff, 0xff]), Err(HelloError::TooMany(0xffff)));
    }
}
