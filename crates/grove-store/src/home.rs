//! The store's files inside the directory it is given, and the pointer swap that lets a
//! rewritten database replace the old one atomically.
//!
//! ```text
//! DIR/store.lock      held (flock) for as long as a SledStore is open
//! DIR/store.current   "store-db-N\n": the one live database; replaced by rename
//! DIR/store-db-N/     the live sled database
//! DIR/store-db-M/     M != N: a rewrite that crashed before or after the swap; removed on open
//! DIR/store.seal      write counts at the last clean close (see `Seal`)
//! ```
//!
//! A rewrite builds `store-db-(N+1)` completely, syncs it, then renames a new pointer file
//! over `store.current`. The rename is the commit point: a crash before it leaves the pointer
//! on the old database, a crash after it on the new one, and each is whole. This is the
//! CURRENT-file scheme of LevelDB; swapping directories by renaming them instead would need
//! sled to be closed, and sled may keep its files (and their lock) open from background
//! threads for a while after the Db is dropped.
//!
//! The names start with "store" so the directory can be shared with other files of the
//! Grove home; only these entries are ever touched or counted.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::{perms, StoreError};

const LOCK: &str = "store.lock";
const CURRENT: &str = "store.current";
const CURRENT_TMP: &str = "store.current.tmp";
const DB_PREFIX: &str = "store-db-";
const SEAL: &str = "store.seal";
const SEAL_TMP: &str = "store.seal.tmp";
const MEASURED: &str = "store.measured";
const MEASURED_TMP: &str = "store.measured.tmp";
/// The store's own small files (store.current, store.seal, an encryption header) are a line
/// or a few; anything larger is damage, and is not read whole.
pub(crate) const MAX_SMALL_FILE: u64 = 64 * 1024;

/// How many writes each tree had received when the store was last closed cleanly.
///
/// sled cannot tell a torn write from damage: on reopen it silently drops everything from
/// the first bad checksum on, down to an empty database. Every write bumps a counter in its
/// tree, and every write is flushed before it is acknowledged, so a database whose counters
/// are below the seal has lost acknowledged writes: that is corruption, not a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seal {
    pub docs: u64,
    pub meta: u64,
}

pub(crate) struct Home {
    dir: PathBuf,
    /// Held, never read: the flock lives as long as this file handle.
    _lock: File,
}

/// Which database to open, decided from what a previous run left behind.
pub(crate) struct Resolved {
    pub generation: u64,
    /// The pointer file does not exist yet and must be written once the database is open.
    pub fresh: bool,
}

