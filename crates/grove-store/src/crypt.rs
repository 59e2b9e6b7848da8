//! Encryption at rest: a key derived from the passphrase with Argon2id, and every stored
//! value sealed with XChaCha20-Poly1305 under it.
//!
//! Each database generation of an encrypted store holds a small plaintext header,
//! `store-db-N/grove-crypt`, so a rewrite under a new passphrase (a new generation) swaps
//! the header together with the data at the one rename of `store.current`:
//!
//! ```text
//! grove-crypt v1
//! kdf argon2id m=65536 t=3 p=1
//! salt <32 hex digits>
//! check <hex: nonce ++ sealed CHECK_TEXT>
//! ```
//!
//! The check value tells a wrong passphrase from damaged data before anything is written.
//! A sealed value is `VERSION ++ nonce(24) ++ ciphertext ++ tag(16)`, with the tree and the
//! key as associated data, so a value moved to another key (or tree) fails to open.
//!
//! Names inside keys (circle ids, document names, segments of meta keys) are replaced by
//! tokens, `~` + HMAC-SHA256(names key, name) truncated to 120 bits in base32: equal names
//! give equal tokens, so sled's prefix scans still work, and the `names` tree maps each
//! token back to its name, sealed. The value key and the names key are the two halves of
//! the 64-byte Argon2id output.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::{BASE32HEX_NOPAD, HEXLOWER};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The header's file name inside a database directory (sled ignores files it did not make).
pub(crate) const HEADER_FILE: &str = "grove-crypt";
const HEADER_TMP: &str = "grove-crypt.tmp";
const MAGIC_LINE: &str = "grove-crypt v1";
const CHECK_TEXT: &[u8] = b"grove store key check v1";
const CHECK_AD: &[u8] = b"grove/store/check";
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const SALT_LEN: usize = 16;
/// Bytes of the HMAC kept in a token: 120 bits, no collision among a home's names.
const TOKEN_BYTES: usize = 15;
/// Every token starts with it; no name Grove writes does.
pub(crate) const TOKEN_MARK: char = '~';

/// RFC 9106's second recommended setting (64 MiB, 3 passes), one lane: costly to guess at
/// scale, still well under a second on a laptop.
const M_COST: u32 = 64 * 1024;
const T_COST: u32 = 3;
const P_COST: u32 = 1;
/// A header is plaintext, so its parameters are bounded: a doctored header must not make
/// opening the store allocate the machine away or run for hours.
const MAX_M_COST: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// Which tree a value lives in; part of the associated data.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TreeTag {
    Docs,
    Meta,
    /// The token -> name map.
    Names,
}

impl TreeTag {
    fn byte(self) -> u8 {
        match self {
            TreeTag::Docs => b'd',
            TreeTag::Meta => b'm',
            TreeTag::Names => b'n',
        }
    }
}

/// The key-derivation parameters and check value of one encrypted generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: [u8; SALT_LEN],
    check: Vec<u8>,
}

impl Header {
    pub fn encode(&self) -> String {
        format!(
            "{MAGIC_LINE}\nkdf argon2id m={} t={} p={}\nsalt {}\ncheck {}\n",
            self.m_cost,
            self.t_cost,
            self.p_cost,
            HEXLOWER.encode(&self.salt),
            HEXLOWER.encode(&self.check)
        )
    }

    /// None for anything that is not exactly what `encode` writes, within bounds.
    pub fn decode(text: &str) -> Option<Header> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC_LINE {
            return None;
        }
        let mut kdf = lines.next()?.strip_prefix("kdf argon2id ")?.split(' ');
        let mut param =
            |name: &str| -> Option<u32> { kdf.next()?.strip_prefix(name)?.parse().ok() };
        let (m_cost, t_cost, p_cost) = (param("m=")?, param("t=")?, param("p=")?);
        let salt = HEXLOWER
            .decode(lines.next()?.strip_prefix("salt ")?.as_bytes())
            .ok()?
            .try_into()
            .ok()?;
        let check = HEXLOWER
            .decode(lines.next()?.strip_prefix("check ")?.as_bytes())
            .ok()?;
        if lines.next().is_some()
            || !(1..=MAX_M_COST).contains(&m_cost)
            || !(1..=MAX_T_COST).contains(&t_cost)
            || !(1..=MAX_P_COST).contains(&p_cost)
            || check.len() != 1 + NONCE_LEN + CHECK_TEXT.len() + TAG_LEN
        {
            return None;
        }
        Some(Header {
            m_cost,
            t_cost,
            p_cost,
            salt,
            check,
        })
    }
}

