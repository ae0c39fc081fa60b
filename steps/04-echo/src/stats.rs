//! Counting what a side read but did not act on, by reason.

use std::collections::BTreeMap;
use std::fmt;

use step_02_bind_connect::Verdict;

/// The name a segment is ignored under: `kernel-rst`, `duplicate`, or a
/// malformed packet's `malformed:truncated`, ... A plain value, so counting
/// one more costs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reason {
    name: &'static str,
    /// What kind of malformed, after a `:`.
    detail: Option<&'static str>,
}

impl Reason {
    /// A reason with one name: `kernel-rst`.
    pub const fn named(name: &'static str) -> Reason {
        Reason { name, detail: None }
    }

    /// A reason and what kind: `malformed:truncated`.
    pub const fn with_detail(name: &'static str, detail: &'static str) -> Reason {
        Reason {
            name,
            detail: Some(detail),
        }
    }

    /// Whether it is written `text`.
    pub fn is(&self, text: &str) -> bool {
        match (self.detail, text.split_once(':')) {
            (None, None) => self.name == text,
            (Some(detail), Some((name, rest))) => {
                self.name == name && detail == rest
            }
            _ => false,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail {
            None => f.write_str(self.name),
            Some(detail) => write!(f, "{}:{detail}", self.name),
        }
    }
}

/// How many received segments a side ignored, per reason (`kernel-rst`,
/// `own-copy`, `foreign`, `duplicate`, `malformed:truncated`, ...).
///
/// A `BTreeMap` keeps the reasons sorted, so the summary prints them in the same
/// order every time. The three reasons `classify` can give are always shown,
/// zero or not: a zero says as much as a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredCounts {
    counts: BTreeMap<Reason, u64>,
}

impl Default for IgnoredCounts {
    fn default() -> IgnoredCounts {
        let counts = [Verdict::KernelReset, Verdict::OwnCopy, Verdict::Foreign]
            .into_iter()
            .map(|verdict| (Reason::named(verdict.reason()), 0))
            .collect();
        IgnoredCounts { counts }
    }
}

impl IgnoredCounts {
    /// Counts one more segment ignored for `reason`. Only a reason seen for
    /// the first time takes memory.
    pub fn add(&mut self, reason: Reason) {
        *self.counts.entry(reason).or_insert(0) += 1;
    }

    /// How many were ignored for the reason written `reason`.
    pub fn get(&self, reason: &str) -> u64 {
        self.counts
            .iter()
            .find(|(counted, _)| counted.is(reason))
            .map_or(0, |(_, count)| *count)
    }

    /// How many were ignored in all.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

impl fmt::Display for IgnoredCounts {
    /// `foreign 0, kernel-rst 5, own-copy 0`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (reason, count) in &self.counts {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{reason} {count}")?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_with_the_three_verdicts_at_zero() {
        let counts = IgnoredCounts::default();
        assert_eq!(counts.to_string(), "foreign 0, kernel-rst 0, own-copy 0");
        assert_eq!(counts.total(), 0);
    }

    #[test]
    fn counts_each_reason_and_prints_them_sorted() {
        let mut counts = IgnoredCounts::default();
        counts.add(Reason::named("own-copy"));
        counts.add(Reason::with_detail("malformed", "truncated"));
        counts.add(Reason::named("kernel-rst"));
        counts.add(Reason::named("kernel-rst"));
        assert_eq!(
            counts.to_string(),
            "foreign 0, kernel-rst 2, malformed:truncated 1, own-copy 1"
        );
        assert_eq!(counts.get("kernel-rst"), 2);
        assert_eq!(counts.get("malformed:truncated"), 1);
        assert_eq!(counts.get("malformed"), 0);
        assert_eq!(counts.get("duplicate"), 0);
        assert_eq!(counts.total(), 4);
    }
}
