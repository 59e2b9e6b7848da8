//! SledStore: the Store contract on a sled database, with the rewrite that gives disk space
//! back.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use sled::transaction::TransactionError;
use sled::{Batch, Db, Transactional, Tree};

use crate::crypt::{self, Cipher, Header, TreeTag, Unlock};
use crate::error::is_sled_lock;
use crate::home::{sync_blobs, Home, Seal};
use crate::keys::{self, Tally};
use crate::names::{check_circle, check_doc, check_meta_key, circle_meta_prefix};
use crate::{Pending, Store, StoreError};

/// A rewrite is worth it only past this size, so small stores never pay for one.
pub const RECLAIM_FLOOR: u64 = 64 * 1024 * 1024;
/// ...and only when the files are this many times larger than the data they hold. A store
/// closed cleanly stays near 1.2x (`turn_over_log`); twice is a store that was not (a
/// crash, or a version before the turnover).
pub const RECLAIM_FACTOR: u64 = 2;

/// sled's log segment (its default size, set by `open_db` so this stays the one place).
const SEGMENT: usize = 512 * 1024;
/// Values from this size up may land in blob files (sled's threshold is a quarter segment
/// less its headers); a little under it, to be sure.
const BLOB_AT_LEAST: usize = SEGMENT / 4 - 4096;
/// Segments of throwaway entries written at close, each flushed on its own: sled takes
/// note that a segment is full one write after the fact, and only when its memory
/// reclamation has caught up.
const TURNOVER_ROUNDS: u32 = 4;
/// Written and dropped at close to turn sled's log over (see `SledStore::turn_over_log`).
const TURNOVER_TREE: &str = "turnover";

const DOCS_TREE: &str = "docs";
const META_TREE: &str = "meta";
/// Encrypted stores only: token -> sealed name (see `crypt`).
const NAMES_TREE: &str = "names";

/// Disk use around a rewrite of the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reclaimed {
    pub before: u64,
    pub after: u64,
}

/// The key of an encrypted generation and the header it was derived with (written into
/// every generation a rewrite makes under the same passphrase).
struct Crypt {
    cipher: Cipher,
    header: Header,
}

struct Live {
    generation: u64,
    /// None for an unencrypted store.
    crypt: Option<Arc<Crypt>>,
    db: Db,
    /// sled's log file, opened again to fsync it (see `SledStore::flush`).
    db_file: File,
    blobs: PathBuf,
    /// Blob files are written once and never changed, so each needs syncing only once.
    synced_blobs: Mutex<HashSet<OsString>>,
    docs: Tree,
    meta: Tree,
    names: Tree,
}

impl Live {
    /// What stands for `name` in keys: the name itself, or its token when encrypted.
    fn tok<'n>(&self, name: &'n str) -> Cow<'n, str> {
        match &self.crypt {
            None => Cow::Borrowed(name),
            Some(c) => Cow::Owned(c.cipher.token(name)),
        }
    }

    /// A meta key as stored: each `/`-separated segment replaced by its token.
    fn meta_key<'k>(&self, key: &'k str) -> Cow<'k, str> {
        match &self.crypt {
            None => Cow::Borrowed(key),
            Some(c) => Cow::Owned(
                key.split('/')
                    .map(|seg| {
                        if seg.is_empty() {
                            String::new()
                        } else {
                            c.cipher.token(seg)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/"),
            ),
        }
    }

    fn seal<'v>(&self, tree: TreeTag, key: &[u8], value: &'v [u8]) -> Option<Cow<'v, [u8]>> {
        match &self.crypt {
            None => Some(Cow::Borrowed(value)),
            Some(c) => c.cipher.seal(tree, key, value).map(Cow::Owned),
        }
    }

    fn unseal<'v>(&self, tree: TreeTag, key: &[u8], value: &'v [u8]) -> Option<Cow<'v, [u8]>> {
        match &self.crypt {
            None => Some(Cow::Borrowed(value)),
            Some(c) => c.cipher.open(tree, key, value).map(Cow::Owned),
        }
    }
}

