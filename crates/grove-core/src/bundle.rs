//! Sneakernet bundles: a whole circle (the [`archive`](crate::archive) format) sealed with
//! the circle key, so only members can open it, and signed by the exporting device, so a
//! changed byte is caught before anything is decrypted or merged.
//!
//! ```text
//! "GROVE-BUNDLE\0"  magic (13 bytes)
//! version           u8 = 1
//! key id            u8 length (1..=64) + ASCII
//! nonce             24 bytes
//! sealed length     u64 BE
//! sealed            XChaCha20-Poly1305(key = HKDF-SHA256(circle key, info "grove/bundle/v1"),
//!                   associated data = every byte above, plaintext = the circle archive)
//! device            32 bytes: the exporting device's Ed25519 public key
//! signature         64 bytes: Ed25519 by that device over every byte above
//! ```
//!
//! What the bundle shows without the key: the key id (random, names no circle), the
//! archive's size, and which device exported it.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::error::{CoreError, Result};
use crate::keys::CIRCLE_KEY_LEN;

const MAGIC: &[u8] = b"GROVE-BUNDLE\0";
const VERSION: u8 = 1;
const MAX_KEY_ID: usize = 64;
pub const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const PUBLIC_KEY_LEN: usize = 32;
const SIGNATURE_LEN: usize = 64;
const HKDF_INFO: &[u8] = b"grove/bundle/v1";
/// The archive allows documents up to 1 GiB each; a bundle above 16 GiB is not a circle.
const MAX_SEALED: u64 = 1 << 34;

/// A bundle whose layout and signature checked out; its content is still sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBundle<'a> {
    /// The id of the circle key it is sealed with.
    pub key_id: String,
    /// The exporting device's public key (hex), verified by the signature.
    pub device: String,
    header: &'a [u8],
    nonce: [u8; NONCE_LEN],
    sealed: &'a [u8],
}

/// Seals `archive` (from [`archive::encode`](crate::archive::encode)) under the circle
/// key `key_id` and signs it as `device`. `nonce` must be fresh random bytes.
pub fn seal(
    archive: &[u8],
    key_id: &str,
    key: &[u8; CIRCLE_KEY_LEN],
    nonce: [u8; NONCE_LEN],
    device: &SigningKey,
) -> Result<Vec<u8>> {
    if key_id.is_empty()
        || key_id.len() > MAX_KEY_ID
        || !key_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(CoreError::invalid(format!(
            "`{key_id}` is not a circle key id"
        )));
    }
    let sealed_len = archive.len() + TAG_LEN;
    let mut out = Vec::with_capacity(
        MAGIC.len()
            + 2
            + key_id.len()
            + NONCE_LEN
            + 8
            + sealed_len
            + PUBLIC_KEY_LEN
            + SIGNATURE_LEN,
    );
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(key_id.len() as u8);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&(sealed_len as u64).to_be_bytes());
    let sealed = aead(key)?
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: archive,
                aad: &out,
            },
        )
        .map_err(|_| CoreError::invalid("the circle is too large to put in a bundle"))?;
    out.extend_from_slice(&sealed);
    out.extend_from_slice(device.verifying_key().as_bytes());
    let signature = device.sign(&out);
    out.extend_from_slice(&signature.to_bytes());
    Ok(out)
}

/// Checks the layout and the signature; refuses anything that is not exactly what `seal`
/// writes. Allocates nothing proportional to lengths the input claims.
pub fn decode(data: &[u8]) -> Result<SignedBundle<'_>> {
    let mut r = BundleCursor { data, pos: 0 };
    let magic = r.take(MAGIC.len());
    if magic != Some(MAGIC) {
        return Err(not_a_bundle());
    }
    let version = r.byte().ok_or_else(truncated)?;
    if version != VERSION {
        return Err(CoreError::invalid(format!(
            "this bundle has format version {version}; this Grove reads version {VERSION}: \
             update Grove to import it"
        )));
    }
    let id_len = r.byte().ok_or_else(truncated)? as usize;
    if id_len == 0 || id_len > MAX_KEY_ID {
        return Err(damaged("its key id has an impossible length"));
    }
    let key_id = r.take(id_len).ok_or_else(truncated)?;
    if !key_id.iter().all(u8::is_ascii_graphic) {
        return Err(damaged("its key id is not text"));
    }
    let nonce: [u8; NONCE_LEN] = r.array().ok_or_else(truncated)?;
    let sealed_len = u64::from_be_bytes(r.array().ok_or_else(truncated)?);
    if sealed_len < TAG_LEN as u64 || sealed_len > MAX_SEALED {
        return Err(damaged("its content length is impossible"));
    }
    let header = &data[..r.pos];
    let sealed = usize::try_from(sealed_len)
        .ok()
        .and_then(|n| r.take(n))
        .ok_or_else(truncated)?;
    let device: [u8; PUBLIC_KEY_LEN] = r.array().ok_or_else(truncated)?;
    let signed = &data[..r.pos];
    let signature: [u8; SIGNATURE_LEN] = r.array().ok_or_else(truncated)?;
    if r.pos != data.len() {
        return Err(damaged("it has bytes after its signature"));
    }
    let bad_signature = || {
        CoreError::invalid(
            "this bundle's signature does not match its content: it was changed after it was \
             exported (tampered or damaged); nothing was imported",
        )
    };
    let verifying = VerifyingKey::from_bytes(&device).map_err(|_| bad_signature())?;
    verifying
        .verify_strict(signed, &Signature::from_bytes(&signature))
        .map_err(|_| bad_signature())?;
    Ok(SignedBundle {
        // Checked ASCII above.
        key_id: String::from_utf8_lossy(key_id).into_owned(),
        device: hex(&device),
        header,
        nonce,
        sealed,
    })
}

