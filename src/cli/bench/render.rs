//! `gilmour bench render`: frame times of the terminal app with a full store while
//! traffic arrives (no Redis needed; build with --release for figures that mean
//! something).

use clap::Args;
use std::process::ExitCode;

/// Arguments of `gilmour bench render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Traces in the store.
    #[arg(long, default_value_t = 1_000_000)]
    traces: usize,
    /// Events per second arriving while frames are drawn.
    #[arg(long, default_value_t = 10_000)]
    rate: usize,
    /// Frames measured per scenario.
    #[arg(long, default_value_t = 300)]
    frames: usize,
    /// Print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let report = crate::tui::bench::measure(crate::tui::bench::Options {
        traces: args.traces,
        rate: args.rate,
        frames: args.frames,
        size: (160, 45),
    });
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} traces (filled in {:.1} s), {} events/s = {} events per frame at 30 fps, 160x45:",
        report.traces, report.fill_seconds, report.rate, report.events_per_frame
    );
    for figures in &report.scenarios {
        println!(
            "  {:<24} update {:>6.2} ms   draw p50 {:>6.2} ms  p99 {:>6.2} ms   slowest frame {:>6.2} ms",
            figures.scenario,
            figures.update_mean_ms,
            figures.draw_p50_ms,
            figures.draw_p99_ms,
            figures.frame_max_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}
