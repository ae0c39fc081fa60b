//! The command line: help, and usage errors for bad arguments and addresses.
//! Arguments are checked before anything else happens, so these tests need no
//! privileges and open no socket.

mod common;

use std::process::Command;

use common::BIN;
use testkit::run;

#[test]
fn help_documents_every_option() {
    let help = run({
        let mut command = Command::new(BIN);
        command.arg("--help");
        command
    });
    assert_eq!(help.code(), 0, "{help:?}");
    for option in [
        "server [ADDR]",
        "client [ADDR]",
        "--addr",
        "--port",
        "--peer",
        "--peer-port",
        "--count",
        "--interval",
        "--timeout",
        "--tries",
        "--verbose",
        "127.0.0.0/8",
    ] {
        assert!(help.stdout.contains(option), "{option} is not in --help");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["server", "10.0.0.1"],
            "error: --addr: 10.0.0.1 is not a loopback address",
        ),
        (
            &["client", "8.8.8.8"],
            "error: --peer: 8.8.8.8 is not a loopback address",
        ),
        (
            &["server", "abc"],
            r#"error: --addr: "abc" is not an IPv4 address"#,
        ),
        (
            &["client", "127.0.0.1", "--addr", "8.8.8.8"],
            "error: --addr: 8.8.8.8",
        ),
        (
            &["server", "--port", "0"],
            r#"error: --port: "0" is not a port (1-65535)"#,
        ),
        (
            &["client", "--port", "70000"],
            r#"error: --port: "70000" is not a port (1-65535)"#,
        ),
        (
            &["--count", "0"],
            r#"error: --count: "0" is not a whole number"#,
        ),
        (
            &["server", "--count", "3"],
            "error: --count applies to the client",
        ),
        (&["bogus"], r#"error: unknown mode "bogus""#),
        (
            &["client", "--frobnicate"],
            r#"error: unknown option "--frobnicate""#,
        ),
        (&["server", "--peer"], "error: --peer needs a value"),
        (
            &["client", "--tries", "0"],
            r#"error: --tries: "0" is not a whole number from 1 to 100"#,
        ),
    ];
    for (args, message) in cases {
        let output = run({
            let mut command = Command::new(BIN);
            command.args(*args);
            command
        });
        assert_eq!(output.code(), 2, "{args:?}: {output:?}");
        assert!(
            output.stderr.starts_with(message),
            "{args:?}: expected {message:?}, got {:?}",
            output.stderr
        );
        assert!(output.stderr.contains("usage: step-04-echo"), "{args:?}");
        assert!(
            output.stdout.is_empty(),
            "{args:?} started: {}",
            output.stdout
        );
    }
}
