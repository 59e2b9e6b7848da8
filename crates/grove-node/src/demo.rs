//! `grove demo`: a realistic circle to try Grove on, and the data set of tests, benchmarks
//! and screenshots. Its content (which texts, teams, zones and times) is deterministic (a
//! fixed seed) apart from "now"; everything that names or guards the circle (its id, every
//! entity id, the circle key, the second device's key) comes from the OS's CSPRNG, because
//! a demo can become a real circle and a fixed seed would hand its key to every other demo.

use ed25519_dalek::SigningKey;
use grove_core::automerge::ActorId;
use grove_core::{
    Amendment, Answer, Circle, CircleInfo, Ctx, Day, NewCommitment, NewDecision, NewPrinciple,
    NewProposal, NewRetro, NewReview, NewRole, NewValue, Outcome, ProposalChange, Timestamp,
    ValueEdit, Zone, CORE_DOC, DAY_MS,
};
use rand::rngs::{OsRng, StdRng};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::error::{NodeError, Result};
use crate::identity;
use crate::state::NodeState;

/// Decisions of the demo whose results all failed under one principle (tension c).
const FAILING_STREAK: usize = 3;
const PEOPLE: &[&str] = &["Noor", "Tomás", "Aiko", "Femi", "Lena", "Ravi", "Marta"];
const TEAMS: &[(&str, &str)] = &[
    ("Kitchen", "Community meals and the food bank"),
    ("Outreach", "Door-knocking and tenant meetings"),
    ("Legal support", "Eviction defence and know-your-rights"),
    ("Comms", "Newsletter, posters and the phone tree"),
];
const VALUES: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "Mutual aid",
        "We meet needs directly, as equals, without conditions.",
        "People's dignity when they ask for help",
        "Charity that sorts people into deserving and undeserving",
        &[
            "Share what the group has with whoever comes, first come first served.",
            "Ask what people need before deciding what to give.",
        ],
    ),
    (
        "Safety of members",
        "No action may expose a member to arrest, eviction or retaliation they did not choose.",
        "Members' identities and homes",
        "Heroics that put others at risk",
        &[
            "Keep names out of anything public unless the person says yes.",
            "Two people go to every confrontation, never one.",
            "When in doubt about exposure, escalate before acting.",
        ],
    ),
    (
        "Local autonomy",
        "The people closest to a situation decide it.",
        "Each team's right to act without waiting",
        "Decisions made far from their consequences",
        &[
            "Decide locally unless the choice binds other teams.",
            "Log every decision the same day so others can learn from it.",
        ],
    ),
    (
        "Honest accounts",
        "We say what happened, including what failed.",
        "Trust between teams",
        "Hiding mistakes to look good",
        &["Record results even when they are embarrassing."],
    ),
];
const SITUATIONS: &[&str] = &[
    "rent-increase",
    "eviction-notice",
    "police-at-meeting",
    "press-request",
    "food-shortage",
    "new-volunteer",
    "landlord-contact",
    "conflict-between-members",
    "donation-offer",
    "public-action",
    "data-request",
    "venue-loss",
];
const CONTEXTS: &[&str] = &[
    "A tenant in block C got a letter announcing a 30% rent increase from next month.",
    "Two families received eviction notices on the same day; one has small children.",
    "A journalist asked to photograph our next meeting for a feature on housing.",
    "The food bank ran out of fresh vegetables on Thursday with a queue still outside.",
    "A new volunteer offered to run the phone tree but nobody knows them yet.",
    "The landlord's agent called a member directly and asked who organises the meetings.",
    "Two members argued loudly at the assembly about whether to occupy the lobby.",
    "A local business offered a large donation if we put their logo on our flyers.",
    "Police officers stood outside the community centre during the tenants' meeting.",
    "Our usual venue cancelled next week's assembly without giving a reason.",
];
const CHOICES: &[&str] = &[
    "We organised a building meeting within 48 hours and drafted a collective letter.",
    "We sent two members to accompany the family to the housing office.",
    "We declined and offered a written statement without names instead.",
    "We shared what we had and started a list to plan next week's collection.",
    "We paired the volunteer with an experienced member for their first month.",
    "The member said nothing and passed the contact to legal support.",
    "We paused the discussion and asked the mediator to hold a separate session.",
    "We accepted the donation without the logo; they agreed.",
    "We moved the meeting to a member's flat and kept the attendance list offline.",
    "We met in the park and used the phone tree to tell everyone.",
];
const RESULTS: &[(&str, Outcome)] = &[
    (
        "The increase was cut to 8% after the collective letter.",
        Outcome::Worked,
    ),
    (
        "The family kept their flat for now; the case continues.",
        Outcome::Mixed,
    ),
    (
        "The article ran without names; two new tenants joined.",
        Outcome::Worked,
    ),
    (
        "We ran short again the week after; the plan needs more drivers.",
        Outcome::Failed,
    ),
    (
        "It worked, but it took more of our time than expected.",
        Outcome::Mixed,
    ),
    (
        "The agent stopped calling; nobody was exposed.",
        Outcome::Worked,
    ),
    (
        "The argument flared up again at the next assembly.",
        Outcome::Failed,
    ),
];

