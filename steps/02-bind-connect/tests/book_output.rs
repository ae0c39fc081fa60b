//! The program output chapter 2 shows, made by running the program as the book
//! says. The book includes this snapshot, so what it shows is what the code
//! prints today.

use std::process::Command;

#[test]
fn run() {
    let run = testkit::output(&mut Command::new(env!(
        "CARGO_BIN_EXE_step-02-bind-connect"
    )));
    if testkit::skipped("run", &run) {
        return;
    }
    assert!(run.status.success(), "{run:?}");
    // The first line says whose namespace the program made: it differs
    // between root and an ordinary user, and the book says both.
    insta::with_settings!({filters => vec![
        (r"(?m)^namespace: .*$", "namespace: [private]"),
    ]}, {
        insta::assert_snapshot!("run", String::from_utf8_lossy(&run.stdout));
    });
}
