//! Change signatures: every Automerge change is authored under an actor id that IS its
//! device's Ed25519 public key, and carries that key's signature over its hash, stored and
//! sent beside it. A change's hash covers its content, deps, actor and timestamp, so the
//! signature binds all of them; verifying under the actor id proves the device wrote it.
//!
//! Signed message: `b"grove/change/v1" || change hash (32 bytes)`.
//!
//! # One signature vouches for its author's earlier changes
//!
//! A change's hash covers its deps' hashes, so a signature over a change commits to its
//! whole causal past. That past may hold changes by other actors that the signer merely
//! received, so the signature proves nothing about *them*: a member could invent a change
//! under someone else's actor id and build on it. But a change under the signer's *own*
//! actor id in that past is the signer's: an honest device holds a change under its own
//! actor only if it wrote it or checked its signature, which only it can make, and a
//! dishonest one could sign it anyway. So within a set of changes, a change is *covered*
//! when another change of the set by the same actor descends from it through changes of
//! the set ([`super::cover`]), and a verified signature on that descendant authenticates
//! it. Only the uncovered changes (in a device's chain, its newest in the set) need their
//! own signature checked: a full sync of 30,000 changes by a handful of devices checks a
//! handful of signatures.
//!
//! # Sound without trusting the signatures that are not checked
//!
//! A covered change's own signature is not checked, so a device may hold (and store, and
//! forward) a bad one for it: a hostile relay could have altered it. The rules that keep
//! an honest device from ever being blamed for that:
//!
//! * **Sender:** every signature an honest device sends for a change that is uncovered
//!   *in what it sends* was checked by that device first (or made by it), whenever it was
//!   received. Checking is lazy: at send time, for the few uncovered changes of a message
//!   whose stored signature is not known good (see [`Checked`]); one that fails is not
//!   sent (see [`crate::Circle::signatures_to_send`]).
//! * **Receiver of a sync message** ([`crate::Circle::authorize_sync`]): computes the
//!   cover over the same message, so it checks only signatures its sender checked. A bad
//!   one there proves the sender broke the rule: the message is garbage, refused whole. An
//!   uncovered change without a signature is *not* garbage (its honest sender may have
//!   held only a bad one), so it is refused on its own, with what depends on it, and
//!   nobody is blamed ([`AuthError::Unproven`]); it comes again with its cover or a good
//!   signature, from that peer or another. A change whose cover arrives in another frame
//!   (a batch split across frames, a held-back change, a cover the receiver refused for
//!   the circle's rules) is thus either checked on its own signature or waits. A refused
//!   cover still authenticates: refusal is about the circle's rules, not authorship.
//! * **Archives** ([`crate::Circle::authorize_merge`]): every signature present is
//!   checked, as before, so a tampered file is refused whole; a covered change may come
//!   without one. An honest export writes only signatures it checked
//!   ([`crate::archive::encode`]).
//!
//! Every device computes the same cover over the same message and checks signatures with
//! the same `verify_strict` (never batch verification, which accepts signatures a single
//! check refuses), so every device reaches the same verdict on the same message.
//!
//! Each signature is checked once: the pairs known good are remembered per circle
//! ([`Checked`]), so a change sent again, or held back and resent, is not checked again.
//!
//! # At rest: only the signatures nothing covers
//!
//! A month document of a large circle holds tens of thousands of changes by a handful of
//! devices, and a signature with its hash (96 bytes) outweighs the change it signs (about
//! 30 bytes of the saved document). So a month keeps only the signatures no later change
//! of the same author *in the month* covers ([`crate::Circle::keep_uncovered_signatures`],
//! which the node runs when it compacts a month, writes or loads one holding many): each
//! device's newest change, plus any whose cover it does not hold. What that asks of
//! sending:
//!
//! * A whole document, or an incremental message (automerge sends every descendant of a
//!   change the peer lacks, and an author's newest change descends from all of its
//!   earlier ones), carries each author's newest change with its earlier ones: covered.
//! * A change can still leave alone: one the peer asked for by hash (its Bloom filter of
//!   our changes had a false positive, or a frame was lost) while its descendants went
//!   earlier. The sender then adds the change's descendants to the message
//!   ([`crate::sync::Docs::needs_cover`]), so the message covers it again; the peer holds
//!   most of them already and takes them as duplicates.
//! * The core keeps every signature: the circle's rules refuse core changes of members
//!   (a removal without consent), and a change whose only cover was refused must travel
//!   on its own signature. A month change whose cover is refused (a removed member's,
//!   written after the removal) is kept with its own signature when one came with it; if
//!   none did, it travels only inside the month with its cover, and a peer without the
//!   cover refuses it as unproven, blaming nobody.

