//! The `/grove/sync/1` wire format: pure encode/decode, no I/O, so it can be fuzzed.
//!
//! A stream carries a sequence of *chunks*. A [`Frame`] (one message) is sent as one or more
//! chunks written back to back; every chunk repeats the frame's ids so that each one can be
//! checked on its own, and the first chunk announces the total payload length so that an
//! oversized message is refused before any of its payload is buffered.
//!
//! ```text
//! u32 BE   body length            1 ..= MAX_CHUNK_LEN
//! body:
//!   u8     version                = VERSION
//!   u8     flags                  FLAG_FIRST | FLAG_LAST; other bits must be zero
//!   u8     circle length          1 ..= MAX_ID_LEN
//!   [u8]   circle id              UTF-8
//!   u8     kind length            1 ..= MAX_ID_LEN
//!   [u8]   message kind           UTF-8 (`hello`, `sync`, `join`, `join-reply`: grove_core::session)
//!   u64 BE total payload length   only in a FIRST chunk; <= MAX_PAYLOAD_LEN
//!   [u8]   payload piece          the rest of the body
//! ```
//!
//! The version sits in every chunk rather than once per stream so that a chunk decodes without
//! stream state and so that a later version can be told apart from garbage on any chunk.
//!
//! The message kind says what the payload is; it was once called the frame's *doc*, and
//! the bytes on the wire are the same under both names.

use std::fmt;

/// Version byte of every chunk this crate writes and the only one it accepts.
pub const VERSION: u8 = 1;
/// Set on the first chunk of a frame; such a chunk carries the total payload length.
pub const FLAG_FIRST: u8 = 0b01;
/// Set on the last chunk of a frame.
pub const FLAG_LAST: u8 = 0b10;
/// Longest circle id or message kind, in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Largest chunk body a peer may announce. Bounds the buffer one read allocates.
pub const MAX_CHUNK_LEN: usize = 4 * 1024 * 1024;
/// Largest payload of one reassembled frame. A 100k-decision Automerge document syncs as one
/// ~25 MB message (see docs/limits.md); this leaves room for ten times that.
pub const MAX_PAYLOAD_LEN: usize = 256 * 1024 * 1024;
/// Payload bytes this crate puts in one chunk. Well below [`MAX_CHUNK_LEN`] so that a reader
/// never holds more than about 1 MiB of a frame that is still in flight per read.
pub const CHUNK_PAYLOAD_LEN: usize = 1024 * 1024;
/// Length of the big-endian body-length prefix.
pub const PREFIX_LEN: usize = 4;
/// Largest chunk header: version, flags, circle id and message kind (each length-prefixed),
/// total length.
pub const MAX_HEADER_LEN: usize = 1 + 1 + 1 + MAX_ID_LEN + 1 + MAX_ID_LEN + 8;

/// One message between peers: an opaque payload of some kind, about a circle.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub circle: String,
    /// What the payload is (the session machine's `HELLO`, `SYNC`, `JOIN`, `JOIN_REPLY`).
    pub kind: String,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn new(circle: impl Into<String>, kind: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            circle: circle.into(),
            kind: kind.into(),
            payload,
        }
    }
}

// Payloads run to tens of megabytes; printing them would drown any log or failed assertion.
impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("circle", &self.circle)
            .field("kind", &self.kind)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// Which id of a frame a [`WireError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdField {
    Circle,
    Kind,
}

impl fmt::Display for IdField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdField::Circle => "circle id",
            IdField::Kind => "message kind",
        })
    }
}

