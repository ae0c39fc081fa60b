//! The figures as a bar chart, an SVG file: round trips per second of each
//! echo, one group of bars per payload size, each bar labelled with its rate
//! and its ratio to the yardstick. The book's chart is drawn so.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::figures::{Figures, SIZES, ratio};
use crate::rows::{ROWS, YARDSTICK};

/// The chart's size in pixels.
const SIZE: (u32, u32) = (760, 420);

/// One colour per row, in the order of [`ROWS`]; the yardstick is grey.
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x4c, 0x72, 0xb0),
    RGBColor(0x55, 0xa8, 0x68),
    RGBColor(0xdd, 0x84, 0x52),
    RGBColor(0x81, 0x72, 0xb3),
];
const GREY: RGBColor = RGBColor(0x8c, 0x8c, 0x8c);

/// `45.7k`: round trips per second in thousands.
fn thousands(rate: f64) -> String {
    format!("{:.1}k", rate / 1000.0)
}

/// Draws `all` into the SVG file `path`, `heading` above: for each size, a bar
/// per row that was run, labelled with its rate and its ratio to the
/// yardstick; a legend names the rows.
pub fn draw(path: &Path, heading: &str, all: &[Figures]) -> Result<(), String> {
    let rows: Vec<&str> = ROWS
        .iter()
        .map(|row| row.name)
        .filter(|name| all.iter().any(|f| f.echo == *name))
        .collect();
    let top = all.iter().map(|f| f.round_trips_per_s).fold(0.0, f64::max);
    // Room above the tallest bar for its two lines of label, and the legend.
    let y_max = (top * 1.35).max(1.0);
    // Each size a group of bars one unit wide, with a unit between groups.
    let per_group = rows.len() as f64 + 1.0;
    let x_max = per_group * SIZES.len() as f64;

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(heading, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_x_axis()
        .light_line_style(WHITE)
        .y_labels(8)
        .y_desc("round trips per second")
        .y_label_formatter(&|rate| thousands(*rate))
        .draw()
        .map_err(|e| e.to_string())?;

    let centre = |vpos| {
        let font = ("sans-serif", 13).into_font().color(&BLACK);
        font.pos(Pos::new(HPos::Center, vpos))
    };
    for (group, size) in SIZES.iter().enumerate() {
        let middle = group as f64 * per_group + per_group / 2.0;
        let label = Text::new(
            format!("{size}-byte payloads"),
            (middle, 0.0),
            centre(VPos::Top),
        );
        chart.draw_series([label]).map_err(|e| e.to_string())?;
    }
    for (index, name) in rows.iter().enumerate() {
        let colour = match *name {
            YARDSTICK => GREY,
            _ => COLOURS[index % COLOURS.len()],
        };
        let bars: Vec<(f64, &Figures)> = SIZES
            .iter()
            .enumerate()
            .filter_map(|(group, size)| {
                let f = all.iter().find(|f| f.echo == *name && f.size == *size)?;
                Some((group as f64 * per_group + 0.5 + index as f64, f))
            })
            .collect();
        chart
            .draw_series(bars.iter().map(|(x, f)| {
                Rectangle::new(
                    [(x + 0.08, 0.0), (x + 0.92, f.round_trips_per_s)],
                    colour.filled(),
                )
            }))
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled())
            });
        // Above each bar its rate, and above that its ratio to the yardstick.
        let step = y_max * 0.05;
        for (x, f) in &bars {
            let above = (x + 0.5, f.round_trips_per_s + step * 0.2);
            let rate = Text::new(
                thousands(f.round_trips_per_s),
                above,
                centre(VPos::Bottom),
            );
            chart.draw_series([rate]).map_err(|e| e.to_string())?;
            if let Some(r) =
                ratio(all, name, YARDSTICK, f.size).filter(|_| *name != YARDSTICK)
            {
                let higher = (above.0, above.1 + step);
                let text =
                    Text::new(format!("{r:.2}x"), higher, centre(VPos::Bottom));
                chart.draw_series([text]).map_err(|e| e.to_string())?;
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE)
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}
