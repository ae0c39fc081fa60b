//! The program output chapter 1 shows, made by running the program as the book
//! says. The book includes this snapshot, so what it shows is what the code
//! prints today.

mod common;
mod mutator;

use std::process::Command;

#[test]
fn run() {
    let run =
        testkit::output(&mut Command::new(env!("CARGO_BIN_EXE_step-01-socket")));
    if testkit::skipped("run", &run) {
        return;
    }
    assert!(run.status.success(), "{run:?}");
    // What the kernel chooses anew for each connection is masked, bytes and
    // value: the client's port, the SYN's sequence number (the ISN) and the
    // RST's ack (ISN + 1), the SYN's IP identification and so its header
    // checksum, its timestamp, and the RST's TCP checksum. Port 50000 is ours
    // and stays. The first line says whose namespace the program made: it
    // differs between root and an ordinary user, and the book says both.
    let byte = "[0-9a-f]{2}";
    let two = format!("{byte} {byte}");
    let four = format!("{byte} {byte} {byte} {byte}");
    let filters = vec![
        (
            r"(?m)^namespace: .*$".to_owned(),
            "namespace: [private]".to_owned(),
        ),
        (
            r"127\.0\.0\.1:(\d+) > 127\.0\.0\.1:50000 \[S\] seq \d+".to_owned(),
            "127.0.0.1:[port] > 127.0.0.1:50000 [S] seq [isn]".to_owned(),
        ),
        (
            r"127\.0\.0\.1:50000 > 127\.0\.0\.1:\d+ \[R\.\] seq 0 ack \d+"
                .to_owned(),
            "127.0.0.1:50000 > 127.0.0.1:[port] [R.] seq 0 ack [isn+1]".to_owned(),
        ),
        (r"(?m)port 50000$".to_owned(), "port OURS".to_owned()),
        (
            format!(r"(?m)^(  00\w\w  ){two}( +(source|destination) port )\d+$"),
            "${1}.. ..${2}[port]".to_owned(),
        ),
        (r"port OURS".to_owned(), "port 50000".to_owned()),
        (
            format!(r"(?m)^(  0004  ){two}( +identification )[1-9]\d*$"),
            "${1}.. ..${2}[ip id]".to_owned(),
        ),
        (
            format!(
                r"(?m)^(  000a  ){two}( +header checksum )0x[0-9a-f]{{4}} \(correct\)$"
            ),
            "${1}.. ..${2}[checksum] (correct)".to_owned(),
        ),
        (
            format!(r"(?m)^(  0018  ){four}( +sequence number )[1-9]\d*$"),
            "${1}.. .. .. ..${2}[isn]".to_owned(),
        ),
        (
            format!(r"(?m)^(  001c  ){four}( +acknowledgment number )[1-9]\d*$"),
            "${1}.. .. .. ..${2}[isn+1]".to_owned(),
        ),
        (
            format!(r"(08 0a ){four}( 00 00  option timestamps )\d+"),
            "${1}.. .. .. ..${2}[clock]".to_owned(),
        ),
        (
            format!(
                r"(?m)^(  0024  ){two}( +checksum )0x[0-9a-f]{{4}} \(correct\)$"
            ),
            "${1}.. ..${2}[checksum] (correct)".to_owned(),
        ),
    ];
    let filters: Vec<(&str, &str)> = filters
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!("run", String::from_utf8_lossy(&run.stdout));
    });
}

/// The table `examples/mutate.rs` prints, from the same engine and seed as
/// `tests/mutations.rs`: every truncation of the four seeds, then 100 000
/// mutants. The example's last line (time and rate) changes from run to run
/// and is left out.
#[test]
fn mutate_table() {
    let tally = mutator::run(mutator::SEED, 100_000);
    insta::assert_snapshot!("mutate_table", tally.report());
}