use std::collections::HashMap;

use automerge::{ActorId, Change, ChangeHash};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::members::hex;

/// Domain separation: a change signature can never be replayed as any other Grove signature.
pub const CHANGE_SIGNATURE_CONTEXT: &[u8] = b"grove/change/v1";
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 signature over a change (see the module docs).
pub type ChangeSignature = [u8; SIGNATURE_LEN];

/// A change with the signature held for it, if any.
#[derive(Debug, Clone)]
pub struct SignedChange {
    pub change: Change,
    pub signature: Option<ChangeSignature>,
}

/// What the check reads of a signed change: its metadata, never its ops, so a change can
/// be checked without rebuilding it from a document ([`SignedMeta`]).
pub trait Signed {
    fn hash(&self) -> ChangeHash;
    fn actor(&self) -> &ActorId;
    fn deps(&self) -> &[ChangeHash];
    /// Seconds since the epoch, as the change claims.
    fn timestamp(&self) -> i64;
    fn signature(&self) -> Option<ChangeSignature>;
    /// The whole change, if this is one: core changes are replayed, so they need it.
    fn whole(&self) -> Option<&SignedChange> {
        None
    }
}

impl Signed for SignedChange {
    fn hash(&self) -> ChangeHash {
        self.change.hash()
    }
    fn actor(&self) -> &ActorId {
        self.change.actor_id()
    }
    fn deps(&self) -> &[ChangeHash] {
        self.change.deps()
    }
    fn timestamp(&self) -> i64 {
        self.change.timestamp()
    }
    fn signature(&self) -> Option<ChangeSignature> {
        self.signature
    }
    fn whole(&self) -> Option<&SignedChange> {
        Some(self)
    }
}

/// A change's metadata with the signature held for it: enough to check a change of a
/// document that is not replayed (any but the core), read from a loaded document's change
/// graph instead of rebuilding each change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMeta {
    pub hash: ChangeHash,
    pub actor: ActorId,
    pub deps: Vec<ChangeHash>,
    pub timestamp: i64,
    pub signature: Option<ChangeSignature>,
}

impl Signed for SignedMeta {
    fn hash(&self) -> ChangeHash {
        self.hash
    }
    fn actor(&self) -> &ActorId {
        &self.actor
    }
    fn deps(&self) -> &[ChangeHash] {
        &self.deps
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn signature(&self) -> Option<ChangeSignature> {
        self.signature
    }
}

/// Why a change or a batch of changes was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("change {hash} has no signature")]
    Unsigned { hash: ChangeHash },
    #[error("change {hash} is not authored under a device key (actor id {actor})")]
    NotADeviceKey { hash: ChangeHash, actor: String },
    #[error("the signature of change {hash} does not verify under its author's key {device}")]
    BadSignature { hash: ChangeHash, device: String },
    #[error(
        "change {hash} was written by device {device}, which is not a member device of this circle"
    )]
    NotAMember { hash: ChangeHash, device: String },
    #[error("change {hash} was written by device {device} of member `{member}` after that member was removed")]
    Removed {
        hash: ChangeHash,
        device: String,
        member: String,
    },
    #[error("change {hash} by device {device} is refused: {what}")]
    NotAllowed {
        hash: ChangeHash,
        device: String,
        what: String,
    },
    #[error("change {hash} depends on refused change {on}")]
    DependsOnRefused { hash: ChangeHash, on: ChangeHash },
    #[error("the circle's core document has more than one first change")]
    TwoRoots,
    #[error("changes that cannot be checked: {reason}")]
    Unreadable { reason: String },
    #[error("change {hash} came without a signature and without a later change of its author to vouch for it")]
    Unproven { hash: ChangeHash },
    #[error("change {hash} answers an escalation on a state of the circle's core this device does not hold yet")]
    CoreNotHeld { hash: ChangeHash },
}

