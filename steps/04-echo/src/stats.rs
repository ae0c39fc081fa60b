//! Counting what a side read but did not act on, by reason.

use std::collections::BTreeMap;
use std::fmt;

use step_02_bind_connect::Verdict;

/// How many received segments a side ignored, per reason (`kernel-rst`,
/// `own-copy`, `foreign`, `duplicate`, `malformed:truncated`, ...).
///
/// A `BTreeMap` keeps the reasons sorted, so the summary prints them in the same
/// order every time. The three reasons `classify` can give are always shown,
/// zero or not: a zero says as much as a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredCounts {
    counts: BTreeMap<String, u64>,
}

impl Default for IgnoredCounts {
    fn default() -> IgnoredCounts {
        let counts = [Verdict::KernelReset, Verdict::OwnCopy, Verdict::Foreign]
            .into_iter()
            .map(|verdict| (verdict.reason().to_owned(), 0))
            .collect();
        IgnoredCounts { counts }
    }
}

impl IgnoredCounts {
    /// Counts one more segment ignored for `reason`.
    pub fn add(&mut self, reason: &str) {
        *self.counts.entry(reason.to_owned()).or_insert(0) += 1;
    }

    /// How many were ignored for `reason`.
    pub fn get(&self, reason: &str) -> u64 {
        self.counts.get(reason).copied().unwrap_or(0)
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
        counts.add("own-copy");
        counts.add("malformed:truncated");
        counts.add("kernel-rst");
        counts.add("kernel-rst");
        assert_eq!(
            counts.to_string(),
            "foreign 0, kernel-rst 2, malformed:truncated 1, own-copy 1"
        );
        assert_eq!(counts.get("kernel-rst"), 2);
        assert_eq!(counts.get("duplicate"), 0);
        assert_eq!(counts.total(), 4);
    }
}
