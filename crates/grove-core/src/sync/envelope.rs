//! The engine's wire envelope: what one frame between two peers in one circle carries.

use automerge::sync::Message;
use automerge::ChangeHash;

use super::signing::{ChangeSignature, SIGNATURE_LEN};

/// The only envelope version this build reads and writes (2: sync frames carry change
/// signatures).
pub const ENVELOPE_VERSION: u8 = 2;
/// Longest document key, in bytes.
pub const MAX_DOC_KEY_LEN: usize = 128;
/// Most documents one announce may list: far above any real circle, low enough that a
/// hostile announce cannot make us create documents without bound.
pub const MAX_ANNOUNCED_DOCS: usize = 4096;
/// Most heads one announced document may have. Concurrent heads collapse as soon as anyone
/// edits, so even a large group after a long partition stays far below this.
pub const MAX_ANNOUNCED_HEADS: usize = 1024;

const KIND_ANNOUNCE: u8 = 1;
const KIND_SYNC: u8 = 2;
const FLAG_RESTARTED: u8 = 1;
const HASH_LEN: usize = 32;

/// One frame of the sync protocol, for one circle (the circle travels beside the frame).
///
/// Layout (all integers big-endian, every length checked, nothing may follow an announce):
///
/// ```text
/// version: u8 = 2
/// kind:    u8   1 = Announce, 2 = Sync
/// Announce: flags: u8 (bit 0: restarted; the other bits must be 0),
///           count: u16, then `count` times, keys strictly ascending:
///             key_len: u8, key: key_len bytes, head_count: u16, heads: head_count × 32 bytes
///             (heads strictly ascending)
/// Sync:     key_len: u8, key: key_len bytes,
///           sig_count: u32, then `sig_count` times (change hashes strictly ascending):
///             change hash: 32 bytes, Ed25519 signature: 64 bytes
///           then an automerge sync message to the end
/// ```
///
/// Fixed-width integers and the strict ordering give every announce exactly one encoding,
/// which keeps the decoder small and easy to check against garbage.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    /// "These are all my documents in this circle, with their heads." Sent on connect.
    /// With `restarted` (sent on resync) it adds: "I restarted my sync sessions with you in
    /// this circle; restart yours and answer with your own announce."
    Announce {
        docs: Vec<AnnouncedDoc>,
        restarted: bool,
    },
    /// One automerge sync message for one document of the circle, with the signatures the
    /// sender holds for the changes it carries (see [`super::signing`]), sorted by change
    /// hash. A change that a later change of its author in the same message covers goes
    /// with its signature as held (unchecked, never checked by the receiver either); any
    /// other goes with one the sender checked, or none.
    Sync {
        doc: String,
        message: Message,
        signatures: Vec<(ChangeHash, ChangeSignature)>,
    },
}

/// One document listed in an [`Envelope::Announce`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncedDoc {
    pub key: String,
    /// The sender's heads, sorted ascending (as `Automerge::get_heads` returns them).
    pub heads: Vec<ChangeHash>,
}

/// Why a frame could not be decoded or encoded. Any decode error means the peer does not
/// speak this protocol (or is hostile): drop the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    #[error("empty sync frame")]
    Empty,
    #[error(
        "sync envelope version {found} is not supported (this build speaks version {ENVELOPE_VERSION}); \
         the peer runs an incompatible Grove: upgrade the older one"
    )]
    UnsupportedVersion { found: u8 },
    #[error("unknown sync envelope kind {found}")]
    UnknownKind { found: u8 },
    #[error("unknown announce flags {found:#04x}")]
    UnknownFlags { found: u8 },
    #[error("sync envelope ends early while reading {what}")]
    Truncated { what: &'static str },
    #[error("{count} unexpected bytes after the end of the sync envelope")]
    TrailingBytes { count: usize },
    #[error(
        "invalid document key {key:?}: a key is 1 to {MAX_DOC_KEY_LEN} bytes of ASCII letters, \
         digits, '-', '_', '.' and '/'"
    )]
    InvalidDocKey { key: String },
    #[error("announce lists {count} documents, more than the limit of {MAX_ANNOUNCED_DOCS}")]
    TooManyDocs { count: usize },
    #[error(
        "announce lists document {key:?} out of order or twice; keys must be strictly ascending"
    )]
    DocsNotAscending { key: String },
    #[error(
        "announce lists {count} heads for document {key:?}, more than the limit of {MAX_ANNOUNCED_HEADS}"
    )]
    TooManyHeads { key: String, count: usize },
    #[error("announce lists the heads of document {key:?} out of order or twice")]
    HeadsNotAscending { key: String },
    #[error("malformed automerge sync message: {reason}")]
    SyncMessage { reason: String },
    #[error("sync frame lists {count} signatures, more than its bytes can hold")]
    TooManySignatures { count: usize },
    #[error("sync frame lists change signatures out of order or twice")]
    SignaturesNotAscending,
}

