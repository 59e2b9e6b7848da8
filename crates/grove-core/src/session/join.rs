//! Joining a circle with an invite code, as the session machine sees it: the JOIN and
//! JOIN_REPLY control frames, and the rules a request from a stranger meets before the
//! caller checks it against the circle (see [`super::Sessions`]).
//!
//! The joiner sends a JOIN control frame: circle, invite, who it is, and a proof that it
//! knows the secret, bound to both devices (see `crate::join_proof`). A request is checked
//! only if it is well formed, names the sender's own device key, and fits the limits: a few
//! requests per connection, a few without the secret, and a burst for the whole node that
//! grows back with time. The caller then admits (or refuses) it against the circle
//! ([`super::Effect::Admit`], answered by [`super::Input::Admission`]) and the machine
//! sends the answer: the whole circle, or a refusal saying why. The joiner's side (dialling
//! the inviter, importing the answer) is the caller's (`crates/grove-node/src/join.rs` and `state/admission.rs`).
//!
//! JOIN layout: `version: u8 = 1`, circle id, invite id, member id (each u8 length +
//! ASCII), name (u16 BE length + UTF-8), device key (32 bytes), fresh (u8 0/1), proof
//! (32 bytes), nothing after. JOIN_REPLY: `version: u8 = 1`, then `0` + member id (u8
//! length + ASCII) + kind (`0` member, `1` device) + circle archive (the rest), or `1` +
//! refusal code (u8) + message (u16 BE length + UTF-8).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::{Refusal, Timestamp, JOIN_PROOF_LEN};

/// The message kinds of a join request, and of its answer.
pub const JOIN: &str = "join";
pub const JOIN_REPLY: &str = "join-reply";
const VERSION: u8 = 1;
/// Far above any honest request (ids, a name, a key, a proof); bounds what a stranger's
/// frame can make us decode.
const MAX_JOIN_LEN: usize = 1024;
const MAX_ID: usize = 128;
const MAX_NAME: usize = 256;
const MAX_MESSAGE: usize = 1024;
/// Join requests one peer may send before it is dropped, and how many of them may fail for
/// want of the secret: an honest joiner needs one, or a few after lost answers.
const MAX_ATTEMPTS: u8 = 6;
const MAX_BAD_ATTEMPTS: u8 = 3;
/// Peers whose attempts are remembered at once; beyond that the record starts afresh.
const MAX_TRACKED: usize = 4096;
/// Join requests a node checks in a burst, from all peers together: fresh peer ids cost
/// nothing, so per-peer limits alone do not bound how often strangers are answered. Past
/// it, a request is answered "busy" unchecked (see [`Refusal::Busy`]).
pub const JOIN_BURST: u32 = 20;
/// How often the burst allowance grows back by one request (20 a minute at most, after a
/// burst): far more than people joining ever need, far less than a guessing machine wants.
pub const JOIN_REFILL: Duration = Duration::from_secs(3);
#[derive(Debug, Default, Clone, Copy)]
struct Attempts {
    total: u8,
    bad: u8,
}

/// A token bucket over the node's clock: [`JOIN_BURST`] requests, one more every
/// [`JOIN_REFILL`].
#[derive(Debug, Default)]
struct Allowance {
    /// Requests left, and when the bucket was last filled up to now; None before the first.
    left: u32,
    filled_at: Option<Timestamp>,
}

impl Allowance {
    /// Takes one request from the allowance at `now`, if any is left.
    fn take(&mut self, now: Timestamp) -> bool {
        let every = i64::try_from(JOIN_REFILL.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        match self.filled_at {
            None => {
                self.left = JOIN_BURST;
                self.filled_at = Some(now);
            }
            // A clock set back starts the wait afresh rather than stopping refills.
            Some(at) if now.0 < at.0 => self.filled_at = Some(now),
            Some(at) => {
                let grown = now.0.saturating_sub(at.0) / every;
                if grown > 0 {
                    let grown = u32::try_from(grown).unwrap_or(u32::MAX);
                    self.left = self.left.saturating_add(grown).min(JOIN_BURST);
                    self.filled_at = Some(Timestamp(
                        at.0.saturating_add(i64::from(grown).saturating_mul(every)),
                    ));
                }
            }
        }
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}

/// A decoded JOIN frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinFrame {
    pub circle: String,
    pub invite: String,
    pub member: String,
    pub name: String,
    pub device: [u8; 32],
    pub fresh: bool,
    pub proof: [u8; JOIN_PROOF_LEN],
}

/// A decoded JOIN_REPLY frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Admitted {
        member: String,
        link: bool,
        archive: Vec<u8>,
    },
    Refused {
        code: u8,
        message: String,
    },
}

