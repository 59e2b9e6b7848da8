//! Encryption at rest on real sled files: roundtrip, wrong and missing passphrases leave the
//! files untouched, passphrase changes, and no plaintext on disk.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use grove_store::{SledStore, Store, StoreErrorKind};

const DECISION: &[u8] = b"We meet at the library on Thursdays; the landlord must not know";
const DEVICE_KEY: &[u8] = b"0123456789abcdef-device-secret!!";

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn any_file_contains(dir: &Path, needle: &[u8]) -> bool {
    files(dir).values().any(|bytes| contains(bytes, needle))
}

fn write_sample(s: &SledStore) {
    s.append("c-1", "core", b"core-bytes").unwrap();
    s.append("c-1", "decisions/2026-11", DECISION).unwrap();
    s.compact("c-1", "core", b"core-snapshot").unwrap();
    s.put_meta("identity/device-key", DEVICE_KEY).unwrap();
    s.put_meta("circle/c-1/last-sync/p", b"when").unwrap();
}

fn check_sample(s: &SledStore) {
    assert_eq!(s.circles().unwrap(), vec!["c-1"]);
    assert_eq!(s.load("c-1", "core").unwrap().unwrap(), b"core-snapshot");
    assert_eq!(
        s.load("c-1", "decisions/2026-11").unwrap().unwrap(),
        DECISION
    );
    assert_eq!(s.pending("c-1", "decisions/2026-11").unwrap().chunks, 1);
    assert_eq!(
        s.get_meta("identity/device-key").unwrap().unwrap(),
        DEVICE_KEY
    );
    assert_eq!(
        s.meta_with_prefix("circle/c-1/").unwrap(),
        vec![("circle/c-1/last-sync/p".to_string(), b"when".to_vec())]
    );
}

fn encrypted_home(passphrase: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open_with(dir.path(), Some(passphrase)).unwrap();
    assert!(s.is_encrypted());
    write_sample(&s);
    drop(s);
    dir
}

#[test]
fn encrypted_store_roundtrips_and_holds_no_plaintext() {
    let dir = encrypted_home("correct horse");
    let s = SledStore::open_with(dir.path(), Some("correct horse")).unwrap();
    check_sample(&s);
    drop(s);
    assert!(
        !any_file_contains(dir.path(), DECISION),
        "a decision's text is on disk in the clear"
    );
    assert!(
        !any_file_contains(dir.path(), DEVICE_KEY),
        "the device key is on disk in the clear"
    );

    // The same check finds plaintext in an unencrypted store, so it can fail.
    let plain = tempfile::tempdir().unwrap();
    let s = SledStore::open(plain.path()).unwrap();
    write_sample(&s);
    drop(s);
    assert!(any_file_contains(plain.path(), DECISION));
}

#[test]
fn wrong_or_missing_passphrase_fails_and_changes_nothing() {
    let dir = encrypted_home("correct horse");
    let before = files(dir.path());

    let err = SledStore::open_with(dir.path(), Some("wrong horse"))
        .err()
        .unwrap();
    assert_eq!(err.kind(), StoreErrorKind::WrongPassphrase);
    assert!(err.to_string().contains("wrong passphrase"), "{err}");
    assert!(
        err.to_string().contains("nothing was read or changed"),
        "{err}"
    );

    let err = SledStore::open(dir.path()).err().unwrap();
    assert_eq!(err.kind(), StoreErrorKind::PassphraseNeeded);
    assert!(err.to_string().contains("GROVE_PASSPHRASE"), "{err}");

    assert_eq!(
        files(dir.path()),
        before,
        "a refused open wrote to the home"
    );
    let s = SledStore::open_with(dir.path(), Some("correct horse")).unwrap();
    check_sample(&s);
}

#[test]
fn a_passphrase_is_checked_without_opening_or_writing_even_while_open() {
    let dir = encrypted_home("correct horse");
    let kind = |p| {
        SledStore::check_passphrase_at(dir.path(), p)
            .err()
            .map(|e| e.kind())
    };
    let before = files(dir.path());
    assert_eq!(kind(Some("correct horse")), None);
    assert_eq!(
        kind(Some("wrong horse")),
        Some(StoreErrorKind::WrongPassphrase)
    );
    assert_eq!(kind(None), Some(StoreErrorKind::PassphraseNeeded));
    assert_eq!(files(dir.path()), before, "a check wrote to the home");

    // What a running node needs: the answer while the store is held open.
    let s = SledStore::open_with(dir.path(), Some("correct horse")).unwrap();
    assert_eq!(kind(Some("correct horse")), None);
    assert_eq!(
        kind(Some("wrong horse")),
        Some(StoreErrorKind::WrongPassphrase)
    );
    check_sample(&s);

    let plain = tempfile::tempdir().unwrap();
    let p = SledStore::open(plain.path()).unwrap();
    write_sample(&p);
    SledStore::check_passphrase_at(plain.path(), None).unwrap();
    assert_eq!(
        SledStore::check_passphrase_at(plain.path(), Some("x"))
            .err()
            .map(|e| e.kind()),
        Some(StoreErrorKind::NotEncrypted)
    );
}

