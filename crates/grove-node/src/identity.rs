//! This device's identity: an Ed25519 key created on first run and kept in the store, the
//! member id derived from it, and the display name people see.

use ed25519_dalek::SigningKey;
use grove_core::automerge::ActorId;
use grove_store::Store;
use rand::rngs::OsRng;

use crate::error::{NodeError, Result};

const KEY: &str = "identity/device-key";
const NAME: &str = "identity/name";
/// Set when this device was linked to an existing member (`grove device link`).
const MEMBER: &str = "identity/member";

pub(crate) struct Identity {
    key: SigningKey,
    pub(crate) name: String,
    /// The member this device was linked to; `None` for a member's first device.
    linked: Option<String>,
}

impl Identity {
    pub(crate) fn load_or_create(store: &dyn Store) -> Result<Identity> {
        let key = match store.get_meta(KEY)? {
            Some(bytes) => {
                let secret: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| NodeError::DamagedKey { len: bytes.len() })?;
                SigningKey::from_bytes(&secret)
            }
            None => {
                let key = SigningKey::generate(&mut OsRng);
                store.put_meta(KEY, key.as_bytes())?;
                key
            }
        };
        let name = match store.get_meta(NAME)? {
            Some(n) => String::from_utf8_lossy(&n).into_owned(),
            None => default_name(),
        };
        let linked = store
            .get_meta(MEMBER)?
            .map(|m| String::from_utf8_lossy(&m).into_owned());
        Ok(Identity { key, name, linked })
    }

    /// Makes this device act as `member` from now on: it was linked to that member.
    pub(crate) fn set_member(&mut self, store: &dyn Store, member: &str) -> Result<()> {
        store.put_meta(MEMBER, member.as_bytes())?;
        self.linked = Some(member.to_string());
        Ok(())
    }

    pub(crate) fn set_name(&mut self, store: &dyn Store, name: &str) -> Result<()> {
        store.put_meta(NAME, name.as_bytes())?;
        self.name = name.to_string();
        Ok(())
    }

    /// The device key, which signs every change this device makes.
    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The device's secret key: also its network identity, so a peer id names one device.
    pub(crate) fn secret(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The device's public key, hex: how the device is named in member records.
    pub(crate) fn device(&self) -> String {
        data_encoding::HEXLOWER.encode(self.key.verifying_key().as_bytes())
    }

    /// The member id this device acts as: the member it was linked to, else derived from
    /// this (the member's first) device's key, so it needs no coordination to be unique.
    pub(crate) fn member(&self) -> String {
        if let Some(m) = &self.linked {
            return m.clone();
        }
        member_of_device(self.key.verifying_key().as_bytes())
    }

    /// Automerge actor id bound to the device key, so every change names its device.
    pub(crate) fn actor(&self) -> ActorId {
        ActorId::from(self.key.verifying_key().as_bytes().as_slice())
    }
}

/// The member id of a member whose first device has this public key.
pub fn member_of_device(public_key: &[u8]) -> String {
    let short = data_encoding::BASE32_NOPAD.encode(&public_key[..10.min(public_key.len())]);
    format!("m-{}", short.to_lowercase())
}

/// The member id for a device given as hex (`grove device id`), or None if it is not hex.
pub(crate) fn member_of_device_hex(hex: &str) -> Option<String> {
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(hex.trim().as_bytes())
        .ok()?;
    (bytes.len() == 32).then(|| member_of_device(&bytes))
}

fn default_name() -> String {
    ["GROVE_NAME", "USER", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|n| n.trim().to_string())
        .find(|n| !n.is_empty())
        .unwrap_or_else(|| "me".to_string())
}
