//! The node lends the session machine (and through it the sync engine) the documents of its
//! open circles, with the core's checks on every peer's changes (signatures, authors): see
//! `crates/grove-core/src/sync/circles.rs`.

use grove_core::automerge::{Automerge, ChangeHash};
use grove_core::sync::{AuthError, ChangeSignature, DocAddr, Docs, Link, SignedChange, SignedMeta};
use grove_core::Authorized;

use super::NodeState;

impl Docs for NodeState {
    fn get(&self, addr: &DocAddr) -> Option<&Automerge> {
        Docs::get(&self.circles, addr)
    }

    fn get_mut(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        Docs::get_mut(&mut self.circles, addr)
    }

    fn create(&mut self, addr: &DocAddr) -> Option<&mut Automerge> {
        Docs::create(&mut self.circles, addr)
    }

    fn doc_keys(&self, circle: &str) -> Vec<String> {
        Docs::doc_keys(&self.circles, circle)
    }

    fn signature(&self, addr: &DocAddr, hash: &ChangeHash) -> Option<ChangeSignature> {
        Docs::signature(&self.circles, addr, hash)
    }

    fn needs_cover(&self, addr: &DocAddr, hash: &ChangeHash) -> bool {
        Docs::needs_cover(&self.circles, addr, hash)
    }

    fn signatures(
        &self,
        addr: &DocAddr,
        changes: &[Link<'_>],
    ) -> Vec<(ChangeHash, ChangeSignature)> {
        Docs::signatures(&self.circles, addr, changes)
    }

    fn authorize(&self, addr: &DocAddr, changes: &[SignedChange]) -> Result<Authorized, AuthError> {
        Docs::authorize(&self.circles, addr, changes)
    }

    fn authorize_meta(
        &self,
        addr: &DocAddr,
        changes: &[SignedMeta],
    ) -> Result<Authorized, AuthError> {
        Docs::authorize_meta(&self.circles, addr, changes)
    }

    fn adopt_loaded(&mut self, addr: &DocAddr, saved: Vec<u8>) {
        Docs::adopt_loaded(&mut self.circles, addr, saved)
    }

    fn keep_signatures(&mut self, addr: &DocAddr, verified: Authorized) {
        Docs::keep_signatures(&mut self.circles, addr, verified)
    }
}