impl Home {
    /// Creates the directory if needed (owner-only), takes the exclusive lock, and takes
    /// group and other permissions off the directory and the store's entries.
    pub fn lock(dir: &Path) -> Result<Home, StoreError> {
        perms::create_dir(dir).map_err(|e| StoreError::io(dir, "creating the directory", e))?;
        let file = perms::open_file(
            File::options().create(true).truncate(false).write(true),
            &dir.join(LOCK),
        )
        .map_err(|e| StoreError::io(dir, "opening the lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                })
            }
            Err(TryLockError::Error(e)) => {
                return Err(StoreError::io(dir, "locking the directory", e))
            }
        }
        make_private(dir);
        Ok(Home {
            dir: dir.to_path_buf(),
            _lock: file,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn db_path(&self, generation: u64) -> PathBuf {
        db_path(&self.dir, generation)
    }

    /// Finds the live database and removes what an interrupted rewrite left behind.
    pub fn resolve(&self) -> Result<Resolved, StoreError> {
        let others = self.db_generations()?;
        let current = match read_small(&self.dir.join(CURRENT)) {
            Ok(bytes) => Some(self.parse_current(&bytes)?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
                return Err(StoreError::corrupt(&self.dir, e.to_string()))
            }
            Err(e) => return Err(self.io("reading store.current", e)),
        };
        let resolved = match current {
            Some(generation) => {
                if !others.contains(&generation) {
                    return Err(StoreError::corrupt(
                        &self.dir,
                        format!("store.current names {DB_PREFIX}{generation}, which is missing"),
                    ));
                }
                Resolved {
                    generation,
                    fresh: false,
                }
            }
            // The pointer is written right after the first database is created and before
            // anything is acknowledged, so without it only that first database can exist.
            None if others.iter().all(|&g| g == 1) => Resolved {
                generation: 1,
                fresh: true,
            },
            None => {
                return Err(StoreError::corrupt(
                    &self.dir,
                    "store.current is missing but databases exist",
                ))
            }
        };
        for generation in others.into_iter().filter(|&g| g != resolved.generation) {
            tracing::info!(generation, dir = %self.dir.display(), "removing a database left by an interrupted rewrite");
            self.remove_db(generation);
        }
        // Left only by a crash before the rename; the rename never happened, so it is stale.
        match fs::remove_file(self.dir.join(CURRENT_TMP)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(error = %e, "could not remove store.current.tmp");
            }
            _ => {}
        }
        Ok(resolved)
    }

    /// The generation store.current names, without touching anything (unlike `resolve`).
    pub fn peek_current(&self) -> Result<Option<u64>, StoreError> {
        peek_current(&self.dir)
    }

    fn parse_current(&self, bytes: &[u8]) -> Result<u64, StoreError> {
        parse_current(&self.dir, bytes)
    }

    fn db_generations(&self) -> Result<Vec<u64>, StoreError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| self.io("listing the directory", e))?;
        let mut generations = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io("listing the directory", e))?;
            let name = entry.file_name();
            if let Some(n) = name.to_str().and_then(|n| n.strip_prefix(DB_PREFIX)) {
                if let Ok(generation) = n.parse() {
                    generations.push(generation);
                }
            }
        }
        Ok(generations)
    }

    /// Points store.current at `generation`. Returns Ok once the rename is done, since from
    /// then on the new database is the live one whether or not the directory sync succeeds.
    pub fn set_current(&self, generation: u64) -> Result<(), StoreError> {
        let tmp = self.dir.join(CURRENT_TMP);
        let write = || -> io::Result<()> {
            let mut f = perms::create_file(&tmp)?;
            writeln!(f, "{DB_PREFIX}{generation}")?;
            f.sync_all()
        };
        write().map_err(|e| self.io("writing store.current.tmp", e))?;
        fs::rename(&tmp, self.dir.join(CURRENT))
            .map_err(|e| self.io("replacing store.current", e))?;
        if let Err(e) = sync_dir(&self.dir) {
            tracing::warn!(error = %e, dir = %self.dir.display(), "could not sync the directory after the swap");
        }
        Ok(())
    }

    /// None when no clean close was recorded; an unreadable seal only costs the check.
    pub fn read_seal(&self) -> Option<Seal> {
        let text = match read_small(&self.dir.join(SEAL)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read store.seal; skipping the check for lost writes");
                return None;
            }
        };
        let mut fields = text.split_whitespace();
        let mut next = |name: &str| {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|n| n.parse().ok())
        };
        match (next("docs="), next("meta=")) {
            (Some(docs), Some(meta)) => Some(Seal { docs, meta }),
            _ => {
                tracing::warn!(
                    text,
                    "store.seal is malformed; skipping the check for lost writes"
                );
                None
            }
        }
    }

    pub fn write_seal(&self, seal: Seal) -> io::Result<()> {
        let tmp = self.dir.join(SEAL_TMP);
        let mut f = perms::create_file(&tmp)?;
        writeln!(f, "docs={} meta={}", seal.docs, seal.meta)?;
        f.sync_all()?;
        fs::rename(&tmp, self.dir.join(SEAL))?;
        sync_dir(&self.dir)
    }

    /// The live bytes last measured in database `generation`, if recorded for it; anything
    /// unreadable only costs a measurement.
    pub fn read_measured(&self, generation: u64) -> Option<u64> {
        let bytes = read_small(&self.dir.join(MEASURED)).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let mut fields = text.split_whitespace();
        let mut next = |name: &str| -> Option<u64> {
            fields
                .next()
                .and_then(|f| f.strip_prefix(name))
                .and_then(|n| n.parse().ok())
        };
        match (next("generation="), next("live=")) {
            (Some(g), Some(live)) if g == generation => Some(live),
            _ => None,
        }
    }

    /// Records the live bytes measured in database `generation`. Not synced: losing it
    /// costs one measurement.
    pub fn write_measured(&self, generation: u64, live: u64) -> io::Result<()> {
        let tmp = self.dir.join(MEASURED_TMP);
        let mut f = perms::create_file(&tmp)?;
        writeln!(f, "generation={generation} live={live}")?;
        fs::rename(&tmp, self.dir.join(MEASURED))
    }

    /// Forgets the measurement: the live data shrank by more than chunks compacted.
    pub fn forget_measured(&self) {
        match fs::remove_file(self.dir.join(MEASURED)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(error = %e, "could not remove store.measured");
            }
            _ => {}
        }
    }

    /// Syncs every file and directory of a database, and the entry naming it, so the pointer
    /// never points at a database whose files are not all on disk.
    pub fn sync_db(&self, generation: u64) -> Result<(), StoreError> {
        sync_tree(&self.db_path(generation))
            .and_then(|()| sync_dir(&self.dir))
            .map_err(|e| self.io("syncing the rewritten database", e))
    }

    /// Best effort: a leftover costs disk space until the next open, never correctness.
    pub fn remove_db(&self, generation: u64) {
        let path = self.db_path(generation);
        match fs::remove_dir_all(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                tracing::warn!(error = %e, path = %path.display(), "could not remove an old database; it will be retried on the next open");
            }
            _ => {}
        }
    }

    /// Bytes allocated on disk to the store's own entries in the directory.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| self.io("measuring disk use", e))?;
        let mut total = 0;
        for entry in entries {
            let entry = entry.map_err(|e| self.io("measuring disk use", e))?;
            if entry.file_name().to_string_lossy().starts_with("store") {
                total += disk_usage(&entry.path()).map_err(|e| self.io("measuring disk use", e))?;
            }
        }
        Ok(total)
    }

    fn io(&self, doing: &'static str, e: io::Error) -> StoreError {
        StoreError::io(&self.dir, doing, e)
    }
}