/// Whether `key` may name a document on the wire. Callers must keep their document keys
/// valid: the engine skips (and logs) any local document whose key is not.
pub fn is_valid_doc_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_DOC_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
}

impl Envelope {
    /// Encodes the frame. Fails only on limits a local caller broke (an invalid key, too
    /// many documents or heads), never on anything a peer sent.
    pub fn encode(self) -> Result<Vec<u8>, EnvelopeError> {
        let mut out = vec![ENVELOPE_VERSION];
        match self {
            Envelope::Announce { docs, restarted } => {
                out.push(KIND_ANNOUNCE);
                out.push(if restarted { FLAG_RESTARTED } else { 0 });
                let count = u16::try_from(docs.len())
                    .ok()
                    .filter(|&c| usize::from(c) <= MAX_ANNOUNCED_DOCS)
                    .ok_or(EnvelopeError::TooManyDocs { count: docs.len() })?;
                out.extend_from_slice(&count.to_be_bytes());
                let mut previous: Option<&str> = None;
                for doc in &docs {
                    if previous.is_some_and(|p| p >= doc.key.as_str()) {
                        return Err(EnvelopeError::DocsNotAscending {
                            key: doc.key.clone(),
                        });
                    }
                    previous = Some(&doc.key);
                    put_key(&mut out, &doc.key)?;
                    let heads = u16::try_from(doc.heads.len())
                        .ok()
                        .filter(|&c| usize::from(c) <= MAX_ANNOUNCED_HEADS)
                        .ok_or_else(|| EnvelopeError::TooManyHeads {
                            key: doc.key.clone(),
                            count: doc.heads.len(),
                        })?;
                    if doc.heads.windows(2).any(|w| w[0] >= w[1]) {
                        return Err(EnvelopeError::HeadsNotAscending {
                            key: doc.key.clone(),
                        });
                    }
                    out.extend_from_slice(&heads.to_be_bytes());
                    for head in &doc.heads {
                        out.extend_from_slice(&head.0);
                    }
                }
            }
            Envelope::Sync {
                doc,
                message,
                signatures,
            } => {
                out.push(KIND_SYNC);
                put_key(&mut out, &doc)?;
                if signatures.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(EnvelopeError::SignaturesNotAscending);
                }
                let count = u32::try_from(signatures.len()).map_err(|_| {
                    EnvelopeError::TooManySignatures {
                        count: signatures.len(),
                    }
                })?;
                out.extend_from_slice(&count.to_be_bytes());
                for (hash, sig) in &signatures {
                    out.extend_from_slice(&hash.0);
                    out.extend_from_slice(sig);
                }
                out.extend_from_slice(&message.encode());
            }
        }
        Ok(out)
    }

    /// Decodes one frame strictly: anything but exactly one well-formed envelope is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let mut r = Reader { rest: bytes };
        let version = r.u8("version").map_err(|_| EnvelopeError::Empty)?;
        if version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion { found: version });
        }
        match r.u8("kind")? {
            KIND_ANNOUNCE => {
                let flags = r.u8("flags")?;
                if flags & !FLAG_RESTARTED != 0 {
                    return Err(EnvelopeError::UnknownFlags { found: flags });
                }
                let count = usize::from(r.u16("document count")?);
                if count > MAX_ANNOUNCED_DOCS {
                    return Err(EnvelopeError::TooManyDocs { count });
                }
                let mut docs: Vec<AnnouncedDoc> = Vec::with_capacity(count);
                for _ in 0..count {
                    let key = r.key()?;
                    if docs.last().is_some_and(|prev| prev.key >= key) {
                        return Err(EnvelopeError::DocsNotAscending { key });
                    }
                    let head_count = usize::from(r.u16("head count")?);
                    if head_count > MAX_ANNOUNCED_HEADS {
                        return Err(EnvelopeError::TooManyHeads {
                            key,
                            count: head_count,
                        });
                    }
                    let mut heads: Vec<ChangeHash> = Vec::with_capacity(head_count);
                    for _ in 0..head_count {
                        let raw: [u8; HASH_LEN] = r
                            .take(HASH_LEN, "head")?
                            .try_into()
                            .map_err(|_| EnvelopeError::Truncated { what: "head" })?;
                        let head = ChangeHash(raw);
                        if heads.last().is_some_and(|prev| *prev >= head) {
                            return Err(EnvelopeError::HeadsNotAscending { key });
                        }
                        heads.push(head);
                    }
                    docs.push(AnnouncedDoc { key, heads });
                }
                r.finish()?;
                Ok(Envelope::Announce {
                    docs,
                    restarted: flags & FLAG_RESTARTED != 0,
                })
            }
            KIND_SYNC => {
                let doc = r.key()?;
                let count = r.u32("signature count")? as usize;
                if count.saturating_mul(HASH_LEN + SIGNATURE_LEN) > r.rest.len() {
                    return Err(EnvelopeError::TooManySignatures { count });
                }
                let mut signatures: Vec<(ChangeHash, ChangeSignature)> = Vec::with_capacity(count);
                for _ in 0..count {
                    let hash = ChangeHash(r.array("change hash")?);
                    if signatures.last().is_some_and(|(prev, _)| *prev >= hash) {
                        return Err(EnvelopeError::SignaturesNotAscending);
                    }
                    signatures.push((hash, r.array("signature")?));
                }
                if r.rest.is_empty() {
                    return Err(EnvelopeError::Truncated {
                        what: "sync message",
                    });
                }
                let message = Message::decode(r.rest).map_err(|e| EnvelopeError::SyncMessage {
                    reason: e.to_string(),
                })?;
                Ok(Envelope::Sync {
                    doc,
                    message,
                    signatures,
                })
            }
            found => Err(EnvelopeError::UnknownKind { found }),
        }
    }
}