/// Why bytes are not a valid `/grove/sync/1` chunk sequence, or a frame cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    #[error("chunk body of {len} bytes is outside 1..={max}")]
    ChunkLength { len: usize, max: usize },
    #[error("chunk ends before its header does")]
    Truncated,
    #[error("unsupported wire version {0}; this build speaks version {VERSION}")]
    UnsupportedVersion(u8),
    #[error("unknown flag bits {0:#04x}")]
    UnknownFlags(u8),
    #[error("{field} of {len} bytes is outside 1..={MAX_ID_LEN}")]
    IdLength { field: IdField, len: usize },
    #[error("{field} is not UTF-8")]
    IdNotUtf8 { field: IdField },
    #[error("payload of {len} bytes exceeds the limit of {max} bytes")]
    PayloadTooLarge { len: u64, max: usize },
    #[error("a new frame started before the previous one ended")]
    UnexpectedFirst,
    #[error("a continuation chunk arrived with no frame in progress")]
    MissingFirst,
    #[error("a continuation chunk names different ids than its frame's first chunk")]
    IdMismatch,
    #[error("chunks carry more payload than the {expected} bytes announced")]
    PayloadOverrun { expected: u64 },
    #[error("frame ended with {got} of the {expected} payload bytes announced")]
    PayloadUnderrun { expected: u64, got: u64 },
    #[error("a chunk that does not end its frame carries no payload")]
    EmptyContinuation,
    #[error("the input ends in the middle of a chunk")]
    TrailingBytes,
}

/// A decoded chunk, borrowing from the body it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// `Some(total payload length)` on the first chunk of a frame.
    pub first: Option<u64>,
    pub last: bool,
    pub circle: &'a str,
    pub kind: &'a str,
    pub payload: &'a [u8],
}

/// Checks that a frame can be encoded, so callers can refuse it before queueing any I/O.
pub fn check_frame(frame: &Frame) -> Result<(), WireError> {
    check_id(IdField::Circle, frame.circle.len())?;
    check_id(IdField::Kind, frame.kind.len())?;
    if frame.payload.len() > MAX_PAYLOAD_LEN {
        return Err(WireError::PayloadTooLarge {
            len: frame.payload.len() as u64,
            max: MAX_PAYLOAD_LEN,
        });
    }
    Ok(())
}

fn check_id(field: IdField, len: usize) -> Result<(), WireError> {
    if len == 0 || len > MAX_ID_LEN {
        return Err(WireError::IdLength { field, len });
    }
    Ok(())
}

/// Encodes a frame as length-prefixed chunks of at most [`CHUNK_PAYLOAD_LEN`] payload bytes.
pub fn encode(frame: &Frame) -> Result<Chunks<'_>, WireError> {
    encode_with_chunk_len(frame, CHUNK_PAYLOAD_LEN)
}

/// Like [`encode`] with a chosen payload size per chunk (clamped to what fits a chunk body).
/// Small sizes let tests exercise reassembly without megabytes of data.
pub fn encode_with_chunk_len(frame: &Frame, chunk_len: usize) -> Result<Chunks<'_>, WireError> {
    check_frame(frame)?;
    Ok(Chunks {
        frame,
        chunk_len: chunk_len.clamp(1, MAX_CHUNK_LEN - MAX_HEADER_LEN),
        offset: 0,
        done: false,
    })
}

/// Iterator over the encoded chunks of one frame, each including its length prefix.
pub struct Chunks<'a> {
    frame: &'a Frame,
    chunk_len: usize,
    offset: usize,
    done: bool,
}

impl Iterator for Chunks<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let payload = &self.frame.payload;
        let first = self.offset == 0;
        let end = payload
            .len()
            .min(self.offset.saturating_add(self.chunk_len));
        let piece = &payload[self.offset..end];
        let last = end == payload.len();

        let mut flags = 0;
        if first {
            flags |= FLAG_FIRST;
        }
        if last {
            flags |= FLAG_LAST;
        }
        let circle = self.frame.circle.as_bytes();
        let kind = self.frame.kind.as_bytes();
        let body_len = 3 + circle.len() + 1 + kind.len() + if first { 8 } else { 0 } + piece.len();

        let mut out = Vec::with_capacity(PREFIX_LEN + body_len);
        // body_len <= MAX_CHUNK_LEN (4 MiB) by the clamp in encode_with_chunk_len and the id
        // checks in check_frame, so it fits a u32.
        out.extend_from_slice(&(body_len as u32).to_be_bytes());
        out.push(VERSION);
        out.push(flags);
        out.push(circle.len() as u8);
        out.extend_from_slice(circle);
        out.push(kind.len() as u8);
        out.extend_from_slice(kind);
        if first {
            out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
        out.extend_from_slice(piece);

        self.offset = end;
        self.done = last;
        Some(out)
    }
}

