//! Every state a crash can leave in the middle of a rewrite (reclaim) opens as the old or the
//! new database, whole. The states are built by copying real store directories taken before
//! and after a rewrite, so each step of the swap is covered deterministically.

use std::fs;
use std::path::Path;

use grove_store::{SledStore, Store};

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("store-db-") || n.ends_with(".tmp"))
        .collect();
    names.sort();
    names
}

/// Directories of the same store before a rewrite (db 1 holds "old") and after it (db 2
/// holds "old+new", written after the rewrite so the two are told apart).
struct Fixture {
    before: tempfile::TempDir,
    after: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let before = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(before.path()).unwrap();
        s.append("c", "core", b"old").unwrap();
    }
    let after = tempfile::tempdir().unwrap();
    copy_dir(before.path(), after.path());
    {
        let s = SledStore::open(after.path()).unwrap();
        s.reclaim().unwrap();
        s.append("c", "core", b"+new").unwrap();
    }
    assert_eq!(
        entries(after.path()),
        ["store-db-2"],
        "the fixture's rewrite must have run"
    );
    Fixture { before, after }
}

fn open_and_load(dir: &Path) -> Vec<u8> {
    let s = SledStore::open(dir).unwrap();
    s.load("c", "core").unwrap().unwrap()
}

#[test]
fn crash_while_building_the_new_database_keeps_the_old() {
    let f = fixture();
    // A half-written database: sled's files cut short.
    copy_dir(
        &f.after.path().join("store-db-2"),
        &f.before.path().join("store-db-2"),
    );
    let db = f.before.path().join("store-db-2/db");
    let len = fs::metadata(&db).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    assert_eq!(open_and_load(f.before.path()), b"old");
    assert_eq!(
        entries(f.before.path()),
        ["store-db-1"],
        "the partial rewrite is removed"
    );
}

#[test]
fn crash_before_the_pointer_rename_keeps_the_old() {
    let f = fixture();
    // The new database is complete and the new pointer written, but not yet renamed.
    copy_dir(
        &f.after.path().join("store-db-2"),
        &f.before.path().join("store-db-2"),
    );
    fs::write(f.before.path().join("store.current.tmp"), "store-db-2\n").unwrap();

    assert_eq!(open_and_load(f.before.path()), b"old");
    assert_eq!(entries(f.before.path()), ["store-db-1"]);
}

#[test]
fn crash_after_the_pointer_rename_keeps_the_new() {
    let f = fixture();
    // The pointer names the new database; the old one was not removed yet.
    copy_dir(
        &f.before.path().join("store-db-1"),
        &f.after.path().join("store-db-1"),
    );

    assert_eq!(open_and_load(f.after.path()), b"old+new");
    assert_eq!(entries(f.after.path()), ["store-db-2"]);
}

#[test]
fn crash_before_the_first_pointer_is_written_adopts_the_first_database() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.compact("c", "core", b"x").unwrap();
    }
    fs::remove_file(dir.path().join("store.current")).unwrap();
    assert_eq!(
        open_and_load(dir.path()),
        b"x",
        "nothing may be thrown away"
    );
}