/// A Store on sled files in a directory. One process at a time: a second open of the same
/// directory fails with [`StoreErrorKind::Locked`](crate::StoreErrorKind::Locked).
pub struct SledStore {
    /// Written only by a rewrite, which swaps in a new database.
    live: RwLock<Live>,
    /// Serialises writers: `append` reads the tally before writing it back.
    writer: Mutex<()>,
    /// Whether a value sled keeps in a blob file of its own was written since the open
    /// (see `turn_over_log`).
    wrote_blobs: AtomicBool,
    /// Declared last so the directory lock is released only after sled is dropped.
    home: Home,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, finishing or discarding an interrupted rewrite,
    /// then rewrites the database if it has grown past `max(RECLAIM_FLOOR, RECLAIM_FACTOR x
    /// live bytes)`.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with(dir, None)
    }

    /// Opens (or creates) the store in `dir` like [`SledStore::open`], with a passphrase for
    /// an encrypted store. A new store given a passphrase is created encrypted. The
    /// passphrase is checked before anything in the directory is written: a wrong one fails
    /// with [`StoreErrorKind::WrongPassphrase`](crate::StoreErrorKind::WrongPassphrase), a
    /// missing one with `PassphraseNeeded`, and one given for an unencrypted store with
    /// `NotEncrypted`.
    pub fn open_with(dir: &Path, passphrase: Option<&str>) -> Result<SledStore, StoreError> {
        let home = Home::lock(dir)?;
        let crypt = unlock(&home, passphrase)?;
        let resolved = home.resolve()?;
        let live = open_db(&home, resolved.generation, crypt)?;
        if resolved.fresh {
            home.set_current(resolved.generation)?;
        } else if let Some(seal) = home.read_seal() {
            let found = seal_of(&home, &live)?;
            if found.docs < seal.docs || found.meta < seal.meta {
                return Err(StoreError::corrupt(
                    home.dir(),
                    format!(
                        "it records {} document and {} metadata writes but had {} and {} when \
                         last closed, so sled dropped damaged data; if you restored an older \
                         copy on purpose, delete store.seal and open it again",
                        found.docs, found.meta, seal.docs, seal.meta
                    ),
                ));
            }
        }
        let store = SledStore {
            live: RwLock::new(live),
            writer: Mutex::new(()),
            wrote_blobs: AtomicBool::new(false),
            home,
        };
        // Failing to reclaim costs disk space, not data: the store stays usable.
        if let Err(e) = store.reclaim_if_bloated() {
            tracing::warn!(error = %e, "could not give disk space back");
        }
        Ok(store)
    }

    /// The directory the store was opened in.
    pub fn dir(&self) -> &Path {
        self.home.dir()
    }

    /// Whether the store in `dir` is encrypted, without opening it (false when there is
    /// none). Fails with `Locked` while another process has it open.
    pub fn is_encrypted_at(dir: &Path) -> Result<bool, StoreError> {
        if !dir.exists() {
            return Ok(false);
        }
        let home = Home::lock(dir)?;
        let db_dir = home.db_path(home.peek_current()?.unwrap_or(1));
        let header = crypt::read_header(&db_dir)
            .map_err(|e| StoreError::io(dir, "reading the encryption header", e))?;
        Ok(!matches!(header, Ok(None)))
    }

    /// Whether `passphrase` opens the store in `dir` (None: whether it is unencrypted),
    /// failing as [`SledStore::open_with`] would. Unlike opening, it neither takes the lock
    /// nor writes anything, so it works while this process holds the store open: a running
    /// node checks a passphrase before it stops to re-seal. A store with no database yet
    /// counts as unencrypted.
    pub fn check_passphrase_at(dir: &Path, passphrase: Option<&str>) -> Result<(), StoreError> {
        let current = crate::home::peek_current(dir)?;
        let db_dir = crate::home::db_path(dir, current.unwrap_or(1));
        match (live_header(dir, &db_dir)?, passphrase) {
            (None, None) => Ok(()),
            (Some(_), None) => Err(StoreError::PassphraseNeeded {
                dir: dir.to_path_buf(),
            }),
            (Some(header), Some(passphrase)) => Cipher::unlock(passphrase.as_bytes(), &header)
                .map(drop)
                .map_err(|e| unlock_err(dir, e)),
            (None, Some(_)) => Err(StoreError::NotEncrypted {
                dir: dir.to_path_buf(),
            }),
        }
    }

    /// Whether values are sealed under a passphrase.
    pub fn is_encrypted(&self) -> bool {
        self.live().crypt.is_some()
    }

    /// Re-seals every value under a new passphrase (`None`: store them unencrypted) by
    /// rewriting the database into a new generation, so a crash at any point leaves the
    /// store whole under the old passphrase or the new one. The space the old files held is
    /// freed but not overwritten: see the crate docs.
    pub fn set_passphrase(&self, new: Option<&str>) -> Result<(), StoreError> {
        let crypt = match new {
            None => None,
            Some(passphrase) => {
                let (cipher, header) =
                    Cipher::create(passphrase.as_bytes()).map_err(|e| StoreError::Internal {
                        dir: self.home.dir().to_path_buf(),
                        detail: format!("cannot derive a key: {e:?}"),
                    })?;
                Some(Arc::new(Crypt { cipher, header }))
            }
        };
        self.rewrite(Some(crypt)).map(drop)
    }

    /// Bytes of keys and values held, what a fresh rewrite would need at least.
    pub fn live_bytes(&self) -> Result<u64, StoreError> {
        let live = self.live();
        let mut total = 0u64;
        for name in live.db.tree_names() {
            let tree = live
                .db
                .open_tree(&name)
                .map_err(|e| self.sled("measuring live data", e))?;
            for kv in tree.iter() {
                let (k, v) = kv.map_err(|e| self.sled("measuring live data", e))?;
                total += (k.len() + v.len()) as u64;
            }
        }
        Ok(total)
    }

    /// Rewrites the database if its files exceed `max(RECLAIM_FLOOR, RECLAIM_FACTOR x live
    /// bytes)`; None when it did not need to.
    ///
    /// Measuring the live bytes reads every value (at a million decisions, the whole store
    /// at every open, and sled's cache kept it: most of a cold open's time and memory), so
    /// the last measurement is recorded and trusted while the files stay under the factor
    /// of it; past it, the data is measured again. Data grows far more than it shrinks,
    /// and what shrinks it wholesale (deleting a circle) forgets the record.
    pub fn reclaim_if_bloated(&self) -> Result<Option<Reclaimed>, StoreError> {
        let size = self.home.size_on_disk()?;
        if size <= RECLAIM_FLOOR {
            return Ok(None);
        }
        let generation = self.live().generation;
        let bound = |live: u64| RECLAIM_FACTOR.saturating_mul(live);
        if self
            .home
            .read_measured(generation)
            .is_some_and(|live| size <= bound(live))
        {
            return Ok(None);
        }
        let live_bytes = self.live_bytes()?;
        if size <= bound(live_bytes) {
            self.record_measured(generation, live_bytes);
            return Ok(None);
        }
        tracing::info!(
            size,
            live_bytes,
            "rewriting the store to give disk space back"
        );
        let reclaimed = self.reclaim()?;
        self.record_measured(self.live().generation, live_bytes);
        Ok(Some(reclaimed))
    }

    fn record_measured(&self, generation: u64, live: u64) {
        if let Err(e) = self.home.write_measured(generation, live) {
            tracing::warn!(error = %e, "could not record the store's live data; the next open measures it again");
        }
    }

    /// Rewrites every tree into a fresh database and swaps it in, giving back the space sled
    /// keeps after compaction. Blocks every other call while it runs; a crash at any point
    /// leaves either the old or the new database, both complete.
    pub fn reclaim(&self) -> Result<Reclaimed, StoreError> {
        self.rewrite(None)
    }

    /// Rewrites the database into the next generation: under the same key (`recrypt` None,
    /// an exact copy) or re-sealed under another (or none).
    fn rewrite(&self, recrypt: Option<Option<Arc<Crypt>>>) -> Result<Reclaimed, StoreError> {
        let mut live = self.live.write().unwrap_or_else(PoisonError::into_inner);
        let before = self.home.size_on_disk()?;
        let generation = live.generation + 1;
        // A leftover of an earlier failed attempt in this process; open would have removed it.
        self.home.remove_db(generation);

        let reseal = recrypt.is_some();
        let crypt = recrypt.unwrap_or_else(|| live.crypt.clone());
        let made = self
            .write_header(generation, crypt.as_deref())
            .and_then(|()| {
                let fresh = open_db(&self.home, generation, crypt)?;
                if reseal {
                    self.copy_resealed(&live, &fresh)?;
                } else {
                    self.copy_into(&live.db, &fresh)?;
                }
                // Copying replaces sled's pages of large values as it goes.
                self.turn_over_log(&fresh)?;
                Ok(fresh)
            });
        let fresh = match made {
            Ok(fresh) => fresh,
            Err(e) => {
                self.home.remove_db(generation);
                return Err(e);
            }
        };
        if let Err(e) = self.home.sync_db(generation) {
            drop(fresh);
            self.home.remove_db(generation);
            return Err(e);
        }
        if let Err(e) = self.home.set_current(generation) {
            drop(fresh);
            self.home.remove_db(generation);
            return Err(e);
        }

        let old = std::mem::replace(&mut *live, fresh);
        let old_generation = old.generation;
        drop(old);
        self.home.remove_db(old_generation);
        let after = self.home.size_on_disk()?;
        tracing::info!(before, after, generation, "store rewritten");
        Ok(Reclaimed { before, after })
    }

    fn write_header(&self, generation: u64, crypt: Option<&Crypt>) -> Result<(), StoreError> {
        match crypt {
            None => Ok(()),
            Some(c) => crypt::write_header(&self.home.db_path(generation), &c.header)
                .map_err(|e| StoreError::io(self.home.dir(), "writing the encryption header", e)),
        }
    }

    /// Copies every value opened under `from`'s key and sealed under `to`'s, then checks
    /// that every value of the copy opens to what the original held.
    fn copy_resealed(&self, from: &Live, to: &Live) -> Result<(), StoreError> {
        let doing = "re-sealing the database";
        for name in from.db.tree_names() {
            let tag = tree_tag(&name);
            let src = from.db.open_tree(&name).map_err(|e| self.sled(doing, e))?;
            let dst = to.db.open_tree(&name).map_err(|e| self.sled(doing, e))?;
            for kv in src.iter() {
                let (k, v) = kv.map_err(|e| self.sled(doing, e))?;
                match tag {
                    // Rebuilt by `register` as the keys that use its names are copied.
                    Some(TreeTag::Names) => {}
                    None => {
                        dst.insert(k, v).map_err(|e| self.sled(doing, e))?;
                    }
                    Some(tag) => {
                        let plain = self.unseal(from, tag, &k, &v)?;
                        let key = self.translate_key(from, to, tag, &k)?;
                        let value = self.seal(to, tag, &key, &plain)?.into_owned();
                        dst.insert(key, value).map_err(|e| self.sled(doing, e))?;
                    }
                }
            }
        }
        to.db.flush().map_err(|e| self.sled(doing, e))?;
        for name in from.db.tree_names() {
            let tag = tree_tag(&name);
            if matches!(tag, Some(TreeTag::Names)) {
                continue;
            }
            let src = from.db.open_tree(&name).map_err(|e| self.sled(doing, e))?;
            let dst = to.db.open_tree(&name).map_err(|e| self.sled(doing, e))?;
            if src.len() != dst.len() {
                return Err(self.internal("the re-sealed database has a different entry count"));
            }
            for kv in src.iter() {
                let (k, v) = kv.map_err(|e| self.sled(doing, e))?;
                let (key, want) = match tag {
                    None => (k.to_vec(), v.to_vec()),
                    Some(tag) => (
                        self.translate_key(from, to, tag, &k)?,
                        self.unseal(from, tag, &k, &v)?.into_owned(),
                    ),
                };
                let got = dst.get(&key).map_err(|e| self.sled(doing, e))?;
                let same = match (got, tag) {
                    (None, _) => false,
                    (Some(got), None) => *got == *want,
                    (Some(got), Some(tag)) => *self.unseal(to, tag, &key, &got)? == *want,
                };
                if !same {
                    return Err(self.internal("the re-sealed database differs from the original"));
                }
            }
        }
        Ok(())
    }

    fn internal(&self, detail: &str) -> StoreError {
        StoreError::Internal {
            dir: self.home.dir().to_path_buf(),
            detail: format!("{detail}; the original was kept"),
        }
    }

    fn seal<'v>(
        &self,
        live: &Live,
        tree: TreeTag,
        key: &[u8],
        value: &'v [u8],
    ) -> Result<Cow<'v, [u8]>, StoreError> {
        if value.len() >= BLOB_AT_LEAST {
            self.wrote_blobs.store(true, Ordering::Relaxed);
        }
        live.seal(tree, key, value)
            .ok_or_else(|| self.internal("a value is too large to encrypt"))
    }

    fn unseal<'v>(
        &self,
        live: &Live,
        tree: TreeTag,
        key: &[u8],
        value: &'v [u8],
    ) -> Result<Cow<'v, [u8]>, StoreError> {
        live.unseal(tree, key, value).ok_or_else(|| {
            self.corrupt(format!(
                "a stored value under {:?} fails its integrity check (damaged or moved)",
                String::from_utf8_lossy(key)
            ))
        })
    }

    /// The name a stored name stands for (itself, or the name behind its token).
    fn real_name(&self, live: &Live, stored: &str) -> Result<String, StoreError> {
        if live.crypt.is_none() {
            return Ok(stored.to_owned());
        }
        let sealed = live
            .names
            .get(stored.as_bytes())
            .map_err(|e| self.sled("reading a name", e))?
            .ok_or_else(|| self.corrupt(format!("the name behind token {stored} is missing")))?;
        let plain = self.unseal(live, TreeTag::Names, stored.as_bytes(), &sealed)?;
        self.utf8(&plain, "name")
    }

    fn real_names(&self, live: &Live, stored: Vec<String>) -> Result<Vec<String>, StoreError> {
        if live.crypt.is_none() {
            return Ok(stored);
        }
        let mut names = stored
            .iter()
            .map(|s| self.real_name(live, s))
            .collect::<Result<Vec<_>, _>>()?;
        names.sort();
        Ok(names)
    }

    fn real_meta_key(&self, live: &Live, stored: &str) -> Result<String, StoreError> {
        if live.crypt.is_none() {
            return Ok(stored.to_owned());
        }
        let segments = stored
            .split('/')
            .map(|seg| {
                if seg.is_empty() {
                    Ok(String::new())
                } else {
                    self.real_name(live, seg)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(segments.join("/"))
    }

    /// Records the names behind the tokens a write is about to use (encrypted stores). The
    /// flush that acknowledges the write makes them durable with it, and sled recovers its
    /// log in order, so a key never outlives the record of its names.
    fn register<'a>(
        &self,
        live: &Live,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        let Some(c) = &live.crypt else {
            return Ok(());
        };
        for name in names.into_iter().filter(|n| !n.is_empty()) {
            let token = c.cipher.token(name);
            let known = live
                .names
                .contains_key(token.as_bytes())
                .map_err(|e| self.sled("recording a name", e))?;
            if !known {
                let sealed = self.seal(live, TreeTag::Names, token.as_bytes(), name.as_bytes())?;
                live.names
                    .insert(token.as_bytes(), &*sealed)
                    .map_err(|e| self.sled("recording a name", e))?;
            }
        }
        Ok(())
    }

    /// A key of `tag`'s tree as `from` stores it, as `to` stores it; records its names in
    /// `to`.
    fn translate_key(
        &self,
        from: &Live,
        to: &Live,
        tag: TreeTag,
        key: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        if key == keys::OPS {
            return Ok(key.to_vec());
        }
        match tag {
            TreeTag::Docs => {
                let mut parts = key.splitn(3, |&b| b == keys::SEP);
                let (Some(circle), Some(doc), Some(rest)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(self.corrupt("a document key has no separators"));
                };
                let circle = self.real_name(from, &self.utf8(circle, "circle id")?)?;
                let doc = self.real_name(from, &self.utf8(doc, "document key")?)?;
                self.register(to, [circle.as_str(), doc.as_str()])?;
                let mut k = keys::doc_prefix(&to.tok(&circle), &to.tok(&doc));
                k.extend_from_slice(rest);
                Ok(k)
            }
            TreeTag::Meta => {
                let real = self.real_meta_key(from, &self.utf8(key, "meta key")?)?;
                self.register(to, real.split('/'))?;
                Ok(to.meta_key(&real).into_owned().into_bytes())
            }
            TreeTag::Names => Ok(key.to_vec()),
        }
    }

    fn copy_into(&self, from: &Db, to: &Live) -> Result<(), StoreError> {
        let doing = "rewriting the database";
        for name in from.tree_names() {
            let src = from.open_tree(&name).map_err(|e| self.sled(doing, e))?;
            let dst = to.db.open_tree(&name).map_err(|e| self.sled(doing, e))?;
            for kv in src.iter() {
                let (k, v) = kv.map_err(|e| self.sled(doing, e))?;
                dst.insert(k, v).map_err(|e| self.sled(doing, e))?;
            }
        }
        to.db.flush().map_err(|e| self.sled(doing, e))?;
        // The swap discards the old database, so prove the copy is exact before it happens.
        let want = from.checksum().map_err(|e| self.sled(doing, e))?;
        let got = to.db.checksum().map_err(|e| self.sled(doing, e))?;
        if want != got {
            return Err(StoreError::Internal {
                dir: self.home.dir().to_path_buf(),
                detail: format!(
                    "the rewritten database differs from the original (crc {got:08x} != {want:08x}); the original was kept"
                ),
            });
        }
        Ok(())
    }

    fn live(&self) -> RwLockReadGuard<'_, Live> {
        // A panic while holding the write lock happens before the swap or after it, never
        // halfway, so the value behind a poisoned lock is still a whole database.
        self.live.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn writer(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sled(&self, doing: &'static str, e: sled::Error) -> StoreError {
        StoreError::sled(self.home.dir(), doing, e)
    }

    fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::corrupt(self.home.dir(), detail)
    }

    /// sled's flush only survives a crash of this process: on Linux it ends in
    /// sync_file_range, which neither flushes the drive's cache nor records a grown file
    /// size, and it never syncs its blob files (values over ~128 KiB). A laptop losing power
    /// must not lose acknowledged writes, so the files are synced here as well.
    fn flush(&self, live: &Live, doing: &'static str) -> Result<(), StoreError> {
        live.db.flush().map_err(|e| self.sled(doing, e))?;
        live.db_file
            .sync_data()
            .and_then(|()| {
                let mut synced = live
                    .synced_blobs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                sync_blobs(&live.blobs, &mut synced)
            })
            .map_err(|e| StoreError::io(self.home.dir(), doing, e))
    }

    /// sled keeps a value over a quarter of a log segment (~128 KiB: a month's snapshot, its
    /// signatures) in a blob file of its own. When the value is replaced, the old file is
    /// deleted only once the log segment the replacement was written in fills up, and the
    /// list of files waiting for that lives in memory: a store closed before then kept them
    /// for good (a seeded 20,000-decision home held twice its data on disk, and a rewrite
    /// into a fresh database did no better, its own copying replacing pages of blobs).
    /// Writing a few segments of small throwaway entries, flushing after each, fills the
    /// current one and lets sled see it filled, so it deletes what it was waiting to; the
    /// entries go with their tree. It costs ~2 MiB of writes at close and a few MiB of log
    /// file (sled reuses it, never shrinks it), so it is done only after a large value was
    /// written. Measured, not documented by sled: `tests/reclaim.rs` checks it.
    fn turn_over_log(&self, live: &Live) -> Result<(), StoreError> {
        let doing = "turning the log over";
        const ENTRY: usize = 1024;
        let tree = live
            .db
            .open_tree(TURNOVER_TREE)
            .map_err(|e| self.sled(doing, e))?;
        let filler = [0u8; ENTRY];
        for round in 0..TURNOVER_ROUNDS {
            for i in 0..(SEGMENT / ENTRY) as u32 {
                tree.insert([round.to_be_bytes(), i.to_be_bytes()].concat(), &filler[..])
                    .map_err(|e| self.sled(doing, e))?;
            }
            live.db.flush().map_err(|e| self.sled(doing, e))?;
        }
        live.db
            .drop_tree(TURNOVER_TREE)
            .map_err(|e| self.sled(doing, e))?;
        live.db.flush().map_err(|e| self.sled(doing, e))?;
        Ok(())
    }

    /// Adds the tree's write counter, bumped, to a batch for that tree.
    fn bump(&self, live: &Live, tag: TreeTag, batch: &mut Batch) -> Result<(), StoreError> {
        let ops = read_ops(self.home.dir(), live, tag)?;
        let ops = ops.saturating_add(1).to_be_bytes();
        let value = self.seal(live, tag, keys::OPS, &ops)?;
        batch.insert(keys::OPS, &*value);
        Ok(())
    }

    /// Writes metadata entries in one batch, without flushing. Caller holds the writer lock.
    fn write_meta(&self, live: &Live, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        for (key, value) in entries {
            self.register(live, key.split('/'))?;
            let key = live.meta_key(key);
            let sealed = self.seal(live, TreeTag::Meta, key.as_bytes(), value)?;
            batch.insert(key.as_bytes(), &*sealed);
        }
        self.bump(live, TreeTag::Meta, &mut batch)?;
        live.meta
            .apply_batch(batch)
            .map_err(|e| self.sled("writing metadata", e))
    }

    fn tally(&self, live: &Live, circle: &str, doc: &str) -> Result<Tally, StoreError> {
        let key = keys::tally(circle, doc);
        match live
            .docs
            .get(&key)
            .map_err(|e| self.sled("reading a chunk count", e))?
        {
            None => Ok(Tally::default()),
            Some(v) => {
                Tally::decode(&self.unseal(live, TreeTag::Docs, &key, &v)?).ok_or_else(|| {
                    self.corrupt(format!("the chunk count of {circle}/{doc} is malformed"))
                })
            }
        }
    }

    fn utf8(&self, bytes: &[u8], what: &str) -> Result<String, StoreError> {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| self.corrupt(format!("a stored {what} is not UTF-8")))
    }

    /// Lists the names found right after `prefix`, seeking past each name's keys instead of
    /// reading them (a document can hold many chunks).
    fn names_after(
        &self,
        tree: &Tree,
        prefix: &[u8],
        what: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let mut from = prefix.to_vec();
        loop {
            let next = tree
                .range(from.as_slice()..)
                .next()
                .transpose()
                .map_err(|e| self.sled("listing", e))?;
            let Some((key, _)) = next else { break };
            if !key.starts_with(prefix) || key == keys::OPS {
                break;
            }
            let name = keys::name_after(&key, prefix)
                .ok_or_else(|| self.corrupt(format!("a {what} key has no separator")))?;
            let name = self.utf8(name, what)?;
            let mut name_prefix = prefix.to_vec();
            name_prefix.extend_from_slice(name.as_bytes());
            name_prefix.push(keys::SEP);
            from = keys::past(&name_prefix);
            names.push(name);
        }
        Ok(names)
    }
}