impl AuthError {
    /// Whether the refusal may be lifted by core changes not yet received: an unknown
    /// author may be admitted by one, and an escalation's answer may name core changes
    /// still on their way. Anything else is final.
    pub fn may_resolve_later(&self) -> bool {
        matches!(
            self,
            AuthError::NotAMember { .. } | AuthError::CoreNotHeld { .. }
        )
    }

    /// Whether this is a change the circle's rules forbid (or one built on such a change),
    /// as opposed to garbage: a member may hold one in good faith, having received it
    /// before it learned of the rule that forbids it, so it is refused on its own.
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self,
            AuthError::Removed { .. }
                | AuthError::NotAllowed { .. }
                | AuthError::DependsOnRefused { .. }
        )
    }

    /// Whether the change is refused on its own (with what depends on it) rather than
    /// failing its whole batch: a forbidden change, or one a sync message carried without
    /// the signature its check needs, which an honest sender may send (see the module
    /// docs) and may come again with one.
    pub fn is_refusal(&self) -> bool {
        self.is_forbidden() || matches!(self, AuthError::Unproven { .. })
    }

    /// The device whose own change broke a rule (None for a change refused only because
    /// it depends on one, and for garbage).
    pub fn device(&self) -> Option<&str> {
        match self {
            AuthError::Removed { device, .. } | AuthError::NotAllowed { device, .. } => {
                Some(device)
            }
            _ => None,
        }
    }
}

/// The bytes a change signature covers.
fn signed_bytes(hash: &ChangeHash) -> [u8; CHANGE_SIGNATURE_CONTEXT.len() + 32] {
    let mut msg = [0u8; CHANGE_SIGNATURE_CONTEXT.len() + 32];
    msg[..CHANGE_SIGNATURE_CONTEXT.len()].copy_from_slice(CHANGE_SIGNATURE_CONTEXT);
    msg[CHANGE_SIGNATURE_CONTEXT.len()..].copy_from_slice(&hash.0);
    msg
}

/// Signs the change with this hash as `key`'s device.
pub fn sign_change(key: &SigningKey, hash: &ChangeHash) -> ChangeSignature {
    key.sign(&signed_bytes(hash)).to_bytes()
}

/// The device (public key hex) an actor id names, if it is a well-formed Ed25519 key.
pub fn actor_device(actor: &ActorId) -> Option<String> {
    let bytes: [u8; 32] = actor.to_bytes().try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()?;
    Some(hex(&bytes))
}

/// The actor id of a device key: its public key bytes.
pub fn device_actor(key: &SigningKey) -> ActorId {
    ActorId::from(key.verifying_key().as_bytes().as_slice())
}

/// The public key hex of a device key, as member records name devices.
pub fn device_hex(key: &SigningKey) -> String {
    hex(key.verifying_key().as_bytes())
}

/// Checks `signature` over the change `hash` under `actor` (the change's author); returns
/// the author's device hex.
pub fn verify_change(
    actor: &ActorId,
    hash: &ChangeHash,
    signature: Option<&ChangeSignature>,
) -> Result<String, AuthError> {
    Verifier::default().verify_change(actor, hash, signature)
}

/// [`verify_change`] for many changes: each author's key is decompressed once, not once
/// per change (a full sync verifies thousands of changes by a handful of devices).
#[derive(Debug, Default)]
pub struct Verifier {
    /// Per actor id: its key and device hex, or `None` if it is not a device key.
    keys: HashMap<ActorId, Option<(VerifyingKey, String)>>,
}

impl Verifier {
    /// The device `actor` names, without checking any signature: for a covered change.
    pub fn device(&mut self, actor: &ActorId, hash: &ChangeHash) -> Result<String, AuthError> {
        match self.key(actor) {
            Some((_, device)) => Ok(device.clone()),
            None => Err(AuthError::NotADeviceKey {
                hash: *hash,
                actor: actor.to_hex_string(),
            }),
        }
    }