/// Why a passphrase did not unlock a header.
#[derive(Debug)]
pub(crate) enum Unlock {
    /// The check value did not open: a wrong passphrase.
    Wrong,
    /// Argon2 refused the header's parameters.
    BadParams(String),
}

/// The AEAD keyed by the passphrase-derived key.
pub(crate) struct Cipher {
    aead: XChaCha20Poly1305,
    names: Hmac<Sha256>,
}

impl Cipher {
    /// A fresh salt and check value for `passphrase`.
    pub fn create(passphrase: &[u8]) -> Result<(Cipher, Header), Unlock> {
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let mut header = Header {
            m_cost: M_COST,
            t_cost: T_COST,
            p_cost: P_COST,
            salt,
            check: Vec::new(),
        };
        let cipher = Cipher::derive(passphrase, &header)?;
        header.check = cipher
            .seal_with_ad(CHECK_AD, CHECK_TEXT)
            .ok_or_else(|| Unlock::BadParams("cannot seal the check value".to_owned()))?;
        Ok((cipher, header))
    }

    /// The cipher for `passphrase` if it is the one the header was made with.
    pub fn unlock(passphrase: &[u8], header: &Header) -> Result<Cipher, Unlock> {
        let cipher = Cipher::derive(passphrase, header)?;
        match cipher.open_with_ad(CHECK_AD, &header.check) {
            Some(text) if text.as_slice() == CHECK_TEXT => Ok(cipher),
            _ => Err(Unlock::Wrong),
        }
    }

    fn derive(passphrase: &[u8], header: &Header) -> Result<Cipher, Unlock> {
        let params = Params::new(header.m_cost, header.t_cost, header.p_cost, Some(64))
            .map_err(|e| Unlock::BadParams(e.to_string()))?;
        let mut key = Zeroizing::new([0u8; 64]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase, &header.salt, key.as_mut())
            .map_err(|e| Unlock::BadParams(e.to_string()))?;
        let aead = XChaCha20Poly1305::new_from_slice(&key[..32])
            .map_err(|e| Unlock::BadParams(e.to_string()))?;
        let names = <Hmac<Sha256>>::new_from_slice(&key[32..])
            .map_err(|e| Unlock::BadParams(e.to_string()))?;
        Ok(Cipher { aead, names })
    }

    /// The token that stands for `name` in keys.
    pub fn token(&self, name: &str) -> String {
        let mac = self.names.clone().chain_update(name.as_bytes()).finalize();
        let bytes = mac.into_bytes();
        let mut token = String::with_capacity(1 + 24);
        token.push(TOKEN_MARK);
        token.push_str(&BASE32HEX_NOPAD.encode(&bytes[..TOKEN_BYTES]).to_lowercase());
        token
    }

    /// None only for a value too large for the cipher (~256 GiB), which sled cannot hold.
    pub fn seal(&self, tree: TreeTag, key: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
        self.seal_with_ad(&associated(tree, key), plain)
    }

    /// None when the value was not sealed under this key and cipher (damage or tampering).
    pub fn open(&self, tree: TreeTag, key: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        self.open_with_ad(&associated(tree, key), sealed)
    }

    fn seal_with_ad(&self, ad: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: ad,
                },
            )
            .ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Some(out)
    }

    fn open_with_ad(&self, ad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        self.aead
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: ad })
            .ok()
    }
}

fn associated(tree: TreeTag, key: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(b"grove/store/".len() + 1 + key.len());
    ad.extend_from_slice(b"grove/store/");
    ad.push(tree.byte());
    ad.extend_from_slice(key);
    ad
}

