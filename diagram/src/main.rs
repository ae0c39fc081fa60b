//! `workbook-diagram CAPTURE.pcap -o OUT.svg --lane NAME=ADDR[:PORT] ...`:
//! draws a capture as a sequence diagram. `--kernel` puts the kernel's lane
//! where it stands among the lanes; the RSTs then leave from it.

use std::process::ExitCode;

use workbook_diagram::{Lane, LeftOut, diagram, read_pcap};

const USAGE: &str = "\
usage: workbook-diagram CAPTURE.pcap -o OUT.svg [--title TEXT] LANE...
                        [--section N=TEXT]... [--only-lanes]

Draws the TCP segments of CAPTURE.pcap (a file the workbook's --pcap option
wrote) as a sequence diagram, one arrow per segment, into OUT.svg.

lanes, left to right in the order given:
  --lane NAME=ADDR:PORT   the segments from and to this address and port
  --lane NAME=ADDR        ... this address, any port no other lane claims
  --kernel                the kernel: every RST leaves from this lane
  --only-lanes            draw one part of the capture: the packets on no lane
                          are left out without a word (else each is said)

sections:
  --section N=TEXT        a band titled TEXT across the lanes before arrow N
                          (counted from 1, as the picture numbers them)";

struct Options {
    capture: String,
    out: String,
    title: String,
    lanes: Vec<Lane>,
    /// (arrow number, title), checked once the arrows are known.
    sections: Vec<(usize, String)>,
    /// Say nothing of the packets on no lane.
    only_lanes: bool,
}

/// `N=TEXT`: a section's arrow number and title.
fn parse_section(spec: &str) -> Result<(usize, String), String> {
    let (number, title) = spec
        .split_once('=')
        .ok_or_else(|| format!("--section: '{spec}' is not N=TEXT"))?;
    let number =
        number
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                format!("--section: '{number}' is not an arrow number (1, 2, ...)")
            })?;
    Ok((number, title.to_owned()))
}

fn parse(args: Vec<String>) -> Result<Option<Options>, String> {
    let (mut capture, mut out, mut title, mut lanes) =
        (None, None, None, Vec::new());
    let mut sections = Vec::new();
    let mut only_lanes = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value =
            |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-o" => out = Some(value("-o")?),
            "--title" => title = Some(value("--title")?),
            "--lane" => lanes
                .push(Lane::parse(&value("--lane")?).map_err(|e| e.to_string())?),
            "--kernel" => lanes.push(Lane::kernel()),
            "--only-lanes" => only_lanes = true,
            "--section" => sections.push(parse_section(&value("--section")?)?),
            _ if arg.starts_with('-') => {
                return Err(format!("unknown option '{arg}'"));
            }
            _ if capture.is_none() => capture = Some(arg),
            _ => return Err(format!("one capture only: '{arg}' is a second")),
        }
    }
    let capture = capture.ok_or("which capture? name a .pcap file")?;
    let out = out.ok_or("where to? give -o OUT.svg")?;
    if lanes.iter().filter(|l| l.addr.is_some()).count() < 2 {
        return Err("give at least two lanes with --lane".into());
    }
    let title = title.unwrap_or_else(|| format!("the segments of {capture}"));
    Ok(Some(Options {
        capture,
        out,
        title,
        lanes,
        sections,
        only_lanes,
    }))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&options.capture) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("error: read {}: {error}", options.capture);
            return ExitCode::FAILURE;
        }
    };
    let packets = match read_pcap(&bytes) {
        Ok(packets) => packets,
        Err(error) => {
            eprintln!("error: {}: {error}", options.capture);
            return ExitCode::FAILURE;
        }
    };
    let mut drawn = diagram(&packets, options.lanes);
    for (number, title) in &options.sections {
        if let Err(error) = drawn.add_section(*number, title) {
            eprintln!("error: {}: {error}", options.capture);
            return ExitCode::FAILURE;
        }
    }
    for why in &drawn.left_out {
        if options.only_lanes && matches!(why, LeftOut::OnNoLane { .. }) {
            continue;
        }
        eprintln!("diagram: left out {why}");
    }
    if let Err(error) = std::fs::write(&options.out, drawn.to_svg(&options.title)) {
        eprintln!("error: write {}: {error}", options.out);
        return ExitCode::FAILURE;
    }
    println!(
        "diagram: {} segments on {} lanes written to {}",
        drawn.arrows.len(),
        drawn.lanes.len(),
        options.out
    );
    ExitCode::SUCCESS
}