    fn key(&mut self, actor: &ActorId) -> &Option<(VerifyingKey, String)> {
        // Looked up before inserting: called once per change, it must not copy the actor
        // id each time.
        if !self.keys.contains_key(actor) {
            let key = <[u8; 32]>::try_from(actor.to_bytes())
                .ok()
                .and_then(|bytes| Some((VerifyingKey::from_bytes(&bytes).ok()?, hex(&bytes))));
            self.keys.insert(actor.clone(), key);
        }
        self.keys.get(actor).unwrap_or(&None)
    }

    /// [`verify_change`], exactly as strict.
    pub fn verify_change(
        &mut self,
        actor: &ActorId,
        hash: &ChangeHash,
        signature: Option<&ChangeSignature>,
    ) -> Result<String, AuthError> {
        let hash = *hash;
        let Some((key, device)) = self.key(actor) else {
            return Err(AuthError::NotADeviceKey {
                hash,
                actor: actor.to_hex_string(),
            });
        };
        let signature = signature.ok_or(AuthError::Unsigned { hash })?;
        key.verify_strict(&signed_bytes(&hash), &Signature::from_bytes(signature))
            .map_err(|_| AuthError::BadSignature {
                hash,
                device: device.clone(),
            })?;
        Ok(device.clone())
    }

    /// [`verify`] through this verifier.
    pub fn verify(&mut self, signed: &SignedChange) -> Result<String, AuthError> {
        self.verify_change(
            signed.change.actor_id(),
            &signed.change.hash(),
            signed.signature.as_ref(),
        )
    }
}

/// Most pairs [`Checked`] remembers (~10 MB); past it, it starts again (a cache, not a
/// record). Sync fills it with a few signatures per author and message; imports and
/// exports, which check every signature, pass through it.
const MAX_CHECKED: usize = 1 << 16;

/// Signatures known good: (change hash, signature) pairs this device checked or made, so
/// none is checked twice. In memory only: after a restart the few a send needs are checked
/// again. Behind a lock so a check through a shared borrow can remember what it found.
#[derive(Debug, Default)]
pub struct Checked(std::sync::Mutex<std::collections::HashSet<(ChangeHash, ChangeSignature)>>);

