//! The command line: the usage errors of steps 4 and 5 (and the bench),
//! worded alike, and the checks of their values. (Steps 1 to 3 take an
//! option or two, read by a few lines in their `main.rs`.)
//!
//! The splitting into options, values and words is `lexopt`'s: a program
//! goes through `lexopt::Parser::next` and says what each option means.
//! What is here turns lexopt's errors into the workbook's words ([`UsageError`]
//! from a `lexopt::Error`), reads an option's value ([`value`]: the next
//! argument, whatever it looks like, so `--peer-port -1` gives `-1` for the
//! value's own check), and names an argument a program does not take
//! ([`unexpected`]); [`port`], [`number`], [`number_at_least`] and
//! [`duration`] check a value and say what it must be when it is not.

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use lexopt::{Arg, Parser};

/// A command line that cannot be run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

impl From<lexopt::Error> for UsageError {
    /// lexopt's errors, in the workbook's words: `--port needs a value`,
    /// `--verbose takes no value`, `unknown option "--bogus"`, ...
    fn from(error: lexopt::Error) -> UsageError {
        use lexopt::Error::*;
        usage(match error {
            MissingValue {
                option: Some(option),
            } => format!("{option} needs a value"),
            MissingValue { option: None } => "a value is missing".to_owned(),
            UnexpectedOption(option) => format!("unknown option {option:?}"),
            UnexpectedArgument(arg) => {
                format!("unexpected argument {:?}", text(arg))
            }
            UnexpectedValue { option, .. } => format!("{option} takes no value"),
            NonUnicodeValue(value) => format!("{:?} is not valid text", text(value)),
            ParsingFailed { value, error } => format!("{value:?}: {error}"),
            Custom(error) => error.to_string(),
        })
    }
}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// An argument as text, with anything that is not UTF-8 replaced.
fn text(arg: OsString) -> String {
    arg.to_string_lossy().into_owned()
}

/// The value of `option`, the option `parser` just returned: the next
/// argument, whatever it looks like, or what follows `=`.
///
/// # Errors
/// `--port needs a value` at the end of the command line;
/// `--port: "\u{FFFD}" is not valid text` for a value that is not UTF-8.
pub fn value(parser: &mut Parser, option: &str) -> Result<String, UsageError> {
    let value = parser
        .value()
        .map_err(|_| usage(format!("{option} needs a value")))?;
    value.into_string().map_err(|value| {
        usage(format!("{option}: {:?} is not valid text", text(value)))
    })
}

/// The usage error for an argument a program does not take:
/// `unknown option "--bogus"`, `unknown option "-x"`, or
/// `unexpected argument "b"`.
pub fn unexpected(arg: Arg<'_>) -> UsageError {
    match arg {
        Arg::Short(short) => usage(format!("unknown option \"-{short}\"")),
        Arg::Long(long) => usage(format!("unknown option \"--{long}\"")),
        Arg::Value(value) => usage(format!("unexpected argument {:?}", text(value))),
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

    fn parser(line: &str) -> Parser {
        Parser::from_args(line.split_whitespace())
    }

    #[test]
    fn a_value_is_the_next_argument_whatever_it_looks_like() {
        let mut args = parser("--port -1 --count=--port");
        assert_eq!(args.next().unwrap(), Some(Arg::Long("port")));
        assert_eq!(value(&mut args, "--port"), Ok("-1".to_owned()));
        assert_eq!(args.next().unwrap(), Some(Arg::Long("count")));
        assert_eq!(value(&mut args, "--count"), Ok("--port".to_owned()));
        let mut args = parser("--port");
        args.next().unwrap();
        assert_eq!(
            value(&mut args, "--port"),
            Err(UsageError("--port needs a value".into()))
        );
    }

    #[test]
    fn what_a_program_does_not_take_is_named() {
        let mut args = parser("--bogus=1 -x 127.0.0.1");
        let mut errors = Vec::new();
        while let Ok(Some(arg)) = args.next() {
            errors.push(unexpected(arg).to_string());
            // An unknown option's value, if any, goes with it.
            args.optional_value();
        }
        assert_eq!(
            errors,
            [
                r#"unknown option "--bogus""#,
                r#"unknown option "-x""#,
                r#"unexpected argument "127.0.0.1""#,
            ]
        );
    }

    #[test]
    fn lexopts_errors_in_the_workbooks_words() {
        let mut args = parser("--verbose=yes");
        assert_eq!(args.next().unwrap(), Some(Arg::Long("verbose")));
        let error = UsageError::from(args.next().unwrap_err());
        assert_eq!(error.to_string(), "--verbose takes no value");
        let missing = lexopt::Error::MissingValue {
            option: Some("--port".into()),
        };
        assert_eq!(
            UsageError::from(missing).to_string(),
            "--port needs a value"
        );
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