/// Takes group and other permissions off the home directory and the store's entries in it
/// (a home made by an older Grove, or copied, may be readable by every user), and says so:
/// whoever could read it may already hold a copy. A failure costs privacy, not data, so it
/// is reported and the store opens anyway.
fn make_private(dir: &Path) {
    let mut done = perms::Tightened::default();
    perms::tighten_one(dir, &mut done);
    match fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with("store") {
                    perms::tighten(&entry.path(), &mut done);
                }
            }
        }
        Err(e) => {
            done.stuck.get_or_insert((dir.to_path_buf(), e));
        }
    }
    if done.fixed > 0 {
        tracing::warn!(
            dir = %dir.display(),
            entries = done.fixed,
            "the Grove home was readable by other users of this machine; its permissions now \
             let only you in (anyone who could read it before may hold a copy)"
        );
    }
    if let Some((path, e)) = done.stuck {
        tracing::warn!(
            path = %path.display(),
            error = %e,
            "cannot take other users' permissions off the Grove home; keep it on a disk \
             with Unix permissions, or encrypt it with a passphrase"
        );
    }
}

/// Reads one of the store's small files whole, failing with `FileTooLarge` past
/// [`MAX_SMALL_FILE`] instead of reading whatever a damaged or swapped file holds.
pub(crate) fn read_small(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    File::open(path)?
        .take(MAX_SMALL_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SMALL_FILE {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "{} is larger than the {} KiB it may be",
                path.display(),
                MAX_SMALL_FILE / 1024
            ),
        ));
    }
    Ok(bytes)
}

/// Files may vanish while sled cleans up behind us; those count as zero.
fn disk_usage(path: &Path) -> io::Result<u64> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut total = allocated(&meta);
    if meta.is_dir() {
        for entry in fs::read_dir(path)? {
            total += disk_usage(&entry?.path())?;
        }
    }
    Ok(total)
}

/// Allocated blocks rather than length: what `du` shows and what the disk actually loses.
#[cfg(unix)]
fn allocated(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks() * 512
}

#[cfg(not(unix))]
fn allocated(meta: &fs::Metadata) -> u64 {
    meta.len()
}

/// Syncs the blob files (values and pages over ~128 KiB) not in `synced`, then their
/// directory, and forgets blobs sled has deleted. sled may delete one while we list them.
pub(crate) fn sync_blobs(dir: &Path, synced: &mut HashSet<OsString>) -> io::Result<()> {
    let mut present = HashSet::with_capacity(synced.len());
    let mut new = false;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !synced.contains(&name) {
            // sled made the blob with the default mode; the home is 0700 anyway, but its
            // files are the owner's alone too.
            let sync = |f: File| perms::restrict(&f).and_then(|()| f.sync_data());
            match File::open(entry.path()).and_then(sync) {
                Ok(()) => new = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        present.insert(name);
    }
    *synced = present;
    if new {
        sync_dir(dir)?;
    }
    Ok(())
}

fn sync_tree(path: &Path) -> io::Result<()> {
    if fs::metadata(path)?.is_dir() {
        for entry in fs::read_dir(path)? {
            sync_tree(&entry?.path())?;
        }
        sync_dir(path)
    } else {
        File::open(path)?.sync_all()
    }
}

#[cfg(unix)]
fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

/// Windows cannot open a directory as a file; NTFS journals renames itself.
#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// The generation `dir`'s store.current names, read without taking the lock: for looking at
/// a store another handle in this process holds open.
pub(crate) fn peek_current(dir: &Path) -> Result<Option<u64>, StoreError> {
    match read_small(&dir.join(CURRENT)) {
        Ok(bytes) => parse_current(dir, &bytes).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            Err(StoreError::corrupt(dir, e.to_string()))
        }
        Err(e) => Err(StoreError::io(dir, "reading store.current", e)),
    }
}

