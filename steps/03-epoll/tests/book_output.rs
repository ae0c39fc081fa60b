//! The program output chapter 3 shows, made by running the program as the book
//! says. The book includes these snapshots, so what they show is what the code
//! prints today.

use std::process::Command;

use step_01_socket::testing;

const BIN: &str = env!("CARGO_BIN_EXE_step-03-epoll");

#[test]
fn three_ticks() {
    let run = testing::output(Command::new(BIN).args(["--ticks", "3"]));
    if testing::skipped("three_ticks", &run) {
        return;
    }
    assert!(run.status.success(), "{run:?}");
    // The first line says whose namespace the program made: it differs
    // between root and an ordinary user, and the book says both.
    insta::with_settings!({filters => vec![
        (r"(?m)^namespace: .*$", "namespace: [private]"),
    ]}, {
        insta::assert_snapshot!(
            "three_ticks",
            String::from_utf8_lossy(&run.stdout)
        );
    });
}