/// Reads the length prefix of a chunk and checks it against [`MAX_CHUNK_LEN`].
pub fn body_len(prefix: [u8; PREFIX_LEN]) -> Result<usize, WireError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len == 0 || len > MAX_CHUNK_LEN {
        return Err(WireError::ChunkLength {
            len,
            max: MAX_CHUNK_LEN,
        });
    }
    Ok(len)
}

/// Decodes one chunk body (the bytes after the length prefix).
pub fn decode_chunk(body: &[u8]) -> Result<Chunk<'_>, WireError> {
    let mut rest = body;
    let version = take_u8(&mut rest)?;
    if version != VERSION {
        return Err(WireError::UnsupportedVersion(version));
    }
    let flags = take_u8(&mut rest)?;
    if flags & !(FLAG_FIRST | FLAG_LAST) != 0 {
        return Err(WireError::UnknownFlags(flags));
    }
    let circle = take_id(&mut rest, IdField::Circle)?;
    let kind = take_id(&mut rest, IdField::Kind)?;
    let first = if flags & FLAG_FIRST != 0 {
        let total = u64::from_be_bytes(take_array(&mut rest)?);
        if total > MAX_PAYLOAD_LEN as u64 {
            return Err(WireError::PayloadTooLarge {
                len: total,
                max: MAX_PAYLOAD_LEN,
            });
        }
        Some(total)
    } else {
        None
    };
    Ok(Chunk {
        first,
        last: flags & FLAG_LAST != 0,
        circle,
        kind,
        payload: rest,
    })
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], WireError> {
    let (head, tail) = rest.split_at_checked(n).ok_or(WireError::Truncated)?;
    *rest = tail;
    Ok(head)
}

fn take_u8(rest: &mut &[u8]) -> Result<u8, WireError> {
    Ok(take(rest, 1)?[0])
}

fn take_array<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], WireError> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(rest, N)?);
    Ok(out)
}

fn take_id<'a>(rest: &mut &'a [u8], field: IdField) -> Result<&'a str, WireError> {
    let len = take_u8(rest)? as usize;
    check_id(field, len)?;
    let bytes = take(rest, len)?;
    std::str::from_utf8(bytes).map_err(|_| WireError::IdNotUtf8 { field })
}

/// Joins the chunks of one stream back into frames, enforcing [`MAX_PAYLOAD_LEN`] and the
/// chunk ordering rules. One per stream: chunks of different frames never interleave on a
/// stream, since a writer sends a frame's chunks back to back.
#[derive(Debug, Default)]
pub struct Reassembler {
    partial: Option<Partial>,
}

#[derive(Debug)]
struct Partial {
    circle: String,
    kind: String,
    expected: u64,
    payload: Vec<u8>,
}

impl Reassembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no frame is half received, i.e. the stream may end cleanly here.
    pub fn is_idle(&self) -> bool {
        self.partial.is_none()
    }

    /// Adds a chunk; returns the frame it completes, if any. After an error the reassembler
    /// is in an unspecified state: the stream must be dropped.
    pub fn push(&mut self, chunk: Chunk<'_>) -> Result<Option<Frame>, WireError> {
        if !chunk.last && chunk.payload.is_empty() {
            // Without this a peer could hold a frame open forever with empty chunks.
            return Err(WireError::EmptyContinuation);
        }
        let mut partial = match (chunk.first, self.partial.take()) {
            (Some(_), Some(_)) => return Err(WireError::UnexpectedFirst),
            (None, None) => return Err(WireError::MissingFirst),
            (Some(expected), None) => Partial {
                circle: chunk.circle.to_owned(),
                kind: chunk.kind.to_owned(),
                expected,
                // Never trust the announced length for allocation beyond one chunk's worth.
                payload: Vec::with_capacity(
                    (expected as usize).min(chunk.payload.len().max(CHUNK_PAYLOAD_LEN)),
                ),
            },
            (None, Some(partial)) => {
                if partial.circle != chunk.circle || partial.kind != chunk.kind {
                    return Err(WireError::IdMismatch);
                }
                partial
            }
        };
        let got = partial.payload.len() as u64 + chunk.payload.len() as u64;
        if got > partial.expected {
            return Err(WireError::PayloadOverrun {
                expected: partial.expected,
            });
        }
        partial.payload.extend_from_slice(chunk.payload);
        if !chunk.last {
            self.partial = Some(partial);
            return Ok(None);
        }
        if got != partial.expected {
            return Err(WireError::PayloadUnderrun {
                expected: partial.expected,
                got,
            });
        }
        Ok(Some(Frame {
            circle: partial.circle,
            kind: partial.kind,
            payload: partial.payload,
        }))
    }
}

