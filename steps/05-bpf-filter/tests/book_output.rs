//! The program output chapter 7 shows, made by running the program as the book
//! says. The book includes this snapshot, so what it shows is what the code
//! prints today.

use std::process::Command;

#[test]
fn demo() {
    let mut demo = Command::new(env!("CARGO_BIN_EXE_step-05-bpf-filter"));
    // Not through sudo, which would add a `privileges:` line.
    demo.env_remove("SUDO_UID").env_remove("SUDO_GID");
    let demo = testkit::output(&mut demo);
    if testkit::skipped("demo", &demo) {
        return;
    }
    assert!(demo.status.success(), "{demo:?}");
    // The first line says whose namespace the program made: it differs
    // between root and an ordinary user, and the book says both.
    insta::with_settings!({filters => vec![
        (r"(?m)^namespace: .*$", "namespace: [private]"),
    ]}, {
        insta::assert_snapshot!("demo", String::from_utf8_lossy(&demo.stdout));
    });
}
