//! sled keeps the space of compacted chunks; opening the store must give it back.

use grove_store::{Pending, SledStore, Store, RECLAIM_FLOOR};

fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed) as u8)
        .collect()
}

#[test]
fn open_rewrites_a_bloated_store_and_keeps_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = pattern(7, 1 << 20);
    let bloated = {
        let s = SledStore::open(dir.path()).unwrap();
        // ~38 MiB in chunks under sled's blob threshold (~128 KiB): they land in its log,
        // whose space sled never gives back. sled writes more than twice that to disk.
        let chunk_len = 120 * 1024;
        for i in 0..320u32 {
            s.append("c", "core", &pattern(i, chunk_len)).unwrap();
        }
        s.compact("c", "core", &snapshot).unwrap();
        s.append("c", "core", b"tail").unwrap();
        s.put_meta("identity", b"me").unwrap();
        s.size_on_disk().unwrap()
    };
    assert!(
        bloated > RECLAIM_FLOOR,
        "the setup must bloat the store past the floor to test anything ({bloated} bytes)"
    );

    let s = SledStore::open(dir.path()).unwrap();
    let after = s.size_on_disk().unwrap();
    eprintln!("size on disk: {bloated} -> {after}");
    assert!(
        after < 16 << 20,
        "a store holding ~1 MiB must shrink to a few MiB, got {after} (was {bloated})"
    );
    let mut want = snapshot;
    want.extend_from_slice(b"tail");
    assert_eq!(s.load("c", "core").unwrap().unwrap(), want);
    assert_eq!(
        s.pending("c", "core").unwrap(),
        Pending {
            chunks: 1,
            bytes: 4
        }
    );
    assert_eq!(s.get_meta("identity").unwrap().unwrap(), b"me");
    drop(s);

    // The rewritten store is sealed and reopens like any other.
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.load("c", "core").unwrap().unwrap().len(), (1 << 20) + 4);
}

#[test]
fn a_small_store_is_not_rewritten_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.append("c", "core", b"x").unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        s.reclaim_if_bloated().unwrap(),
        None,
        "below the floor nothing is rewritten"
    );
    assert!(dir.path().join("store-db-1").exists());
}
