//! `grove demo`: a realistic circle to try Grove on, and the data set of tests, benchmarks
//! and screenshots. It is built outside the node, on grove-node's public API: the circle is
//! written in one go as this device ([`grove_node::NodeHandle::add_circle_with`]). Its content (which texts, teams, zones and times) is deterministic (a
//! fixed seed) apart from "now"; everything that names or guards the circle (its id, every
//! entity id, the circle key, the members' device keys) comes from the OS's CSPRNG, because
//! a demo can become a real circle and a fixed seed would hand its key to every other demo.
//!
//! The demo is how a newcomer judges Grove, so it reads as one year of one tenants' union
//! on an estate of six blocks: each decision is drawn from a [`Story`] whose context,
//! choice, principles, zone, team, situation key and results belong together, with names,
//! blocks, streets and numbers varied so that thousands of decisions do not read as a loop.
//! The year has a shape: rent rises in spring, a rent strike in summer, retaliation and
//! the estate's sale in autumn, heating failures in winter. Tensions come from the data
//! as in any circle, so the stories are written to raise only the ones such a year would:
//! teams answering the landlord, the press and disrepair differently (divergence), pairs
//! for confrontations that no team can always find (shared struggle), letters to the new
//! owner that stopped working (a failing principle), a value reworded on two devices, one
//! value grown too many principles, and one tension a member raised by hand.
//!
//! Its proposals show the consent rules at work: one passed with the circle's consent, one
//! passed while the circle was split and so contested, and one round under way. Every
//! receiver checks that a proposal is opened, answered, received and passed by the member
//! whose device signs the change, so each sample member has a device key of their own and
//! acts as that device on a copy of the circle, exchanged with this one as peers' are (see
//! [`Laptops`]): any device takes the whole demo.

use std::collections::{HashMap, VecDeque};

use ed25519_dalek::SigningKey;
use grove_node::core::automerge::{ActorId, ChangeHash};
use grove_node::core::{
    Amendment, Answer, Circle, CircleInfo, Ctx, Day, NewCommitment, NewDecision, NewPrinciple,
    NewProposal, NewRetro, NewReview, NewRole, NewValue, Outcome, ProposalChange, Timestamp,
    ValueEdit, Verdict, Zone, CORE_DOC, DAY_MS,
};
use rand::rngs::{OsRng, StdRng};
use rand::{Rng, SeedableRng};

use grove_node::core::CoreError;
use grove_node::{member_of_device, Author, NodeError, NodeHandle};

/// Why the demo could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The node refused or failed (the home, the store).
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A rule of the circle refused one of the demo's changes: a bug in the demo.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The demo lost track of its own circle: a bug in the demo.
    #[error("the demo went wrong: {0}; this is a bug in Grove's demo")]
    Bug(String),
}

pub type Result<T, E = DemoError> = std::result::Result<T, E>;

/// Adds a demo circle named `name` with about `decisions` decisions to the node's home,
/// written as this device, and returns it.
pub async fn seed(node: &NodeHandle, name: String, decisions: usize) -> Result<CircleInfo> {
    node.add_circle_with(move |author| build(author, &name, decisions))
        .await
}

const PEOPLE: &[&str] = &["Noor", "Tomás", "Aiko", "Femi", "Lena", "Ravi", "Marta"];
const TEAMS: &[(&str, &str)] = &[
    ("Kitchen", "Community meals and the food bank"),
    ("Outreach", "Door-knocking and tenant meetings"),
    ("Legal support", "Eviction defence and know-your-rights"),
    ("Comms", "Newsletter, posters and the phone tree"),
];
const KITCHEN: usize = 0;
const OUTREACH: usize = 1;
const LEGAL: usize = 2;
const COMMS: usize = 3;

/// Values and the principles derived from each, in order: the principles' positions in
/// this flattened order are the constants below, which stories cite.
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
    (
        "Strength in numbers",
        "We face the landlord together; no tenant stands alone.",
        "The union's collective voice",
        "Quiet private deals that leave the neighbours behind",
        &[
            "Put every demand to the landlord in writing, from the union, before escalating.",
            "Act as a building, not as one flat.",
        ],
    ),
];
const SHARE: usize = 0;
const ASK: usize = 1;
const NAMES: usize = 2;
const PAIRS: usize = 3;
const EXPOSURE: usize = 4;
const LOCAL: usize = 5;
const SAME_DAY: usize = 6;
const RECORD: usize = 7;
const WRITING: usize = 8;
const BUILDING: usize = 9;

/// When in the (northern) year a story happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Season {
    Any,
    Winter,
    Spring,
    Summer,
    Autumn,
}

impl Season {
    fn of(t: Timestamp) -> Season {
        match u8::from(t.day().0.month()) {
            12 | 1 | 2 => Season::Winter,
            3..=5 => Season::Spring,
            6..=8 => Season::Summer,
            _ => Season::Autumn,
        }
    }
}

/// One kind of thing that happens to the union, with everything that belongs to it. Texts
/// may hold `{a}` and `{b}` (two different members), `{block}` (A–F), `{flat}` (a flat in
/// that block), `{street}`, `{day}` (a weekday), `{n}` (3–9), `{big}` (40–160) and `{pct}`
/// (9–30), filled per decision by [`fill`].
#[derive(Debug)]
struct Story {
    team: usize,
    season: Season,
    /// How often it comes up, relative to the others of its season.
    weight: u32,
    /// The fewest days between two tellings, for what happens now and then (the monthly
    /// newsletter, a solicitor's letter): a demo dense enough to need them sooner relaxes it.
    gap_days: i64,
    /// The `#situation` key. Two teams share a key only where they genuinely handle the
    /// same situation differently: those keys are the demo's divergence tensions.
    situation: &'static str,
    /// Local unless the choice binds other teams or its principle is unclear (principle
    /// check), or it exposes members (centre).
    zone: Zone,
    /// Indices into the flattened principles of `VALUES`.
    principles: &'static [usize],
    /// Ways the situation came up, any of which the choice answers.
    contexts: &'static [&'static str],
    choice: &'static str,
    results: &'static [(&'static str, Outcome)],
    /// How the centre answered, for a story whose zone raises an escalation.
    resolution: &'static str,
}

const W: Outcome = Outcome::Worked;
const M: Outcome = Outcome::Mixed;
const F: Outcome = Outcome::Failed;

