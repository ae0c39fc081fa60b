//! The command line: help, and usage errors for bad flags and addresses,
//! before anything is opened (no namespace, no socket, no nft).

mod common;

use common::{command, run};

#[test]
fn help_lists_the_modes_and_options() {
    let help = run(command(&["--help"]));
    assert_eq!(help.code(), 0, "{help:?}");
    let out = help.out();
    for word in [
        "client",
        "server",
        "--peer-port",
        "--send",
        "--reply",
        "--count",
        "--rto",
        "--tries",
        "--pcap",
        "nftables",
    ] {
        assert!(out.contains(word), "{word} is not in --help");
    }
}

// ANCHOR: usage
#[test]
fn bad_flags_and_addresses_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "error: unknown option \"--bogus\""),
        (
            &["client", "10.0.0.1"],
            "error: ADDR: 10.0.0.1 is not a loopback address",
        ),
        (
            &["server", "--port", "70000"],
            "error: --port: \"70000\" is not a port (1-65535)",
        ),
        (
            &["client", "--send", "a\\q"],
            "error: --send: a backslash before 'q'",
        ),
        (
            &["client", "--count", "1"],
            "error: --count does not apply to client",
        ),
        (&["--pcap"], "error: --pcap needs a file name"),
    ];
    for (args, message) in cases {
        let ran = run(command(args));
        assert_eq!(ran.code(), 2, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.starts_with(message), "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("usage: step-06-handshake"),
            "{}",
            ran.stderr
        );
        assert!(ran.stdout.is_empty(), "{args:?} printed to stdout");
    }
}
// ANCHOR_END: usage