#[test]
fn passphrase_change_reseals_everything() {
    let dir = encrypted_home("old pass");
    let current = || fs::read_to_string(dir.path().join("store.current")).unwrap();
    let generation = current();
    let s = SledStore::open_with(dir.path(), Some("old pass")).unwrap();
    s.set_passphrase(Some("new pass")).unwrap();
    check_sample(&s);
    s.append("c-1", "core", b"after-change").unwrap();
    drop(s);
    assert_ne!(current(), generation, "the change is a new generation");

    let err = SledStore::open_with(dir.path(), Some("old pass"))
        .err()
        .unwrap();
    assert_eq!(err.kind(), StoreErrorKind::WrongPassphrase);
    let s = SledStore::open_with(dir.path(), Some("new pass")).unwrap();
    assert_eq!(
        s.load("c-1", "core").unwrap().unwrap(),
        b"core-snapshotafter-change"
    );
    assert_eq!(
        s.get_meta("identity/device-key").unwrap().unwrap(),
        DEVICE_KEY
    );
    drop(s);
    assert!(!any_file_contains(dir.path(), DECISION));
}

#[test]
fn an_unencrypted_store_can_be_encrypted_and_decrypted() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    write_sample(&s);
    drop(s);
    let err = SledStore::open_with(dir.path(), Some("pw")).err().unwrap();
    assert_eq!(
        err.kind(),
        StoreErrorKind::NotEncrypted,
        "a passphrase must not be silently ignored"
    );

    let s = SledStore::open(dir.path()).unwrap();
    assert!(!s.is_encrypted());
    s.set_passphrase(Some("pw")).unwrap();
    assert!(s.is_encrypted());
    drop(s);
    assert!(!any_file_contains(dir.path(), DECISION));
    assert_eq!(
        SledStore::open(dir.path()).err().unwrap().kind(),
        StoreErrorKind::PassphraseNeeded
    );

    let s = SledStore::open_with(dir.path(), Some("pw")).unwrap();
    check_sample(&s);
    s.set_passphrase(None).unwrap();
    drop(s);
    let s = SledStore::open(dir.path()).unwrap();
    check_sample(&s);
}

#[test]
fn reclaim_keeps_an_encrypted_store_encrypted() {
    let dir = encrypted_home("pw");
    let s = SledStore::open_with(dir.path(), Some("pw")).unwrap();
    s.reclaim().unwrap();
    check_sample(&s);
    drop(s);
    assert_eq!(
        SledStore::open(dir.path()).err().unwrap().kind(),
        StoreErrorKind::PassphraseNeeded
    );
    let s = SledStore::open_with(dir.path(), Some("pw")).unwrap();
    check_sample(&s);
}

#[test]
fn an_interrupted_change_leaves_the_old_passphrase_working() {
    let dir = encrypted_home("old pass");
    // What a crash before the swap leaves: a half-made next generation with its own header.
    let next = dir.path().join("store-db-2");
    fs::create_dir(&next).unwrap();
    fs::write(next.join("grove-crypt"), "grove-crypt v1\ngarbage\n").unwrap();
    let s = SledStore::open_with(dir.path(), Some("old pass")).unwrap();
    check_sample(&s);
    assert!(!next.exists(), "the leftover generation is removed");
}

#[test]
fn a_moved_value_is_refused_as_corrupt() {
    let dir = encrypted_home("pw");
    // Copy one sealed meta value over another behind the store's back: each is bound to
    // its key. (Keys are tokens, so pick the two entries that are not the write counter.)
    {
        let current = fs::read_to_string(dir.path().join("store.current")).unwrap();
        let db = sled::open(dir.path().join(current.trim())).unwrap();
        let meta = db.open_tree("meta").unwrap();
        let entries: Vec<_> = meta
            .iter()
            .map(|kv| kv.unwrap())
            .filter(|(k, _)| k.as_ref() != [0xFF])
            .collect();
        assert_eq!(entries.len(), 2);
        meta.insert(&entries[1].0, entries[0].1.clone()).unwrap();
        db.flush().unwrap();
    }
    let s = SledStore::open_with(dir.path(), Some("pw")).unwrap();
    let results = [
        s.get_meta("identity/device-key"),
        s.get_meta("circle/c-1/last-sync/p"),
    ];
    assert!(
        results.iter().any(|r| r.is_ok()),
        "the other value still opens"
    );
    assert!(
        results.iter().any(|r| r
            .as_ref()
            .is_err_and(|e| e.kind() == StoreErrorKind::Corrupt)),
        "the moved value must not open under its new key"
    );
}

