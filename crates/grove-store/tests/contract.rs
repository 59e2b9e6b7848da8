//! The Store contract, checked on both implementations (SledStore on real files).

use grove_store::{circle_meta_prefix, MemStore, Pending, SledStore, Store, StoreErrorKind};

fn with_each_store(check: impl Fn(&dyn Store)) {
    check(&MemStore::new());
    let dir = tempfile::tempdir().unwrap();
    check(&SledStore::open(dir.path()).unwrap());
    // Sealing every value must not change a single answer.
    let dir = tempfile::tempdir().unwrap();
    check(&SledStore::open_with(dir.path(), Some("contract")).unwrap());
}

#[test]
fn load_returns_snapshot_then_chunks_in_append_order() {
    with_each_store(|s| {
        assert_eq!(s.load("c", "core").unwrap(), None, "nothing stored yet");
        s.append("c", "core", b"one,").unwrap();
        s.append("c", "core", b"two,").unwrap();
        assert_eq!(s.load("c", "core").unwrap().unwrap(), b"one,two,");
        s.compact("c", "core", b"SNAP:").unwrap();
        // More than 255 chunks, so a wrong sequence encoding would reorder them.
        let mut want = b"SNAP:".to_vec();
        for i in 0..300u32 {
            let chunk = i.to_string();
            s.append("c", "core", chunk.as_bytes()).unwrap();
            want.extend_from_slice(chunk.as_bytes());
        }
        assert_eq!(s.load("c", "core").unwrap().unwrap(), want);
    });
}

#[test]
fn compaction_drops_chunks_and_keeps_the_snapshot() {
    with_each_store(|s| {
        s.append("c", "core", b"aa").unwrap();
        s.append("c", "core", b"bbb").unwrap();
        assert_eq!(
            s.pending("c", "core").unwrap(),
            Pending {
                chunks: 2,
                bytes: 5
            }
        );
        s.compact("c", "core", b"aabbb").unwrap();
        assert_eq!(s.pending("c", "core").unwrap(), Pending::default());
        assert_eq!(s.load("c", "core").unwrap().unwrap(), b"aabbb");
        s.append("c", "core", b"c").unwrap();
        assert_eq!(
            s.pending("c", "core").unwrap(),
            Pending {
                chunks: 1,
                bytes: 1
            }
        );
        assert_eq!(s.load("c", "core").unwrap().unwrap(), b"aabbbc");
    });
}

#[test]
fn an_empty_snapshot_still_makes_a_document() {
    with_each_store(|s| {
        s.compact("c", "core", b"").unwrap();
        assert_eq!(s.load("c", "core").unwrap(), Some(Vec::new()));
        assert_eq!(s.docs("c").unwrap(), ["core"]);
    });
}

#[test]
fn lists_circles_and_docs_sorted_without_mixing_similar_names() {
    with_each_store(|s| {
        for (c, d) in [
            ("b", "core"),
            ("a", "decisions/2026-11"),
            ("a", "core"),
            ("a", "decisions"),
            ("ab", "core"),
        ] {
            s.append(c, d, b"x").unwrap();
            s.append(c, d, b"y").unwrap();
        }
        assert_eq!(s.circles().unwrap(), ["a", "ab", "b"]);
        assert_eq!(
            s.docs("a").unwrap(),
            ["core", "decisions", "decisions/2026-11"]
        );
        assert_eq!(s.docs("ab").unwrap(), ["core"]);
        assert!(s.docs("zz").unwrap().is_empty());
        assert_eq!(s.load("a", "decisions").unwrap().unwrap(), b"xy");
    });
}

#[test]
fn delete_circle_removes_its_docs_and_meta_only() {
    with_each_store(|s| {
        s.append("a", "core", b"1").unwrap();
        s.compact("a", "decisions", b"2").unwrap();
        s.append("b", "core", b"3").unwrap();
        let a_sync = format!("{}sync/peer1", circle_meta_prefix("a"));
        let b_sync = format!("{}sync/peer1", circle_meta_prefix("b"));
        s.put_meta(&a_sync, b"sa").unwrap();
        s.put_meta(&b_sync, b"sb").unwrap();
        s.put_meta("identity", b"me").unwrap();

        s.delete_circle("a").unwrap();

        assert_eq!(s.circles().unwrap(), ["b"]);
        assert_eq!(s.load("a", "core").unwrap(), None);
        assert_eq!(s.pending("a", "core").unwrap(), Pending::default());
        assert_eq!(s.get_meta(&a_sync).unwrap(), None);
        assert_eq!(s.get_meta(&b_sync).unwrap().unwrap(), b"sb");
        assert_eq!(s.get_meta("identity").unwrap().unwrap(), b"me");
        assert_eq!(s.load("b", "core").unwrap().unwrap(), b"3");
    });
}

