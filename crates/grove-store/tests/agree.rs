//! MemStore and SledStore answer every call alike, whatever the sequence of writes, reopens
//! and rewrites.

use grove_store::{circle_meta_prefix, MemStore, SledStore, Store};
use proptest::prelude::*;

const CIRCLES: [&str; 3] = ["a", "ab", "b"];
const DOCS: [&str; 3] = ["core", "decisions", "decisions/2026-11"];

#[derive(Debug, Clone)]
enum Op {
    Append(usize, usize, Vec<u8>),
    Compact(usize, usize, Vec<u8>),
    DeleteCircle(usize),
    PutMeta(String, Vec<u8>),
    DeleteMeta(String),
    /// SledStore only: closes and reopens the files.
    Reopen,
    /// SledStore only: rewrites the database.
    Reclaim,
}

fn meta_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("identity".to_owned()),
        Just("settings/theme".to_owned()),
        (0..CIRCLES.len(), 0..2u8)
            .prop_map(|(c, p)| format!("{}sync/peer{p}", circle_meta_prefix(CIRCLES[c]))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let c = 0..CIRCLES.len();
    let d = 0..DOCS.len();
    let bytes = proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        6 => (c.clone(), d.clone(), bytes.clone()).prop_map(|(c, d, b)| Op::Append(c, d, b)),
        2 => (c.clone(), d, bytes.clone()).prop_map(|(c, d, b)| Op::Compact(c, d, b)),
        1 => c.prop_map(Op::DeleteCircle),
        2 => (meta_key(), bytes).prop_map(|(k, v)| Op::PutMeta(k, v)),
        1 => meta_key().prop_map(Op::DeleteMeta),
        1 => Just(Op::Reopen),
        1 => Just(Op::Reclaim),
    ]
}

/// Everything a caller can observe about a store.
fn observe(s: &dyn Store) -> String {
    let mut seen = format!("circles {:?}\n", s.circles().unwrap());
    for c in CIRCLES {
        seen += &format!("docs {c} {:?}\n", s.docs(c).unwrap());
        for d in DOCS {
            seen += &format!(
                "{c}/{d} {:?} {:?}\n",
                s.load(c, d).unwrap(),
                s.pending(c, d).unwrap()
            );
        }
    }
    seen + &format!("meta {:?}\n", s.meta_with_prefix("").unwrap())
}

fn apply(s: &dyn Store, op: &Op) {
    match op {
        Op::Append(c, d, b) => s.append(CIRCLES[*c], DOCS[*d], b).unwrap(),
        Op::Compact(c, d, b) => s.compact(CIRCLES[*c], DOCS[*d], b).unwrap(),
        Op::DeleteCircle(c) => s.delete_circle(CIRCLES[*c]).unwrap(),
        Op::PutMeta(k, v) => s.put_meta(k, v).unwrap(),
        Op::DeleteMeta(k) => s.delete_meta(k).unwrap(),
        Op::Reopen | Op::Reclaim => {}
    }
}

proptest! {
    // Each case opens real sled files and fsyncs every write; a few dozen cases keep the
    // suite fast while still mixing every operation.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn mem_and_sled_agree(ops in proptest::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let mem = MemStore::new();
        let mut sled = Some(SledStore::open(dir.path()).unwrap());
        for op in &ops {
            match op {
                Op::Reopen => {
                    drop(sled.take());
                    sled = Some(SledStore::open(dir.path()).unwrap());
                }
                Op::Reclaim => {
                    sled.as_ref().unwrap().reclaim().unwrap();
                }
                _ => {
                    apply(&mem, op);
                    apply(sled.as_ref().unwrap(), op);
                }
            }
            prop_assert_eq!(observe(&mem), observe(sled.as_ref().unwrap()), "after {:?}", op);
        }
    }

    /// The same on an encrypted store, where names in keys are tokens; its rewrites also
    /// change the passphrase, which re-tokenises every key.
    #[test]
    fn mem_and_encrypted_sled_agree(ops in proptest::collection::vec(op(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let mem = MemStore::new();
        let mut pass = 0;
        let mut sled = Some(SledStore::open_with(dir.path(), Some("pass-0")).unwrap());
        for op in &ops {
            match op {
                Op::Reopen => {
                    drop(sled.take());
                    let p = format!("pass-{pass}");
                    sled = Some(SledStore::open_with(dir.path(), Some(&p)).unwrap());
                }
                Op::Reclaim => {
                    pass += 1;
                    let p = format!("pass-{pass}");
                    sled.as_ref().unwrap().set_passphrase(Some(&p)).unwrap();
                }
                _ => {
                    apply(&mem, op);
                    apply(sled.as_ref().unwrap(), op);
                }
            }
            prop_assert_eq!(observe(&mem), observe(sled.as_ref().unwrap()), "after {:?}", op);
        }
    }
}