#[test]
fn names_in_keys_are_hidden_and_listings_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open_with(dir.path(), Some("pw")).unwrap();
    let circle = "c-secretcircle";
    s.append(circle, "core", b"x").unwrap();
    s.append(circle, "decisions/2026-11", b"y").unwrap();
    s.append("c-other", "core", b"z").unwrap();
    s.put_meta("peers//ip4/203.0.113.9/tcp/4001", b"").unwrap();
    s.put_meta(&format!("circle/{circle}/last-sync/peer-a"), b"1")
        .unwrap();
    s.put_meta(&format!("circle/{circle}/sync/peer-b/x"), b"2")
        .unwrap();
    s.put_meta("circle/c-other/sync/p", b"3").unwrap();

    assert_eq!(s.circles().unwrap(), vec!["c-other", circle]);
    assert_eq!(s.docs(circle).unwrap(), vec!["core", "decisions/2026-11"]);
    let listed: Vec<String> = s
        .meta_with_prefix(&format!("circle/{circle}/"))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        listed,
        vec![
            format!("circle/{circle}/last-sync/peer-a"),
            format!("circle/{circle}/sync/peer-b/x"),
        ]
    );
    // A prefix that ends inside a segment still finds what starts with it.
    assert_eq!(s.meta_with_prefix("circle/c-oth").unwrap().len(), 1);
    assert_eq!(s.meta_with_prefix("peers/").unwrap().len(), 1);
    s.delete_circle("c-other").unwrap();
    assert_eq!(s.circles().unwrap(), vec![circle]);
    assert!(s.meta_with_prefix("circle/c-other/").unwrap().is_empty());

    // Re-sealing under a new passphrase re-tokenises every key.
    s.set_passphrase(Some("pw2")).unwrap();
    assert_eq!(s.docs(circle).unwrap(), vec!["core", "decisions/2026-11"]);
    assert_eq!(s.load(circle, "decisions/2026-11").unwrap().unwrap(), b"y");
    assert_eq!(
        s.get_meta(&format!("circle/{circle}/sync/peer-b/x"))
            .unwrap(),
        Some(b"2".to_vec())
    );
    drop(s);
    for name in [
        &b"secretcircle"[..],
        b"2026-11",
        b"203.0.113.9",
        b"peer-b",
        b"last-sync",
    ] {
        assert!(
            !any_file_contains(dir.path(), name),
            "{} is on disk in the clear",
            String::from_utf8_lossy(name)
        );
    }
    let s = SledStore::open_with(dir.path(), Some("pw2")).unwrap();
    assert_eq!(s.circles().unwrap(), vec![circle]);
    // And decrypting brings the names back into the keys.
    s.set_passphrase(None).unwrap();
    drop(s);
    assert!(any_file_contains(dir.path(), b"secretcircle"));
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.docs(circle).unwrap(), vec!["core", "decisions/2026-11"]);
    assert_eq!(s.meta_with_prefix("peers/").unwrap().len(), 1);
}

/// Paths under `dir` (and `dir` itself) that group or other users may use.
#[cfg(unix)]
fn open_to_others(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut open = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            open.push(format!("{} {:o}", path.display(), mode & 0o7777));
        }
        if meta.is_dir() {
            stack.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    open
}

/// The home is owner-only through everything that writes files: creation, sled's blobs
/// (values over ~128 KiB), rewrites into a new generation, and sealing under a passphrase.
#[cfg(unix)]
#[test]
fn every_file_of_a_home_is_the_owners_alone() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("home");
    let s = SledStore::open(&dir).unwrap();
    write_sample(&s);
    s.append("c-1", "big", &vec![7u8; 512 * 1024]).unwrap();
    assert_eq!(open_to_others(&dir), Vec::<String>::new(), "after writes");
    s.reclaim().unwrap();
    s.set_passphrase(Some("pw")).unwrap();
    drop(s);
    assert_eq!(open_to_others(&dir), Vec::<String>::new(), "after rewrites");
    let s = SledStore::open_with(&dir, Some("pw")).unwrap();
    check_sample(&s);
}
