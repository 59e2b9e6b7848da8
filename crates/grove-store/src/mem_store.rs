//! MemStore: the Store contract held in memory, for tests of the crates above this one.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::names::{check_circle, check_doc, check_meta_key, circle_meta_prefix};
use crate::{Pending, Store, StoreError};

#[derive(Default)]
struct Doc {
    snapshot: Option<Vec<u8>>,
    chunks: Vec<Vec<u8>>,
}

#[derive(Default)]
struct State {
    /// Keyed by (circle, doc) so iteration is sorted the way SledStore's keys are.
    docs: BTreeMap<(String, String), Doc>,
    meta: BTreeMap<String, Vec<u8>>,
}

/// Same semantics as SledStore, nothing on disk.
#[derive(Default)]
pub struct MemStore {
    state: Mutex<State>,
}

impl MemStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every mutation below completes before it can panic, so a poisoned state is whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemStore {
    fn circles(&self) -> Result<Vec<String>, StoreError> {
        let mut circles: Vec<String> = self.state().docs.keys().map(|(c, _)| c.clone()).collect();
        circles.dedup();
        Ok(circles)
    }

    fn docs(&self, circle: &str) -> Result<Vec<String>, StoreError> {
        check_circle(circle)?;
        Ok(self
            .state()
            .docs
            .keys()
            .filter(|(c, _)| c == circle)
            .map(|(_, d)| d.clone())
            .collect())
    }

    fn load(&self, circle: &str, doc: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_circle(circle)?;
        check_doc(doc)?;
        let state = self.state();
        let Some(d) = state.docs.get(&(circle.to_owned(), doc.to_owned())) else {
            return Ok(None);
        };
        let mut bytes = d.snapshot.clone().unwrap_or_default();
        for chunk in &d.chunks {
            bytes.extend_from_slice(chunk);
        }
        Ok(Some(bytes))
    }

    fn append_with_meta(
        &self,
        circle: &str,
        doc: &str,
        chunk: &[u8],
        meta: &[(&str, &[u8])],
    ) -> Result<(), StoreError> {
        // Every name checked before anything is written, as SledStore does.
        check_circle(circle)?;
        check_doc(doc)?;
        for (key, _) in meta {
            check_meta_key(key)?;
        }
        for (key, value) in meta {
            self.put_meta(key, value)?;
        }
        self.append(circle, doc, chunk)
    }

    fn append(&self, circle: &str, doc: &str, chunk: &[u8]) -> Result<(), StoreError> {
        check_circle(circle)?;
        check_doc(doc)?;
        self.state()
            .docs
            .entry((circle.to_owned(), doc.to_owned()))
            .or_default()
            .chunks
            .push(chunk.to_vec());
        Ok(())
    }

    fn compact(&self, circle: &str, doc: &str, snapshot: &[u8]) -> Result<(), StoreError> {
        check_circle(circle)?;
        check_doc(doc)?;
        self.state().docs.insert(
            (circle.to_owned(), doc.to_owned()),
            Doc {
                snapshot: Some(snapshot.to_vec()),
                chunks: Vec::new(),
            },
        );
        Ok(())
    }

    fn pending(&self, circle: &str, doc: &str) -> Result<Pending, StoreError> {
        check_circle(circle)?;
        check_doc(doc)?;
        let state = self.state();
        let chunks = state
            .docs
            .get(&(circle.to_owned(), doc.to_owned()))
            .map(|d| d.chunks.as_slice())
            .unwrap_or_default();
        Ok(Pending {
            chunks: chunks.len() as u64,
            bytes: chunks.iter().map(|c| c.len() as u64).sum(),
        })
    }

    fn delete_circle(&self, circle: &str) -> Result<(), StoreError> {
        check_circle(circle)?;
        let prefix = circle_meta_prefix(circle);
        let mut state = self.state();
        state.docs.retain(|(c, _), _| c != circle);
        state.meta.retain(|k, _| !k.starts_with(&prefix));
        Ok(())
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_meta_key(key)?;
        Ok(self.state().meta.get(key).cloned())
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        check_meta_key(key)?;
        self.state().meta.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        check_meta_key(key)?;
        self.state().meta.remove(key);
        Ok(())
    }

    fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self
            .state()
            .meta
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}
