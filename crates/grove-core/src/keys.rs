//! Circle keys: 32-byte secrets that every member holds in the core document, under
//! `keys/<key-id>` {secret, created_at, created_by}. Bundles are sealed with the current
//! one; older ones stay so bundles made before a rotation still open for members.
//!
//! The core document only travels to member devices, and the store seals it at rest, so
//! the secret is as private as the circle's content. A rotation (on a member's removal)
//! adds a key the removed member never receives; it cannot take back the old ones.

use automerge::transaction::Transactable as _;
use automerge::{ObjType, ReadDoc, ScalarValue, Value, ROOT};

use crate::circle::Circle;
use crate::ctx::Ctx;
use crate::error::{CoreError, Result};
use crate::fields::{self, Fields};

const KEYS: &str = "keys";
pub const CIRCLE_KEY_LEN: usize = 32;

/// One circle key as read from the document.
struct KeyEntry {
    id: String,
    secret: [u8; CIRCLE_KEY_LEN],
    created_at: i64,
}

impl Circle {
    /// The current circle key: the latest created, ties broken by id, so every replica
    /// with the same keys picks the same one. None for a circle from before keys existed
    /// (see [`Circle::ensure_key`]).
    pub fn circle_key(&self) -> Option<(String, [u8; CIRCLE_KEY_LEN])> {
        self.key_entries()
            .into_iter()
            .max_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)))
            .map(|k| (k.id, k.secret))
    }

    /// The circle key with this id, current or older.
    pub fn circle_key_by_id(&self, id: &str) -> Option<[u8; CIRCLE_KEY_LEN]> {
        self.key_entries()
            .into_iter()
            .find(|k| k.id == id)
            .map(|k| k.secret)
    }

    /// Ids of every circle key, oldest first.
    pub fn circle_key_ids(&self) -> Vec<String> {
        let mut keys = self.key_entries();
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        keys.into_iter().map(|k| k.id).collect()
    }

    /// Adds a fresh circle key, which becomes the current one; returns its id. The secret
    /// comes from `ctx.rng`, which must be a CSPRNG outside tests.
    pub fn rotate_key(&mut self, ctx: &mut Ctx<'_>) -> Result<String> {
        let now = ctx.now;
        self.rotate_key_at(ctx, now)
    }

    /// When the current circle key was made (None for a circle without keys).
    pub(crate) fn circle_key_created_at(&self) -> Option<crate::clock::Timestamp> {
        self.key_entries()
            .into_iter()
            .map(|k| crate::clock::Timestamp(k.created_at))
            .max()
    }

    /// [`Circle::rotate_key`] with the key's creation time given (`created_at`), which
    /// decides which key is the current one.
    pub(crate) fn rotate_key_at(
        &mut self,
        ctx: &mut Ctx<'_>,
        created_at: crate::clock::Timestamp,
    ) -> Result<String> {
        let id = ctx.new_id("k");
        let mut secret = [0u8; CIRCLE_KEY_LEN];
        ctx.rng.fill_bytes(&mut secret);
        let existing = match self.core.am.get(ROOT, KEYS)? {
            Some((Value::Object(ObjType::Map), obj)) => Some(obj),
            Some(_) => return Err(CoreError::Corrupt("`keys` is not a map".into())),
            None => None,
        };
        let (now, member) = (ctx.now, ctx.member.clone());
        self.change_core(now, "circle key", |tx| {
            // Circles created before keys existed get the map on their first key.
            let keys = match existing {
                Some(obj) => obj,
                None => tx.put_object(ROOT, KEYS, ObjType::Map)?,
            };
            let k = tx.put_object(&keys, id.as_str(), ObjType::Map)?;
            tx.put(&k, "secret", ScalarValue::Bytes(secret.to_vec()))?;
            fields::put_time(tx, &k, "created_at", created_at)?;
            fields::put_str(tx, &k, "created_by", &member)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// The current key's id, creating the first key of an older circle that has none.
    pub fn ensure_key(&mut self, ctx: &mut Ctx<'_>) -> Result<String> {
        match self.circle_key() {
            Some((id, _)) => Ok(id),
            None => self.rotate_key(ctx),
        }
    }

    /// Well-formed keys only: an entry whose secret is missing or the wrong size is
    /// skipped rather than trusted.
    fn key_entries(&self) -> Vec<KeyEntry> {
        let doc = &self.core.am;
        let Ok(Some((Value::Object(ObjType::Map), keys))) = doc.get(ROOT, KEYS) else {
            return Vec::new();
        };
        doc.map_range(&keys, ..)
            .filter_map(|item| {
                let obj = item.id();
                let secret = match doc.get(&obj, "secret").ok()?? {
                    (Value::Scalar(s), _) => match s.as_ref() {
                        ScalarValue::Bytes(b) => {
                            <[u8; CIRCLE_KEY_LEN]>::try_from(b.as_slice()).ok()
                        }
                        _ => None,
                    },
                    _ => None,
                }?;
                Some(KeyEntry {
                    id: item.key.to_string(),
                    secret,
                    created_at: Fields::read(doc, &obj).time("created_at").0,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::Device;
    use crate::{Ctx, Timestamp};

    #[test]
    fn a_new_circle_has_a_key_and_replicas_agree_on_it() {
        let ana = Device::new_circle("ana");
        let (id, secret) = ana.circle.circle_key().expect("created with the circle");
        assert_ne!(secret, [0u8; 32]);
        let ben = ana.replica("ben", 2);
        assert_eq!(ben.circle.circle_key(), Some((id.clone(), secret)));
        assert_eq!(ben.circle.circle_key_by_id(&id), Some(secret));
        assert_eq!(ben.circle.circle_key_by_id("k-unknown"), None);
    }

    #[test]
    fn rotation_makes_a_new_current_key_and_keeps_the_old() {
        let mut ana = Device::new_circle("ana");
        let (old, old_secret) = ana.circle.circle_key().unwrap();
        ana.now += 1000;
        let mut rng = rand::rngs::mock::StepRng::new(99, 13);
        let mut ctx = Ctx::new(Timestamp(ana.now), "ana", &mut rng);
        let new = ana.circle.rotate_key(&mut ctx).unwrap();
        let (current, secret) = ana.circle.circle_key().unwrap();
        assert_eq!(current, new);
        assert_ne!(secret, old_secret);
        assert_eq!(ana.circle.circle_key_by_id(&old), Some(old_secret));
        assert_eq!(ana.circle.circle_key_ids(), vec![old, new]);
        assert_eq!(ana.circle.ensure_key(&mut ctx).unwrap(), current);
    }

    #[test]
    fn concurrent_rotations_converge_on_one_current_key() {
        let mut ana = Device::new_circle("ana");
        let mut ben = ana.replica("ben", 3);
        let mut ra = rand::rngs::mock::StepRng::new(5, 1);
        let mut rb = rand::rngs::mock::StepRng::new(7, 3);
        let at = Timestamp(ana.now + 5000);
        ana.circle
            .rotate_key(&mut Ctx::new(at, "ana", &mut ra))
            .unwrap();
        ben.circle
            .rotate_key(&mut Ctx::new(at, "ben", &mut rb))
            .unwrap();
        let a = ana.circle.snapshot("core").unwrap();
        let b = ben.circle.snapshot("core").unwrap();
        ana.circle.merge_doc("core", &b).unwrap();
        ben.circle.merge_doc("core", &a).unwrap();
        assert_eq!(ana.circle.circle_key_ids().len(), 3);
        assert_eq!(ana.circle.circle_key(), ben.circle.circle_key());
    }

    #[test]
    fn an_older_circle_without_keys_gets_one_lazily() {
        let mut ana = Device::new_circle("ana");
        // Simulate a circle from before keys: drop the map.
        ana.circle
            .change_core(Timestamp(ana.now), "test", |tx| {
                use automerge::transaction::Transactable as _;
                tx.delete(automerge::ROOT, "keys")?;
                Ok(())
            })
            .unwrap();
        assert_eq!(ana.circle.circle_key(), None);
        let mut rng = rand::rngs::mock::StepRng::new(1, 1);
        let mut ctx = Ctx::new(Timestamp(ana.now), "ana", &mut rng);
        let id = ana.circle.ensure_key(&mut ctx).unwrap();
        assert_eq!(ana.circle.circle_key().map(|k| k.0), Some(id));
    }
}