fn put_key(out: &mut Vec<u8>, key: &str) -> Result<(), EnvelopeError> {
    if !is_valid_doc_key(key) {
        return Err(EnvelopeError::InvalidDocKey {
            key: key.to_owned(),
        });
    }
    // is_valid_doc_key bounds the length to MAX_DOC_KEY_LEN, which fits a u8.
    let len = u8::try_from(key.len()).map_err(|_| EnvelopeError::InvalidDocKey {
        key: key.to_owned(),
    })?;
    out.push(len);
    out.extend_from_slice(key.as_bytes());
    Ok(())
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], EnvelopeError> {
        if self.rest.len() < n {
            return Err(EnvelopeError::Truncated { what });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, EnvelopeError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, EnvelopeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, EnvelopeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], EnvelopeError> {
        self.take(N, what)?
            .try_into()
            .map_err(|_| EnvelopeError::Truncated { what })
    }

    fn key(&mut self) -> Result<String, EnvelopeError> {
        let len = usize::from(self.u8("document key length")?);
        let raw = self.take(len, "document key")?;
        match std::str::from_utf8(raw) {
            Ok(key) if is_valid_doc_key(key) => Ok(key.to_owned()),
            _ => Err(EnvelopeError::InvalidDocKey {
                key: String::from_utf8_lossy(raw).into_owned(),
            }),
        }
    }

    fn finish(self) -> Result<(), EnvelopeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(EnvelopeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::{State, SyncDoc};
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ROOT};

    fn some_message() -> Message {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "k", "v").unwrap();
        tx.commit();
        doc.generate_sync_message(&mut State::new()).unwrap()
    }

    fn hash(b: u8) -> ChangeHash {
        ChangeHash([b; 32])
    }

    fn announce() -> Envelope {
        Envelope::Announce {
            docs: vec![
                AnnouncedDoc {
                    key: "core".into(),
                    heads: vec![hash(1), hash(2)],
                },
                AnnouncedDoc {
                    key: "decisions/2026-11".into(),
                    heads: vec![],
                },
            ],
            restarted: true,
        }
    }

    #[test]
    fn round_trips() {
        for env in [
            announce(),
            Envelope::Announce {
                docs: vec![],
                restarted: false,
            },
            Envelope::Sync {
                doc: "decisions/2026-11".into(),
                message: some_message(),
                signatures: vec![],
            },
            Envelope::Sync {
                doc: "core".into(),
                message: some_message(),
                signatures: vec![(hash(1), [7; 64]), (hash(2), [8; 64])],
            },
        ] {
            let bytes = env.clone().encode().unwrap();
            assert_eq!(
                Envelope::decode(&bytes).unwrap(),
                env,
                "decode must invert encode"
            );
        }
    }

    #[test]
    fn rejects_empty_and_unknown_version_and_kind() {
        assert_eq!(Envelope::decode(&[]), Err(EnvelopeError::Empty));
        assert_eq!(
            Envelope::decode(&[1, KIND_SYNC]),
            Err(EnvelopeError::UnsupportedVersion { found: 1 })
        );
        assert_eq!(
            Envelope::decode(&[ENVELOPE_VERSION]),
            Err(EnvelopeError::Truncated { what: "kind" })
        );
        assert_eq!(
            Envelope::decode(&[ENVELOPE_VERSION, 9]),
            Err(EnvelopeError::UnknownKind { found: 9 })
        );
    }

    #[test]
    fn rejects_every_truncation_of_an_announce() {
        let bytes = announce().encode().unwrap();
        for len in 0..bytes.len() {
            assert!(
                Envelope::decode(&bytes[..len]).is_err(),
                "a prefix of {len} bytes is not a whole announce"
            );
        }
    }

    #[test]
    fn rejects_unknown_announce_flags() {
        assert_eq!(
            Envelope::decode(&[ENVELOPE_VERSION, KIND_ANNOUNCE, 0x02, 0, 0]),
            Err(EnvelopeError::UnknownFlags { found: 0x02 })
        );
    }

    #[test]
    fn rejects_trailing_bytes_after_announce() {
        let mut bytes = announce().encode().unwrap();
        bytes.push(0);
        assert_eq!(
            Envelope::decode(&bytes),
            Err(EnvelopeError::TrailingBytes { count: 1 })
        );
    }

    #[test]
    fn rejects_bad_keys() {
        for key in [&b""[..], b"has space", b"\xff\xfe", &[b'a'; 129][..]] {
            let mut bytes = vec![ENVELOPE_VERSION, KIND_SYNC, key.len() as u8];
            bytes.extend_from_slice(key);
            bytes.extend([0, 0, 0, 0]);
            bytes.extend(some_message().encode());
            assert!(
                matches!(
                    Envelope::decode(&bytes),
                    Err(EnvelopeError::InvalidDocKey { .. })
                ),
                "key {key:?} must be refused"
            );
        }
    }

    #[test]
    fn rejects_unsorted_or_duplicate_docs_and_heads() {
        let dup_docs = [
            ENVELOPE_VERSION,
            KIND_ANNOUNCE,
            0,
            0,
            2,
            1,
            b'a',
            0,
            0,
            1,
            b'a',
            0,
            0,
        ];
        assert_eq!(
            Envelope::decode(&dup_docs),
            Err(EnvelopeError::DocsNotAscending { key: "a".into() })
        );
        let mut dup_heads = vec![ENVELOPE_VERSION, KIND_ANNOUNCE, 0, 0, 1, 1, b'a', 0, 2];
        dup_heads.extend_from_slice(&[7; 64]);
        assert_eq!(
            Envelope::decode(&dup_heads),
            Err(EnvelopeError::HeadsNotAscending { key: "a".into() })
        );
    }

    #[test]
    fn rejects_counts_over_limits_before_reading_them() {
        let too_many_docs = [ENVELOPE_VERSION, KIND_ANNOUNCE, 0, 0xff, 0xff];
        assert_eq!(
            Envelope::decode(&too_many_docs),
            Err(EnvelopeError::TooManyDocs { count: 0xffff })
        );
        let too_many_heads = [
            ENVELOPE_VERSION,
            KIND_ANNOUNCE,
            0,
            0,
            1,
            1,
            b'a',
            0xff,
            0xff,
        ];
        assert_eq!(
            Envelope::decode(&too_many_heads),
            Err(EnvelopeError::TooManyHeads {
                key: "a".into(),
                count: 0xffff
            })
        );
    }

    #[test]
    fn rejects_missing_or_garbage_sync_message() {
        assert_eq!(
            Envelope::decode(&[ENVELOPE_VERSION, KIND_SYNC, 1, b'a', 0, 0, 0, 0]),
            Err(EnvelopeError::Truncated {
                what: "sync message"
            })
        );
        assert!(matches!(
            Envelope::decode(&[ENVELOPE_VERSION, KIND_SYNC, 1, b'a', 0, 0, 0, 0, 0x42, 0xff]),
            Err(EnvelopeError::SyncMessage { .. })
        ));
    }

    #[test]
    fn rejects_bad_signature_lists() {
        let mut huge = vec![ENVELOPE_VERSION, KIND_SYNC, 1, b'a', 0xff, 0xff, 0xff, 0xff];
        huge.extend(some_message().encode());
        assert_eq!(
            Envelope::decode(&huge),
            Err(EnvelopeError::TooManySignatures { count: 0xffff_ffff })
        );
        let unsorted = Envelope::Sync {
            doc: "core".into(),
            message: some_message(),
            signatures: vec![(hash(2), [0; 64]), (hash(1), [0; 64])],
        };
        assert_eq!(
            unsorted.encode(),
            Err(EnvelopeError::SignaturesNotAscending)
        );
        let mut dup = vec![ENVELOPE_VERSION, KIND_SYNC, 1, b'a', 0, 0, 0, 2];
        for _ in 0..2 {
            dup.extend([5; 32]);
            dup.extend([0; 64]);
        }
        dup.extend(some_message().encode());
        assert_eq!(
            Envelope::decode(&dup),
            Err(EnvelopeError::SignaturesNotAscending)
        );
        let good = Envelope::Sync {
            doc: "core".into(),
            message: some_message(),
            signatures: vec![(hash(1), [7; 64])],
        }
        .encode()
        .unwrap();
        for len in 0..good.len() - some_message().encode().len() {
            assert!(Envelope::decode(&good[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn encode_refuses_what_decode_would_refuse() {
        let bad_key = Envelope::Sync {
            doc: "no spaces".into(),
            message: some_message(),
            signatures: vec![],
        };
        assert!(matches!(
            bad_key.encode(),
            Err(EnvelopeError::InvalidDocKey { .. })
        ));
        let unsorted = Envelope::Announce {
            docs: vec![
                AnnouncedDoc {
                    key: "b".into(),
                    heads: vec![],
                },
                AnnouncedDoc {
                    key: "a".into(),
                    heads: vec![],
                },
            ],
            restarted: false,
        };
        assert!(matches!(
            unsorted.encode(),
            Err(EnvelopeError::DocsNotAscending { .. })
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = Envelope::decode(&bytes);
        }

        #[test]
        fn decode_never_panics_on_versioned_garbage(kind in 0u8..4, bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let mut frame = vec![ENVELOPE_VERSION, kind];
            frame.extend(bytes);
            let _ = Envelope::decode(&frame);
        }
    }
}