fn parse_current(dir: &Path, bytes: &[u8]) -> Result<u64, StoreError> {
    let text = String::from_utf8_lossy(bytes);
    text.trim_end()
        .strip_prefix(DB_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            StoreError::corrupt(
                dir,
                format!("store.current holds {text:?} instead of a database name"),
            )
        })
}

/// The directory of database `generation` inside `dir`.
pub(crate) fn db_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{DB_PREFIX}{generation}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreErrorKind;

    #[test]
    fn second_lock_in_the_same_process_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Home::lock(dir.path()).unwrap();
        let err = Home::lock(dir.path()).err().unwrap();
        assert_eq!(err.kind(), StoreErrorKind::Locked, "flock is per open file");
    }

    #[test]
    fn resolve_keeps_the_current_database_and_drops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::lock(dir.path()).unwrap();
        for g in [3, 4, 5] {
            fs::create_dir(home.db_path(g)).unwrap();
        }
        fs::write(dir.path().join(CURRENT_TMP), "store-db-5\n").unwrap();
        home.set_current(4).unwrap();
        let r = home.resolve().unwrap();
        assert_eq!((r.generation, r.fresh), (4, false));
        assert!(home.db_path(4).exists());
        assert!(!home.db_path(3).exists() && !home.db_path(5).exists());
        assert!(!dir.path().join(CURRENT_TMP).exists());
    }

    #[test]
    fn missing_pointer_with_only_the_first_database_adopts_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::lock(dir.path()).unwrap();
        fs::create_dir(home.db_path(1)).unwrap();
        let r = home.resolve().unwrap();
        assert_eq!((r.generation, r.fresh), (1, true));
        assert!(
            home.db_path(1).exists(),
            "must not delete what may hold data"
        );
    }

    #[test]
    fn pointer_to_a_missing_database_is_corrupt_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::lock(dir.path()).unwrap();
        home.set_current(2).unwrap();
        assert_eq!(
            home.resolve().err().unwrap().kind(),
            StoreErrorKind::Corrupt
        );
        fs::write(dir.path().join(CURRENT), "garbage").unwrap();
        assert_eq!(
            home.resolve().err().unwrap().kind(),
            StoreErrorKind::Corrupt
        );
    }

    #[test]
    fn small_files_past_their_bound_are_damage_not_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::lock(dir.path()).unwrap();
        fs::create_dir(home.db_path(1)).unwrap();
        let huge = vec![b'x'; MAX_SMALL_FILE as usize + 1];
        fs::write(dir.path().join(CURRENT), &huge).unwrap();
        for err in [
            home.resolve().err().unwrap(),
            peek_current(dir.path()).unwrap_err(),
        ] {
            assert_eq!(err.kind(), StoreErrorKind::Corrupt, "{err}");
            assert!(err.to_string().contains("64 KiB"), "{err}");
        }
        fs::write(dir.path().join(SEAL), &huge).unwrap();
        assert_eq!(home.read_seal(), None);
    }

    #[test]
    fn seal_roundtrips_and_a_bad_one_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::lock(dir.path()).unwrap();
        assert_eq!(home.read_seal(), None);
        let seal = Seal {
            docs: 7,
            meta: 1 << 40,
        };
        home.write_seal(seal).unwrap();
        assert_eq!(home.read_seal(), Some(seal));
        fs::write(dir.path().join(SEAL), "docs=x").unwrap();
        assert_eq!(home.read_seal(), None);
    }

    #[test]
    fn size_counts_only_store_entries() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::lock(dir.path()).unwrap();
        fs::write(dir.path().join("other-file"), vec![1u8; 1 << 20]).unwrap();
        assert!(home.size_on_disk().unwrap() < 1 << 20);
        fs::create_dir(home.db_path(1)).unwrap();
        fs::write(home.db_path(1).join("x"), vec![1u8; 1 << 20]).unwrap();
        assert!(home.size_on_disk().unwrap() >= 1 << 20);
    }
}
