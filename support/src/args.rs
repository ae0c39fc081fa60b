//! The command line, split into options, their values and words, with the
//! usage errors worded alike: what steps 4 and 5 parse their options with.
//! (Steps 1 to 3 take an option or two, read by a few lines in their
//! `main.rs`.)
//!
//! A program lists its options ([`Opt`]); [`tokens`] goes through the
//! arguments and yields each as an [`Arg`]:
//! - `--count 3` and `--count=3` are the same option with the same value;
//! - an option's value is the next argument, whatever it looks like
//!   (`--peer-port -1` gives the value `-1`, for the value's own check);
//! - an argument that starts with `-` and is none of the options is
//!   [`Arg::Unknown`], for the program to refuse in its own words
//!   ([`UsageError::unknown_option`] has the usual ones);
//! - anything else is a [`Arg::Word`]: a mode, an address.
//!
//! [`Given`] collects them, for a program that looks its options up by name;
//! [`port`], [`number`], [`number_at_least`] and [`duration`] check a value
//! and say what it must be when it is not.

use std::fmt;
use std::time::Duration;

/// A command line that cannot be run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl UsageError {
    /// `unknown option "--bogus"`, for an [`Arg::Unknown`] (`--bogus=1` is
    /// named `--bogus`).
    pub fn unknown_option(arg: &str) -> UsageError {
        UsageError(format!("unknown option {:?}", split_inline(arg).0))
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// One option a program takes: its names (the first is the one [`Arg`]
/// reports), and whether a value follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt {
    names: &'static [&'static str],
    takes_value: bool,
}

impl Opt {
    /// An option without a value, such as `["--verbose", "-v"]`.
    pub const fn switch(names: &'static [&'static str]) -> Opt {
        Opt {
            names,
            takes_value: false,
        }
    }

    /// An option followed by a value, such as `["--count"]`.
    pub const fn with_value(names: &'static [&'static str]) -> Opt {
        Opt {
            names,
            takes_value: true,
        }
    }

    /// The name [`Arg`] reports it by: its first.
    pub fn name(&self) -> &'static str {
        self.names[0]
    }
}

/// One argument, or an option with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// An option without a value, by its first name.
    Switch(&'static str),
    /// An option, by its first name, and its value.
    Value(&'static str, String),
    /// An argument that is no option: a mode, an address.
    Word(String),
    /// An argument that starts with `-` but is none of the options, whole.
    Unknown(String),
}

/// `--name=value` as its name and value; anything else as it is.
fn split_inline(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('=') {
        Some((name, value)) if name.starts_with("--") => (name, Some(value)),
        _ => (arg, None),
    }
}

/// The arguments `args`, as the options `options` read them. See the
/// module's doc; [`Tokens`] says which usage errors it yields.
pub fn tokens<I>(options: &'static [Opt], args: I) -> Tokens<I::IntoIter>
where
    I: IntoIterator<Item = String>,
{
    Tokens {
        options,
        args: args.into_iter(),
    }
}

/// The iterator [`tokens`] returns. Its usage errors: an option that needs a
/// value as the last argument (`--port needs a value`), and a value given to
/// one that takes none (`--verbose takes no value`).
#[derive(Debug, Clone)]
pub struct Tokens<I> {
    options: &'static [Opt],
    args: I,
}

impl<I: Iterator<Item = String>> Iterator for Tokens<I> {
    type Item = Result<Arg, UsageError>;

    fn next(&mut self) -> Option<Self::Item> {
        let arg = self.args.next()?;
        let (name, inline) = split_inline(&arg);
        let Some(option) = self.options.iter().find(|o| o.names.contains(&name))
        else {
            return Some(Ok(if arg.starts_with('-') {
                Arg::Unknown(arg)
            } else {
                Arg::Word(arg)
            }));
        };
        Some(match (option.takes_value, inline) {
            (false, None) => Ok(Arg::Switch(option.name())),
            (false, Some(_)) => Err(usage(format!("{name} takes no value"))),
            (true, Some(value)) => Ok(Arg::Value(option.name(), value.to_owned())),
            (true, None) => match self.args.next() {
                Some(value) => Ok(Arg::Value(option.name(), value)),
                None => Err(usage(format!("{name} needs a value"))),
            },
        })
    }
}

/// A command line collected: the switches given, each option's value (the
/// last, if one is given twice) and the words, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    switches: Vec<&'static str>,
    values: Vec<(&'static str, String)>,
    /// The words, in the order given.
    pub words: Vec<String>,
}

impl Given {
    /// Collects `args` as `options` read them.
    ///
    /// # Errors
    /// The first usage error of [`Tokens`], or an unknown option
    /// ([`UsageError::unknown_option`]).
    pub fn collect<I>(options: &'static [Opt], args: I) -> Result<Given, UsageError>
    where
        I: IntoIterator<Item = String>,
    {
        let mut given = Given::default();
        for arg in tokens(options, args) {
            match arg? {
                Arg::Switch(name) => given.switches.push(name),
                Arg::Value(name, value) => given.values.push((name, value)),
                Arg::Word(word) => given.words.push(word),
                Arg::Unknown(arg) => return Err(UsageError::unknown_option(&arg)),
            }
        }
        Ok(given)
    }

    /// Whether the switch `name` (its first name) was given.
    pub fn has(&self, name: &str) -> bool {
        self.switches.contains(&name)
    }

    /// The value of the option `name` (its first name), the last one given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(given, _)| *given == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first of `names` that was given a value, in the order of `names`.
    pub fn first_given<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names
            .iter()
            .copied()
            .find(|name| self.value(name).is_some())
    }
}

/// A port to use: 1 to 65535 (port 0 is no port to send to or bind).
///
/// # Errors
/// `--port: "0" is not a port (1-65535)`.
pub fn port(option: &str, value: &str) -> Result<u16, UsageError> {
    value
        .parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| usage(format!("{option}: {value:?} is not a port (1-65535)")))
}

/// A whole number from `min` to `max`.
///
/// # Errors
/// `--tries: "0" is not a whole number from 1 to 100`.
pub fn number(
    option: &str,
    value: &str,
    min: u64,
    max: u64,
) -> Result<u64, UsageError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            usage(format!(
                "{option}: {value:?} is not a whole number from {min} to {max}"
            ))
        })
}