/// The union's year. Failed and mixed results are spread so that, within a review cycle,
/// only the pairs rule gathers struggle from three teams (see the module doc).
const STORIES: &[Story] = &[
    // Kitchen: the food bank and community meals.
    Story {
        team: KITCHEN,
        season: Season::Any,
        weight: 6,
        gap_days: 3,
        situation: "food-shortage",
        zone: Zone::Local,
        principles: &[SHARE, ASK],
        contexts: &[
            "The food bank ran out of fresh vegetables on {day} with {n} families still in the queue.",
            "The {day} delivery from the market was half what we expected, and the vegetables were gone within the hour.",
            "A longer queue than ever at the {day} food bank: {n} families were left with only tins.",
        ],
        choice: "We shared out what was left, took the families' numbers and {a} brought vegetables to their doors the next morning.",
        results: &[
            ("Every family had vegetables within a day; two came to the next assembly.", W),
            ("It worked, but {a} spent the whole morning driving and we have no second driver.", M),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Any,
        weight: 4,
        gap_days: 7,
        situation: "food-shortage",
        zone: Zone::Local,
        principles: &[SHARE],
        contexts: &[
            "The wholesaler on {street} halved its weekly bread donation without warning.",
            "The bread ran out before noon at the {day} food bank for the third week running.",
        ],
        choice: "We asked the two bakeries on {street} for their end-of-day bread and set up a pick-up rota.",
        results: &[
            ("Both bakeries said yes; the bread has lasted every session since.", W),
            ("One bakery dropped out after a month; we are back to three days' bread.", M),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Any,
        weight: 4,
        gap_days: 60,
        situation: "food-safety",
        zone: Zone::Local,
        principles: &[RECORD],
        contexts: &["Donated yoghurt two days past its date went out in {n} parcels on {day} before anyone noticed."],
        choice: "{a} phoned every household that took some, apologised, and we told the assembly what happened.",
        results: &[
            ("Nobody was ill, and people thanked us for telling them.", W),
            ("Nobody was ill; one family stayed away for a few weeks.", M),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Any,
        weight: 4,
        gap_days: 30,
        situation: "new-volunteer",
        zone: Zone::Local,
        principles: &[PAIRS],
        contexts: &[
            "{n} students from the college offered to help at the {day} food bank; nobody knows them yet.",
            "A woman from {street} and {n} of her friends offered to help at the {day} food bank; nobody knows them yet.",
        ],
        choice: "Each works beside a regular for their first month, and none of them delivers to a flat alone.",
        results: &[
            ("Four of them still come every week.", W),
            ("Two of them now deliver to flats, each paired with a regular.", W),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Any,
        weight: 4,
        gap_days: 45,
        situation: "dietary-needs",
        zone: Zone::Local,
        principles: &[ASK],
        contexts: &[
            "Families from block {block} stopped taking food parcels; {a} heard the meat was not halal.",
            "{a} noticed that parcels for block {block} come back half full, mostly the pork and the tinned ham.",
        ],
        choice: "We asked the families what they eat and switched to halal meat, with more rice and lentils.",
        results: &[
            ("The families came back and brought neighbours.", W),
            ("The parcels cost a little less and far less food comes back.", W),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Any,
        weight: 4,
        gap_days: 30,
        situation: "food-bank-queue",
        zone: Zone::Local,
        principles: &[SHARE],
        contexts: &[
            "People queue from eight for the {day} food bank, so tenants who work never get fresh food.",
            "Tenants on the late shift say the {day} food bank is always empty by the time they finish work.",
        ],
        choice: "We gave out numbered tickets at opening and kept a share of the fresh food for an evening session.",
        results: &[
            ("Working tenants started coming in the evening; the morning queue is shorter.", W),
            ("The evening session works, but it needs two more volunteers.", M),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Any,
        weight: 1,
        gap_days: 45,
        situation: "threat-at-food-bank",
        zone: Zone::CentreAwareness,
        principles: &[PAIRS, EXPOSURE],
        contexts: &["A man came to the {day} food bank drunk and threatened the volunteers on the door."],
        choice: "We closed early, {a} and {b} walked the volunteers home, and we asked the centre how to meet him next time.",
        results: &[
            ("He came back the next week sober and apologised.", W),
            ("He has not come back; two volunteers now share the door every session.", W),
        ],
        resolution: "He is welcome when sober; two volunteers meet him at the door, and nobody calls the police without asking whoever is at risk.",
    },
    Story {
        team: KITCHEN,
        season: Season::Winter,
        weight: 6,
        gap_days: 3,
        situation: "cold-weather",
        zone: Zone::Local,
        principles: &[SHARE, ASK],
        contexts: &[
            "With the heating off in block {block}, older tenants are skipping hot meals to save electricity.",
            "Tenants in block {block} told {a} they eat cold food to keep the heaters on.",
        ],
        choice: "We cooked a hot lunch at the community centre every {day}, and {a} took portions up to those who cannot come down.",
        results: &[
            ("About {big} hot meals a week until the heating came back.", W),
            ("It helped, but we ran out of people to carry portions upstairs.", M),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Winter,
        weight: 4,
        gap_days: 20,
        situation: "holiday-boxes",
        zone: Zone::PrincipleCheck,
        principles: &[SHARE, LOCAL],
        contexts: &["A supermarket offered {big} holiday food boxes if we collect them from its depot on one morning."],
        choice: "We took the boxes and asked Outreach for two drivers first, since the collection takes their morning too.",
        results: &[
            ("Every box went out before the holidays; Outreach said yes within the hour.", W),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Summer,
        weight: 6,
        gap_days: 4,
        situation: "school-holidays",
        zone: Zone::Local,
        principles: &[ASK],
        contexts: &["Parents in block {block} say children on free school meals go hungry in the summer holidays."],
        choice: "We asked the parents what would help and ran a packed-lunch club in the community centre on weekdays.",
        results: &[
            ("{n} children came most days, and parents took turns helping.", W),
            ("It worked, but the centre charged us for the extra hours.", M),
        ],
        resolution: "",
    },
    Story {
        team: KITCHEN,
        season: Season::Any,
        weight: 2,
        gap_days: 45,
        situation: "donation-offer",
        zone: Zone::PrincipleCheck,
        principles: &[LOCAL, NAMES],
        contexts: &["A letting agency on {street} offered a large food donation if we put its logo on our flyers."],
        choice: "We asked for the food without the logo: a letting agent's name on our flyers would speak for the whole union.",
        results: &[
            ("They gave the food anyway.", W),
        ],
        resolution: "",
    },
    // Outreach: door-knocking, building meetings and the campaign.
    Story {
        team: OUTREACH,
        season: Season::Any,
        weight: 4,
        gap_days: 5,
        situation: "landlord-contact",
        zone: Zone::Local,
        principles: &[EXPOSURE],
        contexts: &[
            "The landlord's agent rang {a} at home and asked who organises the tenants' meetings.",
            "The landlord's agent stopped {a} on the stairs of block {block} and asked which tenants run the union.",
        ],
        choice: "{a} said nothing about the union and passed the agent's number to Legal support.",
        results: &[
            ("The agent stopped calling; nobody was exposed.", W),
            ("The agent stopped calling {a}, but not before asking two neighbours.", W),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Any,
        weight: 6,
        gap_days: 4,
        situation: "agent-visit",
        zone: Zone::Local,
        principles: &[PAIRS],
        contexts: &[
            "The landlord's agent asked to meet {a} alone at the estate office about the petition.",
            "The landlord's agent invited {a} for a quiet word at the estate office about the rent campaign.",
            "The agent asked {a} to come alone to the office on {day} to clear up complaints from block {block}.",
        ],
        choice: "{a} went with {b}, took notes, and said the union would answer in writing.",
        results: &[
            ("The agent dropped the subject once two of us were in the room.", W),
            ("The meeting went nowhere, but nobody was pressured alone.", M),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Any,
        weight: 4,
        gap_days: 5,
        situation: "repairs-refused",
        zone: Zone::Local,
        principles: &[BUILDING],
        contexts: &[
            "Damp and mould in {n} flats of block {block}; the landlord blames the tenants for drying laundry indoors.",
            "Water has come through the top-floor ceilings of block {block} since {day}; the landlord says it will be looked at.",
            "{n} flats in block {block} have had broken windows for a month while the agent keeps promising a contractor.",
        ],
        choice: "We got every affected flat to report it to the council's environmental health team on the same day.",
        results: &[
            ("An inspector came within a fortnight and served an improvement notice.", W),
            ("The inspector came, but listed only two flats in the notice.", M),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Any,
        weight: 4,
        gap_days: 3,
        situation: "door-knocking",
        zone: Zone::Local,
        principles: &[ASK],
        contexts: &[
            "Door-knocking on {street} on {day} evening, we found {n} flats nobody from the union had spoken to.",
            "Block {block} has {n} new households since the spring and none of them has heard of the union.",
            "Tenants on {street} asked {a} why the union never knocks on their doors.",
        ],
        choice: "We asked each household what worries them most before mentioning the union, and wrote it down.",
        results: &[
            ("{n} households joined; damp was the worry most of them named.", W),
            ("Few answered; we will try again on a Saturday morning.", M),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Any,
        weight: 4,
        gap_days: 10,
        situation: "press-request",
        zone: Zone::Local,
        principles: &[NAMES],
        contexts: &[
            "A reporter from the local paper asked to follow our door-knocking on {street}.",
            "A student journalist asked to come door-knocking in block {block} for a piece on the housing crisis.",
        ],
        choice: "The reporter came along, but only to doors where the tenant agreed, and only {a} spoke on the record.",
        results: &[
            ("The article ran; three tenants phoned the union the next day.", W),
            ("The article was fair, but it misquoted {a}.", M),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Any,
        weight: 2,
        gap_days: 30,
        situation: "members-in-conflict",
        zone: Zone::Local,
        principles: &[LOCAL],
        contexts: &["Two members argued at the {day} assembly over whether to occupy the estate office."],
        choice: "We paused the item and asked {a} to hold a separate session with both of them before the next assembly.",
        results: &[
            ("They came back with a joint proposal for a sit-in during office hours.", W),
            ("They agreed on a sit-in, but the argument still simmers.", M),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Spring,
        weight: 6,
        gap_days: 3,
        situation: "rent-increase",
        zone: Zone::PrincipleCheck,
        principles: &[BUILDING, LOCAL],
        contexts: &["Every tenant in block {block} got a letter announcing a {pct}% rent increase from next month."],
        choice: "We called a block meeting within 48 hours and drafted one collective reply, asking Legal support to back it since it commits them.",
        results: &[
            ("The landlord halved the increase for the whole block.", W),
            ("The increase was cut for secure tenants only; the rest is in dispute.", M),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Spring,
        weight: 4,
        gap_days: 7,
        situation: "new-members",
        zone: Zone::Local,
        principles: &[BUILDING],
        contexts: &["After the rent letters, {big} tenants came to the open meeting on {day}, twice the usual."],
        choice: "We split the room into block groups, each with a contact who lives in that block.",
        results: &[
            ("Every block now has a contact and a meeting night.", W),
            ("Four blocks have contacts; blocks E and F still have nobody.", M),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Summer,
        weight: 6,
        gap_days: 3,
        situation: "rent-strike",
        zone: Zone::PrincipleCheck,
        principles: &[BUILDING, LOCAL],
        contexts: &["{big} households have pledged to withhold the rent rise if enough neighbours join them."],
        choice: "We set the threshold at two thirds of each block and put the strike to the assembly, since it binds every team.",
        results: &[
            ("Blocks A and C crossed two thirds; the assembly voted to start.", W),
            ("Only one block crossed the threshold; we kept door-knocking.", M),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Summer,
        weight: 4,
        gap_days: 45,
        situation: "pledge-count",
        zone: Zone::Local,
        principles: &[RECORD],
        contexts: &["We told the assembly {big} households had pledged; a recount of the forms found fewer."],
        choice: "{a} corrected the number at the next assembly and explained how forms had been counted twice.",
        results: &[
            ("Nobody left, and the blocks trusted the new count.", W),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Summer,
        weight: 1,
        gap_days: 30,
        situation: "public-action",
        zone: Zone::CentreAwareness,
        principles: &[EXPOSURE, PAIRS],
        contexts: &["Tenants want to march to the landlord's office on {street} on {day}; some of them have no papers."],
        choice: "We planned the march with stewards in pairs and told the centre, so members without papers can choose to join at the rally point instead.",
        results: &[
            ("About {big} marched; no arrests, and the local paper printed our demands.", W),
            ("The march went well, but police took two stewards' details.", M),
        ],
        resolution: "Stewards in pairs confirmed; members without papers join at the rally point, not the march.",
    },
    Story {
        team: OUTREACH,
        season: Season::Summer,
        weight: 1,
        gap_days: 30,
        situation: "police-at-meeting",
        zone: Zone::CentreAwareness,
        principles: &[EXPOSURE],
        contexts: &["Two police officers stood outside the community centre during the {day} strike meeting."],
        choice: "We carried on, kept no attendance list, and told the centre before the next meeting.",
        results: &[
            ("No police at the meetings since.", W),
        ],
        resolution: "The centre asked the council's police liaison why; strike meetings move to the church hall and nobody keeps a list.",
    },
    Story {
        team: OUTREACH,
        season: Season::Autumn,
        weight: 4,
        gap_days: 30,
        situation: "language",
        zone: Zone::Local,
        principles: &[ASK],
        contexts: &["Half the tenants in block {block} read Portuguese or Somali, and our leaflets are in English only."],
        choice: "{a} found two tenants who door-knock with us in their languages and asked them what the leaflet should say.",
        results: &[
            ("{n} households joined in a month.", W),
        ],
        resolution: "",
    },
    Story {
        team: OUTREACH,
        season: Season::Autumn,
        weight: 1,
        gap_days: 0,
        situation: "estate-sale",
        zone: Zone::CentreAwareness,
        principles: &[EXPOSURE, BUILDING],
        contexts: &["Tenants hear the estate is being sold and fear a wave of notices from the new owner."],
        choice: "We told the centre, called an emergency assembly and asked Legal support to check the land registry.",
        results: &[
            ("The sale went through; the new owner agreed to meet the union.", M),
        ],
        resolution: "Legal support confirmed the sale; the assembly agreed one letter to the new owner before any action.",
    },
    Story {
        team: OUTREACH,
        season: Season::Winter,
        weight: 6,
        gap_days: 3,
        situation: "heating-failure",
        zone: Zone::PrincipleCheck,
        principles: &[BUILDING, LOCAL],
        contexts: &[
            "The communal heating in block {block} failed on {day} with frost forecast; {big} flats are cold.",
            "Radiators in block {block} have been cold since {day}, and the landlord's contractor cannot come until next week.",
        ],
        choice: "We had the whole block report the outage together and asked Kitchen to run hot meals, since that takes their week.",
        results: &[
            ("Heating back in three days, and the landlord paid for heaters.", W),
            ("Heating back after nine days; the heaters only came on day six.", M),
        ],
        resolution: "",
    },
    // Legal support: repairs, evictions, courts and the housing office.
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 6,
        gap_days: 3,
        situation: "repairs-refused",
        zone: Zone::Local,
        principles: &[WRITING],
        contexts: &[
            "The boiler in flat {flat} has been broken for {n} weeks and the landlord's agent does not answer.",
            "The tenant in flat {flat} has had no working toilet for {n} days; the agent says a plumber is booked.",
            "Mould in flat {flat} came back {n} weeks after the landlord painted over it.",
        ],
        choice: "We sent a formal letter from the union citing the landlord's repair duties, with a 14-day deadline.",
        results: &[
            ("The repair was done within the deadline.", W),
            ("The landlord sent a contractor the day the letter arrived.", W),
            ("Fixed after a month, two weeks past the deadline.", M),
        ],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 4,
        gap_days: 7,
        situation: "landlord-contact",
        zone: Zone::Local,
        principles: &[WRITING],
        contexts: &[
            "The landlord's agent emailed {a} asking for a list of the tenants who attend union meetings.",
            "The landlord's agent wrote to {a} personally, asking the union to stop stirring up block {block}.",
        ],
        choice: "We replied from the union's address that the agent must write to the union, and gave no names.",
        results: &[
            ("The agent has written to the union ever since.", W),
            ("The agent stopped emailing {a}, but started calling other members.", M),
        ],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 4,
        gap_days: 5,
        situation: "court-hearing",
        zone: Zone::Local,
        principles: &[PAIRS],
        contexts: &[
            "A tenant in flat {flat} has a possession hearing on {day} and is afraid to go alone.",
            "A tenant from block {block} is summoned to court on {day} over rent arrears and has never been to court.",
        ],
        choice: "{a} and {b} went to court with her and sat beside her through the hearing.",
        results: &[
            ("The judge adjourned the case so a defence can be filed.", W),
            ("Possession was granted but suspended while she pays off the arrears.", M),
        ],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 4,
        gap_days: 5,
        situation: "housing-office",
        zone: Zone::Local,
        principles: &[PAIRS],
        contexts: &[
            "A family from block {block} was turned away at the housing office for documents they do not have.",
            "A pensioner from block {block} was sent away from the housing office twice without an assessment.",
        ],
        choice: "{a} and {b} went back with them, asked in writing which documents the law requires and waited for an answer.",
        results: &[
            ("The family was registered that same day.", W),
            ("They were registered, but only on the third visit.", M),
        ],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 4,
        gap_days: 30,
        situation: "know-your-rights",
        zone: Zone::Local,
        principles: &[ASK],
        contexts: &[
            "Tenants ask the same questions about deposits and repairs at every meeting.",
            "{n} tenants rang the union this month about deposits kept when they moved out.",
        ],
        choice: "We collected the questions and answered them at a know-your-rights evening on {day}, with a one-page guide.",
        results: &[
            ("About {big} came, and the guide had to be reprinted.", W),
        ],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 1,
        gap_days: 45,
        situation: "data-request",
        zone: Zone::CentreAwareness,
        principles: &[NAMES, EXPOSURE],
        contexts: &["The landlord's solicitor asked us for the names of the tenants at the {day} meeting."],
        choice: "We refused in writing and told the centre, since any list would expose members.",
        results: &[
            ("The solicitor dropped the request.", W),
        ],
        resolution: "No list exists and none will be kept; the written refusal stands.",
    },
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 1,
        gap_days: 60,
        situation: "immigration-threat",
        zone: Zone::CentreIntervention,
        principles: &[NAMES, EXPOSURE],
        contexts: &["The landlord's agent threatened to report a tenant in block {block} to immigration after she complained about damp."],
        choice: "We asked the centre to step in at once: nobody confronts the agent until the tenant's safety is planned.",
        results: &[
            ("The tenant is safe and the agent has not repeated the threat.", W),
        ],
        resolution: "The centre found the tenant an immigration adviser; any reply to the agent goes from the union, with no names.",
    },
    Story {
        team: LEGAL,
        season: Season::Spring,
        weight: 4,
        gap_days: 10,
        situation: "invalid-notice",
        zone: Zone::Local,
        principles: &[WRITING],
        contexts: &["The rent increase notices for block {block} gave tenants less than a month's notice."],
        choice: "We checked each tenancy and challenged the notices at the rent tribunal for every tenant who agreed.",
        results: &[
            ("The tribunal struck out the notices; the landlord must start again.", W),
        ],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Summer,
        weight: 4,
        gap_days: 7,
        situation: "strike-advice",
        zone: Zone::PrincipleCheck,
        principles: &[BUILDING, LOCAL],
        contexts: &["Tenants joining the rent strike asked whether the landlord can evict them for withholding the rise."],
        choice: "We advised paying the old rent in full into a separate account, and asked the assembly to make it the advice for every block.",
        results: &[
            ("Every striking household pays the old rent; no arrears claims so far.", W),
        ],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Autumn,
        weight: 2,
        gap_days: 7,
        situation: "eviction-notice",
        zone: Zone::CentreAwareness,
        principles: &[PAIRS, EXPOSURE],
        contexts: &["Two families in block {block} got no-fault eviction notices a week after joining the rent strike."],
        choice: "We treated it as retaliation: told the centre, paired each family with two members and booked the housing lawyer.",
        results: &[
            ("Both notices were withdrawn after the lawyer's letter.", W),
            ("One notice was withdrawn; the other family's case goes to court.", M),
        ],
        resolution: "Retaliation noted: the lawyer takes both cases, and Comms holds any press until the families say yes.",
    },
    Story {
        team: LEGAL,
        season: Season::Autumn,
        weight: 1,
        gap_days: 21,
        situation: "bailiffs",
        zone: Zone::CentreIntervention,
        principles: &[PAIRS, EXPOSURE],
        contexts: &["Bailiffs are due at flat {flat} on {day} morning to enforce a possession order."],
        choice: "We asked the centre to step in before anyone gathered at the door, since a crowd could get the tenant arrested.",
        results: &[
            ("The warrant was suspended the day before; the family stays for now.", W),
            ("The council rehoused the family, in a hostel across town.", M),
        ],
        resolution: "The centre called the tenant and the lawyer: we apply to suspend the warrant, and nobody blocks the door.",
    },
    Story {
        team: LEGAL,
        season: Season::Winter,
        weight: 4,
        gap_days: 10,
        situation: "heating-compensation",
        zone: Zone::Local,
        principles: &[WRITING],
        contexts: &["Tenants in block {block} went {n} days without heating and want compensation."],
        choice: "We drafted a claim for each flat and sent them all together under the union's name.",
        results: &[
            ("The landlord offered a rent rebate for every day without heat.", W),
        ],
        resolution: "",
    },
    // Comms: the newsletter, posters, the phone tree and the press.
    Story {
        team: COMMS,
        season: Season::Any,
        weight: 4,
        gap_days: 10,
        situation: "press-request",
        zone: Zone::Local,
        principles: &[NAMES],
        contexts: &[
            "A journalist asked to photograph the {day} assembly for a feature on housing.",
            "A magazine wants photos of tenants in their damp flats for a feature on the estate.",
        ],
        choice: "We declined the photos and sent a written statement without names.",
        results: &[
            ("The feature ran with our statement, and nobody was named.", W),
            ("The feature ran; two tenants who read it joined.", W),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Any,
        weight: 4,
        gap_days: 25,
        situation: "newsletter",
        zone: Zone::Local,
        principles: &[SAME_DAY],
        contexts: &["The newsletter is due on {day} and half the teams have not sent their news."],
        choice: "{a} wrote it from the decision log instead of waiting for reports.",
        results: &[
            ("Out on time, and the teams said it was accurate.", W),
            ("Out on time, but Kitchen's news was a month old because they log late.", M),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Any,
        weight: 4,
        gap_days: 30,
        situation: "phone-tree",
        zone: Zone::Local,
        principles: &[RECORD],
        contexts: &["The phone tree failed on {day}: {n} members never heard that the venue had changed."],
        choice: "We told the assembly what went wrong, rang the missing numbers and added a text message as a second channel.",
        results: &[
            ("The next call-out reached everyone within two hours.", W),
            ("Better, but three numbers are still out of date.", M),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Any,
        weight: 4,
        gap_days: 30,
        situation: "social-media",
        zone: Zone::PrincipleCheck,
        principles: &[NAMES, LOCAL],
        contexts: &["A member posted photos of the {day} door-knock on the union's page with tenants' faces showing."],
        choice: "We took the photos down, asked the tenants whether they minded, and agreed posting rules with Outreach.",
        results: &[
            ("Nobody objected; the rules are on the office wall.", W),
            ("Down within the hour, but one photo had been shared.", M),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Any,
        weight: 4,
        gap_days: 60,
        situation: "flyers",
        zone: Zone::Local,
        principles: &[NAMES],
        contexts: &["A member asked for the flyers to list each block contact's name and phone number."],
        choice: "We printed the union's shared number only; block contacts are named at meetings, not on paper.",
        results: &[
            ("Calls to the shared number doubled, and {a} passes them on.", W),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Any,
        weight: 2,
        gap_days: 45,
        situation: "venue-loss",
        zone: Zone::PrincipleCheck,
        principles: &[LOCAL],
        contexts: &["The community centre cancelled the {day} assembly without giving a reason."],
        choice: "We moved the assembly to the church hall on {street}, checked with the other teams, then told everyone by phone tree.",
        results: &[
            ("Attendance held, and the church offered us the hall every month.", W),
            ("Fewer came; some never heard about the move.", M),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Spring,
        weight: 6,
        gap_days: 0,
        situation: "campaign-launch",
        zone: Zone::Local,
        principles: &[BUILDING],
        contexts: &["The campaign against the rent increase needs a name and a poster before the block meetings."],
        choice: "We took three designs to the block meetings and printed the one they chose.",
        results: &[
            ("'Not a penny more' posters are in about {big} windows.", W),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Spring,
        weight: 4,
        gap_days: 30,
        situation: "council-meeting",
        zone: Zone::Local,
        principles: &[NAMES],
        contexts: &["The council's housing committee invites tenants to speak at its meeting on {day}."],
        choice: "{a} spoke for the union and read three tenants' written accounts with their names left out.",
        results: &[
            ("The committee asked the landlord to appear at its next meeting.", W),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Summer,
        weight: 4,
        gap_days: 10,
        situation: "press-request",
        zone: Zone::Local,
        principles: &[NAMES],
        contexts: &["A TV crew wants to film the rent strike rally on {street}."],
        choice: "We declined filming at people's doors and sent a written statement without names; the rally itself is public.",
        results: &[
            ("The report showed the rally and quoted our statement.", W),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Autumn,
        weight: 4,
        gap_days: 0,
        situation: "annual-report",
        zone: Zone::Local,
        principles: &[SAME_DAY, RECORD],
        contexts: &["The annual meeting needs a report of the year for members who missed the assemblies."],
        choice: "We built the report from the decision log, including the results that failed.",
        results: &[
            ("Members said it was the first report they had read to the end.", W),
        ],
        resolution: "",
    },
    Story {
        team: COMMS,
        season: Season::Winter,
        weight: 4,
        gap_days: 14,
        situation: "heater-scheme",
        zone: Zone::Local,
        principles: &[ASK],
        contexts: &["Tenants in block {block} did not know the council lends heaters in emergencies."],
        choice: "We printed the scheme's details in four languages and {a} delivered them to every flat in the block.",
        results: &[
            ("{n} households borrowed heaters that week.", W),
        ],
        resolution: "",
    },
];

/// The last decisions of the year, after the estate's sale: letters to the new owner
/// citing `WRITING` that all failed, newest in the log (the failing-principle tension).
const FAILING_STREAK: &[Story] = &[
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 0,
        gap_days: 0,
        situation: "repairs-refused",
        zone: Zone::PrincipleCheck,
        principles: &[WRITING],
        contexts: &["The lift in block D has been broken for five weeks; a tenant on the ninth floor uses a wheelchair."],
        choice: "We sent the new owner a formal letter citing its repair duties and the tenant's disability, with a seven-day deadline.",
        results: &[("The new owner ignored the letter; the lift is still broken.", F)],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 0,
        gap_days: 0,
        situation: "repairs-refused",
        zone: Zone::PrincipleCheck,
        principles: &[WRITING],
        contexts: &["Damp in a flat in block B made a baby ill; the new owner's agent calls it condensation."],
        choice: "We sent a second formal letter with the GP's note, copied to the council's housing officer.",
        results: &[("No reply; the damp has spread to the flat next door.", F)],
        resolution: "",
    },
    Story {
        team: LEGAL,
        season: Season::Any,
        weight: 0,
        gap_days: 0,
        situation: "repairs-refused",
        zone: Zone::PrincipleCheck,
        principles: &[WRITING],
        contexts: &["Block A has had no hot water for a fortnight, and the new owner threatened the loudest complainant with a no-fault eviction."],
        choice: "We sent a formal letter before action, drafted with the housing lawyer.",
        results: &[("The owner's solicitor acknowledged the letter and did nothing; still no hot water.", F)],
        resolution: "",
    },
];

const STREETS: &[&str] = &[
    "Carver Street",
    "Mill Lane",
    "Orchard Road",
    "Hollis Street",
    "Station Parade",
    "Wharf Road",
];
const WEEKDAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
/// How many neighbouring decisions must tell different stories.
const NO_REPEAT_WITHIN: usize = 10;
/// Situations that happen once in a year (the estate is sold once), however many
/// decisions the demo has.
const ONCE: &[&str] = &["estate-sale", "campaign-launch", "annual-report"];

/// What varies between two tellings of one story.
struct Vars {
    a: &'static str,
    b: &'static str,
    block: char,
    flat: u32,
    street: &'static str,
    day: &'static str,
    n: u32,
    big: u32,
    pct: u32,
}

impl Vars {
    fn draw(rng: &mut StdRng) -> Vars {
        let a = rng.gen_range(0..PEOPLE.len());
        // Never the same person twice in one sentence ("Noor went with Noor").
        let b = (a + rng.gen_range(1..PEOPLE.len())) % PEOPLE.len();
        Vars {
            a: PEOPLE[a],
            b: PEOPLE[b],
            block: char::from(b'A' + rng.gen_range(0..6u8)),
            flat: rng.gen_range(1..=48),
            street: STREETS[rng.gen_range(0..STREETS.len())],
            day: WEEKDAYS[rng.gen_range(0..WEEKDAYS.len())],
            n: rng.gen_range(3..=9),
            big: rng.gen_range(4..=16) * 10,
            pct: rng.gen_range(9..=30),
        }
    }
}

/// `template` with its `{…}` placeholders (see [`Story`]) replaced; unknown ones are kept
/// as written, so a typo shows in the demo rather than vanishing. One pass, no allocation
/// beyond the result: the benchmarks seed 100k decisions.
fn fill(template: &str, v: &Vars) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        // Writing into a String cannot fail.
        let _ = match &after[..close] {
            "a" => write!(out, "{}", v.a),
            "b" => write!(out, "{}", v.b),
            "block" => write!(out, "{}", v.block),
            "flat" => write!(out, "{}{}", v.block, v.flat),
            "street" => write!(out, "{}", v.street),
            "day" => write!(out, "{}", v.day),
            "n" => write!(out, "{}", v.n),
            "big" => write!(out, "{}", v.big),
            "pct" => write!(out, "{}", v.pct),
            other => write!(out, "{{{other}}}"),
        };
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The next story at `t`: one of this season's (or any season's), none of the last
/// `NO_REPEAT_WITHIN` (neighbouring decisions never repeat each other) and none of the
/// `ONCE` stories already `told`. Among those, one that has rested its `gap_days` since
/// it was `last` told, weighted; if none has (a demo denser than a real union's year),
/// the one most overdue for its gap, so each still comes up as often as its gap says
/// relative to the others.
fn pick(
    rng: &mut StdRng,
    t: Timestamp,
    recent: &VecDeque<usize>,
    told: &[usize],
    last: &[Option<Timestamp>],
) -> usize {
    let season = Season::of(t);
    let fits: Vec<usize> = (0..STORIES.len())
        .filter(|&k| {
            let s = &STORIES[k];
            (s.season == Season::Any || s.season == season)
                && !recent.contains(&k)
                && !told.contains(&k)
        })
        .collect();
    // How long since each was told, in ms; never told counts as forever.
    let since = |k: usize| {
        last.get(k)
            .copied()
            .flatten()
            .map_or(i64::MAX, |at| t.0 - at.0)
    };
    let rested: Vec<usize> = fits
        .iter()
        .copied()
        .filter(|&k| since(k) >= STORIES[k].gap_days * DAY_MS)
        .collect();
    let total: u32 = rested.iter().map(|&k| STORIES[k].weight).sum();
    if total > 0 {
        let mut at = rng.gen_range(0..total);
        for &k in &rested {
            if at < STORIES[k].weight {
                return k;
            }
            at -= STORIES[k].weight;
        }
    }
    // None rested, so each has a gap > 0 and was told: the largest since/gap, compared
    // as since_a * gap_b > since_b * gap_a in i128 to stay exact.
    fits.into_iter()
        .max_by(|&a, &b| {
            let (ga, gb) = (STORIES[a].gap_days.max(1), STORIES[b].gap_days.max(1));
            (i128::from(since(a)) * i128::from(gb)).cmp(&(i128::from(since(b)) * i128::from(ga)))
        })
        // Unreachable while each season has more stories than NO_REPEAT_WITHIN (a test checks).
        .unwrap_or(0)
}

/// Logs one telling of `story` at `t` (the decision's time), with its result if it is old
/// enough to have one. Returns the decision id.
#[allow(clippy::too_many_arguments)]
fn tell(
    circle: &mut Circle,
    id_rng: &mut OsRng,
    rng: &mut StdRng,
    story: &Story,
    t: &mut Timestamp,
    now: Timestamp,
    author: &str,
    team: &str,
    principles: &[String],
    unsure: bool,
) -> Result<String> {
    let v = Vars::draw(rng);
    let cited = story
        .principles
        .iter()
        .filter_map(|&p| principles.get(p).cloned())
        .collect();
    let id = circle.log_decision(
        &mut Ctx::new(*t, author.to_string(), &mut *id_rng),
        NewDecision {
            team: team.to_string(),
            principles: cited,
            context: fill(
                story
                    .contexts
                    .get(rng.gen_range(0..story.contexts.len().max(1)))
                    .copied()
                    .unwrap_or_default(),
                &v,
            ),
            choice: fill(story.choice, &v),
            zone: Some(story.zone),
            zone_unsure: unsure,
            situation: Some(story.situation.to_string()),
            result_due: Some(Timestamp(t.0 + 30 * DAY_MS).day()),
            departs_from: None,
            departure_why: None,
        },
    )?;
    if now.0 - t.0 > 21 * DAY_MS && rng.gen_bool(0.8) && !story.results.is_empty() {
        let (text, outcome) = story.results[rng.gen_range(0..story.results.len())];
        *t = Timestamp(t.0 + rng.gen_range(5..20) * DAY_MS);
        circle.record_result(
            &mut Ctx::new(*t, author.to_string(), &mut *id_rng),
            &id,
            &fill(text, &v),
            outcome,
        )?;
    }
    Ok(id)
}

/// The most decisions the demo spreads over one year.
const DECISIONS_PER_YEAR: usize = 100_000;

/// The demo circle, written as `author` (its founder, and this device).
pub fn build(author: Author<'_>, name: &str, decisions: usize) -> Result<Circle> {
    // The last few decisions are the failing streak of `seed_tensions`, within the count.
    let failing = FAILING_STREAK.len().min(decisions);
    // And one deliberate departure, backed by the centre (below, after the governance).
    let departing = usize::from(decisions > failing);
    let decisions = decisions - failing - departing;
    // Content only: which text, team, zone and time. Never ids or keys (see the module doc).
    let mut rng = StdRng::seed_from_u64(0x0067_726f_7665);
    // Ids and the circle key (`Ctx::rng` makes both) from the OS, like any real circle's.
    let mut id_rng = OsRng;
    let now = author.now;
    // A year of a busy union, or as many years as a large movement needs at about that pace:
    // months then hold as many decisions at a million as at a hundred thousand.
    let years = decisions.div_ceil(DECISIONS_PER_YEAR).max(1) as i64;
    let start = Timestamp(now.0 - years * 365 * DAY_MS);
    let me = author.member;
    let (key, my_name) = (author.key.clone(), author.name);
    let mut t = start;
    macro_rules! ctx {
        ($member:expr) => {{
            t = Timestamp(t.0 + 1000);
            Ctx::new(t, $member, &mut id_rng)
        }};
    }
    let mut circle = Circle::create_signed(&mut ctx!(me.clone()), &key, name, &my_name)?;

    // The founder writes the union's first values and principles while alone in the circle:
    // once there are two members they change only by consent.
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
    if let Some(value) = values.first() {
        let at = ctx!(me.clone()).now;
        edit_conflict(&mut circle, &mut id_rng, at, &me, value)?;
    }

    // Each sample member has a device of their own, as in a real union: their governance
    // acts are signed by it (see `Laptops`).
    let mut people = vec![me.clone()];
    let mut laptops = Laptops::new(&me);
    for p in PEOPLE {
        let key = SigningKey::generate(&mut OsRng);
        let public = key.verifying_key();
        let id = member_of_device(public.as_bytes());
        circle.admit_member(
            &mut ctx!(me.clone()),
            &id,
            p,
            &data_encoding::HEXLOWER.encode(public.as_bytes()),
        )?;
        laptops.add(&id, key);
        people.push(id);
    }
    // Member j is in team j mod 4, so a team's decisions are logged by its own members.
    let mut teams = Vec::new();
    for (i, (team, domain)) in TEAMS.iter().enumerate() {
        let tid = circle.add_team(&mut ctx!(me.clone()), team, Some(domain))?;
        for (j, m) in people.iter().enumerate() {
            if j % TEAMS.len() == i {
                circle.team_add_member(&mut ctx!(me.clone()), &tid, m)?;
            }
        }
        teams.push(tid);
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

    // The decisions, evenly spread, with results for most of the older ones.
    let span = (now.0 - start.0 - 10 * DAY_MS).max(1);
    let step = span / decisions.max(1) as i64;
    let mut recent: VecDeque<usize> = VecDeque::with_capacity(NO_REPEAT_WITHIN + 1);
    let mut once: Vec<usize> = Vec::new();
    let mut last: Vec<Option<Timestamp>> = vec![None; STORIES.len()];
    // Which story raised each escalation, so its resolution answers that story.
    let mut escalated: HashMap<String, usize> = HashMap::new();
    for i in 0..decisions {
        t = Timestamp(start.0 + DAY_MS + i as i64 * step);
        let k = pick(&mut rng, t, &recent, &once, &last);
        if let Some(at) = last.get_mut(k) {
            *at = Some(t);
        }
        if ONCE.contains(&STORIES[k].situation) {
            once.push(k);
        }
        recent.push_back(k);
        if recent.len() > NO_REPEAT_WITHIN {
            recent.pop_front();
        }
        let story = &STORIES[k];
        let team = story.team % teams.len();
        let author = &people[(team + TEAMS.len() * rng.gen_range(0..2)) % people.len()];
        // The zone was unclear now and then exactly where it is a judgement call.
        let unsure = story.zone == Zone::PrincipleCheck && rng.gen_bool(0.2);
        let id = tell(
            &mut circle,
            &mut id_rng,
            &mut rng,
            story,
            &mut t,
            now,
            author,
            &teams[team],
            &principles,
            unsure,
        )?;
        if story.zone.escalates() {
            escalated.insert(id.clone(), k);
        }
        for _ in 0..rng.gen_range(0..4) {
            let reader = people[rng.gen_range(0..people.len())].clone();
            if reader != me {
                circle.mark_read(&mut ctx!(reader), &id)?;
            }
        }
    }
    // A circle older than its founder's year renews its stewards every year, by consent,
    // so someone is in office to answer the escalations of every year.
    renew_stewards(&mut circle, &mut laptops, &people, start, years)?;
    // Most escalations answered, each as its story calls for; the recent ones still waiting.
    for e in circle.escalations()? {
        let age = now.0 - e.raised_at.0;
        if age > 14 * DAY_MS {
            t = Timestamp(e.raised_at.0 + rng.gen_range(1..72) * 3_600_000);
            circle.acknowledge_escalation(&mut ctx!(me.clone()), &e.id)?;
            let resolution = escalated
                .get(&e.decision)
                .map(|&k| STORIES[k].resolution)
                .filter(|r| !r.is_empty());
            if let (Some(resolution), true) = (resolution, rng.gen_bool(0.7)) {
                circle.resolve_escalation(&mut ctx!(me.clone()), &e.id, resolution)?;
            }
        }
    }
    t = Timestamp(now.0 - 40 * DAY_MS);
    let review = circle.open_review(
        &mut ctx!(me.clone()),
        NewReview {
            date: t.day(),
            agenda: vec![
                "The food bank runs out before families arrive".into(),
                "How we answer the press during the rent strike".into(),
            ],
            participants: people.iter().take(4).cloned().collect(),
        },
    )?;
    // The review's principle change is a proposal opened in it; Noor consents and it
    // passes once the deadline for the members who never saw it has gone by.
    let mut review_proposal = None;
    if let Some(p) = principles.get(SHARE) {
        let changed = circle.review_change(
            &mut ctx!(me.clone()),
            &review,
            p,
            Amendment {
                statement: "Share what the group has with whoever comes; keep a reserve for families with children.".into(),
                guidance: None,
                reason: "Three Thursdays in a row we ran out before families arrived.".into(),
                cites: Vec::new(),
            },
        )?;
        if let grove_node::core::ReviewChanged::Proposed { proposal } = changed {
            review_proposal = Some((proposal, t));
        }
    }
    circle.add_learning(
        &mut ctx!(me.clone()),
        &review,
        "Plan collections a week ahead, and ask the bakeries before the wholesaler",
    )?;
    circle.close_review(
        &mut ctx!(me.clone()),
        &review,
        Day(Timestamp(now.0 + 50 * DAY_MS).day().0),
    )?;

    if let (Some((proposal, opened)), Some(noor)) = (review_proposal, people.get(NOOR)) {
        let hours = |h: i64| Timestamp(opened.0 + h * HOUR_MS);
        laptops.act(&mut circle, noor, hours(2), true, |c, ctx| {
            c.receive_proposals(ctx)?;
            c.respond(ctx, &proposal, Answer::Consent, None)
        })?;
        laptops.act(&mut circle, &me, hours(22 * 24), true, |c, ctx| {
            c.pass_proposal(ctx, &proposal)
        })?;
    }

    seed_governance(&mut circle, &mut laptops, now, &people, &principles)?;

    // A deliberate departure the centre backed (counted in `departing`): the union's own rule says "in writing
    // first", and Legal support went straight to the office in a cold snap.
    if let (1, Some(writing), Some(legal)) = (departing, principles.get(WRITING), teams.get(LEGAL))
    {
        t = Timestamp(now.0 - 20 * DAY_MS);
        let departure = circle.log_decision(
            &mut ctx!(me.clone()),
            NewDecision {
                team: legal.clone(),
                principles: vec![writing.clone()],
                context: "The boilers in block B failed on the coldest night of the year; a letter would take a week to answer.".into(),
                choice: "We went to the managing agent's office in person with six tenants, without writing first.".into(),
                zone: Some(Zone::CentreAwareness),
                zone_unsure: false,
                // Its own key: no team's other choices are compared with a departure.
                situation: Some("no-heat-visit".into()),
                result_due: None,
                departs_from: Some(writing.clone()),
                departure_why: Some("Families with babies had no heat: waiting for a reply to a letter was not safe.".into()),
            },
        )?;
        if let Some(e) = circle
            .escalations()?
            .into_iter()
            .find(|e| e.decision == departure)
        {
            t = Timestamp(t.0 + 3 * HOUR_MS);
            circle.answer_escalation(
                &mut ctx!(me.clone()),
                &e.id,
                Verdict::Back,
                "Right call: writing first protects us, not people without heat. The centre stands behind it.",
            )?;
        }
    }
    t = Timestamp(now.0 - 6 * DAY_MS);

    for (i, what) in [
        "Book the church hall for the annual meeting",
        "Print 500 know-your-rights cards in four languages",
        "Call the housing lawyer back about the block A eviction threat",
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
    for (i, retro) in RETROS.iter().enumerate() {
        let (Some(team), Some(author)) = (teams.get(retro.team), people.get(retro.team)) else {
            continue;
        };
        t = Timestamp(now.0 - (20 + i as i64 * 10) * DAY_MS);
        circle.add_retro(
            &mut ctx!(author.clone()),
            NewRetro {
                team: team.clone(),
                went_well: retro.went_well.into(),
                didnt: retro.didnt.into(),
                change: retro.change.into(),
                principles: retro
                    .principles
                    .iter()
                    .filter_map(|&p| principles.get(p).cloned())
                    .collect(),
            },
        )?;
    }
    seed_tensions(
        &mut circle,
        &mut laptops,
        &mut id_rng,
        now,
        failing,
        &me,
        &people,
        &teams,
        &principles,
        &values,
    )?;
    Ok(circle)
}

struct Retro {
    team: usize,
    went_well: &'static str,
    didnt: &'static str,
    change: &'static str,
    principles: &'static [usize],
}

/// One retro per team, newest first, about that team's work this autumn. Three teams
/// could not always find a second person for a confrontation: the shared struggle under
/// the pairs rule that the Tensions view should find.
const RETROS: &[Retro] = &[
    Retro {
        team: KITCHEN,
        went_well: "The Thursday food bank fed 140 households a week this autumn, and the reserve for families held.",
        didnt: "Twice one volunteer was left to close up alone when the new owner's agent came asking questions.",
        change: "Rota two people to close every session.",
        principles: &[PAIRS],
    },
    Retro {
        team: OUTREACH,
        went_well: "Door-knocking on Carver Street signed up 23 members before the annual meeting.",
        didnt: "We sent people out alone on two evenings because pairs fell through at the last minute.",
        change: "Agree the pairs at the Sunday meeting, not on the night.",
        principles: &[PAIRS],
    },
    Retro {
        team: LEGAL,
        went_well: "Every tenant with a court date this autumn had someone from the union beside them.",
        didnt: "Two housing-office visits went ahead with one of us because the second person cancelled.",
        change: "Keep a standby list for accompaniment.",
        principles: &[PAIRS],
    },
    Retro {
        team: COMMS,
        went_well: "The newsletter went out on the first Monday of every month.",
        didnt: "Teams logged decisions days late, so the newsletter was often a week behind.",
        change: "Remind each team on the day, and write from the log.",
        principles: &[SAME_DAY],
    },
];

/// Signs the insight views should find in the demo besides the divergences and the shared
/// struggle the stories and retros produce: letters to the new owner that keep failing
/// (c), concurrent edits of a value from a second device (d), principle proliferation
/// (e), a tension raised by hand, and decay in two categories (so the replant alert shows).
#[allow(clippy::too_many_arguments)]
fn seed_tensions(
    circle: &mut Circle,
    laptops: &mut Laptops,
    rng: &mut OsRng,
    now: Timestamp,
    failing_streak: usize,
    me: &str,
    people: &[String],
    teams: &[String],
    principles: &[String],
    values: &[String],
) -> Result<()> {
    let (Some(value), Some(building)) = (values.first(), principles.get(BUILDING)) else {
        return Ok(());
    };
    // The newest results in the log, so they are the principle's latest.
    let mut t = Timestamp(now.0 - DAY_MS);
    let next = |t: &mut Timestamp| {
        *t = Timestamp(t.0 + 3_600_000);
        *t
    };
    let legal = &teams[LEGAL % teams.len()];
    for (i, story) in FAILING_STREAK.iter().enumerate().take(failing_streak) {
        // Legal support's two members take turns.
        let author = people[(LEGAL + TEAMS.len() * (i % 2)) % people.len()].clone();
        let id = circle.log_decision(
            &mut Ctx::new(next(&mut t), author.clone(), &mut *rng),
            NewDecision {
                team: legal.clone(),
                principles: story
                    .principles
                    .iter()
                    .filter_map(|&p| principles.get(p).cloned())
                    .collect(),
                context: story.contexts.first().copied().unwrap_or_default().into(),
                choice: story.choice.into(),
                zone: Some(story.zone),
                // Whether to go beyond letters binds the whole union: a judgement call.
                zone_unsure: true,
                situation: Some(story.situation.into()),
                result_due: None,
                departs_from: None,
                departure_why: None,
            },
        )?;
        for (text, outcome) in story.results {
            circle.record_result(
                &mut Ctx::new(next(&mut t), author.clone(), &mut *rng),
                &id,
                text,
                *outcome,
            )?;
        }
    }
    // Added four months ago and never cited since: liturgy (principles nobody uses), and
    // with the expired role terms a second decaying category, so the replant alert shows.
    // They also give Mutual aid one principle too many (proliferation).
    // Each by consent, as principles change in a circle of several: an hour's window, one
    // other member's yes (Lena's: she keeps the principles now, and this device already
    // knows it), and passed once the deadline for those who never saw it is over.
    let long_ago = Timestamp(now.0 - 120 * DAY_MS);
    let Some(seconder) = people.get(LENA) else {
        return Ok(());
    };
    for (i, statement) in [
        "Answer every request for help within a day.",
        "Keep a list of skills members offer.",
    ]
    .into_iter()
    .enumerate()
    {
        let opened = Timestamp(long_ago.0 + i as i64 * DAY_MS);
        let proposal = laptops.act(circle, me, opened, true, |c, ctx| {
            c.open_proposal(
                ctx,
                NewProposal {
                    title: format!("New principle: {statement}"),
                    body: String::new(),
                    change: ProposalChange::NewPrinciple {
                        values: vec![value.clone()],
                        statement: statement.into(),
                        guidance: None,
                        supersedes: None,
                    },
                    window_ms: Some(HOUR_MS),
                },
            )
        })?;
        laptops.act(
            circle,
            seconder,
            Timestamp(opened.0 + 60_000),
            true,
            |c, ctx| {
                c.receive_proposals(ctx)?;
                c.respond(ctx, &proposal, Answer::Consent, None)
            },
        )?;
        laptops.act(
            circle,
            me,
            Timestamp(opened.0 + 4 * HOUR_MS),
            true,
            |c, ctx| c.pass_proposal(ctx, &proposal),
        )?;
    }
    // Comms answers the union's phone and hears both teams' advice: a tension no situation
    // key shows, because the two teams file it under different situations.
    circle.raise_tension(
        &mut Ctx::new(next(&mut t), people[COMMS % people.len()].clone(), &mut *rng),
        "Tenants hear different advice on withholding rent",
        "On the doorstep Outreach tells tenants with disrepair to hold back all their rent until repairs are done; Legal support advises paying the old rent in full into a separate account. Tenants ring Comms to ask which is right.",
        Some(building),
        &[],
    )?;
    Ok(())
}

/// (d) The founder's second device, with its own Ed25519 key and so its own actor, rewords
/// a value while the first rewords it too, neither having seen the other's edit: the merge
/// keeps both versions, as two real laptops syncing would. It happens while the founder is
/// alone in the circle, the only time a value is edited directly; the conflict stays until
/// someone picks a wording.
fn edit_conflict(
    circle: &mut Circle,
    rng: &mut OsRng,
    at: Timestamp,
    me: &str,
    value: &str,
) -> Result<()> {
    let key = SigningKey::generate(&mut OsRng);
    let public = key.verifying_key();
    circle.add_device(
        &mut Ctx::new(at, me.to_string(), &mut *rng),
        me,
        &data_encoding::HEXLOWER.encode(public.as_bytes()),
    )?;
    let mut other = fork(circle, &key, None)?;
    let at = Timestamp(at.0 + 60_000);
    let reword = |statement: &str| ValueEdit {
        statement: Some(statement.into()),
        reason: Some("Said more plainly".into()),
        ..Default::default()
    };
    circle.edit_value(
        &mut Ctx::new(at, me.to_string(), &mut *rng),
        value,
        reword("We meet needs directly, as equals, without conditions or paperwork."),
    )?;
    other.edit_value(
        &mut Ctx::new(at, me.to_string(), &mut *rng),
        value,
        reword("We meet needs directly and share what we have, without conditions."),
    )?;
    // Checked like a peer's changes: signed by a member's device, or refused.
    exchange(&other, circle)
}

const HOUR_MS: i64 = 3_600_000;
/// Sample members by their place in `PEOPLE` (this device's member comes before them).
const NOOR: usize = 1;
const TOMAS: usize = 2;
const AIKO: usize = 3;
const FEMI: usize = 4;
const LENA: usize = 5;
const RAVI: usize = 6;
const MARTA: usize = 7;

/// The sample members' own devices. Every receiver checks that a proposal is opened,
/// answered, received and passed by the member whose device signs the change, so each
/// member's governance acts are written on a copy of the circle as that member's device,
/// signed by their own key, and exchanged with this device's copy as peers exchange changes.
///
/// A device online catches up with `main` before it acts, so after its act it holds
/// exactly what `main` holds: one copy serves every device that acts online, switching to
/// the acting device's key, and catches up with `main` (checked as a peer's changes are)
/// before each act. A device remembers only the heads it last held; acting offline, it acts
/// on `main` as it was at those heads. A copy per device held the whole core seven times:
/// most of the memory of seeding a large circle (BENCHMARKS.md, "A million decisions").
struct Laptops {
    me: String,
    /// Each member's key, and the core's heads their device held after its last act.
    others: Vec<(String, SigningKey, Option<Vec<ChangeHash>>)>,
    /// The copy the devices act on online, once one has acted.
    online: Option<Circle>,
}

impl Laptops {
    fn new(me: &str) -> Laptops {
        Laptops {
            me: me.to_string(),
            others: Vec::new(),
            online: None,
        }
    }

    fn add(&mut self, member: &str, key: SigningKey) {
        self.others.push((member.to_string(), key, None));
    }

    /// `member` does `f` at `at` on their own device (this device's member on `main`) and
    /// the change reaches `main`. With `online`, their device first catches up with `main`;
    /// without, it acts on what it last had, as a device without a connection does (a
    /// device that never acted has nothing yet: it starts from `main`).
    fn act<O>(
        &mut self,
        main: &mut Circle,
        member: &str,
        at: Timestamp,
        online: bool,
        f: impl FnOnce(&mut Circle, &mut Ctx<'_>) -> grove_node::core::Result<O>,
    ) -> Result<O> {
        let mut rng = OsRng;
        let mut ctx = Ctx::new(at, member, &mut rng);
        if member == self.me {
            return Ok(f(main, &mut ctx)?);
        }
        let Some((_, key, last)) = self.others.iter_mut().find(|(m, ..)| m == member) else {
            return Err(DemoError::Bug(format!("it has no device for {member}")));
        };
        let mut offline = match last.as_deref() {
            Some(heads) if !online => Some(fork(main, key, Some(heads))?),
            _ => None,
        };
        let device = match (&mut offline, &mut self.online) {
            (Some(device), _) => device,
            (None, Some(device)) => {
                exchange(main, device)?;
                device.act_as_device(key.clone());
                device
            }
            (None, copy @ None) => copy.insert(fork(main, key, None)?),
        };
        let out = f(device, &mut ctx)?;
        exchange(device, main)?;
        let held = device
            .doc(CORE_DOC)
            .ok_or_else(|| DemoError::Bug("its circle lost its core document".into()))?
            .get_heads();
        *last = Some(held);
        Ok(out)
    }
}

/// A device holding `main`'s core document (as it was at `heads`, when given), signing
/// with `key`.
fn fork(main: &Circle, key: &SigningKey, heads: Option<&[ChangeHash]>) -> Result<Circle> {
    let lost = || DemoError::Bug("its circle lost its core document".into());
    let core = match heads {
        None => main.snapshot(CORE_DOC).ok_or_else(lost)?,
        Some(heads) => main
            .doc(CORE_DOC)
            .ok_or_else(lost)?
            .fork_at(heads)
            .map_err(|e| DemoError::Bug(format!("its devices' heads are not in its circle: {e}")))?
            .save(),
    };
    let public = key.verifying_key();
    let mut copy = Circle::from_core_bytes(&core, ActorId::from(public.as_bytes().as_slice()))?;
    copy.set_signer(key.clone());
    Ok(copy)
}

/// Sends `to` the core changes it lacks from `from`, checked as a peer's are. A demo change
/// that any receiver would refuse is a bug in the demo, so a refusal fails it.
fn exchange(from: &Circle, to: &mut Circle) -> Result<()> {
    let (Some(source), Some(held)) = (from.doc(CORE_DOC), to.doc(CORE_DOC)) else {
        return Err(DemoError::Bug("its circle lost its core document".into()));
    };
    let common: Vec<ChangeHash> = held
        .get_heads()
        .into_iter()
        .filter(|h| source.get_change_meta_by_hash(h).is_some())
        .collect();
    let batch = vec![(CORE_DOC.to_string(), from.signed_changes(CORE_DOC, &common))];
    let verdict = to.authorize_merge(&batch)?;
    if let Some(refused) = verdict.refused().first() {
        return Err(DemoError::Bug(format!(
            "it wrote a change other devices refuse: {}",
            refused.reason
        )));
    }
    to.apply_checked(batch, verdict)?;
    Ok(())
}

/// Noor opens `new` at `start`; every other member's device receives it within hours and
/// they consent; Noor passes it `pass_after` hours after opening. Returns the proposal.
/// For each year after the first, the stewards named for a year by a proposal all consent
/// to, passed a week before the year ends.
fn renew_stewards(
    circle: &mut Circle,
    laptops: &mut Laptops,
    people: &[String],
    start: Timestamp,
    years: i64,
) -> Result<()> {
    if people.len() <= MARTA {
        return Ok(());
    }
    for year in 1..years {
        let opened = Timestamp(start.0 + (year * 365 - 14) * DAY_MS);
        let renewal = NewProposal {
            title: format!("Stewards for year {}", year + 1),
            body: "The stewards' year is nearly over; the same two hold the centre for another."
                .into(),
            change: ProposalChange::Stewards {
                members: vec![people[0].clone(), people[NOOR].clone()],
                term_days: 365,
                queue: vec![people[TOMAS].clone(), people[AIKO].clone()],
            },
            window_ms: Some(2 * 24 * HOUR_MS),
        };
        agreed_by_all(circle, laptops, people, opened, renewal, 7 * 24)?;
    }
    Ok(())
}

fn agreed_by_all(
    circle: &mut Circle,
    laptops: &mut Laptops,
    people: &[String],
    start: Timestamp,
    new: NewProposal,
    pass_after: i64,
) -> Result<String> {
    let at = |hours: i64| Timestamp(start.0 + hours * HOUR_MS);
    let id = laptops.act(circle, &people[NOOR], start, true, |c, ctx| {
        c.open_proposal(ctx, new)
    })?;
    for (who, hours) in [
        (0, 1),
        (TOMAS, 2),
        (AIKO, 3),
        (FEMI, 4),
        (LENA, 5),
        (RAVI, 6),
        (MARTA, 7),
    ] {
        laptops.act(circle, &people[who], at(hours), true, |c, ctx| {
            c.receive_proposals(ctx)
        })?;
        laptops.act(circle, &people[who], at(hours + 1), true, |c, ctx| {
            c.respond(ctx, &id, Answer::Consent, None)
        })?;
    }
    laptops.act(circle, &people[NOOR], at(pass_after), true, |c, ctx| {
        c.pass_proposal(ctx, &id)
    })?;
    Ok(id)
}

/// The union's proposals, each act written on its member's own device: stewards named for
/// the year; one passed with the circle's consent; one passed while the circle was split, so an objection given at the
/// same time went unheard and the pass is contested; and one round under way, with
/// consents, an objection, a concern, members still inside their windows and one whose
/// device has not received it.
fn seed_governance(
    circle: &mut Circle,
    laptops: &mut Laptops,
    now: Timestamp,
    people: &[String],
    principles: &[String],
) -> Result<()> {
    if people.len() <= MARTA {
        return Ok(());
    }
    let at = |start: Timestamp, hours: i64| Timestamp(start.0 + hours * HOUR_MS);
    let receive = |c: &mut Circle, ctx: &mut Ctx<'_>| c.receive_proposals(ctx);
    fn consent(
        id: &str,
    ) -> impl FnOnce(&mut Circle, &mut Ctx<'_>) -> grove_node::core::Result<()> + '_ {
        move |c, ctx| c.respond(ctx, id, Answer::Consent, None)
    }

    // Stewards rotate: the founder's year is nearly up, so the circle names this device's
    // member and Noor stewards for the strike year, by consent like anything else.
    let start = Timestamp(now.0 - 60 * DAY_MS);
    let stewards = NewProposal {
        title: "Stewards for the strike year".into(),
        body: "The founding year is nearly over. Noor and the union's first organiser hold the centre for the next twelve months; Tomás is asked next.".into(),
        change: ProposalChange::Stewards {
            members: vec![people[0].clone(), people[NOOR].clone()],
            term_days: 365,
            queue: vec![people[TOMAS].clone(), people[AIKO].clone()],
        },
        window_ms: Some(2 * 24 * HOUR_MS),
    };
    // Passed after every window, and the deadline of any device that never saw it.
    agreed_by_all(circle, laptops, people, start, stewards, 7 * 24)?;

    // Principle keepers, named for half a year: Aiko and Lena tend the union's values and
    // principles, and any change to them needs one of them; Ravi and Marta are next.
    let start = Timestamp(now.0 - 45 * DAY_MS);
    let keepers = NewProposal {
        title: "Principle keepers for the winter".into(),
        body: "Aiko and Lena keep our values and principles: they gather what the log and the tensions show, and no change to them passes without one of them. Ravi and Marta take over in spring.".into(),
        change: ProposalChange::Keepers {
            members: vec![people[AIKO].clone(), people[LENA].clone()],
            term_days: 180,
            queue: vec![people[RAVI].clone(), people[MARTA].clone()],
        },
        window_ms: Some(2 * 24 * HOUR_MS),
    };
    agreed_by_all(circle, laptops, people, start, keepers, 3 * 24)?;

    // A general agreement, passed by its proposer once every window had closed: four
    // members consented, the others let their windows close in silence.
    let start = Timestamp(now.0 - 34 * DAY_MS);
    let federation = laptops.act(circle, &people[NOOR], start, true, |c, ctx| {
        c.open_proposal(
            ctx,
            NewProposal {
                title: "Join the city-wide renters' federation".into(),
                body: "The federation's lawyers and strike fund stood behind three unions facing a sale this year. Dues are £1 a member a month, from union funds; Outreach would go to its monthly delegates' meeting.".into(),
                change: ProposalChange::General,
                window_ms: None,
            },
        )
    })?;
    for (who, hours, answers) in [
        (TOMAS, 3, true),
        (0, 4, true),
        (AIKO, 5, false),
        (FEMI, 24, false),
        (LENA, 26, true),
        (RAVI, 48, false),
        (MARTA, 51, false),
    ] {
        laptops.act(circle, &people[who], at(start, hours), true, receive)?;
        if answers {
            let then = at(start, hours + 2);
            laptops.act(circle, &people[who], then, true, consent(&federation))?;
        }
    }
    laptops.act(
        circle,
        &people[AIKO],
        at(start, 30),
        true,
        consent(&federation),
    )?;
    laptops.act(circle, &people[NOOR], at(start, 10 * 24), true, |c, ctx| {
        c.pass_proposal(ctx, &federation)
    })?;

    // The circle split: a one-day round, passed when every window had closed, while Lena's
    // objection, given on the doorstep with no signal, reached no one. Her phone sent it
    // only after the pass, which never heard it: the pass is contested.
    let start = Timestamp(now.0 - 16 * DAY_MS);
    let agent = laptops.act(circle, &people[TOMAS], start, true, |c, ctx| {
        c.open_proposal(
            ctx,
            NewProposal {
                title: "Meet the new owner's agent at their office on Monday".into(),
                body: "The agent offered to go through our repairs list at their office on Monday morning. Ravi and I would go, with the list and the union's letter. They want an answer by tomorrow night, so this round has a one-day window.".into(),
                change: ProposalChange::General,
                window_ms: Some(DAY_MS),
            },
        )
    })?;
    for (who, hours) in [
        (0, 1),
        (RAVI, 1),
        (NOOR, 2),
        (AIKO, 2),
        (FEMI, 3),
        (LENA, 4),
        (MARTA, 5),
    ] {
        laptops.act(circle, &people[who], at(start, hours), true, receive)?;
    }
    laptops.act(circle, &people[RAVI], at(start, 2), true, consent(&agent))?;
    laptops.act(circle, &people[NOOR], at(start, 3), true, consent(&agent))?;
    laptops.act(circle, &people[TOMAS], at(start, 30), true, |c, ctx| {
        c.pass_proposal(ctx, &agent)
    })?;
    laptops.act(circle, &people[LENA], at(start, 6), false, |c, ctx| {
        c.respond(
            ctx,
            &agent,
            Answer::Objection,
            Some("Their office is their ground, and only two of us can go. Ask the agent to meet the tenants in the community centre, where anyone can come."),
        )
    })?;

    // A round under way: consents, an objection, a concern, members inside their windows, and Marta, whose phone has been off since she went to visit family.
    let Some(names) = principles.get(NAMES) else {
        return Ok(());
    };
    // The decisions under the principle that asked for it (in a small demo, the latest
    // decision): an amendment cites its feedback. The newest months first, only as many
    // as it takes: `decisions` over the whole log would decode (and keep) every decision,
    // a gigabyte at a million.
    let newest = |principle: Option<String>, wanted: usize| -> Result<Vec<String>> {
        let filter = grove_node::core::DecisionFilter {
            principle,
            ..Default::default()
        };
        let mut found = Vec::new();
        for doc in circle.doc_keys().iter().rev() {
            let Some(period) = grove_node::core::shard_period(doc) else {
                continue;
            };
            let left = wanted - found.len();
            found.extend(
                circle
                    .decisions_in(period, &filter)?
                    .into_iter()
                    .take(left)
                    .map(|d| d.id.clone()),
            );
            if found.len() == wanted {
                break;
            }
        }
        Ok(found)
    };
    let mut feedback = newest(Some(names.clone()), 2)?;
    if feedback.is_empty() {
        feedback = newest(None, 1)?;
    }
    let start = Timestamp(now.0 - 6 * DAY_MS);
    if feedback.is_empty() {
        // A demo too small to hold decisions: the feedback is a tension Aiko raised.
        let raised = laptops.act(circle, &people[AIKO], at(start, -1), true, |c, ctx| {
            c.raise_tension(
                ctx,
                "Members doing the work are invisible in the newsletter",
                "People who organised the rent strike asked to be recognised by name.",
                Some(names),
                &[],
            )
        })?;
        feedback.push(raised);
    }
    let newsletter = laptops.act(circle, &people[AIKO], start, true, |c, ctx| {
        c.open_proposal(
            ctx,
            NewProposal {
                title: "Allow first names in the newsletter".into(),
                body: "Members asked to be recognised for their work in the rent strike; first names only, with consent.".into(),
                change: ProposalChange::AmendPrinciple {
                    principle: names.clone(),
                    statement: "Keep full names out of anything public; first names only with the person's yes.".into(),
                    guidance: None,
                    reason: "Recognition matters and first names carry little risk.".into(),
                    cites: feedback.clone(),
                },
                window_ms: None,
            },
        )
    })?;
    for (who, hours) in [
        (NOOR, 2),
        (0, 5),
        (FEMI, 20),
        (RAVI, 26),
        (TOMAS, 50),
        (LENA, 72),
    ] {
        laptops.act(circle, &people[who], at(start, hours), true, receive)?;
    }
    laptops.act(
        circle,
        &people[NOOR],
        at(start, 3),
        true,
        consent(&newsletter),
    )?;
    laptops.act(
        circle,
        &people[RAVI],
        at(start, 27),
        true,
        consent(&newsletter),
    )?;
    laptops.act(circle, &people[FEMI], at(start, 22), true, |c, ctx| {
        c.respond(
            ctx,
            &newsletter,
            Answer::Objection,
            Some("Some members are undocumented; even first names can identify them to the new owner's agent."),
        )
    })?;
    laptops.act(circle, &people[0], at(start, 25), true, |c, ctx| {
        c.respond(
            ctx,
            &newsletter,
            Answer::Concern,
            Some("Who checks consent, and how is it recorded?"),
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use grove_node::core::automerge::ActorId;
    use grove_node::core::{
        archive, Answer, Circle, DecisionFilter, ProposalChange, ProposalStatus, ProposalView,
        Standing, TensionKind, Voice, CORE_DOC,
    };

    use super::{
        Season, Story, ASK, BUILDING, EXPOSURE, FAILING_STREAK, LOCAL, NAMES, NO_REPEAT_WITHIN,
        PAIRS, RECORD, SAME_DAY, SHARE, STORIES, TEAMS, VALUES, WRITING,
    };
    use grove_node::Node;

    use super::seed;

    /// The situation keys two teams share on purpose: each is a divergence tension.
    const DIVERGENT: &[&str] = &["landlord-contact", "press-request", "repairs-refused"];

    /// Whether `text` is a telling of `template`: its literal pieces, in order, with
    /// something (or nothing) where each placeholder was.
    fn told(template: &str, text: &str) -> bool {
        let mut pieces = Vec::new();
        let mut rest = template;
        while let (Some(open), Some(close)) = (rest.find('{'), rest.find('}')) {
            pieces.push(&rest[..open]);
            rest = &rest[close + 1..];
        }
        let Some(mut text) = text.strip_prefix(pieces.first().copied().unwrap_or(rest)) else {
            return false;
        };
        if pieces.is_empty() {
            return text.is_empty();
        }
        for piece in &pieces[1..] {
            match text.find(piece) {
                Some(at) => text = &text[at + piece.len()..],
                None => return false,
            }
        }
        text.ends_with(rest)
    }

    /// The principle constants stories cite name the principles they mean.
    #[test]
    fn principle_constants_point_at_their_principles() {
        let all: Vec<&str> = VALUES.iter().flat_map(|v| v.4.iter().copied()).collect();
        for (at, start) in [
            (SHARE, "Share what"),
            (ASK, "Ask what"),
            (NAMES, "Keep names out"),
            (PAIRS, "Two people"),
            (EXPOSURE, "When in doubt"),
            (LOCAL, "Decide locally"),
            (SAME_DAY, "Log every decision"),
            (RECORD, "Record results"),
            (WRITING, "Put every demand"),
            (BUILDING, "Act as a building"),
        ] {
            assert!(all[at].starts_with(start), "{at}: {}", all[at]);
        }
        assert_eq!(all.len(), BUILDING + 1);
    }

    #[test]
    fn every_season_has_enough_stories_and_only_intended_keys_are_shared() {
        for season in [
            Season::Winter,
            Season::Spring,
            Season::Summer,
            Season::Autumn,
        ] {
            let fit = STORIES
                .iter()
                .filter(|s| s.season == Season::Any || s.season == season)
                .count();
            assert!(
                fit > NO_REPEAT_WITHIN + 5,
                "{season:?} has {fit} stories: neighbours would repeat"
            );
        }
        let mut teams_by_key: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        for s in STORIES.iter().chain(FAILING_STREAK) {
            teams_by_key.entry(s.situation).or_default().insert(s.team);
            assert!(!s.results.is_empty() && !s.contexts.is_empty(), "{s:?}");
            assert_eq!(
                s.zone.escalates(),
                !s.resolution.is_empty(),
                "a resolution exactly for the stories that escalate: {s:?}"
            );
            let v = super::Vars::draw(&mut rand::SeedableRng::seed_from_u64(1));
            for text in s
                .contexts
                .iter()
                .copied()
                .chain([s.choice])
                .chain(s.results.iter().map(|r| r.0))
            {
                let filled = super::fill(text, &v);
                assert!(!filled.contains('{'), "unknown placeholder in {text}");
                assert!(told(text, &filled), "{text} / {filled}");
            }
        }
        let shared: Vec<&str> = teams_by_key
            .iter()
            .filter(|(_, teams)| teams.len() > 1)
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(shared, DIVERGENT);
    }

    /// A year of 2,000 decisions as a newcomer meets it: every decision is one story told
    /// whole (situation, team, zone, context, choice, principles and result belong
    /// together), in its season, neighbours never repeat, and the Tensions view shows a
    /// handful of tensions covering every kind the app shows, not dozens.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_demo_year_tells_whole_stories_and_raises_a_handful_of_tensions() {
        let node = Node::builder().in_memory().spawn().unwrap();
        seed(&node, "Demo".into(), 2000).await.unwrap();
        let c = node.circle(None);
        let teams: HashMap<String, String> = c
            .teams()
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let mut ds = c.decisions(DecisionFilter::default(), None).await.unwrap();
        assert_eq!(ds.len(), 2000);
        ds.sort_by_key(|d| d.created_at);
        let stories: Vec<&Story> = STORIES.iter().chain(FAILING_STREAK).collect();
        let mut tellers = Vec::new();
        // The one deliberate departure is told on its own, not as a story.
        assert_eq!(ds.iter().filter(|d| d.departs_from.is_some()).count(), 1);
        ds.retain(|d| d.departs_from.is_none());
        for d in &ds {
            let team = teams[&d.team].as_str();
            let k = stories
                .iter()
                .position(|s| {
                    Some(s.situation) == d.situation.as_deref()
                        && TEAMS[s.team].0 == team
                        && s.zone == d.zone
                        && s.principles.len() == d.principles.len()
                        && s.contexts.iter().any(|c| told(c, &d.context))
                        && told(s.choice, &d.choice)
                })
                .unwrap_or_else(|| panic!("no story tells {d:#?}"));
            let s = stories[k];
            assert!(
                s.season == Season::Any || s.season == Season::of(d.created_at),
                "out of season: {d:#?}"
            );
            if let Some(r) = &d.result {
                assert!(
                    s.results
                        .iter()
                        .any(|(text, o)| *o == r.outcome && told(text, &r.text)),
                    "a result from another story: {d:#?}"
                );
            }
            tellers.push(k);
        }
        for key in super::ONCE {
            let times = ds
                .iter()
                .filter(|d| d.situation.as_deref() == Some(key))
                .count();
            assert!(times <= 1, "`{key}` happened {times} times in one year");
        }
        for i in 0..ds.len() {
            for j in i + 1..(i + 1 + NO_REPEAT_WITHIN).min(ds.len()) {
                assert_ne!(tellers[i], tellers[j], "story repeats at {i} and {j}");
                assert_ne!(ds[i].choice, ds[j].choice, "choice repeats at {i} and {j}");
            }
        }

        let open: Vec<_> = c
            .tensions()
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.open)
            .collect();
        let titles: Vec<String> = open
            .iter()
            .map(|t| format!("{}: {}", t.kind, t.title))
            .collect();
        let kinds: BTreeSet<TensionKind> = open.iter().map(|t| t.kind).collect();
        for kind in [
            TensionKind::Divergence,
            TensionKind::SharedStruggle,
            TensionKind::FailingPrinciple,
            TensionKind::EditConflict,
            TensionKind::Proliferation,
            TensionKind::Raised,
            TensionKind::Contested,
        ] {
            assert!(kinds.contains(&kind), "no {kind} tension: {titles:#?}");
        }
        assert!(
            (5..=10).contains(&open.len()),
            "a handful of open tensions, not {}: {titles:#?}",
            open.len()
        );
        for t in open.iter().filter(|t| t.kind == TensionKind::Divergence) {
            assert!(
                DIVERGENT.iter().any(|k| t.id == format!("ta-{k}")),
                "an unintended divergence: {titles:#?}"
            );
        }
        node.stop().await.unwrap();
    }

    /// Every governance act of the demo is written by its member's own device, so another
    /// device takes the whole circle: checked as an import checks it, nothing is refused,
    /// and a member admitted on the demo's device imports it on their own.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_demo_circle_is_taken_whole_by_any_receiver() {
        let node = Node::builder().in_memory().spawn().unwrap();
        let info = seed(&node, "Demo".into(), 300).await.unwrap();
        let other = Node::builder().in_memory().spawn().unwrap();
        let device = other.me().await.unwrap().device;
        node.circle(None)
            .admit_member(device, "Sam".into())
            .await
            .unwrap();
        let file = node.circle(None).export().await.unwrap();

        let docs = archive::decode_signed(&file).unwrap();
        let batch = archive::signed_batch(&docs).unwrap();
        let verdict = Circle::empty(&info.id, ActorId::random())
            .authorize_merge(&batch)
            .unwrap();
        assert!(verdict.refused().is_empty(), "{:#?}", verdict.refused());

        let imported = other.import_circle(file).await.unwrap();
        assert_eq!(imported.id, info.id);
        let mine = node.circle(None).proposals().await.unwrap();
        let theirs = other.circle(None).proposals().await.unwrap();
        let statuses = |ps: &[grove_node::core::ProposalView]| -> Vec<String> {
            ps.iter()
                .map(|p| format!("{} {}", p.proposal.id, p.proposal.status))
                .collect()
        };
        assert_eq!(statuses(&theirs), statuses(&mine));
        node.stop().await.unwrap();
        other.stop().await.unwrap();
    }

    /// A newcomer sees the consent rules at work: a round under way (consents, an
    /// objection with its reason, members inside their windows, a device that has not
    /// received it), a pass contested because the circle was split, and a proposal
    /// passed with another member's consent.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_demo_shows_a_round_under_way_a_contested_pass_and_a_passed_proposal() {
        let node = Node::builder().in_memory().spawn().unwrap();
        seed(&node, "Demo".into(), 100).await.unwrap();
        let c = node.circle(None);
        let proposals = c.proposals().await.unwrap();
        let with = |status: ProposalStatus| -> Vec<&ProposalView> {
            proposals
                .iter()
                .filter(|p| p.proposal.status == status)
                .collect()
        };

        let open = with(ProposalStatus::Open);
        assert_eq!(open.len(), 1, "{proposals:#?}");
        let round = &open[0].round;
        let by = &open[0].proposal.opened_by;
        let count = |f: &dyn Fn(&Voice) -> bool| round.voices.iter().filter(|v| f(v)).count();
        assert!(
            count(&|v| v.answer == Some(Answer::Consent) && v.member != *by) >= 2,
            "{round:#?}"
        );
        assert_eq!(
            count(&|v| v.answer == Some(Answer::Objection)
                && v.reason.as_deref().is_some_and(|r| !r.is_empty())),
            1,
            "{round:#?}"
        );
        assert!(
            count(&|v| v.standing == Standing::Waiting && v.received_at.is_some()) >= 2,
            "{round:#?}"
        );
        assert!(
            count(&|v| v.standing == Standing::NotReceived) >= 1,
            "{round:#?}"
        );
        assert!(!round.can_pass);

        let contested = with(ProposalStatus::Contested);
        assert_eq!(contested.len(), 1, "{proposals:#?}");
        let p = &contested[0].proposal;
        let contest = p.contest.as_ref().unwrap();
        assert_eq!(contest.unheard.len(), 1, "{contest:#?}");
        assert_eq!(contest.unheard[0].answer, Answer::Objection);
        assert!(p.responses.iter().any(|r| r.answer == Answer::Consent));
        let tensions = c.tensions().await.unwrap();
        assert!(
            tensions.iter().any(|t| t.open
                && t.kind == TensionKind::Contested
                && t.subject.as_deref() == Some(p.id.as_str())),
            "no contested tension: {tensions:#?}"
        );

        // The stewards, the keepers, the federation, the review's amendment and two new
        // principles.
        let passed = with(ProposalStatus::Passed);
        assert_eq!(passed.len(), 6, "{proposals:#?}");
        for v in &passed {
            let p = &v.proposal;
            assert!(p.closed_by.is_some() && p.closed_at.is_some());
            assert!(p
                .responses
                .iter()
                .any(|r| r.answer == Answer::Consent && r.member != p.opened_by));
        }
        // A deliberate departure, backed by the centre.
        let decisions = c.decisions(DecisionFilter::default(), None).await.unwrap();
        let departure = decisions
            .iter()
            .find(|d| d.departs_from.is_some())
            .expect("a departure in the demo");
        assert!(departure.departure_why.is_some());
        let backed = c
            .escalations()
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.decision == departure.id)
            .expect("the departure reached the stewards");
        assert_eq!(backed.verdict, Some(grove_node::core::Verdict::Back));

        // The founder's year ran out; the stewards the circle named are in office.
        let named = passed
            .iter()
            .find(|v| matches!(v.proposal.change, ProposalChange::Stewards { .. }))
            .expect("stewards named by proposal");
        let s = c.stewardship().await.unwrap();
        assert!(s.in_office, "{s:?}");
        assert_eq!(s.by.as_deref(), Some(named.proposal.id.as_str()));
        assert_eq!(s.stewards.len(), 2);
        // Principle keepers in office, named by proposal, with who is next.
        let k = c.keepers().await.unwrap();
        assert!(k.in_office, "{k:?}");
        assert_eq!(k.keepers.len(), 2);
        assert_eq!(k.queue.len(), 2);
        assert!(passed
            .iter()
            .any(|v| Some(v.proposal.id.as_str()) == k.by.as_deref()));
        assert!(!c
            .tensions()
            .await
            .unwrap()
            .iter()
            .any(|t| t.kind == TensionKind::AuthorityVacuum));
        node.stop().await.unwrap();
    }

    /// The circle id and current circle key of a fresh demo, read back from its circle file
    /// (which carries the key, as a member's copy does).
    async fn demo_id_and_key() -> (String, Vec<u8>) {
        let node = Node::builder().in_memory().spawn().unwrap();
        let info = seed(&node, "Demo".into(), 4).await.unwrap();
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
