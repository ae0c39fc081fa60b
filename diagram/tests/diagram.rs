//! The diagram of real captures: step 4's demo (two requests) and step 1's
//! kernel SYN to a closed port, each recorded once with `--pcap` into
//! tests/fixtures. The SVG is pinned as a snapshot, and its arrows checked.

use workbook_diagram::{DiagramError, Lane, diagram, read_pcap};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn lanes(specs: &[&str]) -> Vec<Lane> {
    specs
        .iter()
        .map(|s| {
            if *s == "kernel" {
                Lane::kernel()
            } else {
                Lane::parse(s).expect("lane")
            }
        })
        .collect()
}

#[test]
fn the_echo_draws_each_request_reply_and_the_kernels_rsts() {
    let bytes = fixture("step-04-two-requests.pcap");
    let packets = read_pcap(&bytes).expect("pcap");
    let drawn = diagram(
        &packets,
        lanes(&["client=127.0.0.2:50001", "kernel", "server=127.0.0.1:50000"]),
    );
    assert!(drawn.left_out.is_empty(), "{:?}", drawn.left_out);
    let arrows: Vec<_> = drawn
        .arrows
        .iter()
        .map(|a| (a.from, a.to, a.label.as_str()))
        .collect();
    pretty_assertions::assert_eq!(
        arrows,
        vec![
            (0, 2, "[P.] seq 1:13 ack 1 len 12 \"Hello server\""),
            (1, 0, "[R] seq 1 len 0"),
            (2, 0, "[P.] seq 1:13 ack 13 len 12 \"Hello client\""),
            (1, 2, "[R] seq 13 len 0"),
            (0, 2, "[P.] seq 13:25 ack 13 len 12 \"Hello server\""),
            (1, 0, "[R] seq 13 len 0"),
            (2, 0, "[P.] seq 13:25 ack 25 len 12 \"Hello client\""),
            (1, 2, "[R] seq 25 len 0"),
        ]
    );
    assert!(
        drawn
            .arrows
            .iter()
            .all(|a| a.rst == a.label.starts_with("[R"))
    );
    insta::assert_snapshot!(
        "step_04_two_requests_svg",
        drawn.to_svg("step 4: two requests")
    );
}

#[test]
fn without_a_kernel_lane_a_rst_leaves_from_the_side_it_answers_for() {
    let bytes = fixture("step-04-two-requests.pcap");
    let packets = read_pcap(&bytes).expect("pcap");
    let drawn = diagram(
        &packets,
        lanes(&["client=127.0.0.2:50001", "server=127.0.0.1:50000"]),
    );
    // The first RST carries the server's address: the kernel answered for it.
    assert_eq!((drawn.arrows[1].from, drawn.arrows[1].to), (1, 0));
    assert!(drawn.arrows[1].rst);
}

#[test]
fn a_kernel_syn_is_shown_relative_to_its_own_number() {
    let bytes = fixture("step-01-syn.pcap");
    let packets = read_pcap(&bytes).expect("pcap");
    let drawn = diagram(
        &packets,
        lanes(&[
            "connect()=127.0.0.1",
            "kernel",
            "port 50000=127.0.0.1:50000",
        ]),
    );
    let labels: Vec<_> = drawn
        .arrows
        .iter()
        .map(|a| (a.from, a.to, a.label.as_str()))
        .collect();
    // The SYN's random number shows as 0 and the RST's ack as 1, as in
    // Wireshark; the address-only lane takes the kernel's ephemeral port.
    assert_eq!(
        labels,
        vec![(0, 2, "[S] seq 0 len 0"), (1, 0, "[R.] seq 0 ack 1 len 0")]
    );
}

#[test]
fn packets_on_no_lane_are_left_out_and_said() {
    let bytes = fixture("step-04-two-requests.pcap");
    let packets = read_pcap(&bytes).expect("pcap");
    let drawn = diagram(
        &packets,
        lanes(&["client=127.0.0.2:50001", "other=127.0.0.9"]),
    );
    assert!(drawn.arrows.is_empty());
    assert_eq!(drawn.left_out.len(), 8);
    assert!(
        drawn.left_out[0].contains("is on no lane"),
        "{}",
        drawn.left_out[0]
    );
}

#[test]
fn files_that_are_not_such_captures_are_errors_not_panics() {
    let good = fixture("step-04-two-requests.pcap");
    let short = read_pcap(&good[..10]).unwrap_err();
    assert!(matches!(short, DiagramError::NotPcap(_)), "{short}");
    let mut other_magic = good.clone();
    other_magic[0] ^= 0xff;
    assert!(
        read_pcap(&other_magic)
            .unwrap_err()
            .to_string()
            .contains("magic")
    );
    // Every cut of the file: an error or fewer packets, never a panic.
    for len in 0..good.len() {
        let _ = read_pcap(&good[..len]);
    }
    let cut = read_pcap(&good[..good.len() - 1]).unwrap_err();
    assert!(cut.to_string().contains("past the end"), "{cut}");
    // Garbage packets inside a good file are left out with their reason.
    let packets: Vec<&[u8]> = vec![&[0x45, 0, 0], &[0x60; 40]];
    let drawn = diagram(&packets, lanes(&["a=127.0.0.1", "b=127.0.0.2"]));
    assert_eq!(drawn.left_out.len(), 2, "{:?}", drawn.left_out);
}

#[test]
fn a_lane_must_be_name_equals_address() {
    assert_eq!(
        Lane::parse("server=127.0.0.1:50000").unwrap(),
        Lane {
            name: "server".into(),
            addr: Some("127.0.0.1".parse().unwrap()),
            port: Some(50000)
        }
    );
    for bad in [
        "server",
        "=127.0.0.1",
        "server=localhost",
        "server=127.0.0.1:99999",
    ] {
        assert!(Lane::parse(bad).is_err(), "{bad}");
    }
}