/// The share of decisions per zone, out of 100: mostly local, rarely the centre
/// ("escalations are rare and respected").
const ZONES: &[(Zone, u32)] = &[
    (Zone::Local, 78),
    (Zone::PrincipleCheck, 17),
    (Zone::CentreAwareness, 4),
    (Zone::CentreIntervention, 1),
];

pub(crate) fn seed(s: &mut NodeState, name: &str, decisions: usize) -> Result<CircleInfo> {
    // The last few decisions are the failing streak of `seed_tensions`, within the count.
    let failing = FAILING_STREAK.min(decisions);
    let decisions = decisions - failing;
    // Content only: which text, team, zone and time. Never ids or keys (see the module doc).
    let mut rng = StdRng::seed_from_u64(0x0067_726f_7665);
    // Ids and the circle key (`Ctx::rng` makes both) from the OS, like any real circle's.
    let mut id_rng = OsRng;
    let now = s.now();
    let start = Timestamp(now.0 - 365 * DAY_MS);
    let me = s.identity.member();
    let (key, my_name) = (s.identity.key().clone(), s.identity.name.clone());
    let mut t = start;
    macro_rules! ctx {
        ($member:expr) => {{
            t = Timestamp(t.0 + 1000);
            Ctx::new(t, $member, &mut id_rng)
        }};
    }
    let mut circle = Circle::create_signed(&mut ctx!(me.clone()), &key, name, &my_name)?;

    let mut people = vec![me.clone()];
    for (i, p) in PEOPLE.iter().enumerate() {
        let id = format!("m-demo{i}");
        circle.join(&mut ctx!(id.clone()), p, &format!("demo-device-{i}"))?;
        people.push(id);
    }
    let mut teams = Vec::new();
    for (i, (team, domain)) in TEAMS.iter().enumerate() {
        let tid = circle.add_team(&mut ctx!(me.clone()), team, Some(domain))?;
        for (j, m) in people.iter().enumerate() {
            if j % TEAMS.len() == i || (j == 0 && i == 0) {
                circle.team_add_member(&mut ctx!(me.clone()), &tid, m)?;
            }
        }
        teams.push(tid);
    }
    let mut principles: Vec<String> = Vec::new();
    let mut values = Vec::new();
    for (title, statement, protect, refuse, derived) in VALUES {
        let vid = circle.add_value(
            &mut ctx!(me.clone()),
            NewValue {
                title: title.to_string(),
                statement: statement.to_string(),
                protect: Some(protect.to_string()),
                refuse: Some(refuse.to_string()),
                examples: Vec::new(),
            },
        )?;
        for p in *derived {
            principles.push(circle.add_principle(
                &mut ctx!(me.clone()),
                NewPrinciple {
                    values: vec![vid.clone()],
                    statement: p.to_string(),
                    guidance: None,
                    supersedes: None,
                },
            )?);
        }
        values.push(vid);
    }
    circle.add_role(
        &mut ctx!(me.clone()),
        NewRole {
            name: "Facilitator".into(),
            purpose: "Hold assemblies so every voice is heard".into(),
            accountabilities: vec!["Agenda".into(), "Timekeeping".into()],
            holder: Some(people[1].clone()),
            term_days: Some(90),
            queue: vec![people[2].clone(), people[3].clone(), me.clone()],
        },
    )?;
    circle.add_role(
        &mut ctx!(me.clone()),
        NewRole {
            name: "Steward of Safety of members".into(),
            purpose: "Watch for exposure and answer escalations".into(),
            accountabilities: vec!["Escalations inbox".into(), "Security check-ins".into()],
            holder: Some(me.clone()),
            term_days: Some(180),
            queue: vec![people[4].clone()],
        },
    )?;

    // A year of decisions, evenly spread, with results for most of the older ones.
    let span = (now.0 - start.0 - 10 * DAY_MS).max(1);
    let step = span / decisions.max(1) as i64;
    let zone_pool: Vec<Zone> = ZONES
        .iter()
        .flat_map(|(z, n)| std::iter::repeat_n(*z, *n as usize))
        .collect();
    for i in 0..decisions {
        t = Timestamp(start.0 + DAY_MS + i as i64 * step);
        let team_i = rng.gen_range(0..teams.len());
        let author = people[(team_i + TEAMS.len() * rng.gen_range(0..2)) % people.len()].clone();
        let mut cited = vec![principles[rng.gen_range(0..principles.len())].clone()];
        if rng.gen_bool(0.3) {
            let p = principles[rng.gen_range(0..principles.len())].clone();
            if !cited.contains(&p) {
                cited.push(p);
            }
        }
        let k = rng.gen_range(0..CONTEXTS.len());
        let zone = *zone_pool.choose(&mut rng).unwrap_or(&Zone::Local);
        let id = circle.log_decision(
            &mut ctx!(author.clone()),
            NewDecision {
                team: teams[team_i].clone(),
                principles: cited,
                context: CONTEXTS[k].to_string(),
                choice: CHOICES[(k + rng.gen_range(0..3)) % CHOICES.len()].to_string(),
                zone: Some(zone),
                zone_unsure: rng.gen_bool(0.04),
                situation: Some(SITUATIONS[rng.gen_range(0..SITUATIONS.len())].to_string()),
                result_due: Some(Timestamp(t.0 + 30 * DAY_MS).day()),
            },
        )?;
        let age = now.0 - t.0;
        if age > 21 * DAY_MS && rng.gen_bool(0.8) {
            let (text, outcome) = RESULTS[rng.gen_range(0..RESULTS.len())];
            t = Timestamp(t.0 + rng.gen_range(5..20) * DAY_MS);
            circle.record_result(&mut ctx!(author.clone()), &id, text, outcome)?;
        }
        for _ in 0..rng.gen_range(0..4) {
            let reader = people[rng.gen_range(0..people.len())].clone();
            if reader != me {
                circle.mark_read(&mut ctx!(reader), &id)?;
            }
        }
    }
    // Most escalations answered, the recent ones still waiting.
    for e in circle.escalations()? {
        let age = now.0 - e.raised_at.0;
        if age > 14 * DAY_MS {
            t = Timestamp(e.raised_at.0 + rng.gen_range(1..72) * 3_600_000);
            circle.acknowledge_escalation(&mut ctx!(me.clone()), &e.id)?;
            if rng.gen_bool(0.7) {
                circle.resolve_escalation(
                    &mut ctx!(me.clone()),
                    &e.id,
                    "Talked it through with the team; go ahead, keep names out.",
                )?;
            }
        }
    }
    t = Timestamp(now.0 - 40 * DAY_MS);
    let review = circle.open_review(
        &mut ctx!(me.clone()),
        NewReview {
            date: t.day(),
            agenda: vec![
                "Food shortages keep recurring".into(),
                "Press requests".into(),
            ],
            participants: people.iter().take(4).cloned().collect(),
        },
    )?;
    if let Some(p) = principles.first() {
        circle.review_change(
            &mut ctx!(me.clone()),
            &review,
            p,
            Amendment {
                statement: "Share what the group has with whoever comes; keep a reserve for families with children.".into(),
                guidance: None,
                reason: "Three Thursdays in a row we ran out before families arrived.".into(),
            },
        )?;
    }
    circle.add_learning(
        &mut ctx!(me.clone()),
        &review,
        "Plan collections a week ahead",
    )?;
    circle.close_review(
        &mut ctx!(me.clone()),
        &review,
        Day(Timestamp(now.0 + 50 * DAY_MS).day().0),
    )?;

    t = Timestamp(now.0 - 6 * DAY_MS);
    let proposal = circle.open_proposal(
        &mut ctx!(people[2].clone()),
        NewProposal {
            title: "Allow first names in the newsletter".into(),
            body: "Members asked to be recognised for their work; first names only, with consent.".into(),
            change: ProposalChange::AmendPrinciple {
                principle: principles[2].clone(),
                statement: "Keep full names out of anything public; first names only with the person's yes.".into(),
                guidance: None,
                reason: "Recognition matters and first names carry little risk.".into(),
            },
        },
    )?;
    circle.respond(
        &mut ctx!(people[1].clone()),
        &proposal,
        Answer::Consent,
        None,
    )?;
    circle.respond(
        &mut ctx!(people[4].clone()),
        &proposal,
        Answer::Objection,
        Some("Some members are undocumented; even first names can identify them."),
    )?;
    circle.respond(
        &mut ctx!(me.clone()),
        &proposal,
        Answer::Concern,
        Some("Who checks consent?"),
    )?;

    for (i, what) in [
        "Book the hall for the winter assembly",
        "Print 500 know-your-rights cards",
        "Call the housing lawyer back",
    ]
    .iter()
    .enumerate()
    {
        circle.add_commitment(
            &mut ctx!(people[i].clone()),
            NewCommitment {
                who: people[i].clone(),
                what: what.to_string(),
                due: Some(Timestamp(now.0 + (i as i64 * 7 - 3) * DAY_MS).day()),
                decision: None,
            },
        )?;
    }
    for (i, team) in teams.iter().enumerate().take(3) {
        t = Timestamp(now.0 - (20 + i as i64 * 10) * DAY_MS);
        circle.add_retro(
            &mut ctx!(people[i].clone()),
            NewRetro {
                team: team.clone(),
                went_well: "People showed up and the phone tree worked.".into(),
                didnt: "We decided too much at the last minute.".into(),
                change: "Agree the plan the week before.".into(),
                principles: vec![principles[i % principles.len()].clone()],
            },
        )?;
    }
    seed_tensions(
        &mut circle,
        &mut id_rng,
        now,
        failing,
        &me,
        &people,
        &teams,
        &principles,
        &values,
    )?;
    let id = s.adopt(circle)?;
    s.compact_all(&id)?;
    // A bulk write leaves sled's files far larger than the data; give the space back now
    // rather than at the next start.
    s.store.reclaim_space()?;
    Ok(s.loaded(&id)?.info()?)
}

