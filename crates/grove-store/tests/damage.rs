//! Damaged files give a Corrupt error that says what to do, never a panic and never a store
//! that silently opened empty or short.

use std::fs;
use std::path::{Path, PathBuf};

use grove_store::{SledStore, Store, StoreError, StoreErrorKind};

/// A closed store holding a snapshot, 50 chunks and a meta key.
fn closed_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    s.compact("c", "core", &[7u8; 10_000]).unwrap();
    for i in 0..50u32 {
        s.append("c", "core", &i.to_be_bytes().repeat(100)).unwrap();
    }
    s.put_meta("identity", b"me").unwrap();
    dir
}

fn db_file(dir: &Path) -> PathBuf {
    dir.join("store-db-1").join("db")
}

fn assert_corrupt(dir: &Path, what: &str) -> StoreError {
    let err = match SledStore::open(dir) {
        Ok(s) => panic!(
            "{what}: opened anyway, holding {:?} bytes",
            s.load("c", "core").unwrap().map(|b| b.len())
        ),
        Err(e) => e,
    };
    assert_eq!(err.kind(), StoreErrorKind::Corrupt, "{what}: {err}");
    assert!(
        err.to_string().contains("restore it from a backup"),
        "{what}: the message must say what to do: {err}"
    );
    err
}

#[test]
fn garbage_config_file() {
    let dir = closed_store();
    fs::write(dir.path().join("store-db-1/conf"), b"garbage garbage").unwrap();
    assert_corrupt(dir.path(), "garbage conf");
}

#[test]
fn data_file_overwritten_with_garbage() {
    let dir = closed_store();
    fs::write(db_file(dir.path()), vec![0xAB; 4096]).unwrap();
    assert_corrupt(dir.path(), "garbage db");
}

#[test]
fn data_file_with_flipped_bytes() {
    let dir = closed_store();
    let mut bytes = fs::read(db_file(dir.path())).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n / 4..n / 2] {
        *b ^= 0x5a;
    }
    fs::write(db_file(dir.path()), bytes).unwrap();
    assert_corrupt(dir.path(), "flipped bytes");
}

#[test]
fn data_file_truncated() {
    let dir = closed_store();
    let bytes = fs::read(db_file(dir.path())).unwrap();
    fs::write(db_file(dir.path()), &bytes[..bytes.len() / 3]).unwrap();
    let err = assert_corrupt(dir.path(), "truncated db");
    assert!(err.to_string().contains("delete store.seal"), "{err}");
}

#[test]
fn pointer_file_with_garbage() {
    let dir = closed_store();
    fs::write(dir.path().join("store.current"), b"\xff\xfe not a name").unwrap();
    assert_corrupt(dir.path(), "garbage store.current");
}

#[test]
fn removing_the_seal_accepts_an_older_copy_on_purpose() {
    let dir = closed_store();
    let bytes = fs::read(db_file(dir.path())).unwrap();
    fs::write(db_file(dir.path()), &bytes[..bytes.len() / 3]).unwrap();
    assert_corrupt(dir.path(), "truncated db");
    fs::remove_file(dir.path().join("store.seal")).unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let held = s.load("c", "core").unwrap().map_or(0, |b| b.len());
    assert!(held < 10_000 + 50 * 400, "the older copy is what opens");
}