/// What a join request leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinStep {
    /// The peer broke the join rules and is dropped.
    Fault(String),
    /// Too many requests at once: answer "busy" (these bytes) without checking.
    Busy(Vec<u8>),
    /// Check the request against the circle.
    Admit(JoinFrame),
}

/// What the caller's check of a join request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Admitted as `member` (by a device link when `link`); `archive` is the whole circle.
    Admitted {
        member: String,
        link: bool,
        archive: Vec<u8>,
    },
    Refused(Refusal),
    /// The check itself failed (a store error): told to the joiner, blaming no one.
    Failed(String),
}

/// Strangers' join attempts, by peer, and the node's allowance.
#[derive(Debug)]
pub struct Joins<P> {
    attempts: BTreeMap<P, Attempts>,
    allowance: Allowance,
}

impl<P> Default for Joins<P> {
    fn default() -> Self {
        Joins {
            attempts: BTreeMap::new(),
            allowance: Allowance::default(),
        }
    }
}

impl<P: Ord + Clone> Joins<P> {
    /// A JOIN frame from `peer`, whose device (public key hex) is `peer_device`, at `now`.
    pub fn request(
        &mut self,
        peer: &P,
        payload: &[u8],
        peer_device: Option<&str>,
        now: Timestamp,
    ) -> JoinStep {
        if self.attempts.len() >= MAX_TRACKED && !self.attempts.contains_key(peer) {
            self.attempts.clear();
        }
        let tries = self.attempts.entry(peer.clone()).or_default();
        tries.total = tries.total.saturating_add(1);
        if tries.total > MAX_ATTEMPTS {
            return JoinStep::Fault("sent too many join requests".into());
        }
        let request = match decode_join(payload) {
            Ok(r) => r,
            Err(why) => return JoinStep::Fault(format!("sent an invalid join request: {why}")),
        };
        let device = data_encoding::HEXLOWER.encode(&request.device);
        if peer_device != Some(device.as_str()) {
            return JoinStep::Fault("asked to join with a device key that is not its own".into());
        }
        if !self.allowance.take(now) {
            let busy = Reply::Refused {
                code: refusal_code(&Refusal::Busy),
                message: Refusal::Busy.to_string(),
            };
            return JoinStep::Busy(encode_reply(&busy));
        }
        JoinStep::Admit(request)
    }

    /// The answer to `peer`'s request as checked: the JOIN_REPLY bytes, or why the peer is
    /// dropped instead (it keeps guessing the secret).
    pub fn answered(&mut self, peer: &P, admission: Admission) -> Result<Vec<u8>, String> {
        let reply = match admission {
            Admission::Admitted {
                member,
                link,
                archive,
            } => Reply::Admitted {
                member,
                link,
                archive,
            },
            Admission::Refused(refusal) => {
                if matches!(
                    refusal,
                    Refusal::Unknown | Refusal::BadProof | Refusal::Malformed(_)
                ) {
                    let tries = self.attempts.entry(peer.clone()).or_default();
                    tries.bad = tries.bad.saturating_add(1);
                    if tries.bad > MAX_BAD_ATTEMPTS {
                        return Err(
                            "sent too many join requests without the invite's secret".into()
                        );
                    }
                }
                refusal_answer(refusal)
            }
            Admission::Failed(e) => Reply::Refused {
                code: 0,
                message: format!("the inviter's device could not admit you ({e}); try again later"),
            },
        };
        Ok(encode_reply(&reply))
    }

    /// The peer went away: its next connection may try again (wrong secrets stay counted).
    pub fn peer_gone(&mut self, peer: &P) {
        if let Some(tries) = self.attempts.get_mut(peer) {
            tries.total = 0;
        }
    }
}

/// The answer to a refused join. An unknown invite is told in the very words of a wrong
/// secret, not only with its code: a modified joiner reads the words too.
pub fn refusal_answer(refusal: Refusal) -> Reply {
    let refusal = match refusal {
        Refusal::Unknown => Refusal::BadProof,
        other => other,
    };
    Reply::Refused {
        code: refusal_code(&refusal),
        message: refusal.to_string(),
    }
}

pub fn refusal_code(r: &Refusal) -> u8 {
    match r {
        // One answer for both, so a stranger cannot tell which invites (or circles) this
        // node holds: code 1 is only read from older inviters.
        Refusal::Unknown | Refusal::BadProof => 2,
        Refusal::Expired => 3,
        Refusal::UsedUp => 4,
        Refusal::Revoked => 5,
        Refusal::MemberTaken(_) => 6,
        Refusal::DeviceInUse => 7,
        Refusal::Malformed(_) => 8,
        Refusal::Removed => 9,
        Refusal::Busy => 10,
    }
}

