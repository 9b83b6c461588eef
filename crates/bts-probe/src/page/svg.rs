//! The page's pictures, drawn here as inline SVG (no JavaScript, no image requests): 90 days of
//! uptime bars, the last day's latency, a faucet's registrations per day. Hovering a bar shows
//! its `<title>`, which browsers display without scripts.

use super::html::escape;
use super::{Day, PLOT_SECS, Point};
use std::fmt::Write as _;

/// Colours: good, short of the objective, bad, no data; and one per region in plots.
const GREEN: &str = "#2da44e";
const AMBER: &str = "#d4a72c";
const RED: &str = "#cf222e";
const GREY: &str = "#d0d7de";
const REGION_COLOURS: [&str; 6] = ["#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#57606a"];

/// The colour of a day with `availability` against `objective`.
pub fn day_colour(availability: Option<f64>, objective: f64) -> &'static str {
    match availability {
        None => GREY,
        Some(a) if a >= objective => GREEN,
        Some(a) if a >= 0.99 => AMBER,
        Some(_) => RED,
    }
}

/// One bar per day, oldest left, each with its figures as a tooltip.
pub fn uptime_bars(days: &[Day], objective: f64) -> String {
    let (bar, gap, height) = (6, 2, 34);
    let width = days.len() * (bar + gap);
    let mut svg = format!(
        "<svg class=\"bars\" role=\"img\" aria-label=\"daily uptime, {} days\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        days.len()
    );
    for (i, day) in days.iter().enumerate() {
        let f = &day.figures;
        let mut tip = match f.availability {
            Some(a) => format!("{}: {} available ({} checks)", day.day, percent(a), f.total),
            None => format!("{}: no data", day.day),
        };
        if let Some(p50) = f.p50_ms {
            let _ = write!(tip, ", median {p50:.0} ms");
        }
        for (kind, n) in &day.errors {
            let _ = write!(tip, ", {n}× {kind}");
        }
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"0\" width=\"{bar}\" height=\"{height}\" rx=\"1\" fill=\"{}\"><title>{}</title></rect>",
            i * (bar + gap),
            day_colour(f.availability, objective),
            escape(&tip)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// p50 (solid) and p99 (dashed) of each region over the last day, on a shared scale.
pub fn latency_plot(series: &[(&str, &[Point])], now: i64) -> String {
    let (w, h, left, bottom, top) = (720.0, 170.0, 48.0, 22.0, 8.0);
    let max = series
        .iter()
        .flat_map(|(_, points)| points.iter().filter_map(|p| p.p99_ms.or(p.p50_ms)))
        .fold(0.0_f64, f64::max);
    let scale = nice_ceiling(max.max(1.0));
    let start = now - PLOT_SECS;
    let x = |t: i64| left + (w - left - 4.0) * ((t - start) as f64 / PLOT_SECS as f64).clamp(0.0, 1.0);
    let y = |ms: f64| top + (h - top - bottom) * (1.0 - (ms / scale).clamp(0.0, 1.0));
    let mut svg = format!(
        "<svg class=\"plot\" role=\"img\" aria-label=\"latency, last 24 hours\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"10\" font-family=\"sans-serif\">"
    );
    for i in 0..=2 {
        let ms = scale * f64::from(i) / 2.0;
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#eaeef2\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#57606a\">{} ms</text>",
            w - 4.0,
            left - 4.0,
            y(ms) + 3.0,
            trim(ms),
            yy = y(ms),
        );
    }
    for hours_ago in [24, 18, 12, 6, 0] {
        let t = now - hours_ago * 3_600;
        let (label, anchor) = if hours_ago == 0 {
            ("now".to_owned(), "end")
        } else {
            (format!("−{hours_ago} h"), "middle")
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"#57606a\">{label}</text>",
            x(t),
            h - 6.0
        );
    }
    for (i, (region, points)) in series.iter().enumerate() {
        let colour = REGION_COLOURS[i % REGION_COLOURS.len()];
        for (pick, dash) in [(0, ""), (1, " stroke-dasharray=\"4 3\"")] {
            let coords: Vec<String> = (points.iter())
                .filter_map(|p| if pick == 0 { p.p50_ms } else { p.p99_ms }.map(|ms| (p.at, ms)))
                .map(|(t, ms)| format!("{:.1},{:.1}", x(t), y(ms)))
                .collect();
            if coords.is_empty() {
                continue;
            }
            let which = if pick == 0 { "p50" } else { "p99" };
            let _ = write!(
                svg,
                "<polyline class=\"{which}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{dash} points=\"{}\">\
                 <title>{} {which}</title></polyline>",
                coords.join(" "),
                escape(region)
            );
            // A lone point (a fresh prober) is drawn as a dot so it shows.
            if coords.len() == 1 {
                let (cx, cy) = coords[0].split_once(',').unwrap_or(("0", "0"));
                let _ = write!(svg, "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"2.5\" fill=\"{colour}\"/>");
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The legend of [`latency_plot`]: each region's colour, p50 solid, p99 dashed.
pub fn legend(regions: &[&str]) -> String {
    let mut out = String::new();
    for (i, region) in regions.iter().enumerate() {
        let _ = write!(
            out,
            "<span class=\"key\"><span class=\"swatch\" style=\"background:{}\"></span>{}</span> ",
            REGION_COLOURS[i % REGION_COLOURS.len()],
            escape(region)
        );
    }
    out.push_str("<span class=\"muted\">solid: median, dashed: 99th percentile</span>");
    out
}

/// Columns of accounts registered per day.
pub fn per_day_columns(days: &[(String, i64)]) -> String {
    let (bar, gap, h) = (12.0, 3.0, 60.0);
    let max = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let w = days.len().max(1) as f64 * (bar + gap);
    let mut svg = format!(
        "<svg class=\"columns\" role=\"img\" aria-label=\"accounts registered per day\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (day, n)) in days.iter().enumerate() {
        let bh = (h - 2.0) * (*n as f64 / max);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar}\" height=\"{:.1}\" fill=\"#0969da\"><title>{}: {n} accounts</title></rect>",
            i as f64 * (bar + gap),
            h - bh,
            bh.max(1.0),
            escape(day)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A share as a percentage with enough digits to tell 99.9 from 99.99.
pub fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if (99.0..100.0).contains(&p) {
        format!("{:.3} %", (p * 1000.0).floor() / 1000.0)
    } else {
        format!("{p:.1} %")
    }
}

/// 1, 2 or 5 times a power of ten, at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_percentages_read_well() {
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
        assert_eq!(percent(0.99951), "99.951 %");
        assert_eq!(percent(1.0), "100.0 %");
        assert_eq!(percent(0.5), "50.0 %");
        assert_eq!(day_colour(Some(0.9995), 0.999), GREEN);
        assert_eq!(day_colour(Some(0.995), 0.999), AMBER);
        assert_eq!(day_colour(Some(0.9), 0.999), RED);
        assert_eq!(day_colour(None, 0.999), GREY);
    }
}