fn read_ops(dir: &Path, live: &Live, tag: TreeTag) -> Result<u64, StoreError> {
    let doing = "reading the write counter";
    let tree = match tag {
        TreeTag::Docs => &live.docs,
        TreeTag::Meta => &live.meta,
        TreeTag::Names => &live.names,
    };
    match tree
        .get(keys::OPS)
        .map_err(|e| StoreError::sled(dir, doing, e))?
    {
        None => Ok(0),
        Some(v) => live
            .unseal(tag, keys::OPS, &v)
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| StoreError::corrupt(dir, "a write counter is malformed")),
    }
}

fn seal_of(home: &Home, live: &Live) -> Result<Seal, StoreError> {
    Ok(Seal {
        docs: read_ops(home.dir(), live, TreeTag::Docs)?,
        meta: read_ops(home.dir(), live, TreeTag::Meta)?,
    })
}

fn tree_tag(name: &[u8]) -> Option<TreeTag> {
    match name {
        n if n == DOCS_TREE.as_bytes() => Some(TreeTag::Docs),
        n if n == META_TREE.as_bytes() => Some(TreeTag::Meta),
        n if n == NAMES_TREE.as_bytes() => Some(TreeTag::Names),
        _ => None,
    }
}

/// Checks the passphrase against the live generation's header before anything in the
/// directory is written; creates the header of a new store given a passphrase.
fn unlock(home: &Home, passphrase: Option<&str>) -> Result<Option<Arc<Crypt>>, StoreError> {
    let dir = home.dir();
    let current = home.peek_current()?;
    let db_dir = home.db_path(current.unwrap_or(1));
    match (live_header(dir, &db_dir)?, passphrase) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(StoreError::PassphraseNeeded {
            dir: dir.to_path_buf(),
        }),
        (Some(header), Some(passphrase)) => {
            let cipher =
                Cipher::unlock(passphrase.as_bytes(), &header).map_err(|e| unlock_err(dir, e))?;
            Ok(Some(Arc::new(Crypt { cipher, header })))
        }
        // Only a store with no database yet is created encrypted: sealing values that are
        // already there takes a rewrite (`set_passphrase`).
        (None, Some(passphrase)) if current.is_none() && !db_dir.exists() => {
            let (cipher, header) =
                Cipher::create(passphrase.as_bytes()).map_err(|e| unlock_err(dir, e))?;
            crypt::write_header(&db_dir, &header)
                .map_err(|e| StoreError::io(dir, "writing the encryption header", e))?;
            Ok(Some(Arc::new(Crypt { cipher, header })))
        }
        (None, Some(_)) => Err(StoreError::NotEncrypted {
            dir: dir.to_path_buf(),
        }),
    }
}