/// Our own wording for refusals we know; the inviter's for others (a newer Grove's).
pub fn refusal_from(code: u8, message: String, me: &str) -> Refusal {
    match code {
        1 => Refusal::Unknown,
        2 => Refusal::BadProof,
        3 => Refusal::Expired,
        4 => Refusal::UsedUp,
        5 => Refusal::Revoked,
        6 => Refusal::MemberTaken(me.to_string()),
        7 => Refusal::DeviceInUse,
        9 => Refusal::Removed,
        10 => Refusal::Busy,
        _ => Refusal::Malformed(clean(&message)),
    }
}

/// A remote message made safe to show: no control characters, bounded.
fn clean(message: &str) -> String {
    message
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE)
        .collect()
}

pub fn encode_join(f: &JoinFrame) -> Vec<u8> {
    let mut out = vec![VERSION];
    for id in [&f.circle, &f.invite, &f.member] {
        out.push(id.len().min(MAX_ID) as u8);
        out.extend_from_slice(&id.as_bytes()[..id.len().min(MAX_ID)]);
    }
    let name = truncate(&f.name, MAX_NAME);
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&f.device);
    out.push(u8::from(f.fresh));
    out.extend_from_slice(&f.proof);
    out
}

pub fn decode_join(bytes: &[u8]) -> Result<JoinFrame, &'static str> {
    if bytes.len() > MAX_JOIN_LEN {
        return Err("too long");
    }
    let mut r = Reader(bytes);
    if r.take(1)? != [VERSION] {
        return Err("unsupported version");
    }
    let circle = r.id()?;
    let invite = r.id()?;
    let member = r.id()?;
    let name_len = usize::from(u16::from_be_bytes(r.array()?));
    if name_len > MAX_NAME {
        return Err("name too long");
    }
    let name = std::str::from_utf8(r.take(name_len)?)
        .map_err(|_| "name is not UTF-8")?
        .to_string();
    let device = r.array()?;
    let fresh = match r.take(1)?[0] {
        0 => false,
        1 => true,
        _ => return Err("bad flag"),
    };
    let proof = r.array()?;
    if !r.0.is_empty() {
        return Err("unexpected bytes at the end");
    }
    Ok(JoinFrame {
        circle,
        invite,
        member,
        name,
        device,
        fresh,
        proof,
    })
}

pub fn encode_reply(reply: &Reply) -> Vec<u8> {
    let mut out = vec![VERSION];
    match reply {
        Reply::Admitted {
            member,
            link,
            archive,
        } => {
            out.push(0);
            out.push(member.len().min(MAX_ID) as u8);
            out.extend_from_slice(&member.as_bytes()[..member.len().min(MAX_ID)]);
            out.push(u8::from(*link));
            out.extend_from_slice(archive);
        }
        Reply::Refused { code, message } => {
            out.push(1);
            out.push(*code);
            let message = truncate(message, MAX_MESSAGE);
            out.extend_from_slice(&(message.len() as u16).to_be_bytes());
            out.extend_from_slice(message.as_bytes());
        }
    }
    out
}

