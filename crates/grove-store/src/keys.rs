//! Byte keys of the sled `docs` tree (the layout is described in the crate docs).
//!
//! Names never contain NUL, so `name ++ 0x00` sorts exactly like `name` among NUL-free
//! strings and `name ++ 0x01` is the first key past everything under `name`; listing circles
//! and documents seeks from key to key instead of reading every chunk.

pub(crate) const SEP: u8 = 0x00;
pub(crate) const TAG_SNAPSHOT: u8 = 0x00;
pub(crate) const TAG_CHUNK: u8 = 0x01;
pub(crate) const TAG_TALLY: u8 = 0x02;
/// The byte after SEP: `prefix ++ PAST` sorts after every key that starts with `prefix ++ SEP`.
pub(crate) const PAST: u8 = 0x01;

/// Counts the writes made to its tree (one such key in `docs` and one in `meta`). 0xFF never
/// occurs in UTF-8, so no name can collide with it, and it sorts after every name.
pub(crate) const OPS: &[u8] = &[0xFF];

/// `circle 0x00`: every key of the circle starts with this.
pub(crate) fn circle_prefix(circle: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(circle.len() + 1);
    k.extend_from_slice(circle.as_bytes());
    k.push(SEP);
    k
}

/// `circle 0x00 doc 0x00`: every key of the document starts with this.
pub(crate) fn doc_prefix(circle: &str, doc: &str) -> Vec<u8> {
    let mut k = circle_prefix(circle);
    k.extend_from_slice(doc.as_bytes());
    k.push(SEP);
    k
}

pub(crate) fn snapshot(circle: &str, doc: &str) -> Vec<u8> {
    let mut k = doc_prefix(circle, doc);
    k.push(TAG_SNAPSHOT);
    k
}

pub(crate) fn chunk_prefix(circle: &str, doc: &str) -> Vec<u8> {
    let mut k = doc_prefix(circle, doc);
    k.push(TAG_CHUNK);
    k
}

/// Big-endian so chunks iterate in append order.
pub(crate) fn chunk(circle: &str, doc: &str, seq: u64) -> Vec<u8> {
    let mut k = chunk_prefix(circle, doc);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(crate) fn tally(circle: &str, doc: &str) -> Vec<u8> {
    let mut k = doc_prefix(circle, doc);
    k.push(TAG_TALLY);
    k
}

/// `prefix` with its trailing SEP replaced by PAST: the first key after the whole subtree.
pub(crate) fn past(prefix: &[u8]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    if let Some(last) = k.last_mut() {
        *last = PAST;
    }
    k
}

/// Splits the name that `key` holds right after `prefix`, up to the next SEP.
pub(crate) fn name_after<'k>(key: &'k [u8], prefix: &[u8]) -> Option<&'k [u8]> {
    let rest = key.strip_prefix(prefix)?;
    let end = rest.iter().position(|&b| b == SEP)?;
    Some(&rest[..end])
}

/// Chunk count and byte total of a document, kept beside its chunks so `append` knows the
/// next sequence number and `pending` costs one read. Chunks are numbered 0..chunks because
/// they are only ever appended, and compaction removes them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Tally {
    pub chunks: u64,
    pub bytes: u64,
}

impl Tally {
    pub fn encode(self) -> [u8; 16] {
        let mut v = [0u8; 16];
        v[..8].copy_from_slice(&self.chunks.to_be_bytes());
        v[8..].copy_from_slice(&self.bytes.to_be_bytes());
        v
    }

    pub fn decode(v: &[u8]) -> Option<Tally> {
        let chunks = u64::from_be_bytes(v.get(..8)?.try_into().ok()?);
        let bytes = u64::from_be_bytes(v.get(8..16)?.try_into().ok()?);
        (v.len() == 16).then_some(Tally { chunks, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sorts_before_chunks_and_chunks_before_tally() {
        let s = snapshot("c", "d");
        let c0 = chunk("c", "d", 0);
        let c1 = chunk("c", "d", 1);
        let c256 = chunk("c", "d", 256);
        let t = tally("c", "d");
        assert!(
            s < c0 && c0 < c1 && c1 < c256 && c256 < t,
            "load reads keys in this order"
        );
    }

    #[test]
    fn a_doc_subtree_never_interleaves_with_a_longer_name() {
        // "a" and "a/b": every key of "a" must sort before every key of "a/b".
        let a_end = past(&doc_prefix("c", "a"));
        let ab = snapshot("c", "a/b");
        assert!(tally("c", "a") < a_end && a_end <= ab);
    }

    #[test]
    fn tally_roundtrips_and_rejects_bad_lengths() {
        let t = Tally {
            chunks: 3,
            bytes: 1 << 40,
        };
        assert_eq!(Tally::decode(&t.encode()), Some(t));
        assert_eq!(Tally::decode(&[0; 15]), None);
        assert_eq!(Tally::decode(&[0; 17]), None);
    }

    #[test]
    fn name_after_splits_at_separator() {
        let key = chunk("circle", "core", 7);
        assert_eq!(
            name_after(&key, &circle_prefix("circle")),
            Some(&b"core"[..])
        );
        assert_eq!(name_after(&key, &[]), Some(&b"circle"[..]));
    }
}