impl Checked {
    fn set(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashSet<(ChangeHash, ChangeSignature)>> {
        // A panic elsewhere while holding it leaves a set that is still a valid cache.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn contains(&self, hash: &ChangeHash, sig: &ChangeSignature) -> bool {
        self.set().contains(&(*hash, *sig))
    }

    pub fn insert(&self, hash: ChangeHash, sig: ChangeSignature) {
        let mut set = self.set();
        if set.len() >= MAX_CHECKED {
            set.clear();
        }
        set.insert((hash, sig));
    }
}

impl Verifier {
    /// [`Verifier::verify_change`], skipping (and then remembering) pairs `checked` knows.
    pub fn verify_known(
        &mut self,
        checked: &Checked,
        actor: &ActorId,
        hash: &ChangeHash,
        signature: Option<&ChangeSignature>,
    ) -> Result<String, AuthError> {
        if let Some(sig) = signature {
            if checked.contains(hash, sig) {
                return self.device(actor, hash);
            }
        }
        let device = self.verify_change(actor, hash, signature)?;
        if let Some(sig) = signature {
            checked.insert(*hash, *sig);
        }
        Ok(device)
    }
}

/// The signatures of `sigs` that verify for a change `doc` holds, and how many were
/// dropped (bad, or for a change it does not hold): for signatures stored before every
/// stored signature was checked first (a tampered import could replace good ones). Where
/// a change has two, the one that verifies is kept.
pub fn keep_valid(
    doc: &automerge::Automerge,
    sigs: Vec<(ChangeHash, ChangeSignature)>,
) -> (Vec<(ChangeHash, ChangeSignature)>, usize) {
    let actors: HashMap<ChangeHash, ActorId> = doc
        .get_changes_meta(&[])
        .into_iter()
        .map(|m| (m.hash, m.actor.into_owned()))
        .collect();
    let mut verifier = Verifier::default();
    let mut kept: HashMap<ChangeHash, ChangeSignature> = HashMap::new();
    let total = sigs.len();
    for (hash, sig) in sigs {
        if kept.contains_key(&hash) {
            continue;
        }
        let good = actors
            .get(&hash)
            .is_some_and(|actor| verifier.verify_change(actor, &hash, Some(&sig)).is_ok());
        if good {
            kept.insert(hash, sig);
        }
    }
    let dropped = total - kept.len();
    (kept.into_iter().collect(), dropped)
}

/// The changes an automerge sync message carries, parsed chunk by chunk: a change (plain
/// or compressed) or a whole saved document. Anything else (a bundle chunk, trailing
/// bytes) is refused: Grove peers never send it, and what is applied must be exactly what
/// was verified (see [`with_changes`], [`is_whole_document`]).
pub fn message_changes(message: &automerge::sync::Message) -> Result<Vec<Change>, String> {
    let mut out = Vec::new();
    for_each_chunk(message, |chunk| {
        match chunk.get(8) {
            Some(0) => {
                let doc = automerge::Automerge::load(chunk)
                    .map_err(|e| format!("unreadable document chunk: {e}"))?;
                out.extend(doc.get_changes(&[]));
            }
            Some(1 | 2) => {
                out.push(Change::try_from(chunk).map_err(|e| format!("unreadable change: {e}"))?)
            }
            other => return Err(format!("unexpected chunk type {other:?}")),
        }
        Ok(())
    })?;
    Ok(out)
}

/// One change's place in the change graph, owned: see [`super::cover::Link`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedLink {
    pub hash: ChangeHash,
    pub actor: ActorId,
    pub deps: Vec<ChangeHash>,
}

impl OwnedLink {
    pub fn link(&self) -> super::cover::Link<'_> {
        super::cover::Link {
            hash: self.hash,
            actor: &self.actor,
            deps: &self.deps,
        }
    }
}

/// The changes in `message`, which `doc` just generated, as the cover needs them: a
/// whole-document chunk is `doc` saved, so its changes are all of `doc`'s, read from
/// `doc`'s change graph (metadata only) instead of loading the chunk again.
pub fn generated_links(
    message: &automerge::sync::Message,
    doc: &automerge::Automerge,
) -> Result<Vec<OwnedLink>, String> {
    let mut out = Vec::new();
    for_each_chunk(message, |chunk| {
        match chunk.get(8) {
            Some(0) => out.extend(doc.get_changes_meta(&[]).into_iter().map(|m| OwnedLink {
                hash: m.hash,
                actor: m.actor.into_owned(),
                deps: m.deps,
            })),
            Some(1 | 2) => {
                let change =
                    Change::try_from(chunk).map_err(|e| format!("unreadable change: {e}"))?;
                out.push(OwnedLink {
                    hash: change.hash(),
                    actor: change.actor_id().clone(),
                    deps: change.deps().to_vec(),
                });
            }
            other => return Err(format!("unexpected chunk type {other:?}")),
        }
        Ok(())
    })?;
    Ok(out)
}

/// The document a message that [`is_whole_document`] carries, loaded (automerge checks
/// its heads as it loads it).
pub fn load_whole(message: &automerge::sync::Message) -> Result<automerge::Automerge, String> {
    let mut doc = None;
    for_each_chunk(message, |chunk| {
        doc = Some(
            automerge::Automerge::load(chunk)
                .map_err(|e| format!("unreadable document chunk: {e}"))?,
        );
        Ok(())
    })?;
    doc.ok_or_else(|| "no document chunk".to_string())
}

/// Whether `message` is one whole-document chunk and nothing else. Loaded into an empty
/// document it yields exactly the changes [`message_changes`] read from it (automerge
/// loads the same bytes the same way, checking the heads), so after those are verified the
/// message can be applied as it came: one load instead of one change at a time.
pub fn is_whole_document(message: &automerge::sync::Message) -> bool {
    let mut chunks = message.changes.iter();
    let (Some(only), None) = (chunks.next(), chunks.next()) else {
        return false;
    };
    matches!(split_chunk(only), Ok((chunk, rest)) if rest.is_empty() && chunk.get(8) == Some(&0))
}

