//! Offices held for a term, with a queue of who comes next: the circle's stewards and its
//! principle keepers. No one holds one for good: holders change only as a passed proposal
//! names them, or by rotation to the next in line once the term has ended. These are the
//! pure rules both offices share; where each keeps its holders is its own module's matter.

use crate::clock::Timestamp;

/// An office as it stands in one state of the circle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Seat {
    /// Who holds it, sorted.
    pub holders: Vec<String>,
    /// When the term ends (None: never named for a term).
    pub until: Option<Timestamp>,
    /// The passed proposal that named the holders.
    pub by: Option<String>,
    /// Who takes over, in order, when the term ends.
    pub queue: Vec<String>,
    /// How long each term lasts.
    pub days: Option<i64>,
}

/// What a passed proposal naming holders of an office says: who, for how many days, and
/// who is queued next.
pub(crate) type Naming = (Vec<String>, i64, Vec<String>);

impl Seat {
    /// Whether the office is held at `at`: someone holds it and the term has not ended.
    pub(crate) fn in_office_at(&self, at: Timestamp) -> bool {
        !self.holders.is_empty() && self.until.is_none_or(|until| at < until)
    }

    /// The holders and queue after a rotation: the next members in the queue who are
    /// still members (as many as hold it now, at least one) take over, and those who
    /// served join the queue's end. None when no one is queued.
    pub(crate) fn rotated(
        &self,
        is_member: impl Fn(&str) -> bool,
    ) -> Option<(Vec<String>, Vec<String>)> {
        let queue: Vec<&String> = self.queue.iter().filter(|m| is_member(m)).collect();
        if queue.is_empty() {
            return None;
        }
        let k = self.holders.len().clamp(1, queue.len());
        let mut next: Vec<String> = queue[..k].iter().map(|m| (*m).clone()).collect();
        let mut rest: Vec<String> = queue[k..].iter().map(|m| (*m).clone()).collect();
        rest.extend(self.holders.iter().filter(|m| !next.contains(m)).cloned());
        next.sort();
        Some((next, rest))
    }
}

/// Whether `after` is `before` renamed lawfully at `at`: exactly as the passed proposal
/// it names says (`passed` looks a proposal up), or by rotation to exactly the next in line
/// once the term ended. A term runs at most its days from `at` (whole seconds allowed).
pub(crate) fn renamed_lawfully(
    before: &Seat,
    after: &Seat,
    at: Timestamp,
    default_days: i64,
    passed: impl Fn(&str) -> Option<Naming>,
    is_member: impl Fn(&str) -> bool,
) -> bool {
    let term_ok = |days: i64, queue: &[String]| {
        let latest = at.plus_days(days).0 + 1000;
        after.queue == queue
            && after.days == Some(days)
            && after.until.is_some_and(|u| u.0 <= latest)
    };
    let by_pass = after
        .by
        .as_deref()
        .filter(|by| Some(*by) != before.by.as_deref())
        .and_then(passed)
        .is_some_and(|(mut named, days, queue)| {
            named.sort();
            named.dedup();
            named == after.holders && term_ok(days, &queue)
        });
    let by_rotation = before.until.is_some_and(|until| until <= at)
        && after.by == before.by
        && before.rotated(is_member).is_some_and(|(next, queue)| {
            let days = before.days.unwrap_or(default_days);
            next == after.holders && term_ok(days, &queue)
        });
    by_pass || by_rotation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(holders: &[&str], queue: &[&str]) -> Seat {
        Seat {
            holders: holders.iter().map(|s| s.to_string()).collect(),
            until: Some(Timestamp(1_000)),
            by: Some("pr-1".into()),
            queue: queue.iter().map(|s| s.to_string()).collect(),
            days: Some(30),
        }
    }

    #[test]
    fn rotation_hands_the_office_to_the_next_in_line_and_queues_those_who_served() {
        let s = seat(&["ana", "ben"], &["cat", "gone", "dan", "eve"]);
        let (next, queue) = s.rotated(|m| m != "gone").unwrap();
        assert_eq!(next, vec!["cat", "dan"]);
        assert_eq!(queue, vec!["eve", "ana", "ben"]);
        assert!(seat(&["ana"], &[]).rotated(|_| true).is_none());
    }

    #[test]
    fn a_rotation_before_the_term_ends_or_to_anyone_else_is_unlawful() {
        let before = seat(&["ana"], &["cat", "dan"]);
        let rotated = |holders: &[&str], queue: &[&str], until: i64| Seat {
            holders: holders.iter().map(|s| s.to_string()).collect(),
            until: Some(Timestamp(until)),
            by: Some("pr-1".into()),
            queue: queue.iter().map(|s| s.to_string()).collect(),
            days: Some(30),
        };
        let at = Timestamp(2_000);
        let due = 2_000 + 30 * crate::clock::DAY_MS;
        let none = |_: &str| None;
        assert!(renamed_lawfully(
            &before,
            &rotated(&["cat"], &["dan", "ana"], due),
            at,
            365,
            none,
            |_| true
        ));
        assert!(!renamed_lawfully(
            &before,
            &rotated(&["dan"], &["cat", "ana"], due),
            at,
            365,
            none,
            |_| true
        ));
        assert!(!renamed_lawfully(
            &before,
            &rotated(&["cat"], &["dan", "ana"], due),
            Timestamp(500),
            365,
            none,
            |_| true
        ));
        assert!(!renamed_lawfully(
            &before,
            &rotated(&["cat"], &["dan", "ana"], due + 5_000),
            at,
            365,
            none,
            |_| true
        ));
    }
}
