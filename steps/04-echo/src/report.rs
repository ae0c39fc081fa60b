//! What the echo says it did, and who listens: [`Report`].
//!
//! The loop hands each thing it did to a report as a typed value, [`Said`]:
//! a machine's event, a segment written or refused, a line of the setup or
//! the summary. [`Print`] prints them as the demo's lines, through each
//! event's `Display`; [`Quiet`] says nothing; the bench notes the round trips'
//! times. Nothing is formatted unless a report prints it.

use std::fmt;

use step_01_socket::SysError;

use crate::protocol::{ClientEvent, Outgoing, Overdue, ServerEvent};

/// Which side of the echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

impl fmt::Display for Role {
    /// `server` or `client`, as the lines the loop prints begin.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Server => "server",
            Role::Client => "client",
        })
    }
}

// ANCHOR: report
/// Something the echo did, for a [`Report`].
#[derive(Debug, Clone, Copy)]
pub enum Said<'a> {
    /// A line of the setup or the summary: what is watched, who talks to
    /// whom, how it ended.
    Line(fmt::Arguments<'a>),
    /// What the server made of one read.
    Server(ServerEvent<'a>),
    /// What the client made of one read.
    Client(ClientEvent<'a>),
    /// A new request, due now.
    Request(Outgoing<'a>),
    /// A request whose wait for a reply is over.
    Overdue(Overdue<'a>),
    /// A segment written.
    Wrote(Role, Outgoing<'a>),
    /// A segment the kernel refused to send, and why; the first time also
    /// what to do about it.
    Refused(Role, Outgoing<'a>, &'a SysError, Option<&'static str>),
}

/// Where the echo says what it does.
pub trait Report {
    /// Takes one thing the echo did.
    fn report(&mut self, said: Said<'_>);
}

/// The demo's report: every line printed, the ignored segments too with
/// `verbose`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Print {
    /// Also print every segment ignored, with the reason.
    pub verbose: bool,
}

impl Report for Print {
    fn report(&mut self, said: Said<'_>) {
        match said {
            Said::Line(line) => println!("{line}"),
            Said::Server(ServerEvent::Ignored(_))
            | Said::Client(ClientEvent::Ignored(_))
                if !self.verbose => {}
            Said::Server(event) => println!("{event}"),
            Said::Client(event) => println!("{event}"),
            Said::Request(request) => println!("client: request {}", request.number),
            Said::Overdue(overdue) => println!("client: {overdue}"),
            Said::Wrote(role, segment) => println!("{role}:   wrote  {segment}"),
            Said::Refused(role, segment, error, hint) => {
                println!("{role}:   NOT SENT {segment}: {error}");
                if let Some(hint) = hint {
                    println!("{role}:   {hint}");
                }
            }
        }
    }
}

/// A report that says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Report for Quiet {
    fn report(&mut self, _said: Said<'_>) {}
}
// ANCHOR_END: report