/// Calls `f` on every storage chunk of `message`, in order.
fn for_each_chunk(
    message: &automerge::sync::Message,
    mut f: impl FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
    for chunk_list in message.changes.iter() {
        let mut rest = chunk_list;
        while !rest.is_empty() {
            let (chunk, tail) = split_chunk(rest)?;
            rest = tail;
            f(chunk)?;
        }
    }
    Ok(())
}

/// `message` carrying exactly `changes` (as plain change chunks) instead of its own bytes.
pub fn with_changes(
    mut message: automerge::sync::Message,
    changes: &[Change],
) -> automerge::sync::Message {
    message.changes = changes
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect::<Vec<_>>()
        .into();
    message
}

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// One storage chunk off the front of `bytes`: magic (4), checksum (4), type (1), data
/// length (ULEB128), data.
fn split_chunk(bytes: &[u8]) -> Result<(&[u8], &[u8]), String> {
    if bytes.len() < 9 || bytes[..4] != CHUNK_MAGIC {
        return Err("not an automerge chunk".into());
    }
    let mut len: u64 = 0;
    let mut pos = 9;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(pos).ok_or("truncated chunk header")?;
        pos += 1;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        if shift >= 56 {
            return Err("chunk length overflows".into());
        }
    }
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| pos.checked_add(l))
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated chunk")?;
    Ok(bytes.split_at(end))
}

