//! Acknowledged writes survive kill -9: a child process (this test binary, re-executed)
//! appends and compacts, reporting each acknowledged append; the parent kills it mid-write
//! and checks the store.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use grove_store::{SledStore, Store, StoreErrorKind};

const DIR_ENV: &str = "GROVE_STORE_CRASH_DIR";
/// When set, the child also rewrites the database (reclaim) after every this many appends.
const RECLAIM_ENV: &str = "GROVE_STORE_CRASH_RECLAIM_EVERY";
/// When set, the store is encrypted and the child changes its passphrase (to `pass-K`,
/// K = 1, 2, …) after every this many appends.
const REKEY_ENV: &str = "GROVE_STORE_CRASH_REKEY_EVERY";
const CHILD: &str = "crash_child";
/// Appends acknowledged before the kill; enough to span several compactions.
const KILL_AFTER: u64 = 150;
const COMPACT_EVERY: u64 = 40;

/// Varying lengths so a chunk cut short or run together with its neighbour shows.
fn chunk(n: u64) -> Vec<u8> {
    let mut c = format!("<{n}:").into_bytes();
    c.extend((0..(n % 97) * 13).map(|i| (i as u8) ^ (n as u8)));
    c.push(b'>');
    c
}

fn expected(count: u64) -> Vec<u8> {
    (0..count).flat_map(chunk).collect()
}