/// The encryption header of the database in `db_dir` (None: not encrypted).
fn live_header(dir: &Path, db_dir: &Path) -> Result<Option<Header>, StoreError> {
    crypt::read_header(db_dir)
        .map_err(|e| StoreError::io(dir, "reading the encryption header", e))?
        .map_err(|text| {
            StoreError::corrupt(
                dir,
                format!(
                    "its encryption header {} is malformed: {text:?}",
                    db_dir.join(crypt::HEADER_FILE).display()
                ),
            )
        })
}

fn unlock_err(dir: &Path, e: Unlock) -> StoreError {
    match e {
        Unlock::Wrong => StoreError::WrongPassphrase {
            dir: dir.to_path_buf(),
        },
        Unlock::BadParams(detail) => {
            StoreError::corrupt(dir, format!("its encryption header is unusable: {detail}"))
        }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        let live = self.live();
        if self.wrote_blobs.load(Ordering::Relaxed) {
            if let Err(e) = self.turn_over_log(&live) {
                tracing::warn!(error = %e, "could not give back the files of replaced values");
            }
        }
        // A seal must never claim more than is on disk, so only seal what a flush confirmed.
        let sealed = self
            .flush(&live, "closing")
            .and_then(|()| seal_of(&self.home, &live))
            .and_then(|seal| {
                self.home
                    .write_seal(seal)
                    .map_err(|e| StoreError::io(self.home.dir(), "writing store.seal", e))
            });
        if let Err(e) = sealed {
            tracing::warn!(error = %e, "could not record a clean close; the next open cannot check for lost writes");
        }
    }
}

