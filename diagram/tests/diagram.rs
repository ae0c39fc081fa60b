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
        drawn.left_out[0].to_string()
            == "packet 1: 127.0.0.2:50001 > 127.0.0.1:50000 is on no lane",
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

/// The `width="..."` of an SVG's root element.
fn svg_width(svg: &str) -> usize {
    let start = svg.find("width=\"").expect("a width") + 7;
    let end = start + svg[start..].find('"').expect("a closing quote");
    svg[start..end].parse().expect("a number")
}

#[test]
fn lanes_are_as_far_apart_as_the_longest_label_needs() {
    let bytes = fixture("step-04-two-requests.pcap");
    let packets = read_pcap(&bytes).expect("pcap");
    // With the kernel between them, each reply's label spans two gaps, and
    // the least gap (200) holds it: 2 margins of 40, 2 gaps, a lane's box.
    let three = diagram(
        &packets,
        lanes(&["client=127.0.0.2:50001", "kernel", "server=127.0.0.1:50000"]),
    );
    assert_eq!(
        svg_width(&three.to_svg("three lanes")),
        40 + 40 + 2 * 200 + 120
    );
    // Side by side, the 43 characters of `[P.] seq 13:25 ack 25 len 12 "Hello
    // client"` (7.2 pixels each, 309 in all) and 48 pixels of room widen it.
    let two = diagram(
        &packets,
        lanes(&["client=127.0.0.2:50001", "server=127.0.0.1:50000"]),
    );
    assert_eq!(
        svg_width(&two.to_svg("two lanes")),
        40 + 40 + (309 + 48) + 120
    );
}

#[test]
fn sections_band_the_arrows_and_must_start_at_one() {
    let bytes = fixture("step-04-two-requests.pcap");
    let packets = read_pcap(&bytes).expect("pcap");
    let lanes =
        lanes(&["client=127.0.0.2:50001", "kernel", "server=127.0.0.1:50000"]);
    let plain = diagram(&packets, lanes.clone()).to_svg("plain");
    let mut drawn = diagram(&packets, lanes);
    drawn.add_section(1, "the first request").unwrap();
    drawn.add_section(5, "the second request").unwrap();
    assert_eq!(
        drawn.add_section(9, "after the end"),
        Err("no arrow 9 to start a section: the arrows are 1 to 8".to_owned())
    );
    assert!(drawn.add_section(0, "before the start").is_err());
    assert_eq!(drawn.sections.len(), 2);
    let svg = drawn.to_svg("two sections");
    // A row (36 pixels) more for each band, its title in it, and a title
    // longer than the lanes are wide widens the picture.
    let height = |svg: &str| {
        let start = svg.find("height=\"").unwrap() + 8;
        let end = start + svg[start..].find('"').unwrap();
        svg[start..end].parse::<usize>().unwrap()
    };
    assert_eq!(height(&svg), height(&plain) + 2 * 36);
    assert!(svg.contains(">the second request</text>"), "{svg}");
    assert_eq!(svg_width(&svg), svg_width(&plain));
    drawn.add_section(3, &"a long title ".repeat(10)).unwrap();
    assert_eq!(svg_width(&drawn.to_svg("wide")), 130 * 36 / 5 + 16);
}