#[test]
#[ignore = "run by the kill -9 tests below as their child process"]
fn crash_child() {
    // Run on its own (e.g. `--include-ignored`) it has no parent and nothing to do.
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let reclaim_every: Option<u64> = std::env::var(RECLAIM_ENV).ok().map(|n| n.parse().unwrap());
    let rekey_every: Option<u64> = std::env::var(REKEY_ENV).ok().map(|n| n.parse().unwrap());
    let store = SledStore::open_with(Path::new(&dir), rekey_every.map(|_| "pass-0")).unwrap();
    let mut rekeyed = 0;
    let mut out = std::io::stdout().lock();
    let mut written = Vec::new();
    // Runs until killed; the bound only stops a child whose parent has died.
    for n in 0..100_000u64 {
        let c = chunk(n);
        // Every other chunk travels with metadata of its own (as a chunk of changes does
        // with their signatures): both durable at once.
        if n % 2 == 1 {
            let key = format!("sigs/{n}");
            store
                .append_with_meta("circle", "core", &c, &[(key.as_str(), &c)])
                .unwrap();
        } else {
            store.append("circle", "core", &c).unwrap();
        }
        // Lazily written: may be lost in the kill, and must not take anything with it.
        store
            .put_meta_lazily("last-sync", n.to_string().as_bytes())
            .unwrap();
        written.extend_from_slice(&c);
        writeln!(out, "acked {n}").unwrap();
        out.flush().unwrap();
        if n % COMPACT_EVERY == COMPACT_EVERY - 1 {
            // The snapshot equals what load would return, as an Automerge save() would.
            store.compact("circle", "core", &written).unwrap();
            store
                .put_meta("compacted-through", n.to_string().as_bytes())
                .unwrap();
        }
        if reclaim_every.is_some_and(|every| n % every == 0) {
            store.reclaim().unwrap();
        }
        if rekey_every.is_some_and(|every| n % every == every - 1) {
            rekeyed += 1;
            store
                .set_passphrase(Some(&format!("pass-{rekeyed}")))
                .unwrap();
            writeln!(out, "rekeyed {rekeyed}").unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    kill_child_and_check(None);
}

/// A passphrase change killed at any point leaves the store whole under the last
/// acknowledged passphrase or the one being set, never neither.
#[test]
fn acknowledged_writes_survive_kill_9_during_passphrase_changes() {
    kill_child_and_check(Some(Mode::Rekey(15)));
}

/// A process killed between rewrites leaves a store that opens with every acked write; each
/// step inside a rewrite is covered by tests/swap.rs, which builds those states directly.
#[test]
fn acknowledged_writes_survive_kill_9_during_rewrites() {
    kill_child_and_check(Some(Mode::Reclaim(10)));
}

enum Mode {
    Reclaim(u64),
    Rekey(u64),
}

fn kill_child_and_check(mode: Option<Mode>) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(exe);
    let rekeying = matches!(mode, Some(Mode::Rekey(_)));
    match mode {
        Some(Mode::Reclaim(every)) => {
            command.env(RECLAIM_ENV, every.to_string());
        }
        Some(Mode::Rekey(every)) => {
            command.env(REKEY_ENV, every.to_string());
        }
        None => {}
    }
    let mut child = command
        .args([
            "--exact",
            CHILD,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();

    let mut last_acked = None;
    let mut rekeyed = 0u64;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(k) = line.strip_prefix("rekeyed ") {
            rekeyed = k.parse().unwrap();
            continue;
        }
        let Some(n) = line.strip_prefix("acked ") else {
            continue; // the test harness's own output
        };
        let n: u64 = n.parse().unwrap();
        if last_acked.is_none() {
            let err = SledStore::open(dir.path()).err().unwrap();
            assert_eq!(
                err.kind(),
                StoreErrorKind::Locked,
                "a second process must not open a store in use: {err}"
            );
        }
        last_acked = Some(n);
        if n >= KILL_AFTER {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush, no seal
    let status = child.wait().unwrap();
    // The child kept writing between our last read and the kill: what it acknowledged in
    // that gap still sits in the pipe, and those acks count too.
    for line in lines {
        let line = line.unwrap();
        if let Some(k) = line.strip_prefix("rekeyed ") {
            rekeyed = k.parse().unwrap();
        } else if let Some(n) = line.strip_prefix("acked ") {
            last_acked = Some(n.parse().unwrap());
        }
    }
    let last_acked = last_acked.expect("the child acknowledged nothing; see its stderr above");
    assert!(
        last_acked >= KILL_AFTER,
        "the child stopped early ({status}) after acking {last_acked}; see its stderr above"
    );

    let store = if rekeying {
        let acked = format!("pass-{rekeyed}");
        match SledStore::open_with(dir.path(), Some(&acked)) {
            Ok(store) => store,
            Err(e) if e.kind() == StoreErrorKind::WrongPassphrase => {
                SledStore::open_with(dir.path(), Some(&format!("pass-{}", rekeyed + 1)))
                    .unwrap_or_else(|e| {
                        panic!("neither pass-{rekeyed} nor the next one opens the store: {e}")
                    })
            }
            Err(e) => panic!("the store does not open after a killed passphrase change: {e}"),
        }
    } else {
        SledStore::open(dir.path()).unwrap()
    };
    let bytes = store.load("circle", "core").unwrap().unwrap();
    // The append after the last ack may or may not have landed; anything else is loss or
    // corruption.
    let acked = last_acked + 1;
    let landed = [acked, acked + 1]
        .into_iter()
        .find(|&count| bytes == expected(count));
    assert!(
        landed.is_some(),
        "after acking chunks 0..={last_acked} the store holds {} bytes, which is not the \
         first {acked} or {} chunks intact",
        bytes.len(),
        acked + 1
    );
    // A chunk that landed has the metadata written with it, acknowledged or not.
    let count = landed.unwrap_or_default();
    for n in (1..count).step_by(2) {
        assert_eq!(
            store.get_meta(&format!("sigs/{n}")).unwrap(),
            Some(chunk(n)),
            "chunk {n} landed without the metadata written with it"
        );
    }
    let compacted = store.get_meta("compacted-through").unwrap().unwrap();
    let compacted: u64 = String::from_utf8(compacted).unwrap().parse().unwrap();
    assert!(
        compacted + COMPACT_EVERY >= last_acked,
        "the last acknowledged compaction marker ({compacted}) must survive"
    );
    let dbs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("store-db-")
        })
        .count();
    assert_eq!(
        dbs, 1,
        "open must clear what an interrupted rewrite left behind"
    );
}
