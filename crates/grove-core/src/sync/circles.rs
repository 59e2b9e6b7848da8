//! The documents of open circles as the engine sees them: what a node syncs.

use std::collections::HashMap;

use automerge::{Automerge, ChangeHash};

use super::cover::Link;
use super::engine::{DocAddr, Docs};
use super::signing::{AuthError, ChangeSignature, SignedChange, SignedMeta};
use crate::circle::Circle;
use crate::error::CoreError;
use crate::Authorized;

/// Lends the engine the documents of the open circles, their change signatures, and
/// [`Circle::authorize_sync`] as the check on every peer's changes. A circle should be
/// synced only once every one of its shards is in memory, so a document the circle lacks
/// in memory is one it lacks on disk too. The map itself is [`Docs`] too, for a caller that
/// lends more than its circles (the node lends itself, see `crates/grove-node/src/state/docs.rs`).
pub struct CircleDocs<'a>(pub &'a mut HashMap<String, Circle>);

impl Docs for CircleDocs<'_> {
    fn get(&self, addr: &DocAddr) -> Option<&Automerge> {
        Docs::get(&*self.0, addr)
    }

    fn get_mut(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        Docs::get_mut(&mut *self.0, addr)
    }

    fn create(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        Docs::create(&mut *self.0, addr)
    }

    fn doc_keys(&self, circle: &str) -> Vec<String> {
        Docs::doc_keys(&*self.0, circle)
    }

    fn signature(&self, addr: &DocAddr, hash: &ChangeHash) -> Option<ChangeSignature> {
        Docs::signature(&*self.0, addr, hash)
    }

    fn needs_cover(&self, addr: &DocAddr, hash: &ChangeHash) -> bool {
        Docs::needs_cover(&*self.0, addr, hash)
    }

    fn signatures(
        &self,
        addr: &DocAddr,
        changes: &[Link<'_>],
    ) -> Vec<(ChangeHash, ChangeSignature)> {
        Docs::signatures(&*self.0, addr, changes)
    }

    fn authorize(&self, addr: &DocAddr, changes: &[SignedChange]) -> Result<Authorized, AuthError> {
        Docs::authorize(&*self.0, addr, changes)
    }

    fn authorize_meta(
        &self,
        addr: &DocAddr,
        changes: &[SignedMeta],
    ) -> Result<Authorized, AuthError> {
        Docs::authorize_meta(&*self.0, addr, changes)
    }

    fn adopt_loaded(&mut self, addr: &DocAddr, saved: Vec<u8>) {
        Docs::adopt_loaded(&mut *self.0, addr, saved)
    }

    fn keep_signatures(&mut self, addr: &DocAddr, verified: Authorized) {
        Docs::keep_signatures(&mut *self.0, addr, verified)
    }
}

impl Docs for HashMap<String, Circle> {
    fn get(&self, addr: &DocAddr) -> Option<&Automerge> {
        self.get(&addr.circle)?.doc(&addr.doc)
    }

    fn get_mut(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        let circle = self.get_mut(&addr.circle)?;
        // `doc_mut` creates missing shards; only `create` may do that.
        if !circle.has_doc(&addr.doc) {
            return None;
        }
        circle.doc_mut(&addr.doc)
    }

    fn create(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        // Refuses keys that are not Grove documents; a peer's new month becomes a shard.
        self.get_mut(&addr.circle)?.doc_mut(&addr.doc)
    }

    fn doc_keys(&self, circle: &str) -> Vec<String> {
        self.get(circle).map(Circle::doc_keys).unwrap_or_default()
    }

    fn signature(&self, addr: &DocAddr, hash: &ChangeHash) -> Option<ChangeSignature> {
        self.get(&addr.circle)?.signature(&addr.doc, hash)
    }

    fn needs_cover(&self, addr: &DocAddr, hash: &ChangeHash) -> bool {
        self.get(&addr.circle)
            .is_some_and(|c| c.needs_cover(&addr.doc, hash))
    }

    fn signatures(
        &self,
        addr: &DocAddr,
        changes: &[Link<'_>],
    ) -> Vec<(ChangeHash, ChangeSignature)> {
        self.get(&addr.circle)
            .map(|c| c.signatures_to_send(&addr.doc, changes))
            .unwrap_or_default()
    }

    fn authorize(&self, addr: &DocAddr, changes: &[SignedChange]) -> Result<Authorized, AuthError> {
        let Some(circle) = self.get(&addr.circle) else {
            return Err(AuthError::Unreadable {
                reason: format!("circle {} is not open here", addr.circle),
            });
        };
        match circle.authorize_sync(&[(addr.doc.clone(), changes.to_vec())]) {
            Ok(verdict) => Ok(verdict),
            Err(CoreError::Unauthorized(e)) => Err(e),
            Err(e) => Err(AuthError::Unreadable {
                reason: e.to_string(),
            }),
        }
    }

    fn authorize_meta(
        &self,
        addr: &DocAddr,
        changes: &[SignedMeta],
    ) -> Result<Authorized, AuthError> {
        let Some(circle) = self.get(&addr.circle) else {
            return Err(AuthError::Unreadable {
                reason: format!("circle {} is not open here", addr.circle),
            });
        };
        match circle.authorize_sync_meta(&addr.doc, changes) {
            Ok(verdict) => Ok(verdict),
            Err(CoreError::Unauthorized(e)) => Err(e),
            Err(e) => Err(AuthError::Unreadable {
                reason: e.to_string(),
            }),
        }
    }

    fn adopt_loaded(&mut self, addr: &DocAddr, saved: Vec<u8>) {
        if let Some(circle) = self.get_mut(&addr.circle) {
            circle.adopt_loaded(&addr.doc, saved);
        }
    }

    fn keep_signatures(&mut self, addr: &DocAddr, mut verified: Authorized) {
        if let Some(circle) = self.get_mut(&addr.circle) {
            circle.keep_signatures(&mut verified);
        }
    }
}
