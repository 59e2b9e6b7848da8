//! Invite codes: what a member hands someone (as text or a QR code) so they can join.
//!
//! A code is `grove1` followed by Crockford base32 (lower case, no i, l, o, u) of:
//! `version: u8 = 1`, circle id (u8 length + ASCII), inviter peer id (u8 length + bytes),
//! inviter addresses (u8 count ≤ [`MAX_CODE_ADDRS`], each u8 length + multiaddr bytes),
//! invite id (u8 length + ASCII), the 32-byte one-time secret, and a checksum: the first
//! [`CHECKSUM_LEN`] bytes of SHA-256 over `grove1` and everything before it. The checksum
//! catches a mistyped code before any network traffic; it is not a signature (the secret
//! and the inviter's authenticated peer id are what the join relies on).
//!
//! Decoding forgives what people do to text (case, spaces, hyphens, line breaks, and the
//! Crockford look-alikes i/l for 1 and o for 0) and nothing else.

use std::fmt;
use std::sync::LazyLock;

use data_encoding::{DecodeKind, Encoding, Specification};
use sha2::{Digest as _, Sha256};

/// What every code starts with; the `1` separates it from the data, as in bech32.
pub const CODE_PREFIX: &str = "grove1";
pub const INVITE_SECRET_LEN: usize = 32;
/// Addresses a code carries at most: enough for a LAN, a public and a relayed address.
pub const MAX_CODE_ADDRS: usize = 4;
const VERSION: u8 = 1;
const CHECKSUM_LEN: usize = 4;
const MAX_ID_LEN: usize = 64;
/// A multiaddr with an IPv6 address, a port and a relay hop fits easily.
const MAX_ADDR_LEN: usize = 128;
/// An identity-hashed Ed25519 peer id is 38 bytes; leave room for other key types.
const MAX_PEER_LEN: usize = 64;

/// Lower-case Crockford base32; upper case and look-alikes are translated when decoding.
static BASE32: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str("0123456789abcdefghjkmnpqrstvwxyz");
    spec.translate.from.push_str("ABCDEFGHJKMNPQRSTVWXYZIiLlOo");
    spec.translate.to.push_str("abcdefghjkmnpqrstvwxyz111100");
    spec.encoding()
        .unwrap_or_else(|e| unreachable!("the Crockford specification is valid: {e}"))
});

/// A decoded invite code. The secret is wiped when the value is dropped and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteCode {
    pub circle: String,
    /// The inviter device's peer id, as bytes (a multihash; the node parses it).
    pub inviter: Vec<u8>,
    /// Where to dial the inviter: multiaddr bytes.
    pub addrs: Vec<Vec<u8>>,
    pub invite: String,
    pub secret: [u8; INVITE_SECRET_LEN],
}

impl Drop for InviteCode {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

impl fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InviteCode")
            .field("circle", &self.circle)
            .field("invite", &self.invite)
            .field("addrs", &self.addrs.len())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Why a text is not a usable invite code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    #[error("this is not a Grove invite code: a code starts with `{CODE_PREFIX}`")]
    NotACode,
    #[error("this invite code is mistyped: {0}; copy the code again, or ask for a new one")]
    Mistyped(String),
    #[error("this invite code is incomplete: it ends early; copy the whole code again")]
    Truncated,
    #[error("this invite code was made by a newer Grove (code version {0}; this Grove reads version {VERSION}); update Grove, then join")]
    Version(u8),
    #[error("this invite code checks out but is malformed ({0}); ask the inviter for a new code")]
    Malformed(&'static str),
}

impl InviteCode {
    /// The code as text: `grove1…`, one word, so a double-click selects all of it.
    /// Fails only if a field is too long to encode (ids, peer id, addresses).
    pub fn encode(&self) -> Result<String, CodeError> {
        let mut body = vec![VERSION];
        put(&mut body, self.circle.as_bytes(), MAX_ID_LEN)?;
        put(&mut body, &self.inviter, MAX_PEER_LEN)?;
        if self.addrs.len() > MAX_CODE_ADDRS {
            return Err(CodeError::Malformed("too many addresses"));
        }
        body.push(self.addrs.len() as u8);
        for addr in &self.addrs {
            put(&mut body, addr, MAX_ADDR_LEN)?;
        }
        put(&mut body, self.invite.as_bytes(), MAX_ID_LEN)?;
        body.extend_from_slice(&self.secret);
        let sum = checksum(&body);
        body.extend_from_slice(&sum);
        let text = format!("{CODE_PREFIX}{}", BASE32.encode(&body));
        zeroize::Zeroize::zeroize(&mut body);
        Ok(text)
    }

