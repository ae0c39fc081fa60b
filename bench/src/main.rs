//! `workbook-bench`: every echo of the workbook, measured in one run against
//! the kernel's TCP, in a private network namespace of its own.
//!
//! The library says what is measured and how; this file enters the
//! namespace, pins both ends to one CPU, lets the configurations take turns,
//! and prints the figures: a table and the ratios, or JSON Lines, and with
//! `--svg` a chart.

use std::process::ExitCode;

use support::program::{exit_quietly_on_broken_pipe, usage_error};
use workbook_bench::chart;
use workbook_bench::figures::{
    Figures, Placement, Run, SIZES, json_lines, pin_to_one_cpu, ratio_lines,
    table_header, table_row,
};
use workbook_bench::options::{self, Command, Options, SYNOPSIS, USAGE};
use workbook_bench::rows::{PASSES, ROWS, Row, WARM_UP, ratios};

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let options = match options::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            println!("{SYNOPSIS}\n\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Bench(options)) => options,
        Err(error) => return usage_error(error, SYNOPSIS),
    };
    // First thing, with one thread: a network of our own. With --json,
    // stdout carries the JSON alone, so what is said goes to stderr.
    match support::netns::enter_private_namespace() {
        Ok(namespace) if options.json => eprintln!("{namespace}"),
        Ok(namespace) => println!("{namespace}"),
        Err(error) => {
            eprint!("error: {error}");
            return ExitCode::FAILURE;
        }
    }
    match bench(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every row at every size, after pinning both ends (unless `--no-pin`),
/// and prints the figures. The configurations take turns: [`PASSES`] passes,
/// each running every configuration for its share of the round trips after
/// [`WARM_UP`] that are not counted.
fn bench(options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let placement = match options.pin {
        true => Placement::Pinned(pin_to_one_cpu()?),
        false => Placement::Free,
    };
    // A row that needs what this machine lacks is left out, and said so.
    let mut rows = Vec::new();
    for row in ROWS {
        match (row.available)() {
            Ok(()) => rows.push(row),
            Err(why) => eprintln!("{} left out: {why}", row.name),
        }
    }
    let configurations: Vec<(&Row, usize)> = SIZES
        .iter()
        .flat_map(|&size| rows.iter().map(move |row| (*row, size)))
        .collect();
    let passes = PASSES.min(options.count);
    let heading = format!(
        "bench: {} round trips per configuration, in {passes} passes taking turns, \
         each after {WARM_UP} not counted; {placement}",
        options.count
    );
    if cfg!(debug_assertions) {
        eprintln!(
            "note: a debug build measures the compiler, not the echo: \
             add --release to cargo run"
        );
    }
    match options.json {
        true => eprintln!("{heading}"),
        false => println!("{heading}"),
    }
    let mut runs = vec![Run::default(); configurations.len()];
    for pass in 0..passes {
        // This pass's share: the remainder goes to the first passes.
        let count =
            options.count / passes + u64::from(pass < options.count % passes);
        for ((row, size), total) in configurations.iter().zip(&mut runs) {
            total.merge((row.measure)(*size, WARM_UP, count)?);
        }
    }
    let all: Vec<Figures> = configurations
        .iter()
        .zip(&runs)
        .map(|((row, size), run)| Figures::new(row.name, *size, run))
        .collect();
    let ratios = ratios();
    if options.json {
        print!("{}", json_lines(&all, &ratios));
    } else {
        println!("{}", table_header());
        for figures in &all {
            println!("{}", table_row(figures));
        }
        print!("{}", ratio_lines(&all, &ratios));
    }
    if let Some(path) = &options.svg {
        let title = "Round trips per second, one request in flight \
                     (above each bar: its ratio to kernel-tcp)";
        chart::draw(path, title, &all)
            .map_err(|e| format!("--svg {}: {e}", path.display()))?;
        // On stderr: the table, or the JSON, is the same with or without it.
        eprintln!("chart: {}", path.display());
    }
    Ok(())
}
