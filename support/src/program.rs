//! The prologue every step program's `main` starts with, and how it ends when
//! something fails.
//!
//! Each `main` tells its chapter's story; what they all do around it is here:
//! a write to a closed pipe ends the program quietly
//! ([`exit_quietly_on_broken_pipe`]); the demos enter a private network
//! namespace first thing, or say why they cannot and what to do
//! ([`enter_private_network`]); a usage error prints the usage and exits 2
//! ([`usage_error`]), any other failure exits 1 ([`fail`], and
//! [`fail_with_advice`] with a hint for a failed call).

use std::fmt::Display;
use std::process::ExitCode;

use nix::sys::signal::{SigHandler, Signal, signal};

use crate::Error;
use crate::advice::advice;
use crate::netns::{Namespace, enter_private_namespace};

/// Makes a write to a closed pipe end the process quietly, as it does a C
/// program, instead of making `println!` panic: `step-01-socket | head` then
/// just stops. Rust ignores SIGPIPE by default, so every write to a pipe whose
/// reader has gone fails with EPIPE, and `println!` panics on that.
///
/// Call it first thing in `main`.
pub fn exit_quietly_on_broken_pipe() {
    // nix's signal() is unsafe whatever the handler: it cannot tell the
    // default disposition from a function that would run in signal context,
    // and the standard library has no call for it. So this stays unsafe.
    // SAFETY: SIG_DFL is a valid disposition for SIGPIPE and installs no
    // handler, so no Rust code runs in signal context; the old disposition
    // returned is not needed, and the call cannot fail for SIGPIPE.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// Enters a private network namespace ([`crate::netns`]) and prints the line
/// that says which; or prints why it cannot be had, with the remedies.
///
/// Call it first thing in `main`, while the process has one thread:
/// `unshare` refuses a new user namespace to a process with more.
///
/// # Errors
/// The exit status `main` returns (1), once the reason and the remedies are
/// printed.
pub fn enter_private_network() -> Result<Namespace, ExitCode> {
    match enter_private_namespace() {
        Ok(namespace) => {
            println!("{namespace}");
            Ok(namespace)
        }
        Err(error) => {
            // The message ends with its own newline.
            eprint!("error: {error}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// Prints a usage error and then `usage`, and returns exit status 2: the
/// command line was wrong, nothing was tried.
pub fn usage_error(message: impl Display, usage: &str) -> ExitCode {
    eprintln!("error: {message}\n\n{usage}");
    ExitCode::from(2)
}

/// Prints `error` and returns exit status 1.
pub fn fail(error: impl Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

/// Prints `error`, and on the next line the hint [`advice`] has for it if
/// there is one, and returns exit status 1.
pub fn fail_with_advice(error: &Error) -> ExitCode {
    eprintln!("error: {error}");
    if let Some(hint) = advice(error) {
        eprintln!("{hint}");
    }
    ExitCode::FAILURE
}
