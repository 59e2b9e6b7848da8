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

/// sled writes a value over ~128 KiB (a month's snapshot, its signatures) to a blob file of
/// its own, and deletes the blob of a replaced value only once the log segment the
/// replacement was written in has filled; closing before then used to leave every such
/// blob behind for good (a seeded 20,000-decision home held twice its data).
#[test]
fn replaced_large_values_leave_no_files_behind_after_a_close() {
    let dir = tempfile::tempdir().unwrap();
    let len = 300 * 1024;
    {
        let s = SledStore::open(dir.path()).unwrap();
        for i in 0..40u32 {
            s.compact("c", "core", &pattern(i, len)).unwrap();
            s.put_meta("circle/c/sigs/core/a", &pattern(i + 100, len))
                .unwrap();
        }
    }
    // Closing again and again must not grow the store either.
    for _ in 0..10 {
        drop(SledStore::open(dir.path()).unwrap());
    }
    let s = SledStore::open(dir.path()).unwrap();
    let size = s.size_on_disk().unwrap();
    // 80 replacements of 300 KiB left ~24 MiB of files behind; sled's log is a few MiB.
    assert!(
        size < 12 << 20,
        "two 300 KiB values must take a few MiB at most, got {size} bytes"
    );
    assert_eq!(s.load("c", "core").unwrap().unwrap(), pattern(39, len));
    assert_eq!(
        s.get_meta("circle/c/sigs/core/a").unwrap().unwrap(),
        pattern(139, len)
    );
}

/// Turning sled's log over costs a few MiB of log; a store that never held a large value
/// (a small circle's) has nothing to give back and must not pay it.
#[test]
fn a_store_of_small_values_stays_small_across_closes() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..10u32 {
        let s = SledStore::open(dir.path()).unwrap();
        for j in 0..20u32 {
            s.append("c", "core", &pattern(i * 100 + j, 2048)).unwrap();
        }
        s.put_meta("circle/c/sigs/core/a", &pattern(i, 4096))
            .unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    let size = s.size_on_disk().unwrap();
    assert!(
        size < 4 << 20,
        "~400 KiB of small values must stay under 4 MiB, got {size} bytes"
    );
}

/// Measuring the live data reads every value (the whole store), so an open records what it
/// measured and trusts that record while the files stay within bounds of it; a record the
/// files outgrew is measured again, and deleting a circle forgets it.
#[test]
fn open_measures_the_live_data_only_when_the_last_measurement_no_longer_holds() {
    let dir = tempfile::tempdir().unwrap();
    let measured = dir.path().join("store.measured");
    let record = || std::fs::read_to_string(&measured).unwrap();
    let live_in = |text: String| -> u64 {
        text.trim()
            .strip_prefix("generation=1 live=")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected record: {text}"))
    };
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.append("d", "core", b"another circle").unwrap();
        for i in 0..72u32 {
            s.append(&format!("c{i}"), "core", &pattern(i, 1 << 20))
                .unwrap();
        }
    }
    let size = {
        let s = SledStore::open(dir.path()).unwrap();
        s.size_on_disk().unwrap()
    };
    assert!(size > RECLAIM_FLOOR, "{size} bytes");
    let live = live_in(record());
    assert!(
        live > 72 << 20 && live < size,
        "the first open past the floor records the live data it measured: {live} of {size}"
    );

    // A record the files are within bounds of is trusted, not measured again.
    std::fs::write(&measured, format!("generation=1 live={size}\n")).unwrap();
    drop(SledStore::open(dir.path()).unwrap());
    assert_eq!(live_in(record()), size, "measured although the record held");

    // One the files outgrew is measured again (and the store, not bloated, is kept).
    std::fs::write(&measured, "generation=1 live=1000\n").unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(live_in(record()), live, "not measured again");
    assert!(!dir.path().join("store-db-2").exists(), "rewritten");

    s.delete_circle("d").unwrap();
    assert!(
        !measured.exists(),
        "deleting a circle must forget the measurement"
    );
}