/// [`verify_change`] for a [`SignedChange`].
pub fn verify(signed: &SignedChange) -> Result<String, AuthError> {
    verify_change(
        signed.change.actor_id(),
        &signed.change.hash(),
        signed.signature.as_ref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable as _;
    use automerge::{Automerge, ROOT};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn change_by(key: &SigningKey) -> Change {
        let mut doc = Automerge::new().with_actor(device_actor(key));
        let mut tx = doc.transaction();
        tx.put(ROOT, "k", "v").unwrap();
        tx.commit();
        doc.get_changes(&[]).remove(0)
    }

    #[test]
    fn a_signature_verifies_only_for_its_change_and_author() {
        let ana = key(1);
        let change = change_by(&ana);
        let sig = sign_change(&ana, &change.hash());
        let device = verify_change(change.actor_id(), &change.hash(), Some(&sig)).unwrap();
        assert_eq!(device, device_hex(&ana));

        let other = change_by(&ana);
        let err = verify_change(other.actor_id(), &ChangeHash([9; 32]), Some(&sig)).unwrap_err();
        assert!(matches!(err, AuthError::BadSignature { .. }), "{err}");

        // Ben signs a change claiming Ana's actor id: it does not verify under Ana's key.
        let forged = sign_change(&key(2), &change.hash());
        let err = verify_change(change.actor_id(), &change.hash(), Some(&forged)).unwrap_err();
        assert!(matches!(err, AuthError::BadSignature { .. }), "{err}");

        let err = verify_change(change.actor_id(), &change.hash(), None).unwrap_err();
        assert!(matches!(err, AuthError::Unsigned { .. }));

        let not_key = ActorId::from(b"actor-ana".as_slice());
        let err = verify_change(&not_key, &change.hash(), Some(&sig)).unwrap_err();
        assert!(matches!(err, AuthError::NotADeviceKey { .. }));
    }

    #[test]
    fn message_changes_are_found_in_every_message_form() {
        use automerge::sync::{State, SyncDoc};
        let ana = key(1);
        let mut doc = Automerge::new().with_actor(device_actor(&ana));
        for i in 0..5 {
            let mut tx = doc.transaction();
            tx.put(ROOT, "k", i).unwrap();
            tx.commit();
        }
        let all: Vec<ChangeHash> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        // A fresh peer gets the whole document (a document chunk).
        let mut theirs = Automerge::new();
        let (mut ours_state, mut their_state) = (State::new(), State::new());
        let mut seen = Vec::new();
        let mut whole_docs = 0;
        for _ in 0..10 {
            if let Some(m) = doc.generate_sync_message(&mut ours_state) {
                let changes = message_changes(&m).unwrap();
                let hashes: Vec<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
                // What the sender reads from its own document is what the receiver parses.
                let links = generated_links(&m, &doc).unwrap();
                assert_eq!(links.iter().map(|l| l.hash).collect::<Vec<_>>(), hashes);
                whole_docs += usize::from(is_whole_document(&m));
                seen.extend(hashes);
                let m = with_changes(m, &changes);
                theirs.receive_sync_message(&mut their_state, m).unwrap();
            }
            if let Some(m) = theirs.generate_sync_message(&mut their_state) {
                doc.receive_sync_message(&mut ours_state, m).unwrap();
            }
        }
        assert_eq!(theirs.get_heads(), doc.get_heads());
        assert_eq!(whole_docs, 1, "a fresh peer is sent the document once");
        seen.sort();
        let mut all = all;
        all.sort();
        assert_eq!(seen, all);
        // Then one new change travels as a change chunk.
        let mut tx = doc.transaction();
        tx.put(ROOT, "k", 99).unwrap();
        tx.commit();
        let m = doc.generate_sync_message(&mut ours_state).unwrap();
        let changes = message_changes(&m).unwrap();
        assert_eq!(changes.len(), 1);
        assert!(!is_whole_document(&m));
        let links = generated_links(&m, &doc).unwrap();
        assert_eq!(links[0].hash, changes[0].hash());
        assert_eq!(&links[0].actor, changes[0].actor_id());
        assert_eq!(links[0].deps, changes[0].deps());
    }

    #[test]
    fn a_verifier_that_knows_the_key_still_checks_every_signature() {
        let ana = key(1);
        let good = change_by(&ana);
        let other = {
            let mut doc = Automerge::new().with_actor(device_actor(&ana));
            let mut tx = doc.transaction();
            tx.put(ROOT, "k", "other").unwrap();
            tx.commit();
            doc.get_changes(&[]).remove(0)
        };
        assert_ne!(good.hash(), other.hash());
        let mut verifier = Verifier::default();
        let sig = sign_change(&ana, &good.hash());
        assert_eq!(
            verifier.verify_change(good.actor_id(), &good.hash(), Some(&sig)),
            Ok(device_hex(&ana))
        );
        // Same author, cached key: a signature over another change, a forged one and none
        // are refused exactly as a fresh check refuses them.
        for sig in [Some(sig), Some(sign_change(&key(2), &other.hash())), None] {
            assert_eq!(
                verifier.verify_change(other.actor_id(), &other.hash(), sig.as_ref()),
                verify_change(other.actor_id(), &other.hash(), sig.as_ref())
            );
            assert!(verifier
                .verify_change(other.actor_id(), &other.hash(), sig.as_ref())
                .is_err());
        }
        let not_key = ActorId::from(b"actor-ana".as_slice());
        for _ in 0..2 {
            let err = verifier
                .verify_change(&not_key, &good.hash(), Some(&sig))
                .unwrap_err();
            assert!(matches!(err, AuthError::NotADeviceKey { .. }), "{err}");
        }
    }

    #[test]
    fn garbage_chunks_are_refused() {
        assert!(split_chunk(&[0; 3]).is_err());
        let mut c = CHUNK_MAGIC.to_vec();
        c.extend([
            0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ]);
        assert!(split_chunk(&c).is_err());
        let mut c = CHUNK_MAGIC.to_vec();
        c.extend([0, 0, 0, 0, 1, 5, 1, 2]);
        assert!(split_chunk(&c).is_err(), "truncated data");
    }

    #[test]
    fn the_signature_is_domain_separated() {
        let ana = key(1);
        let hash = ChangeHash([3; 32]);
        // A plain signature over the bare hash must not pass as a change signature.
        let bare = ana.sign(&hash.0).to_bytes();
        let actor = device_actor(&ana);
        assert!(verify_change(&actor, &hash, Some(&bare)).is_err());
        assert_eq!(actor_device(&actor), Some(device_hex(&ana)));
    }
}