/// Signs the insight views should find in the demo, besides the divergent choices (a) the
/// random log is full of: teams struggling (b) and a principle whose decisions keep failing
/// (c), concurrent edits of a value from a second device (d), principle proliferation (e),
/// a tension raised by hand, and decay in two categories (so the replant alert shows).
#[allow(clippy::too_many_arguments)]
fn seed_tensions(
    circle: &mut Circle,
    rng: &mut OsRng,
    now: Timestamp,
    failing_streak: usize,
    me: &str,
    people: &[String],
    teams: &[String],
    principles: &[String],
    values: &[String],
) -> Result<()> {
    let (Some(failing), Some(value)) = (principles.last(), values.first()) else {
        return Ok(());
    };
    // The newest results in the log, so they are the principle's latest.
    let mut t = Timestamp(now.0 - DAY_MS);
    let next = |t: &mut Timestamp| {
        *t = Timestamp(t.0 + 3_600_000);
        *t
    };
    for (i, team) in teams.iter().cycle().enumerate().take(failing_streak) {
        let author = people[(i + 1) % people.len()].clone();
        let id = circle.log_decision(
            &mut Ctx::new(next(&mut t), author.clone(), &mut *rng),
            NewDecision {
                team: team.clone(),
                principles: vec![failing.clone()],
                context: "A member's landlord refused repairs and threatened a no-fault eviction."
                    .into(),
                choice: "We wrote a formal letter citing the repair obligations.".into(),
                zone: Some(Zone::PrincipleCheck),
                zone_unsure: true,
                situation: None,
                result_due: None,
            },
        )?;
        circle.record_result(
            &mut Ctx::new(next(&mut t), author, &mut *rng),
            &id,
            "The landlord ignored the letter; the repairs were not made.",
            Outcome::Failed,
        )?;
    }
    // Added four months ago and never cited since: liturgy (principles nobody uses), and
    // with the expired role terms a second decaying category, so the replant alert shows.
    let mut long_ago = Timestamp(now.0 - 120 * DAY_MS);
    for statement in [
        "Answer every request for help within a day.",
        "Keep a list of skills members offer.",
    ] {
        circle.add_principle(
            &mut Ctx::new(next(&mut long_ago), me.to_string(), &mut *rng),
            NewPrinciple {
                values: vec![value.clone()],
                statement: statement.into(),
                guidance: None,
                supersedes: None,
            },
        )?;
    }
    edit_conflict(circle, rng, next(&mut t), me, value)?;
    circle.raise_tension(
        &mut Ctx::new(next(&mut t), people[3 % people.len()].clone(), &mut *rng),
        "Outreach and Legal support give tenants different advice",
        "Tenants hear 'withhold rent' from one team and 'never withhold' from the other.",
        Some(failing),
        &[],
    )?;
    Ok(())
}

