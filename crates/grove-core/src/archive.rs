//! The whole-circle file of `grove circle export` / `import`: every document of a circle
//! in one file. The format is ours, so decoding is strict: any file that is not exactly
//! what `encode` writes is refused before anything is merged.
//!
//! Layout: `GROVE-CIRCLE\0`, version byte, document count (u32 BE), then per document its
//! key (u16 BE length + UTF-8) and its saved bytes (u64 BE length + bytes). Version 2 adds
//! after each document its change signatures: count (u32 BE), then per signature the change
//! hash (32 bytes) and the Ed25519 signature (64 bytes). Version 1 files (no signatures)
//! still decode; their changes fail authorisation unless the circle already holds them.

use automerge::{Automerge, ChangeHash};

use crate::circle::{shard_period, Circle, CORE_DOC};
use crate::error::{CoreError, Result};
use crate::sync::signing::{ChangeSignature, SignedChange, SIGNATURE_LEN};

const MAGIC: &[u8] = b"GROVE-CIRCLE\0";
const VERSION: u8 = 2;
const UNSIGNED_VERSION: u8 = 1;
/// One signature per change; no document has more changes than bytes.
const SIG_ENTRY: usize = 32 + SIGNATURE_LEN;
const MAX_KEY: usize = 128;
/// Far above any real circle (100,000 decisions save to ~25 MB), low enough to refuse a
/// length field that would make us allocate the machine away.
const MAX_DOC: u64 = 1 << 30;
const MAX_DOCS: u32 = 100_000;

/// One document of an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedDoc {
    pub key: String,
    pub bytes: Vec<u8>,
    pub signatures: Vec<(ChangeHash, ChangeSignature)>,
}

impl ArchivedDoc {
    /// The document's changes, each with its signature from the archive, for
    /// [`Circle::authorize_merge`].
    pub fn signed_changes(&self) -> Result<Vec<SignedChange>> {
        let doc = Automerge::load(&self.bytes)
            .map_err(|e| CoreError::Corrupt(format!("cannot load `{}`: {e}", self.key)))?;
        let sigs: std::collections::HashMap<ChangeHash, ChangeSignature> =
            self.signatures.iter().copied().collect();
        Ok(doc
            .get_changes(&[])
            .into_iter()
            .map(|change| {
                let signature = sigs.get(&change.hash()).copied();
                SignedChange { change, signature }
            })
            .collect())
    }
}

/// Every archived document's changes with their signatures, for
/// [`Circle::authorize_merge`].
pub fn signed_batch(docs: &[ArchivedDoc]) -> Result<Vec<(String, Vec<SignedChange>)>> {
    docs.iter()
        .map(|d| Ok((d.key.clone(), d.signed_changes()?)))
        .collect()
}

/// Archived documents written back as an archive (e.g. a subset of another archive).
pub fn encode_docs(docs: &[ArchivedDoc]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(docs.len() as u32).to_be_bytes());
    for d in docs {
        put_doc(&mut out, &d.key, &d.bytes, &d.signatures);
    }
    out
}

fn put_doc(out: &mut Vec<u8>, key: &str, bytes: &[u8], sigs: &[(ChangeHash, ChangeSignature)]) {
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(&(sigs.len() as u32).to_be_bytes());
    for (hash, sig) in sigs {
        out.extend_from_slice(&hash.0);
        out.extend_from_slice(sig);
    }
}

/// Every document of the circle in memory, saved whole, with every good change signature
/// held.
pub fn encode(circle: &Circle) -> Vec<u8> {
    let keys = circle.doc_keys();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&(keys.len() as u32).to_be_bytes());
    for key in keys {
        let bytes = circle.snapshot(&key).unwrap_or_default();
        // Only good ones: the reader checks every signature present (a covered change
        // may be held with a bad one it never checked; see `sync::signing`).
        let sigs = circle.checked_signatures(&key);
        put_doc(&mut out, &key, &bytes, &sigs);
    }
    out
}

/// The (document key, bytes) pairs of an archive; the core document comes first.
pub fn decode(data: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    Ok(decode_signed(data)?
        .into_iter()
        .map(|d| (d.key, d.bytes))
        .collect())
}

