//! `workbook-diagram CAPTURE.pcap -o OUT.svg --lane NAME=ADDR[:PORT] ...`:
//! draws a capture as a sequence diagram. `--kernel` puts the kernel's lane
//! where it stands among the lanes; the RSTs then leave from it.

use std::process::ExitCode;

use workbook_diagram::{Lane, diagram, read_pcap};

const USAGE: &str = "\
usage: workbook-diagram CAPTURE.pcap -o OUT.svg [--title TEXT] LANE...

Draws the TCP segments of CAPTURE.pcap (a file the workbook's --pcap option
wrote) as a sequence diagram, one arrow per segment, into OUT.svg.

lanes, left to right in the order given:
  --lane NAME=ADDR:PORT   the segments from and to this address and port
  --lane NAME=ADDR        ... this address, any port no other lane claims
  --kernel                the kernel: every RST leaves from this lane";

struct Options {
    capture: String,
    out: String,
    title: String,
    lanes: Vec<Lane>,
}

fn parse(args: Vec<String>) -> Result<Option<Options>, String> {
    let (mut capture, mut out, mut title, mut lanes) =
        (None, None, None, Vec::new());
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
    let drawn = diagram(&packets, options.lanes);
    for why in &drawn.left_out {
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