impl SignedBundle<'_> {
    /// The archive inside, given the circle key named by `key_id`.
    pub fn open(&self, key: &[u8; CIRCLE_KEY_LEN]) -> Result<Vec<u8>> {
        aead(key)?
            .decrypt(
                XNonce::from_slice(&self.nonce),
                Payload {
                    msg: self.sealed,
                    aad: self.header,
                },
            )
            .map_err(|_| {
                CoreError::invalid(
                    "this bundle does not open with the circle key it names: it was sealed by \
                     someone who does not hold the circle's key; nothing was imported",
                )
            })
    }
}

fn aead(key: &[u8; CIRCLE_KEY_LEN]) -> Result<XChaCha20Poly1305> {
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<sha2::Sha256>::new(None, key)
        .expand(HKDF_INFO, okm.as_mut())
        .map_err(|_| CoreError::invalid("cannot derive the bundle key"))?;
    XChaCha20Poly1305::new_from_slice(okm.as_ref())
        .map_err(|_| CoreError::invalid("cannot derive the bundle key"))
}

fn not_a_bundle() -> CoreError {
    CoreError::invalid("this file is not a Grove bundle (it does not start with the bundle header)")
}

fn truncated() -> CoreError {
    CoreError::invalid(
        "this bundle is truncated: it ends early; copy it again from the exporting device",
    )
}

fn damaged(why: &str) -> CoreError {
    CoreError::invalid(format!("this bundle is damaged: {why}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where decoding a bundle has got to: each read is bounds-checked, so a truncated bundle
/// is refused, never read past its end.
struct BundleCursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BundleCursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: [u8; 32] = [9; 32];

    fn device() -> SigningKey {
        SigningKey::from_bytes(&[3; 32])
    }

    fn sample(archive: &[u8]) -> Vec<u8> {
        seal(archive, "k-0123456789", &KEY, [5; NONCE_LEN], &device()).unwrap()
    }

    #[test]
    fn roundtrip_names_key_and_device() {
        let data = sample(b"the circle");
        let b = decode(&data).unwrap();
        assert_eq!(b.key_id, "k-0123456789");
        assert_eq!(b.device, hex(device().verifying_key().as_bytes()));
        assert_eq!(b.open(&KEY).unwrap(), b"the circle");
        assert!(!data.windows(10).any(|w| w == b"the circle"), "sealed");
    }

    #[test]
    fn each_refusal_says_why() {
        let data = sample(b"the circle");
        let msg = |d: &[u8]| decode(d).unwrap_err().to_string();
        assert!(msg(b"GROVE-CIRCLE\0...").contains("not a Grove bundle"));
        assert!(msg(&data[..data.len() - 1]).contains("truncated"));
        assert!(msg(&data[..MAGIC.len() + 3]).contains("truncated"));
        let mut v2 = data.clone();
        v2[MAGIC.len()] = 2;
        assert!(msg(&v2).contains("version 2"));
        let mut extra = data.clone();
        extra.push(0);
        assert!(msg(&extra).contains("after its signature"));
        let mut tampered = data.clone();
        let mid = data.len() / 2;
        tampered[mid] ^= 0x40;
        assert!(msg(&tampered).contains("tampered"));
        let wrong_key = decode(&data).unwrap().open(&[8; 32]).unwrap_err();
        assert!(wrong_key.to_string().contains("does not open"));
    }

    #[test]
    fn a_member_cannot_pass_off_a_bundle_as_another_devices() {
        // Swapping in another public key breaks the signature even with the same content.
        let mut data = sample(b"x");
        let at = data.len() - SIGNATURE_LEN - PUBLIC_KEY_LEN;
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        data[at..at + PUBLIC_KEY_LEN].copy_from_slice(other.as_bytes());
        assert!(decode(&data).is_err());
    }

    proptest! {
        #[test]
        fn seal_decode_open_roundtrips(
            archive in prop::collection::vec(any::<u8>(), 0..2048),
            nonce in any::<[u8; NONCE_LEN]>(),
        ) {
            let data = seal(&archive, "k-a", &KEY, nonce, &device()).unwrap();
            let b = decode(&data).unwrap();
            prop_assert_eq!(b.open(&KEY).unwrap(), archive);
        }

        #[test]
        fn any_flipped_byte_is_refused(
            archive in prop::collection::vec(any::<u8>(), 0..256),
            at in any::<prop::sample::Index>(),
            bit in 0u8..8,
        ) {
            let mut data = sample(&archive);
            let i = at.index(data.len());
            data[i] ^= 1 << bit;
            let refused = match decode(&data) {
                Err(_) => true,
                Ok(b) => b.open(&KEY).is_err(),
            };
            prop_assert!(refused, "flipping bit {} of byte {} went unnoticed", bit, i);
        }

        #[test]
        fn garbage_never_panics(data in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&data);
            let mut framed = MAGIC.to_vec();
            framed.push(VERSION);
            framed.extend_from_slice(&data);
            if let Ok(b) = decode(&framed) {
                let _ = b.open(&KEY);
            }
        }
    }
}