/// (d) A second device, with its own Ed25519 key and so its own actor and member ids, joins
/// the circle and rewords a value while this device rewords it too, neither having seen
/// the other's edit: the merge keeps both versions, as two real laptops syncing would.
fn edit_conflict(
    circle: &mut Circle,
    rng: &mut OsRng,
    at: Timestamp,
    me: &str,
    value: &str,
) -> Result<()> {
    let key = SigningKey::generate(&mut OsRng);
    let public = key.verifying_key();
    let laptop = identity::member_of_device(public.as_bytes());
    circle.admit_member(
        &mut Ctx::new(at, me.to_string(), &mut *rng),
        &laptop,
        "Jo",
        &data_encoding::HEXLOWER.encode(public.as_bytes()),
    )?;
    let core = circle
        .snapshot(CORE_DOC)
        .ok_or_else(|| NodeError::Io("the demo circle lost its core document".into()))?;
    let mut other = Circle::from_core_bytes(&core, ActorId::from(public.as_bytes().as_slice()))?;
    other.set_signer(key);
    let at = Timestamp(at.0 + 60_000);
    let reword = |statement: &str| ValueEdit {
        statement: Some(statement.into()),
        ..Default::default()
    };
    circle.edit_value(
        &mut Ctx::new(at, me.to_string(), &mut *rng),
        value,
        reword("We meet needs directly, as equals, without conditions or paperwork."),
    )?;
    other.edit_value(
        &mut Ctx::new(at, laptop, &mut *rng),
        value,
        reword("We meet needs directly and share what we have, without conditions."),
    )?;
    // Checked like a peer's changes: signed by a member's device, or refused.
    let batch = vec![(CORE_DOC.to_string(), other.signed_changes(CORE_DOC, &[]))];
    let verdict = circle.authorize_merge(&batch)?;
    circle.apply_checked(batch, verdict)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use grove_core::automerge::ActorId;
    use grove_core::{archive, Circle, CORE_DOC};

    use crate::Node;

    /// The circle id and current circle key of a fresh demo, read back from its circle file
    /// (which carries the key, as a member's copy does).
    async fn demo_id_and_key() -> (String, Vec<u8>) {
        let node = Node::builder().in_memory().spawn().unwrap();
        let info = node.demo("Demo".into(), 4).await.unwrap();
        let file = node.circle(None).export().await.unwrap();
        let docs = archive::decode(&file).unwrap();
        let core = docs
            .iter()
            .find(|(k, _)| k == CORE_DOC)
            .map(|(_, bytes)| bytes)
            .unwrap();
        let circle = Circle::from_core_bytes(core, ActorId::random()).unwrap();
        assert_eq!(circle.id(), info.id);
        let (_, key) = circle.circle_key().unwrap();
        node.stop().await.unwrap();
        (info.id, key.to_vec())
    }

    /// A demo turned into a real circle must not be readable by everyone else's demo: ids
    /// and keys come from the OS's randomness, not from the demo's fixed seed.
    #[tokio::test(flavor = "multi_thread")]
    async fn two_demos_share_neither_circle_id_nor_circle_key() {
        let (id_a, key_a) = demo_id_and_key().await;
        let (id_b, key_b) = demo_id_and_key().await;
        assert_ne!(id_a, id_b, "two homes' demos got the same circle id");
        assert_ne!(key_a, key_b, "two homes' demos got the same circle key");
    }
}