#[test]
fn meta_roundtrip_and_prefix_listing() {
    with_each_store(|s| {
        assert_eq!(s.get_meta("k").unwrap(), None);
        s.put_meta("sync/b", b"2").unwrap();
        s.put_meta("sync/a", b"1").unwrap();
        s.put_meta("sync", b"0").unwrap();
        s.put_meta("synd", b"x").unwrap();
        s.put_meta("settings/theme", b"dark").unwrap();
        s.put_meta("sync/a", b"1b").unwrap();
        assert_eq!(
            s.meta_with_prefix("sync/").unwrap(),
            [
                ("sync/a".to_owned(), b"1b".to_vec()),
                ("sync/b".to_owned(), b"2".to_vec())
            ]
        );
        assert_eq!(s.meta_with_prefix("").unwrap().len(), 5);
        s.delete_meta("sync/a").unwrap();
        s.delete_meta("never-written").unwrap();
        assert_eq!(s.get_meta("sync/a").unwrap(), None);
        assert_eq!(s.meta_with_prefix("sync/").unwrap().len(), 1);
    });
}

#[test]
fn invalid_names_are_refused_with_a_clear_error() {
    with_each_store(|s| {
        let err = s.append("c", "bad\0doc", b"x").unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidName);
        assert!(err.to_string().contains("NUL"), "{err}");
        assert_eq!(
            s.compact("", "core", b"x").unwrap_err().kind(),
            StoreErrorKind::InvalidName
        );
        assert_eq!(
            s.load("a/b", "core").unwrap_err().kind(),
            StoreErrorKind::InvalidName
        );
        assert_eq!(
            s.put_meta("", b"x").unwrap_err().kind(),
            StoreErrorKind::InvalidName
        );
        assert!(
            s.circles().unwrap().is_empty(),
            "a refused write must store nothing"
        );
    });
}

#[test]
fn sled_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.compact("c", "core", b"snap").unwrap();
        s.append("c", "core", b"+1").unwrap();
        s.put_meta("identity", b"me").unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.load("c", "core").unwrap().unwrap(), b"snap+1");
    assert_eq!(
        s.pending("c", "core").unwrap(),
        Pending {
            chunks: 1,
            bytes: 2
        }
    );
    assert_eq!(s.get_meta("identity").unwrap().unwrap(), b"me");
    assert!(s.size_on_disk().unwrap() > 0);
}

#[test]
fn second_open_of_the_same_dir_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SledStore::open(dir.path()).unwrap();
    let err = SledStore::open(dir.path()).err().unwrap();
    assert_eq!(err.kind(), StoreErrorKind::Locked);
    assert!(
        err.to_string().contains("in use by another grove process"),
        "the message must say what to do: {err}"
    );
}

#[test]
fn reclaim_keeps_data_and_can_run_repeatedly() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    s.compact("c", "core", b"snap").unwrap();
    s.append("c", "core", b"+1").unwrap();
    s.put_meta("k", b"v").unwrap();
    s.reclaim().unwrap();
    s.append("c", "core", b"+2").unwrap();
    s.reclaim().unwrap();
    assert_eq!(s.load("c", "core").unwrap().unwrap(), b"snap+1+2");
    assert_eq!(s.get_meta("k").unwrap().unwrap(), b"v");
    drop(s);
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.load("c", "core").unwrap().unwrap(), b"snap+1+2");
    assert_eq!(
        s.pending("c", "core").unwrap(),
        Pending {
            chunks: 2,
            bytes: 4
        }
    );
    let dbs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("store-db-"))
        .collect();
    assert_eq!(
        dbs,
        ["store-db-3"],
        "old databases must be removed after a swap"
    );
}

#[test]
fn a_chunk_and_its_metadata_are_written_together_or_not_at_all() {
    with_each_store(|s| {
        s.append_with_meta(
            "c",
            "core",
            b"one,",
            &[("c/sigs/1", b"s1"), ("c/sigs/2", b"s2")],
        )
        .unwrap();
        assert_eq!(s.load("c", "core").unwrap().unwrap(), b"one,");
        assert_eq!(s.get_meta("c/sigs/1").unwrap().unwrap(), b"s1");
        assert_eq!(s.get_meta("c/sigs/2").unwrap().unwrap(), b"s2");
        // A bad metadata key refuses the whole write: the chunk is not appended either.
        let err = s
            .append_with_meta("c", "core", b"two,", &[("", b"x")])
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidName);
        assert_eq!(s.load("c", "core").unwrap().unwrap(), b"one,");
        // So does a bad document name: the metadata is not written either.
        let err = s
            .append_with_meta("c", "", b"two,", &[("c/sigs/3", b"s3")])
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidName);
        assert_eq!(s.get_meta("c/sigs/3").unwrap(), None);
        // Without metadata it is a plain append.
        s.append_with_meta("c", "core", b"two,", &[]).unwrap();
        assert_eq!(s.load("c", "core").unwrap().unwrap(), b"one,two,");
    });
}

#[test]
fn lazily_written_metadata_reads_back_at_once_and_after_a_clean_close() {
    with_each_store(|s| {
        s.put_meta_lazily("sync/peer/core", b"state-1").unwrap();
        assert_eq!(s.get_meta("sync/peer/core").unwrap().unwrap(), b"state-1");
        s.put_meta_lazily("sync/peer/core", b"state-2").unwrap();
        assert_eq!(s.get_meta("sync/peer/core").unwrap().unwrap(), b"state-2");
        assert_eq!(
            s.put_meta_lazily("", b"x").unwrap_err().kind(),
            StoreErrorKind::InvalidName
        );
    });
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.put_meta_lazily("sync/peer/core", b"kept").unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.get_meta("sync/peer/core").unwrap().unwrap(), b"kept");
}
