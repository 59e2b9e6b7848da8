//! Tests of the domain core: one test binary, a fixture of simulated devices.

mod auth;
mod charter;
mod consent;
mod convergence;
mod incremental;
mod insight;
mod months;
mod relay;
mod rules;
mod signed_sync;

use automerge::ActorId;
use rand::{rngs::StdRng, SeedableRng};

use crate::{Circle, Ctx, NewDecision, NewPrinciple, NewValue, Timestamp};

/// One device holding a replica of a circle, with its own clock and randomness.
pub(crate) struct Device {
    pub circle: Circle,
    pub member: String,
    pub now: i64,
    rng: StdRng,
}

/// 2026-11-22T00:00:00Z
pub(crate) const T0: i64 = 1_795_305_600_000;

impl Device {
    pub fn new_circle(member: &str) -> Device {
        let mut rng = StdRng::seed_from_u64(member.len() as u64 * 7919);
        let mut ctx = Ctx::new(Timestamp(T0), member, &mut rng);
        let circle = Circle::create(&mut ctx, actor(member), "The Cell", member, &device(member))
            .expect("a fresh circle is valid");
        Device {
            circle,
            member: member.to_string(),
            now: T0,
            rng,
        }
    }

    /// Another device of this device's own member (its own actor `name`), holding what
    /// this one holds: the circle does not grow.
    pub fn twin(&self, name: &str, seed: u64) -> Device {
        let core = self.circle.snapshot(crate::CORE_DOC).expect("core exists");
        let mut circle = Circle::from_core_bytes(&core, actor(name)).expect("loads");
        for key in self.circle.doc_keys() {
            if key != crate::CORE_DOC {
                let bytes = self.circle.snapshot(&key).expect("listed doc exists");
                circle.attach(&key, &bytes).expect("attaches");
            }
        }
        Device {
            circle,
            member: self.member.clone(),
            now: self.now + 1000,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A second device that received this one's documents (as by export/import or sync),
    /// then joined as `member`.
    pub fn replica(&self, member: &str, seed: u64) -> Device {
        let core = self.circle.snapshot(crate::CORE_DOC).expect("core exists");
        let mut circle = Circle::from_core_bytes(&core, actor(member)).expect("loads");
        for key in self.circle.doc_keys() {
            if key != crate::CORE_DOC {
                let bytes = self.circle.snapshot(&key).expect("listed doc exists");
                circle.attach(&key, &bytes).expect("attaches");
            }
        }
        let mut d = Device {
            circle,
            member: member.to_string(),
            now: self.now,
            rng: StdRng::seed_from_u64(seed),
        };
        d.now += 1000;
        let mut ctx = Ctx::new(Timestamp(d.now), member, &mut d.rng);
        d.circle
            .join(&mut ctx, member, &device(member))
            .expect("joining is valid");
        d
    }
}

// The borrow of `self` by `ctx()` means helpers go through free functions.
pub(crate) fn add_value(d: &mut Device, title: &str) -> String {
    d.now += 1000;
    let mut ctx = Ctx::new(Timestamp(d.now), d.member.clone(), &mut d.rng);
    d.circle
        .add_value(
            &mut ctx,
            NewValue {
                title: title.into(),
                statement: format!("We hold to {title}."),
                ..Default::default()
            },
        )
        .expect("valid value")
}

pub(crate) fn add_principle(d: &mut Device, values: &[&str], statement: &str) -> String {
    d.now += 1000;
    let mut ctx = Ctx::new(Timestamp(d.now), d.member.clone(), &mut d.rng);
    d.circle
        .add_principle(
            &mut ctx,
            NewPrinciple {
                values: values.iter().map(|v| v.to_string()).collect(),
                statement: statement.into(),
                ..Default::default()
            },
        )
        .expect("valid principle")
}

pub(crate) fn add_team(d: &mut Device, name: &str) -> String {
    d.now += 1000;
    let mut ctx = Ctx::new(Timestamp(d.now), d.member.clone(), &mut d.rng);
    d.circle.add_team(&mut ctx, name, None).expect("valid team")
}

pub(crate) fn log(d: &mut Device, team: &str, principles: &[&str], zone: crate::Zone) -> String {
    d.now += 1000;
    let mut ctx = Ctx::new(Timestamp(d.now), d.member.clone(), &mut d.rng);
    d.circle
        .log_decision(
            &mut ctx,
            NewDecision {
                team: team.into(),
                principles: principles.iter().map(|p| p.to_string()).collect(),
                context: "The landlord raised the rent.".into(),
                choice: "We organise a tenants' meeting.".into(),
                zone: Some(zone),
                ..Default::default()
            },
        )
        .expect("valid decision")
}

pub(crate) fn actor(member: &str) -> ActorId {
    ActorId::from(format!("actor-{member}").as_bytes())
}

pub(crate) fn device(member: &str) -> String {
    format!("device-{member}")
}

/// Passes `change` by consent: `a` opens it, `b` consents, `a` passes it; both replicas in
/// sync after. Returns what passing did. Values and principles change so in a circle of
/// several.
pub(crate) fn pass_by_consent(
    a: &mut Device,
    b: &mut Device,
    change: crate::ProposalChange,
) -> Option<String> {
    a.now += 1000;
    let mut ctx = Ctx::new(Timestamp(a.now), a.member.clone(), &mut a.rng);
    let p = a
        .circle
        .open_proposal(
            &mut ctx,
            crate::NewProposal {
                title: "By consent".into(),
                body: String::new(),
                change,
                window_ms: None,
            },
        )
        .expect("a valid proposal");
    sync_pair(a, b);
    b.now = b.now.max(a.now) + 1000;
    let mut ctx = Ctx::new(Timestamp(b.now), b.member.clone(), &mut b.rng);
    b.circle
        .respond(&mut ctx, &p, crate::Answer::Consent, None)
        .expect("consent");
    sync_pair(a, b);
    a.now = a.now.max(b.now) + 1000;
    let mut ctx = Ctx::new(Timestamp(a.now), a.member.clone(), &mut a.rng);
    let outcome = a.circle.pass_proposal(&mut ctx, &p).expect("passes");
    sync_pair(a, b);
    outcome
}

/// Exchanges every change of every document between two replicas.
pub(crate) fn sync_pair(a: &mut Device, b: &mut Device) {
    for key in union_keys(a, b) {
        let a_doc = a.circle.doc_mut(&key).expect("valid key");
        let mut a_copy = a_doc.clone();
        let b_doc = b.circle.doc_mut(&key).expect("valid key");
        b_doc.merge(&mut a_copy).expect("merge");
        let mut b_copy = b_doc.clone();
        a.circle
            .doc_mut(&key)
            .expect("valid key")
            .merge(&mut b_copy)
            .expect("merge");
    }
}

fn union_keys(a: &Device, b: &Device) -> Vec<String> {
    let mut keys = a.circle.doc_keys();
    for k in b.circle.doc_keys() {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}