/// Decodes a whole byte string of chunks into frames. The same pure steps a live stream goes
/// through (prefix, body, reassembly), in one call: the entry point for fuzzing and tests.
pub fn decode_all(mut bytes: &[u8]) -> Result<Vec<Frame>, WireError> {
    let mut reassembler = Reassembler::new();
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let prefix = take_array::<PREFIX_LEN>(&mut bytes).map_err(|_| WireError::TrailingBytes)?;
        let len = body_len(prefix)?;
        let body = take(&mut bytes, len).map_err(|_| WireError::TrailingBytes)?;
        if let Some(frame) = reassembler.push(decode_chunk(body)?)? {
            frames.push(frame);
        }
    }
    if !reassembler.is_idle() {
        return Err(WireError::TrailingBytes);
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_all(frames: &[Frame], chunk_len: usize) -> Vec<u8> {
        frames
            .iter()
            .flat_map(|f| encode_with_chunk_len(f, chunk_len).unwrap())
            .flatten()
            .collect()
    }

    fn id() -> impl Strategy<Value = String> {
        // Multi-byte characters so byte lengths, not char counts, are what gets limited.
        "[a-zA-Z0-9_é€-]{1,32}".prop_filter("fits MAX_ID_LEN", |s| s.len() <= MAX_ID_LEN)
    }

    fn frame() -> impl Strategy<Value = Frame> {
        (id(), id(), proptest::collection::vec(any::<u8>(), 0..600))
            .prop_map(|(c, d, p)| Frame::new(c, d, p))
    }

    proptest! {
        #[test]
        fn roundtrip(frames in proptest::collection::vec(frame(), 0..6), chunk_len in 1usize..300) {
            let bytes = encode_all(&frames, chunk_len);
            prop_assert_eq!(decode_all(&bytes).unwrap(), frames);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = decode_all(&bytes);
        }

        #[test]
        fn garbage_after_a_valid_prefix_never_panics(
            frames in proptest::collection::vec(frame(), 1..3),
            chunk_len in 1usize..100,
            garbage in proptest::collection::vec(any::<u8>(), 1..512),
        ) {
            let mut bytes = encode_all(&frames, chunk_len);
            bytes.extend_from_slice(&garbage);
            let _ = decode_all(&bytes);
        }

        #[test]
        fn flipping_a_byte_never_panics(f in frame(), chunk_len in 1usize..100, pos in any::<usize>(), bit in 0u8..8) {
            let mut bytes = encode_all(std::slice::from_ref(&f), chunk_len);
            let i = pos % bytes.len();
            bytes[i] ^= 1 << bit;
            let _ = decode_all(&bytes);
        }

        #[test]
        fn a_truncated_stream_is_an_error(f in frame(), chunk_len in 1usize..100, cut in any::<usize>()) {
            let bytes = encode_all(std::slice::from_ref(&f), chunk_len);
            let cut = 1 + cut % (bytes.len() - 1);
            prop_assert!(decode_all(&bytes[..cut]).is_err(), "a stream cut inside a frame must not decode");
        }
    }

    #[test]
    fn a_large_payload_is_split_into_bounded_chunks() {
        let f = Frame::new("c", "d", vec![7; 3 * CHUNK_PAYLOAD_LEN + 5]);
        let chunks: Vec<Vec<u8>> = encode(&f).unwrap().collect();
        assert_eq!(chunks.len(), 4, "3 full chunks and a 5-byte tail");
        for c in &chunks {
            let len = body_len(c[..4].try_into().unwrap()).unwrap();
            assert_eq!(
                len + PREFIX_LEN,
                c.len(),
                "prefix must count the body exactly"
            );
        }
        assert_eq!(decode_all(&chunks.concat()).unwrap(), vec![f]);
    }

    #[test]
    fn an_empty_payload_is_one_chunk() {
        let f = Frame::new("c", "d", Vec::new());
        assert_eq!(encode(&f).unwrap().count(), 1);
        assert_eq!(
            decode_all(&encode(&f).unwrap().collect::<Vec<_>>().concat()).unwrap(),
            vec![f]
        );
    }

    /// The layout in the module docs, byte for byte: peers of every version read it.
    #[test]
    fn a_frame_is_written_exactly_as_documented() {
        let f = Frame::new("c1", "hello", vec![7, 8]);
        let bytes: Vec<u8> = encode(&f).unwrap().collect::<Vec<_>>().concat();
        let mut want = vec![0, 0, 0, 21, VERSION, FLAG_FIRST | FLAG_LAST, 2];
        want.extend_from_slice(b"c1");
        want.push(5);
        want.extend_from_slice(b"hello");
        want.extend_from_slice(&2u64.to_be_bytes());
        want.extend_from_slice(&[7, 8]);
        assert_eq!(bytes, want);
    }

    #[test]
    fn oversized_chunk_prefix_is_refused_before_reading_the_body() {
        let prefix = ((MAX_CHUNK_LEN + 1) as u32).to_be_bytes();
        assert!(matches!(
            body_len(prefix),
            Err(WireError::ChunkLength { .. })
        ));
        assert!(matches!(
            body_len([0; 4]),
            Err(WireError::ChunkLength { len: 0, .. })
        ));
    }

    #[test]
    fn an_announced_payload_over_the_limit_is_refused_on_the_first_chunk() {
        let mut body = vec![VERSION, FLAG_FIRST, 1, b'c', 1, b'd'];
        body.extend_from_slice(&(MAX_PAYLOAD_LEN as u64 + 1).to_be_bytes());
        assert!(matches!(
            decode_chunk(&body),
            Err(WireError::PayloadTooLarge { .. })
        ));
    }

    #[test]
    fn chunks_beyond_the_announced_length_are_refused() {
        let mut r = Reassembler::new();
        let first = Chunk {
            first: Some(2),
            last: false,
            circle: "c",
            kind: "d",
            payload: b"ab",
        };
        assert_eq!(r.push(first).unwrap(), None);
        let more = Chunk {
            first: None,
            last: true,
            circle: "c",
            kind: "d",
            payload: b"c",
        };
        assert_eq!(r.push(more), Err(WireError::PayloadOverrun { expected: 2 }));
    }

    #[test]
    fn a_continuation_for_another_doc_is_refused() {
        let mut r = Reassembler::new();
        let first = Chunk {
            first: Some(4),
            last: false,
            circle: "c",
            kind: "d",
            payload: b"ab",
        };
        r.push(first).unwrap();
        let other = Chunk {
            first: None,
            last: true,
            circle: "c",
            kind: "other",
            payload: b"cd",
        };
        assert_eq!(r.push(other), Err(WireError::IdMismatch));
    }

    #[test]
    fn other_versions_and_flags_are_refused() {
        assert_eq!(
            decode_chunk(&[2, FLAG_FIRST | FLAG_LAST]),
            Err(WireError::UnsupportedVersion(2))
        );
        assert_eq!(
            decode_chunk(&[VERSION, 0x80]),
            Err(WireError::UnknownFlags(0x80))
        );
    }

    #[test]
    fn ids_outside_the_limits_cannot_be_encoded() {
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert!(matches!(
            encode(&Frame::new(long, "d", vec![])),
            Err(WireError::IdLength {
                field: IdField::Circle,
                ..
            })
        ));
        assert!(matches!(
            encode(&Frame::new("c", "", vec![])),
            Err(WireError::IdLength {
                field: IdField::Kind,
                len: 0
            })
        ));
    }
}
