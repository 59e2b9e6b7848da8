//! The passphrase that seals a Grove home at rest: set, change or remove it.

use std::path::Path;

use grove_store::SledStore;

use crate::error::{NodeError, Result};
use crate::home::resolve_home;

/// Re-seals the home under `new` (None: stores it unencrypted), after opening it with `old`
/// (None for an unencrypted home). The home must not be in use by a running node. A crash
/// midway leaves the home whole under the old passphrase.
pub fn change_passphrase(home: Option<&Path>, old: Option<&str>, new: Option<&str>) -> Result<()> {
    if new.is_some_and(str::is_empty) {
        return Err(NodeError::Core(grove_core::CoreError::Invalid(
            "a passphrase cannot be empty".into(),
        )));
    }
    let dir = resolve_home(home)?;
    if !dir.join("store.current").exists() {
        return Err(NodeError::NoHome { path: dir });
    }
    let store = SledStore::open_with(&dir, old)?;
    store.set_passphrase(new)?;
    Ok(())
}

/// Whether the home at `home` is sealed under a passphrase (false when it does not exist).
pub fn home_is_encrypted(home: Option<&Path>) -> Result<bool> {
    let dir = resolve_home(home)?;
    Ok(SledStore::is_encrypted_at(&dir)?)
}

/// Whether `passphrase` opens the home (None: whether it is unencrypted), failing with the
/// error opening it would give. Reads and writes nothing else and works while this process's
/// node holds the home, so a client can check a passphrase before stopping to re-seal.
pub fn check_passphrase(home: Option<&Path>, passphrase: Option<&str>) -> Result<()> {
    let dir = resolve_home(home)?;
    Ok(SledStore::check_passphrase_at(&dir, passphrase)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Node, NodeErrorKind};

    async fn open(home: &Path, passphrase: Option<&str>) -> Result<crate::NodeHandle> {
        let mut b = Node::builder().home(home);
        if let Some(p) = passphrase {
            b = b.passphrase(p);
        }
        b.spawn()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_encrypted_home_keeps_its_device_and_refuses_wrong_passphrases() {
        let dir = tempfile::tempdir().unwrap();
        let node = open(dir.path(), Some("pw")).await.unwrap();
        let me = node.me().await.unwrap();
        node.create_circle("Cell".into()).await.unwrap();
        node.stop().await.unwrap();
        assert!(home_is_encrypted(Some(dir.path())).unwrap());

        for wrong in [None, Some("nope")] {
            let err = open(dir.path(), wrong).await.err().unwrap();
            assert_eq!(err.kind(), NodeErrorKind::Passphrase, "{err}");
        }
        let node = open(dir.path(), Some("pw")).await.unwrap();
        check_passphrase(Some(dir.path()), Some("pw")).unwrap();
        let err = check_passphrase(Some(dir.path()), Some("nope")).unwrap_err();
        assert_eq!(err.kind(), NodeErrorKind::Passphrase, "{err}");
        node.stop().await.unwrap();
        change_passphrase(Some(dir.path()), Some("pw"), Some("new")).unwrap();
        assert!(change_passphrase(Some(dir.path()), Some("pw"), Some("x")).is_err());
        let node = open(dir.path(), Some("new")).await.unwrap();
        assert_eq!(
            node.me().await.unwrap(),
            me,
            "same device key after the change"
        );
        assert_eq!(node.circles().await.unwrap().len(), 1);
        node.stop().await.unwrap();
    }
}