/// How long to wait for sled's own file lock, released late by a handle just dropped.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(3);

/// Opens sled, waiting a little for its file lock. The caller holds the directory lock, so
/// no other process can have this database open: a busy sled lock can only be a store this
/// process just closed, whose sled threads let go of the file a moment after the drop.
fn open_sled(config: &sled::Config) -> sled::Result<sled::Db> {
    let started = Instant::now();
    loop {
        match config.open() {
            Err(sled::Error::Io(e)) if is_sled_lock(&e) && started.elapsed() < SLED_LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            done => return done,
        }
    }
}

fn open_db(home: &Home, generation: u64, crypt: Option<Arc<Crypt>>) -> Result<Live, StoreError> {
    let dir = home.dir();
    let doing = "opening the database";
    let config = sled::Config::new()
        .path(home.db_path(generation))
        .segment_size(SEGMENT)
        .mode(sled::Mode::LowSpace);
    // sled 0.34 can panic on some damaged files instead of returning an error.
    let db = match catch_unwind(AssertUnwindSafe(|| open_sled(&config))) {
        Ok(db) => db.map_err(|e| StoreError::sled(dir, doing, e))?,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "sled panicked".to_owned());
            return Err(StoreError::corrupt(
                dir,
                format!("sled could not read the database: {detail}"),
            ));
        }
    };
    let docs = db
        .open_tree(DOCS_TREE)
        .map_err(|e| StoreError::sled(dir, doing, e))?;
    let meta = db
        .open_tree(META_TREE)
        .map_err(|e| StoreError::sled(dir, doing, e))?;
    let names = db
        .open_tree(NAMES_TREE)
        .map_err(|e| StoreError::sled(dir, doing, e))?;
    // Names of sled's files, fixed in sled 0.34's Config::db_path and blob_path.
    let path = home.db_path(generation);
    // sled created its directory and files with the default mode: owner-only, like the home.
    let mut tightened = crate::perms::Tightened::default();
    crate::perms::tighten(&path, &mut tightened);
    if let Some((file, e)) = tightened.stuck {
        tracing::warn!(path = %file.display(), error = %e, "cannot make a database file owner-only");
    }
    let db_file = File::options()
        .read(true)
        .write(true)
        .open(path.join("db"))
        .map_err(|e| StoreError::io(dir, doing, e))?;
    Ok(Live {
        generation,
        crypt,
        db,
        db_file,
        blobs: path.join("blobs"),
        synced_blobs: Mutex::new(HashSet::new()),
        docs,
        meta,
        names,
    })
}

