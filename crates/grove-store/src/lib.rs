//! Grove's persistence: the [`Store`] trait, [`SledStore`] on disk and [`MemStore`] in memory.
//!
//! The store holds opaque bytes. Its callers keep Automerge documents as a full snapshot
//! followed by incremental chunks, and Automerge loads their concatenation, so `load` returns
//! exactly that and `compact` swaps in a new snapshot once the chunks pile up.
//!
//! # Key layout in sled
//!
//! Tree `docs` (names never contain NUL, which makes 0x00 a safe separator):
//!
//! ```text
//! circle 0x00 doc 0x00 0x00             -> snapshot
//! circle 0x00 doc 0x00 0x01 seq(u64 BE) -> chunk number seq, 0-based, in append order
//! circle 0x00 doc 0x00 0x02             -> tally: chunks(u64 BE) bytes(u64 BE)
//! 0xFF                                  -> write counter (u64 BE), bumped by every write
//! ```
//!
//! A document exists while it has a snapshot or a chunk. `append` writes a chunk and the
//! tally in one batch; `compact` removes every chunk and the tally and writes the snapshot
//! in one batch, so a crash shows either the old or the new state of the document.
//!
//! Tree `meta`: UTF-8 key -> value, plus the same 0xFF write counter (no UTF-8 string can
//! equal it). Keys under [`circle_meta_prefix`] belong to that circle and go with it in
//! `delete_circle`.
//!
//! The write counters are what let `open` tell lost data from a crash: see `home::Seal`.
//!
//! Every write is synced to disk (sled's flush, then fsync of its files) before it returns
//! Ok, so an acknowledged write survives kill -9 and power loss.
//!
//! # Files
//!
//! In the directory given to [`SledStore::open`]: `store.lock` (held while open),
//! `store.current` (names the live database), `store-db-N/` (the sled database) and
//! `store.seal` (write counts at the last clean close, so damage that sled would silently
//! drop is reported as [`StoreErrorKind::Corrupt`]). sled keeps the files of replaced large
//! values until its log turns over, which closing the store forces (`turn_over_log`), and
//! never gives back the space of its log, so
//! [`SledStore::reclaim`] rewrites the database into `store-db-(N+1)/` and renames a new
//! `store.current` into place; `open` does it when the files outgrow the data (see
//! [`RECLAIM_FLOOR`]), measured at most when the files outgrow the last measurement,
//! recorded in `store.measured`. A crash at any point leaves the old or the new database,
//! whole.
//!
//! The directory and everything the store keeps in it are the owner's alone (0700, files
//! 0600, whatever the umask), and opening narrows a home left readable by others, with a
//! warning: see `perms.rs`.
//!
//! # Encryption at rest
//!
//! [`SledStore::open_with`] given a passphrase creates (or opens) an encrypted store: every
//! value, the write counters included, is sealed with XChaCha20-Poly1305 under a key derived
//! by Argon2id, bound to its tree and key (see `crypt.rs` for the formats). The header with
//! the salt and a check value sits in each generation's directory, so
//! [`SledStore::set_passphrase`] rewrites into a new generation and a crash leaves the store
//! whole under the old passphrase or the new one. The passphrase is checked before anything
//! is written.
//!
//! Names inside keys (circle ids, document names, every segment of a meta key) are stored
//! as keyed-hash tokens, with the names themselves sealed in a `names` tree, so the files
//! show no circle id, month, peer id or peer address. What they still show to someone
//! holding them: how many circles, documents per circle and meta keys there are, how many
//! segments each meta key has, chunk counts, the size of every value, and which keys share
//! a name (equal names give equal tokens). After `set_passphrase` the old generation's
//! files are deleted, not overwritten: their blocks may still hold the old (or plaintext)
//! data until the file system reuses them.

mod crypt;
mod error;
mod home;
mod keys;
mod mem_store;
mod names;
mod perms;
mod sled_store;

pub use error::{StoreError, StoreErrorKind};
pub use mem_store::MemStore;
pub use names::circle_meta_prefix;
pub use sled_store::{Reclaimed, SledStore, RECLAIM_FACTOR, RECLAIM_FLOOR};

/// Where Grove keeps documents and small metadata. Implementations are interchangeable:
/// MemStore and SledStore answer every call the same way.
pub trait Store: Send + Sync + 'static {
    /// Circle ids that have at least one document, sorted.
    fn circles(&self) -> Result<Vec<String>, StoreError>;
    /// Document keys of a circle (e.g. "core", "decisions/2026-11"), sorted.
    fn docs(&self, circle: &str) -> Result<Vec<String>, StoreError>;
    /// The document's bytes: the snapshot followed by every chunk appended since, in order;
    /// None if absent.
    fn load(&self, circle: &str, doc: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Appends one incremental chunk. Durable when it returns Ok (survives kill -9). After an
    /// error the chunk may or may not be stored; appending it again is safe for Automerge,
    /// which ignores changes it already has.
    fn append(&self, circle: &str, doc: &str, chunk: &[u8]) -> Result<(), StoreError>;
    /// Atomically replaces the snapshot and drops all chunks (compaction). Durable on Ok.
    fn compact(&self, circle: &str, doc: &str, snapshot: &[u8]) -> Result<(), StoreError>;
    /// How many chunks / bytes are pending since the last snapshot (callers decide when to
    /// compact).
    fn pending(&self, circle: &str, doc: &str) -> Result<Pending, StoreError>;
    /// Removes every document of the circle and every meta key under
    /// [`circle_meta_prefix`]`(circle)`, atomically.
    fn delete_circle(&self, circle: &str) -> Result<(), StoreError>;
    /// Small key/value metadata (identity, sync states, settings).
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Durable on Ok.
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Like [`Store::put_meta`], but without waiting for the disk: for metadata whose loss
    /// in a crash only costs work (sync states, times of the last sync). Readable at once;
    /// durable with the next durable write, or when the store closes.
    fn put_meta_lazily(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.put_meta(key, value)
    }
    /// Appends a chunk and writes metadata that belongs with it (its changes' signatures)
    /// in one durable write: one sync of the disk instead of two. After a crash the
    /// metadata may be there without the chunk, never the chunk without the metadata.
    /// Every name is checked before anything is written: a refused write changes nothing.
    fn append_with_meta(
        &self,
        circle: &str,
        doc: &str,
        chunk: &[u8],
        meta: &[(&str, &[u8])],
    ) -> Result<(), StoreError>;
    /// Durable on Ok; deleting an absent key is Ok.
    fn delete_meta(&self, key: &str) -> Result<(), StoreError>;
    /// Every meta entry whose key starts with `prefix`, sorted by key.
    fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Bytes the store occupies on disk (0 for MemStore).
    fn size_on_disk(&self) -> Result<u64, StoreError>;
    /// Gives disk space back now (after bulk writes), if the store can; None if it cannot
    /// or need not.
    fn reclaim_space(&self) -> Result<Option<Reclaimed>, StoreError> {
        Ok(None)
    }
}

/// What has accumulated since the last snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pending {
    pub chunks: u64,
    pub bytes: u64,
}
