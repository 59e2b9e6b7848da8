//! Sneakernet: a circle sealed into a bundle file that only members can open
//! (`grove bundle export`), and its import, which merges it only after every check passed.

use ed25519_dalek::SigningKey;
use grove_core::{archive, bundle, CircleInfo, CIRCLE_KEY_LEN};
use rand::rngs::OsRng;
use rand::RngCore as _;
use zeroize::Zeroizing;

use crate::error::{NodeError, Result};
use crate::handle::{CircleHandle, NodeHandle};
use crate::state::import::merge_archive;
use crate::state::{Need, NodeState};

impl CircleHandle {
    /// The whole circle sealed with its current circle key (created first for a circle
    /// from before keys) and signed by this device: a file for `NodeHandle::import_bundle`
    /// on another member's device.
    pub async fn export_bundle(&self) -> Result<Vec<u8>> {
        let sel = self.sel.clone();
        self.node
            .run(move |s| {
                let (key_id, key, archive) = s.mutate(sel.as_deref(), Need::All, |c, ctx| {
                    let key_id = c.ensure_key(ctx)?;
                    let key = c.circle_key_by_id(&key_id).map(Zeroizing::new);
                    Ok((key_id, key, Zeroizing::new(archive::encode(c))))
                })?;
                let key = key.ok_or_else(|| {
                    NodeError::Bundle("the circle's key could not be read back".into())
                })?;
                let mut nonce = [0u8; bundle::NONCE_LEN];
                OsRng.fill_bytes(&mut nonce);
                let device = SigningKey::from_bytes(&s.identity.secret());
                Ok(bundle::seal(&archive, &key_id, &key, nonce, &device)?)
            })
            .await
    }
}

impl NodeHandle {
    /// Merges a bundle into the circle it belongs to. Refused, with the circle untouched,
    /// unless the signature holds, this home has a circle holding the bundle's key, the
    /// exporting device is one of that circle's member devices, and the content opens and
    /// is that circle.
    pub async fn import_bundle(&self, data: Vec<u8>) -> Result<CircleInfo> {
        self.run(move |s| import(s, &data)).await
    }
}

fn import(s: &mut NodeState, data: &[u8]) -> Result<CircleInfo> {
    let signed = bundle::decode(data)?;
    let (id, key) = circle_holding(s, &signed.key_id)?.ok_or_else(|| {
        NodeError::Bundle(
            "this bundle is sealed with a key that none of the circles here holds: it belongs \
             to a circle this device is not a member of (or to a newer key: sync first); \
             nothing was imported"
                .into(),
        )
    })?;
    let exporter_is_member = s
        .loaded(&id)?
        .membership()
        .is_current_device(&signed.device);
    if !exporter_is_member {
        return Err(NodeError::Bundle(format!(
            "this bundle was exported by device {}, which is not a current member device of \
             this circle; nothing was imported",
            signed.device
        )));
    }
    let archive = Zeroizing::new(signed.open(&key)?);
    let docs = archive::decode_signed(&archive)?;
    if docs.is_empty() {
        return Err(NodeError::Bundle("the bundle holds no documents".into()));
    }
    merge_archive(s, &docs, Some(&id))?;
    Ok(s.loaded(&id)?.info()?)
}

/// The circle (id) whose keys include `key_id`, with that key.
fn circle_holding(
    s: &mut NodeState,
    key_id: &str,
) -> Result<Option<(String, Zeroizing<[u8; CIRCLE_KEY_LEN]>)>> {
    for id in s.circle_ids()? {
        s.open(&id)?;
        if let Some(key) = s.loaded(&id)?.circle_key_by_id(key_id) {
            return Ok(Some((id, Zeroizing::new(key))));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Node, NodeErrorKind};
    /// Two in-memory nodes holding the same circle, shared by a circle file.
    async fn pair() -> (NodeHandle, NodeHandle, String) {
        let a = Node::builder().in_memory().spawn().unwrap();
        let b = Node::builder().in_memory().spawn().unwrap();
        let id = a.create_circle("Cell".into()).await.unwrap().id;
        let me = b.me().await.unwrap();
        a.circle(None)
            .admit_member(me.device, me.name)
            .await
            .unwrap();
        let file = a.circle(None).export().await.unwrap();
        b.import_circle(file).await.unwrap();
        (a, b, id)
    }

    /// The names of the circle's teams: a bundle's content any member may write.
    async fn titles(n: &NodeHandle) -> Vec<String> {
        let mut t: Vec<String> = n
            .circle(None)
            .teams()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        t.sort();
        t
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_members_bundle_merges() {
        let (a, b, id) = pair().await;
        a.circle(None).add_team("Care".into(), None).await.unwrap();
        let data = a.circle(None).export_bundle().await.unwrap();
        let info = b.import_bundle(data).await.unwrap();
        assert_eq!(info.id, id);
        assert_eq!(titles(&b).await, vec!["Care"]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn refused_bundles_leave_the_circle_untouched() {
        let (a, b, _) = pair().await;
        a.circle(None).add_team("Care".into(), None).await.unwrap();
        let good = a.circle(None).export_bundle().await.unwrap();
        let before = b.circle(None).doc_heads().await.unwrap();

        let mut tampered = good.clone();
        let mid = tampered.len() / 2;
        tampered[mid] ^= 1;
        let err = b.import_bundle(tampered).await.unwrap_err();
        assert!(err.to_string().contains("tampered"), "{err}");

        let err = b
            .import_bundle(good[..good.len() - 10].to_vec())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");

        // A bundle of a circle this node is not in.
        let c = Node::builder().in_memory().spawn().unwrap();
        c.create_circle("Other".into()).await.unwrap();
        let foreign = c.circle(None).export_bundle().await.unwrap();
        let err = b.import_bundle(foreign).await.unwrap_err();
        assert_eq!(err.kind(), NodeErrorKind::Invalid);
        assert!(err.to_string().contains("not a member of"), "{err}");

        // Sealed with the right key but signed by a device that is no member's.
        let (key_id, key) = a
            .run(|s| {
                let id = s.circle_ids()?.remove(0);
                Ok(s.loaded(&id)?.circle_key().unwrap())
            })
            .await
            .unwrap();
        let archive = a.circle(None).export().await.unwrap();
        let outsider = SigningKey::from_bytes(&[42; 32]);
        let forged = bundle::seal(&archive, &key_id, &key, [1; 24], &outsider).unwrap();
        let err = b.import_bundle(forged).await.unwrap_err();
        assert!(
            err.to_string().contains("not a current member device"),
            "{err}"
        );

        assert_eq!(b.circle(None).doc_heads().await.unwrap(), before);
        assert!(titles(&b).await.is_empty());
    }
}