impl Store for SledStore {
    fn circles(&self) -> Result<Vec<String>, StoreError> {
        let live = self.live();
        let stored = self.names_after(&live.docs, &[], "circle id")?;
        self.real_names(&live, stored)
    }

    fn docs(&self, circle: &str) -> Result<Vec<String>, StoreError> {
        check_circle(circle)?;
        let live = self.live();
        let stored = self.names_after(
            &live.docs,
            &keys::circle_prefix(&live.tok(circle)),
            "document key",
        )?;
        self.real_names(&live, stored)
    }

    fn load(&self, circle: &str, doc: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_circle(circle)?;
        check_doc(doc)?;
        let live = self.live();
        let prefix = keys::doc_prefix(&live.tok(circle), &live.tok(doc));
        let mut bytes: Option<Vec<u8>> = None;
        let mut next_seq = 0u64;
        for kv in live.docs.scan_prefix(&prefix) {
            let (key, value) = kv.map_err(|e| self.sled("loading a document", e))?;
            let tail = &key[prefix.len()..];
            match tail.split_first() {
                Some((&keys::TAG_SNAPSHOT, [])) => {}
                Some((&keys::TAG_CHUNK, seq)) => {
                    // A gap means a chunk went missing, and Automerge would load the rest
                    // without complaint, silently dropping changes.
                    if seq != next_seq.to_be_bytes() {
                        return Err(
                            self.corrupt(format!("chunk {next_seq} of {circle}/{doc} is missing"))
                        );
                    }
                    next_seq += 1;
                }
                Some((&keys::TAG_TALLY, [])) => continue,
                _ => {
                    return Err(self.corrupt(format!("an unknown key under {circle}/{doc}")));
                }
            }
            let value = self.unseal(&live, TreeTag::Docs, &key, &value)?;
            bytes.get_or_insert_with(Vec::new).extend_from_slice(&value);
        }
        Ok(bytes)
    }