    /// Reads a code as people paste or type it.
    pub fn decode(text: &str) -> Result<InviteCode, CodeError> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let body = match compact.get(..CODE_PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(CODE_PREFIX) => &compact[CODE_PREFIX.len()..],
            _ => return Err(CodeError::NotACode),
        };
        let mut bytes = match BASE32.decode(body.as_bytes()) {
            Ok(bytes) => bytes,
            Err(e) if e.kind == DecodeKind::Symbol => {
                let bad = body.get(e.position..).and_then(|s| s.chars().next());
                return Err(CodeError::Mistyped(format!(
                    "`{}` cannot appear in a code",
                    bad.unwrap_or('?')
                )));
            }
            Err(_) => return Err(cut_short_or_mistyped(body)),
        };
        let result = parse_checked(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        result
    }
}

/// A body whose length no code can have: a code cut short if what is there runs out before
/// the secret, else a character lost or added somewhere.
fn cut_short_or_mistyped(body: &str) -> CodeError {
    let decodable = (1..8)
        .filter_map(|drop| body.len().checked_sub(drop))
        .find_map(|len| BASE32.decode(body.get(..len)?.as_bytes()).ok());
    match decodable.map(|bytes| parse(&bytes)) {
        Some(Err(CodeError::Truncated)) => CodeError::Truncated,
        _ => CodeError::Mistyped("a character is missing, extra or wrong".into()),
    }
}

fn parse_checked(bytes: &[u8]) -> Result<InviteCode, CodeError> {
    let Some(split) = bytes.len().checked_sub(CHECKSUM_LEN) else {
        return Err(CodeError::Truncated);
    };
    let (body, sum) = bytes.split_at(split);
    if checksum(body) != sum {
        // A code cut short mostly fails here too; say so when its structure runs out.
        return Err(match parse(bytes) {
            Err(CodeError::Truncated) => CodeError::Truncated,
            _ => CodeError::Mistyped("a character is missing, extra or wrong".into()),
        });
    }
    match body.first() {
        Some(&VERSION) => parse(body),
        Some(&v) => Err(CodeError::Version(v)),
        None => Err(CodeError::Truncated),
    }
}

/// The fields of a version-1 body (without checksum); the body must end with the secret.
fn parse(body: &[u8]) -> Result<InviteCode, CodeError> {
    let mut r = CodeCursor(body);
    r.take(1)?;
    let circle = id_field(r.field(MAX_ID_LEN)?)?;
    let inviter = r.field(MAX_PEER_LEN)?.to_vec();
    if inviter.is_empty() {
        return Err(CodeError::Malformed("no inviter"));
    }
    let count = usize::from(r.take(1)?[0]);
    if count > MAX_CODE_ADDRS {
        return Err(CodeError::Malformed("too many addresses"));
    }
    let mut addrs = Vec::with_capacity(count);
    for _ in 0..count {
        addrs.push(r.field(MAX_ADDR_LEN)?.to_vec());
    }
    let invite = id_field(r.field(MAX_ID_LEN)?)?;
    let secret: [u8; INVITE_SECRET_LEN] = r
        .take(INVITE_SECRET_LEN)?
        .try_into()
        .map_err(|_| CodeError::Truncated)?;
    if !r.0.is_empty() {
        return Err(CodeError::Malformed("unexpected bytes after the secret"));
    }
    Ok(InviteCode {
        circle,
        inviter,
        addrs,
        invite,
        secret,
    })
}

fn id_field(bytes: &[u8]) -> Result<String, CodeError> {
    let ok = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(CodeError::Malformed("an id is empty or not plain text"));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

fn put(out: &mut Vec<u8>, field: &[u8], max: usize) -> Result<(), CodeError> {
    if field.len() > max {
        return Err(CodeError::Malformed("a field is too long"));
    }
    out.push(field.len() as u8);
    out.extend_from_slice(field);
    Ok(())
}

fn checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::new()
        .chain_update(CODE_PREFIX.as_bytes())
        .chain_update(body)
        .finalize();
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

/// What is left of an invite code's bytes as its fields are read off the front.
struct CodeCursor<'a>(&'a [u8]);

impl<'a> CodeCursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodeError> {
        if self.0.len() < n {
            return Err(CodeError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    /// A u8-length-prefixed field of at most `max` bytes.
    fn field(&mut self, max: usize) -> Result<&'a [u8], CodeError> {
        let len = usize::from(self.take(1)?[0]);
        if len > max {
            return Err(CodeError::Malformed("a field is too long"));
        }
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> InviteCode {
        InviteCode {
            circle: "c-0123456789".into(),
            inviter: vec![0, 36, 8, 1, 18, 32, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7],
            addrs: vec![vec![4, 127, 0, 0, 1, 6, 0x1f, 0x90]],
            invite: "i-abcdefghjk".into(),
            secret: [9; 32],
        }
    }

    #[test]
    fn a_code_roundtrips_and_survives_what_people_do_to_text() {
        let code = sample();
        let text = code.encode().unwrap();
        assert!(text.starts_with(CODE_PREFIX));
        assert_eq!(InviteCode::decode(&text).unwrap(), code);
        // Upper case, groups, line breaks and surrounding space are all forgiven.
        let shouty = text.to_uppercase();
        assert_eq!(InviteCode::decode(&shouty).unwrap(), code);
        let grouped: String = text
            .chars()
            .collect::<Vec<_>>()
            .chunks(5)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(InviteCode::decode(&grouped).unwrap(), code);
        let wrapped = format!("  {}\n{} \r\n", &text[..30], &text[30..]);
        assert_eq!(InviteCode::decode(&wrapped).unwrap(), code);
    }

    #[test]
    fn crockford_look_alikes_read_as_digits() {
        let text = sample().encode().unwrap();
        let body = &text[CODE_PREFIX.len()..];
        let Some(pos) = body.find(['0', '1']) else {
            return;
        };
        let swapped: String = body
            .char_indices()
            .map(|(i, c)| match (i == pos, c) {
                (true, '0') => 'O',
                (true, '1') => 'l',
                _ => c,
            })
            .collect();
        assert_eq!(
            InviteCode::decode(&format!("{CODE_PREFIX}{swapped}")).unwrap(),
            sample()
        );
    }

    #[test]
    fn a_mistyped_character_is_caught_by_the_checksum() {
        let text = sample().encode().unwrap();
        let body = &text[CODE_PREFIX.len()..];
        for i in 0..body.len() {
            let mut chars: Vec<char> = body.chars().collect();
            chars[i] = if chars[i] == 'x' { 'y' } else { 'x' };
            let typo: String = chars.into_iter().collect();
            let err = InviteCode::decode(&format!("{CODE_PREFIX}{typo}")).unwrap_err();
            // A typo in a length field can make the code look cut short; either way the
            // message says to copy it again, and the checksum kept it from being used.
            assert!(
                matches!(err, CodeError::Mistyped(_) | CodeError::Truncated),
                "a typo at {i} must be caught, got {err:?}"
            );
        }
    }

    #[test]
    fn bad_codes_get_the_error_that_says_what_happened() {
        let text = sample().encode().unwrap();
        assert_eq!(InviteCode::decode(""), Err(CodeError::NotACode));
        assert_eq!(InviteCode::decode("hello world"), Err(CodeError::NotACode));
        assert_eq!(
            InviteCode::decode(&text[CODE_PREFIX.len()..]),
            Err(CodeError::NotACode)
        );
        assert_eq!(
            InviteCode::decode(&text[..text.len() / 2]),
            Err(CodeError::Truncated),
            "half a code"
        );
        assert_eq!(
            InviteCode::decode(&text[..text.len() - 8]),
            Err(CodeError::Truncated),
            "a code missing its end"
        );
        let err = InviteCode::decode(&format!("{text}u")).unwrap_err();
        assert!(
            matches!(err, CodeError::Mistyped(ref m) if m.contains("`u`")),
            "{err}"
        );
        let err = InviteCode::decode(&format!("{text}!")).unwrap_err();
        assert!(matches!(err, CodeError::Mistyped(_)), "{err}");

        // A well-formed code of a version this Grove does not know.
        let mut body = vec![2u8; 60];
        let sum = checksum(&body);
        body.extend_from_slice(&sum);
        let future = format!("{CODE_PREFIX}{}", BASE32.encode(&body));
        assert_eq!(InviteCode::decode(&future), Err(CodeError::Version(2)));
        assert!(CodeError::Version(2).to_string().contains("update Grove"));
    }

    #[test]
    fn a_checked_body_with_trailing_bytes_is_refused() {
        let text = sample().encode().unwrap();
        let mut bytes = BASE32
            .decode(&text.as_bytes()[CODE_PREFIX.len()..])
            .unwrap();
        bytes.truncate(bytes.len() - CHECKSUM_LEN);
        bytes.push(0);
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        let text = format!("{CODE_PREFIX}{}", BASE32.encode(&bytes));
        assert!(matches!(
            InviteCode::decode(&text),
            Err(CodeError::Malformed(_))
        ));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("9, 9"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    fn id() -> impl Strategy<Value = String> {
        "[a-z0-9-]{1,20}"
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_identity(
            circle in id(),
            invite in id(),
            inviter in prop::collection::vec(any::<u8>(), 1..=MAX_PEER_LEN),
            addrs in prop::collection::vec(
                prop::collection::vec(any::<u8>(), 0..=MAX_ADDR_LEN), 0..=MAX_CODE_ADDRS),
            secret in any::<[u8; 32]>(),
        ) {
            let code = InviteCode { circle, inviter, addrs, invite, secret };
            let text = code.encode().unwrap();
            prop_assert_eq!(InviteCode::decode(&text).unwrap(), code);
        }

        #[test]
        fn garbage_never_panics(text in ".{0,300}", bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = InviteCode::decode(&text);
            let _ = InviteCode::decode(&format!("{CODE_PREFIX}{text}"));
            let _ = InviteCode::decode(&format!("{CODE_PREFIX}{}", BASE32.encode(&bytes)));
            let mut framed = bytes.clone();
            let sum = checksum(&framed);
            framed.extend_from_slice(&sum);
            let _ = InviteCode::decode(&format!("{CODE_PREFIX}{}", BASE32.encode(&framed)));
        }
    }
}