/// The header of the database in `db_dir`: Ok(None) when that generation is not encrypted,
/// Err(Some(text)) when the file exists but is not a header.
pub(crate) fn read_header(db_dir: &Path) -> io::Result<Result<Option<Header>, String>> {
    match crate::home::read_small(&db_dir.join(HEADER_FILE)) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Header::decode(&text).map(Some).ok_or(text)),
            Err(_) => Ok(Err("(not text)".to_owned())),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Ok(None)),
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => Ok(Err("(too large)".to_owned())),
        Err(e) => Err(e),
    }
}

/// Writes the header into `db_dir` (created if needed) durably, replacing it atomically.
pub(crate) fn write_header(db_dir: &Path, header: &Header) -> io::Result<()> {
    crate::perms::create_dir(db_dir)?;
    let tmp = db_dir.join(HEADER_TMP);
    let mut f = crate::perms::create_file(&tmp)?;
    f.write_all(header.encode().as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, db_dir.join(HEADER_FILE))?;
    #[cfg(unix)]
    File::open(db_dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters: these tests check the format, not Argon2's cost.
    fn quick(passphrase: &[u8]) -> (Cipher, Header) {
        let mut header = Header {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
            salt: [7; SALT_LEN],
            check: Vec::new(),
        };
        let cipher = Cipher::derive(passphrase, &header).unwrap();
        header.check = cipher.seal_with_ad(CHECK_AD, CHECK_TEXT).unwrap();
        (cipher, header)
    }

    #[test]
    fn header_roundtrips_and_refuses_doctored_params() {
        let (_, header) = quick(b"pw");
        let text = header.encode();
        assert_eq!(Header::decode(&text), Some(header.clone()));
        let huge = text.replace("m=64 ", "m=4294967295 ");
        assert_ne!(huge, text);
        assert_eq!(Header::decode(&huge), None, "unbounded memory cost");
        assert_eq!(Header::decode(&text.replace("v1", "v2")), None);
        assert_eq!(Header::decode(&format!("{text}extra\n")), None);
    }

    #[test]
    fn only_the_right_passphrase_unlocks() {
        let (_, header) = quick(b"correct horse");
        assert!(Cipher::unlock(b"correct horse", &header).is_ok());
        assert!(matches!(
            Cipher::unlock(b"correct horsf", &header),
            Err(Unlock::Wrong)
        ));
    }

    #[test]
    fn values_open_only_under_their_own_key_and_tree() {
        let (c, _) = quick(b"pw");
        let sealed = c
            .seal(TreeTag::Meta, b"identity/device-key", b"secret")
            .unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            c.open(TreeTag::Meta, b"identity/device-key", &sealed),
            Some(b"secret".to_vec())
        );
        assert_eq!(c.open(TreeTag::Meta, b"identity/name", &sealed), None);
        assert_eq!(c.open(TreeTag::Docs, b"identity/device-key", &sealed), None);
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            c.open(TreeTag::Meta, b"identity/device-key", &flipped),
            None
        );
        let (other, _) = {
            let mut h = quick(b"other").1;
            h.salt = [8; SALT_LEN];
            (Cipher::derive(b"pw", &h).unwrap(), h)
        };
        assert_eq!(
            other.open(TreeTag::Meta, b"identity/device-key", &sealed),
            None,
            "a different salt is a different key"
        );
    }

    #[test]
    fn an_oversized_header_is_malformed_not_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (_, header) = quick(b"pw");
        write_header(dir.path(), &header).unwrap();
        assert_eq!(read_header(dir.path()).unwrap(), Ok(Some(header)));
        let huge = vec![b'a'; crate::home::MAX_SMALL_FILE as usize + 1];
        fs::write(dir.path().join(HEADER_FILE), huge).unwrap();
        assert_eq!(
            read_header(dir.path()).unwrap(),
            Err("(too large)".to_owned())
        );
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let (c, _) = quick(b"pw");
        assert_ne!(
            c.seal(TreeTag::Docs, b"k", b"same"),
            c.seal(TreeTag::Docs, b"k", b"same"),
            "random nonces: equal values must not be recognisable"
        );
    }
}