    fn append(&self, circle: &str, doc: &str, chunk: &[u8]) -> Result<(), StoreError> {
        self.append_with_meta(circle, doc, chunk, &[])
    }

    fn append_with_meta(
        &self,
        circle: &str,
        doc: &str,
        chunk: &[u8],
        meta: &[(&str, &[u8])],
    ) -> Result<(), StoreError> {
        check_circle(circle)?;
        check_doc(doc)?;
        for (key, _) in meta {
            check_meta_key(key)?;
        }
        let _writer = self.writer();
        let live = self.live();
        // The metadata first: sled's log keeps the order of batches, so after a crash the
        // chunk is never there without it (a chunk whose signatures were lost could not be
        // shared).
        if !meta.is_empty() {
            self.write_meta(&live, meta)?;
        }
        self.register(&live, [circle, doc])?;
        let (circle, doc) = (live.tok(circle), live.tok(doc));
        let tally = self.tally(&live, &circle, &doc)?;
        let mut batch = Batch::default();
        let chunk_key = keys::chunk(&circle, &doc, tally.chunks);
        let sealed = self.seal(&live, TreeTag::Docs, &chunk_key, chunk)?;
        batch.insert(chunk_key, &*sealed);
        let tally = Tally {
            chunks: tally.chunks + 1,
            bytes: tally.bytes + chunk.len() as u64,
        };
        let tally_key = keys::tally(&circle, &doc);
        let tally = tally.encode();
        let sealed = self.seal(&live, TreeTag::Docs, &tally_key, &tally)?;
        batch.insert(tally_key, &*sealed);
        self.bump(&live, TreeTag::Docs, &mut batch)?;
        live.docs
            .apply_batch(batch)
            .map_err(|e| self.sled("appending a chunk", e))?;
        // One flush makes both durable: a sync of the disk is most of a write's cost.
        self.flush(&live, "appending a chunk")
    }