pub fn decode_reply(bytes: &[u8]) -> Result<Reply, &'static str> {
    let mut r = Reader(bytes);
    if r.take(1)? != [VERSION] {
        return Err("unsupported version");
    }
    match r.take(1)?[0] {
        0 => {
            let member = r.id()?;
            let link = match r.take(1)?[0] {
                0 => false,
                1 => true,
                _ => return Err("bad kind"),
            };
            Ok(Reply::Admitted {
                member,
                link,
                archive: r.0.to_vec(),
            })
        }
        1 => {
            let code = r.take(1)?[0];
            let len = usize::from(u16::from_be_bytes(r.array()?));
            if len > MAX_MESSAGE {
                return Err("message too long");
            }
            // Each byte that is not UTF-8 becomes a 3-byte replacement character: bound the
            // text again, so it is no longer than any message we would send.
            let lossy = String::from_utf8_lossy(r.take(len)?);
            let message = truncate(&lossy, MAX_MESSAGE).to_string();
            if !r.0.is_empty() {
                return Err("unexpected bytes at the end");
            }
            Ok(Reply::Refused { code, message })
        }
        _ => Err("unknown answer"),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("truncated");
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        self.take(N)?.try_into().map_err(|_| "truncated")
    }

    fn id(&mut self) -> Result<String, &'static str> {
        let len = usize::from(self.take(1)?[0]);
        let id = self.take(len)?;
        let ok = !id.is_empty()
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            return Err("an id is empty or not plain text");
        }
        Ok(String::from_utf8_lossy(id).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the join_decode fuzz target: a refusal of bytes that are not UTF-8 decoded
    /// to a message three times longer than any we send, which re-encoded differently.
    #[test]
    fn a_refusal_that_is_not_utf8_stays_within_the_message_limit() {
        let mut bytes = vec![VERSION, 1, 57];
        bytes.extend_from_slice(&(MAX_MESSAGE as u16).to_be_bytes());
        bytes.extend(std::iter::repeat_n(0xda, MAX_MESSAGE));
        let reply = decode_reply(&bytes).unwrap();
        let Reply::Refused { message, .. } = &reply else {
            panic!("not a refusal: {reply:?}");
        };
        assert!(message.len() <= MAX_MESSAGE, "{} bytes", message.len());
        assert_eq!(decode_reply(&encode_reply(&reply)).unwrap(), reply);
    }

    fn sample() -> JoinFrame {
        JoinFrame {
            circle: "c-0123456789".into(),
            invite: "i-abcdefghjk".into(),
            member: "m-abc".into(),
            name: "Bea Zoë".into(),
            device: [3; 32],
            fresh: true,
            proof: [4; 32],
        }
    }

    #[test]
    fn an_unknown_invite_and_a_wrong_secret_are_the_same_bytes_on_the_wire() {
        assert_eq!(
            encode_reply(&refusal_answer(Refusal::Unknown)),
            encode_reply(&refusal_answer(Refusal::BadProof))
        );
        assert_ne!(
            encode_reply(&refusal_answer(Refusal::Expired)),
            encode_reply(&refusal_answer(Refusal::BadProof))
        );
    }

    #[test]
    fn join_frames_roundtrip_and_malformed_ones_are_refused() {
        let bytes = encode_join(&sample());
        assert_eq!(decode_join(&bytes).unwrap(), sample());
        assert!(decode_join(&bytes[..bytes.len() - 1]).is_err(), "truncated");
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode_join(&extra).is_err(), "trailing");
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(decode_join(&v2).is_err(), "version");
        assert!(
            decode_join(&vec![1; MAX_JOIN_LEN + 1]).is_err(),
            "oversized"
        );
        let mut bad_id = sample();
        bad_id.circle = "c/../x".into();
        assert!(decode_join(&encode_join(&bad_id)).is_err());
    }

    #[test]
    fn replies_roundtrip() {
        for reply in [
            Reply::Admitted {
                member: "m-x".into(),
                link: true,
                archive: vec![1, 2, 3],
            },
            Reply::Refused {
                code: 3,
                message: "expired".into(),
            },
        ] {
            assert_eq!(decode_reply(&encode_reply(&reply)).unwrap(), reply);
        }
        assert!(decode_reply(&[1, 9]).is_err());
        assert!(decode_reply(&[]).is_err());
    }

    #[test]
    fn remote_refusal_text_is_cleaned() {
        let r = refusal_from(99, "bad\u{1b}[31m news\n".into(), "m-me");
        assert_eq!(r, Refusal::Malformed("bad[31m news".into()));
        assert_eq!(
            refusal_from(6, String::new(), "m-me"),
            Refusal::MemberTaken("m-me".into())
        );
    }

    #[test]
    fn the_join_allowance_is_a_burst_that_grows_back_with_time() {
        let mut a = Allowance::default();
        let t0 = Timestamp(1_000_000);
        for _ in 0..JOIN_BURST {
            assert!(a.take(t0));
        }
        assert!(!a.take(t0), "the burst is spent");
        let every = JOIN_REFILL.as_millis() as i64;
        assert!(!a.take(Timestamp(t0.0 + every - 1)), "not yet");
        assert!(a.take(Timestamp(t0.0 + every)), "one more after one refill");
        assert!(!a.take(Timestamp(t0.0 + every)));
        // A long pause refills up to the burst, no further.
        let later = Timestamp(t0.0 + 1000 * every);
        for _ in 0..JOIN_BURST {
            assert!(a.take(later));
        }
        assert!(!a.take(later));
        // A clock set back neither refills nor stops refilling for good.
        assert!(!a.take(t0));
        assert!(a.take(Timestamp(t0.0 + every)));
        assert!(!a.take(Timestamp(i64::MIN)));
        assert!(a.take(Timestamp(i64::MAX)));
    }

    #[test]
    fn unknown_invites_and_wrong_secrets_travel_as_one_answer() {
        assert_eq!(
            refusal_code(&Refusal::Unknown),
            refusal_code(&Refusal::BadProof)
        );
        assert_eq!(
            refusal_from(refusal_code(&Refusal::Unknown), String::new(), "m-me"),
            Refusal::BadProof
        );
        assert_eq!(
            refusal_from(refusal_code(&Refusal::Busy), String::new(), "m-me"),
            Refusal::Busy
        );
    }

    #[test]
    fn decoding_garbage_never_panics() {
        let mut seed = 7u64;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (seed >> 33) as u8
                })
                .collect();
            let _ = decode_join(&bytes);
            let _ = decode_reply(&bytes);
        }
    }
}