/// Every document of an archive with its signatures; the core document comes first.
pub fn decode_signed(data: &[u8]) -> Result<Vec<ArchivedDoc>> {
    let bad = |why: &str| CoreError::invalid(format!("not a Grove circle file: {why}"));
    let mut r = ArchiveCursor { data, pos: 0 };
    if r.take(MAGIC.len()).ok() != Some(MAGIC) {
        return Err(bad("it does not start with the Grove circle header"));
    }
    let version = r.take(1).map_err(|_| bad("truncated"))?[0];
    if version != VERSION && version != UNSIGNED_VERSION {
        return Err(CoreError::invalid(format!(
            "this circle file has format version {version}; this Grove reads versions \
             {UNSIGNED_VERSION} and {VERSION}"
        )));
    }
    let count = u32::from_be_bytes(r.array().map_err(|_| bad("truncated"))?);
    if count == 0 || count > MAX_DOCS {
        return Err(bad("implausible document count"));
    }
    let mut docs: Vec<ArchivedDoc> = Vec::new();
    for _ in 0..count {
        let klen = u16::from_be_bytes(r.array().map_err(|_| bad("truncated"))?) as usize;
        if klen == 0 || klen > MAX_KEY {
            return Err(bad("implausible document name"));
        }
        let key = std::str::from_utf8(r.take(klen).map_err(|_| bad("truncated"))?)
            .map_err(|_| bad("document name is not text"))?
            .to_string();
        if !crate::circle::is_replayed(&key) && shard_period(&key).is_none() {
            return Err(bad("unknown document name"));
        }
        if docs.iter().any(|d| d.key == key) {
            return Err(bad("a document appears twice"));
        }
        let dlen = u64::from_be_bytes(r.array().map_err(|_| bad("truncated"))?);
        if dlen > MAX_DOC || dlen as usize > r.remaining() {
            return Err(bad("truncated or oversized document"));
        }
        let bytes = r
            .take(dlen as usize)
            .map_err(|_| bad("truncated"))?
            .to_vec();
        let mut signatures = Vec::new();
        if version == VERSION {
            let count = u32::from_be_bytes(r.array().map_err(|_| bad("truncated"))?) as usize;
            if count.saturating_mul(SIG_ENTRY) > r.remaining() {
                return Err(bad("truncated signatures"));
            }
            signatures.reserve(count);
            for _ in 0..count {
                let hash = ChangeHash(r.array().map_err(|_| bad("truncated"))?);
                let sig: ChangeSignature = r.array().map_err(|_| bad("truncated"))?;
                signatures.push((hash, sig));
            }
        }
        docs.push(ArchivedDoc {
            key,
            bytes,
            signatures,
        });
    }
    if r.remaining() != 0 {
        return Err(bad("unexpected bytes after the last document"));
    }
    docs.sort_by_key(|d| d.key != CORE_DOC);
    if docs.first().map(|d| d.key.as_str()) != Some(CORE_DOC) {
        return Err(bad("it has no core document"));
    }
    Ok(docs)
}

/// Where decoding an archive has got to: each read is bounds-checked, so a truncated
/// archive is refused, never read past its end.
struct ArchiveCursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> ArchiveCursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], ()> {
        let end = self.pos.checked_add(n).ok_or(())?;
        let slice = self.data.get(self.pos..end).ok_or(())?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], ()> {
        self.take(N)?.try_into().map_err(|_| ())
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{add_team, add_value, Device};
    use proptest::prelude::*;

    #[test]
    fn roundtrip_keeps_every_document() {
        let mut d = Device::new_circle("ana");
        add_value(&mut d, "Care");
        add_team(&mut d, "Kitchen");
        let data = encode(&d.circle);
        let docs = decode(&data).unwrap();
        assert_eq!(docs[0].0, "core");
        let c = Circle::from_core_bytes(&docs[0].1, automerge::ActorId::random()).unwrap();
        assert_eq!(c.id(), d.circle.id());
        assert_eq!(c.values().unwrap(), d.circle.values().unwrap());
    }

    #[test]
    fn damaged_files_are_refused() {
        let d = Device::new_circle("ana");
        let data = encode(&d.circle);
        assert!(decode(b"hello").is_err());
        assert!(decode(&data[..data.len() - 1]).is_err(), "truncated");
        let mut extra = data.clone();
        extra.push(0);
        assert!(decode(&extra).is_err(), "trailing bytes");
        let mut v2 = data.clone();
        v2[MAGIC.len()] = 9;
        assert!(decode(&v2).unwrap_err().to_string().contains("version 9"));
        let mut unsigned = data.clone();
        unsigned[MAGIC.len()] = UNSIGNED_VERSION;
        assert!(decode(&unsigned).is_err(), "a v2 body does not parse as v1");
    }

    proptest! {
        #[test]
        fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&data);
            let mut framed = MAGIC.to_vec();
            framed.push(VERSION);
            framed.extend_from_slice(&data);
            let _ = decode(&framed);
        }
    }
}