    fn compact(&self, circle: &str, doc: &str, snapshot: &[u8]) -> Result<(), StoreError> {
        check_circle(circle)?;
        check_doc(doc)?;
        let _writer = self.writer();
        let live = self.live();
        self.register(&live, [circle, doc])?;
        let (circle, doc) = (live.tok(circle), live.tok(doc));
        let mut batch = Batch::default();
        for key in live
            .docs
            .scan_prefix(keys::chunk_prefix(&circle, &doc))
            .keys()
        {
            batch.remove(key.map_err(|e| self.sled("compacting", e))?);
        }
        batch.remove(keys::tally(&circle, &doc));
        let key = keys::snapshot(&circle, &doc);
        let sealed = self.seal(&live, TreeTag::Docs, &key, snapshot)?;
        batch.insert(key, &*sealed);
        self.bump(&live, TreeTag::Docs, &mut batch)?;
        live.docs
            .apply_batch(batch)
            .map_err(|e| self.sled("compacting", e))?;
        self.flush(&live, "compacting")
    }

    fn pending(&self, circle: &str, doc: &str) -> Result<Pending, StoreError> {
        check_circle(circle)?;
        check_doc(doc)?;
        let live = self.live();
        let tally = self.tally(&live, &live.tok(circle), &live.tok(doc))?;
        Ok(Pending {
            chunks: tally.chunks,
            bytes: tally.bytes,
        })
    }

    fn delete_circle(&self, circle: &str) -> Result<(), StoreError> {
        check_circle(circle)?;
        let doing = "deleting a circle";
        self.home.forget_measured();
        let _writer = self.writer();
        let live = self.live();
        let mut docs = Batch::default();
        for key in live
            .docs
            .scan_prefix(keys::circle_prefix(&live.tok(circle)))
            .keys()
        {
            docs.remove(key.map_err(|e| self.sled(doing, e))?);
        }
        let mut meta = Batch::default();
        let meta_prefix = circle_meta_prefix(circle);
        for key in live
            .meta
            .scan_prefix(live.meta_key(&meta_prefix).as_bytes())
            .keys()
        {
            meta.remove(key.map_err(|e| self.sled(doing, e))?);
        }
        self.bump(&live, TreeTag::Docs, &mut docs)?;
        self.bump(&live, TreeTag::Meta, &mut meta)?;
        // One transaction so a crash never leaves a circle's sync states without its docs.
        (&live.docs, &live.meta)
            .transaction(|(d, m)| {
                d.apply_batch(&docs)?;
                m.apply_batch(&meta)?;
                Ok(())
            })
            .map_err(|e: TransactionError<()>| match e {
                TransactionError::Storage(e) => self.sled(doing, e),
                TransactionError::Abort(()) => StoreError::Internal {
                    dir: self.home.dir().to_path_buf(),
                    detail: "the delete transaction aborted".to_owned(),
                },
            })?;
        self.flush(&live, doing)
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_meta_key(key)?;
        let live = self.live();
        let key = live.meta_key(key);
        let value = live
            .meta
            .get(key.as_bytes())
            .map_err(|e| self.sled("reading metadata", e))?;
        value
            .map(|v| {
                Ok(self
                    .unseal(&live, TreeTag::Meta, key.as_bytes(), &v)?
                    .into_owned())
            })
            .transpose()
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        check_meta_key(key)?;
        let _writer = self.writer();
        let live = self.live();
        self.write_meta(&live, &[(key, value)])?;
        self.flush(&live, "writing metadata")
    }

    fn put_meta_lazily(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        check_meta_key(key)?;
        let _writer = self.writer();
        let live = self.live();
        // Not flushed: sled writes it out within its flush interval, and the next durable
        // write (or closing the store) takes it along.
        self.write_meta(&live, &[(key, value)])
    }

    fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        check_meta_key(key)?;
        let _writer = self.writer();
        let live = self.live();
        let mut batch = Batch::default();
        batch.remove(live.meta_key(key).as_bytes());
        self.bump(&live, TreeTag::Meta, &mut batch)?;
        live.meta
            .apply_batch(batch)
            .map_err(|e| self.sled("deleting metadata", e))?;
        self.flush(&live, "deleting metadata")
    }

    fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let live = self.live();
        // Tokens keep whole segments' order, not characters': scan from the last whole
        // segment of the prefix and filter on the names.
        let whole = prefix.rfind('/').map_or("", |i| &prefix[..=i]);
        let stored_prefix = live.meta_key(whole);
        let mut out = Vec::new();
        for kv in live.meta.scan_prefix(stored_prefix.as_bytes()) {
            let (k, v) = kv.map_err(|e| self.sled("listing metadata", e))?;
            if k == keys::OPS {
                continue;
            }
            let key = self.real_meta_key(&live, &self.utf8(&k, "meta key")?)?;
            if !key.starts_with(prefix) {
                continue;
            }
            let v = self.unseal(&live, TreeTag::Meta, &k, &v)?.into_owned();
            out.push((key, v));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.home.size_on_disk()
    }

    fn reclaim_space(&self) -> Result<Option<Reclaimed>, StoreError> {
        self.reclaim().map(Some)
    }
}