/// A whole number of at least `min`.
///
/// # Errors
/// `--count: "0" is not a whole number of at least 1`.
pub fn number_at_least(
    option: &str,
    value: &str,
    min: u64,
) -> Result<u64, UsageError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= min)
        .ok_or_else(|| {
            usage(format!(
                "{option}: {value:?} is not a whole number of at least {min}"
            ))
        })
}

/// A duration of 1 ms to `max`: a whole number of milliseconds, or one that
/// ends in `ms` or `s` (`250`, `250ms`, `2s`).
///
/// # Errors
/// `--timeout: "2h" is not a duration (like 250, 250ms or 2s)`, or
/// `--timeout: "0" is out of range (1ms to 3600s)`.
pub fn duration(
    option: &str,
    value: &str,
    max: Duration,
) -> Result<Duration, UsageError> {
    let (number, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000)
    } else {
        (value, 1)
    };
    let millis = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            usage(format!(
                "{option}: {value:?} is not a duration (like 250, 250ms or 2s)"
            ))
        })?;
    let duration = Duration::from_millis(millis);
    if duration.is_zero() || duration > max {
        return Err(usage(format!(
            "{option}: {value:?} is out of range (1ms to {})",
            show_duration(max)
        )));
    }
    Ok(duration)
}

/// A duration as [`duration`] reads it: `250ms`, `1s`, `1500ms`.
pub fn show_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const OPTIONS: &[Opt] = &[
        Opt::switch(&["--verbose", "-v"]),
        Opt::with_value(&["--port"]),
        Opt::with_value(&["--count"]),
    ];

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn split(line: &str) -> Vec<Result<Arg, UsageError>> {
        tokens(OPTIONS, args(line)).collect()
    }

    #[test]
    fn options_values_and_words() {
        assert_eq!(
            split("server -v --port 7000 --count=3 127.0.0.1 --verbose"),
            vec![
                Ok(Arg::Word("server".into())),
                Ok(Arg::Switch("--verbose")),
                Ok(Arg::Value("--port", "7000".into())),
                Ok(Arg::Value("--count", "3".into())),
                Ok(Arg::Word("127.0.0.1".into())),
                Ok(Arg::Switch("--verbose")),
            ]
        );
    }

    #[test]
    fn a_value_is_the_next_argument_whatever_it_looks_like() {
        assert_eq!(
            split("--port -1 --count --port"),
            vec![
                Ok(Arg::Value("--port", "-1".into())),
                Ok(Arg::Value("--count", "--port".into())),
            ]
        );
        assert_eq!(split("--port="), vec![Ok(Arg::Value("--port", "".into()))]);
    }

    #[test]
    fn unknown_options_are_left_to_the_program() {
        assert_eq!(
            split("--bogus=1 -x -"),
            vec![
                Ok(Arg::Unknown("--bogus=1".into())),
                Ok(Arg::Unknown("-x".into())),
                Ok(Arg::Unknown("-".into())),
            ]
        );
        assert_eq!(
            UsageError::unknown_option("--bogus=1").to_string(),
            r#"unknown option "--bogus""#
        );
        assert_eq!(
            Given::collect(OPTIONS, args("-v --frobnicate")),
            Err(UsageError(r#"unknown option "--frobnicate""#.into()))
        );
    }

    #[test]
    fn a_missing_or_unwanted_value_is_a_usage_error() {
        assert_eq!(
            split("-v --port"),
            vec![
                Ok(Arg::Switch("--verbose")),
                Err(UsageError("--port needs a value".into())),
            ]
        );
        assert_eq!(
            split("--verbose=yes"),
            vec![Err(UsageError("--verbose takes no value".into()))]
        );
    }

    #[test]
    fn given_looks_options_up_by_name() {
        let given =
            Given::collect(OPTIONS, args("client --port 1 -v 127.0.0.1 --port=2"))
                .unwrap();
        assert!(given.has("--verbose"));
        // Given twice: the last one counts.
        assert_eq!(given.value("--port"), Some("2"));
        assert_eq!(given.value("--count"), None);
        assert_eq!(given.words, ["client", "127.0.0.1"]);
        assert_eq!(given.first_given(&["--count", "--port"]), Some("--port"));
        assert_eq!(given.first_given(&["--count"]), None);
    }

    #[test]
    fn values_say_what_they_must_be() {
        assert_eq!(port("--port", "50000"), Ok(50000));
        for bad in ["0", "65536", "-1", "http"] {
            assert_eq!(
                port("--port", bad),
                Err(UsageError(format!(
                    "--port: {bad:?} is not a port (1-65535)"
                )))
            );
        }
        assert_eq!(number("--tries", "100", 1, 100), Ok(100));
        assert_eq!(
            number("--tries", "101", 1, 100).unwrap_err().to_string(),
            r#"--tries: "101" is not a whole number from 1 to 100"#
        );
        assert_eq!(number_at_least("--count", "7", 1), Ok(7));
        assert_eq!(
            number_at_least("--count", "0", 1).unwrap_err().to_string(),
            r#"--count: "0" is not a whole number of at least 1"#
        );
    }

    #[test]
    fn durations_are_milliseconds_or_seconds() {
        let hour = Duration::from_secs(3600);
        assert_eq!(duration("-t", "250", hour), Ok(Duration::from_millis(250)));
        assert_eq!(
            duration("-t", "250ms", hour),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(duration("-t", "2s", hour), Ok(Duration::from_secs(2)));
        assert_eq!(duration("-t", "3600s", hour), Ok(hour));
        assert_eq!(
            duration("--timeout", "2h", hour).unwrap_err().to_string(),
            r#"--timeout: "2h" is not a duration (like 250, 250ms or 2s)"#
        );
        assert_eq!(
            duration("--timeout", "0ms", hour).unwrap_err().to_string(),
            r#"--timeout: "0ms" is out of range (1ms to 3600s)"#
        );
        assert_eq!(
            duration("--timeout", "3601s", hour)
                .unwrap_err()
                .to_string(),
            r#"--timeout: "3601s" is out of range (1ms to 3600s)"#
        );
        // Too many seconds to count in milliseconds: no duration at all.
        assert!(duration("-t", "99999999999999999999s", hour).is_err());
        assert!(duration("-t", "18446744073709552s", hour).is_err());
    }

    #[test]
    fn durations_print_in_their_simplest_unit() {
        assert_eq!(show_duration(Duration::from_secs(1)), "1s");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show_duration(Duration::from_millis(300)), "300ms");
    }
}
