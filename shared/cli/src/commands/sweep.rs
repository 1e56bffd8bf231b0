//! `tailor sweep`: what each function would cost on Lambda at each memory
//! size, from the CPU time it needs on a measured workload.
//!
//! It runs a stream (generated, or a file) through the local platform and
//! then makes decisions for its people, measuring each function's time per
//! invocation. The local platform's store is embedded, so that time is the
//! functions' own work (the process's CPU time over the run is printed
//! beside it, to show it). Each function's duration and cost are then
//! modelled at each memory size (`tailor_cost::sweep`, whose assumptions
//! every output states), with the cheapest, the fastest, and the fastest
//! within `--budget-per-million` marked.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use tailor_cost::sweep::{self, ASSUMPTIONS, LAMBDA_SIZES_MB, Sweep, Workload};
use tailor_cost::{Arch, Decimal, Money};

use super::page::{COLOURS, escape, items, page};

/// `tailor sweep`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    measure: super::measure::Measure,
    /// The price book's region.
    #[arg(long, default_value = "aws/us-east-1")]
    region: String,
    /// Lambda's architecture.
    #[arg(long, value_enum, default_value = "arm64")]
    arch: ArchArg,
    /// Memory sizes to model, in MB.
    #[arg(long, value_delimiter = ',', default_values_t = LAMBDA_SIZES_MB)]
    sizes: Vec<u32>,
    /// Time an invocation waits on the cloud's stores and streams, in
    /// milliseconds (the same at every size); 0 models CPU alone.
    #[arg(long, default_value = "0")]
    wait_ms: Decimal,
    /// Mark the fastest size costing at most this per million
    /// invocations, in the book's currency.
    #[arg(long)]
    budget_per_million: Option<Decimal>,
    /// A reading of the price book; the one this build carries by default.
    #[arg(long)]
    book: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Write an HTML report with a chart of cost against memory here.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// Lambda's architecture, as an argument.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ArchArg {
    /// Graviton.
    Arm64,
    /// x86-64.
    X86_64,
}

impl From<ArchArg> for Arch {
    fn from(arch: ArchArg) -> Self {
        match arch {
            ArchArg::Arm64 => Self::Arm64,
            ArchArg::X86_64 => Self::X86_64,
        }
    }
}

/// The whole output.
#[derive(Debug, Serialize)]
struct Output {
    measured: super::measure::Run,
    assumptions: Vec<&'static str>,
    book: String,
    currency: String,
    sweeps: Vec<Sweep>,
}

/// Runs the command.
///
/// # Errors
/// The stream cannot be read, the platform fails, or the book lacks a
/// price the sweep needs.
pub async fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let book = super::cost::book(args.book.as_deref())?;
    let wait_us = u64::try_from(args.wait_ms.at_scale(3)?).context("--wait-ms is too large")?;
    let budget = args.budget_per_million.map(Money::of).transpose()?;
    let measured = super::measure::run(&args.measure).await?;
    let sweeps = measured
        .measured
        .functions
        .iter()
        .filter_map(|f| {
            let n = measured.invocations.get(&f.function).copied().unwrap_or(0);
            (n > 0).then(|| Workload {
                function: f.function.clone(),
                cpu_us: f.wall_us.div_ceil(n),
                wait_us,
            })
        })
        .map(|w| {
            sweep::lambda(
                &book,
                &args.region,
                args.arch.into(),
                &w,
                &args.sizes,
                budget,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let output = Output {
        measured,
        assumptions: ASSUMPTIONS.to_vec(),
        book: book.version.clone(),
        currency: book.currency.clone(),
        sweeps,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&output)?)?;
    } else {
        write!(out, "{}", table(&output))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html(&output)).with_context(|| path.display().to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn ms(us: u64) -> String {
    format!("{}.{:02} ms", us / 1_000, (us % 1_000) / 10)
}

fn marks(sweep: &Sweep, memory_mb: u32) -> String {
    let mut marks = Vec::new();
    if sweep.cheapest_mb == memory_mb {
        marks.push("cheapest");
    }
    if sweep.fastest_mb == memory_mb {
        marks.push("fastest");
    }
    if sweep.fastest_within_budget_mb == Some(memory_mb) {
        marks.push("fastest within budget");
    }
    marks.join(", ")
}

fn table(output: &Output) -> String {
    let mut out = String::new();
    let m = &output.measured;
    let _ = writeln!(
        out,
        "measured on {} ({} records): the functions' time {}, the process's CPU time {}",
        m.source,
        m.records,
        ms(m.functions_us()),
        m.process_cpu_us.map_or_else(|| "not known".to_owned(), ms)
    );
    for sweep in &output.sweeps {
        let w = &sweep.workload;
        let _ = writeln!(
            out,
            "\n{} on Lambda ({}, {}): {} of CPU and {} waiting per invocation",
            w.function,
            sweep.region,
            sweep.arch.name(),
            ms(w.cpu_us),
            ms(w.wait_us)
        );
        let _ = writeln!(
            out,
            "{:>8} {:>12} {:>8} {:>18} {:>14}",
            "memory", "duration", "billed", "per invocation", "per 1M"
        );
        for row in &sweep.sizes {
            let _ = writeln!(
                out,
                "{:>5} MB {:>12} {:>5} ms {:>18} {:>14}  {}",
                row.memory_mb,
                ms(row.duration_us),
                row.billed_ms,
                row.per_invocation.fixed(12),
                row.per_million.fixed(4),
                marks(sweep, row.memory_mb)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nprices: book {} ({}); duration and requests only",
        output.book, output.currency
    );
    for a in &output.assumptions {
        let _ = writeln!(out, "assumed: {a}");
    }
    out
}

/// Cost per million invocations against memory, one line per function,
/// each point's exact cost in `data-cost`; the axes are linear from zero.
fn chart(output: &Output) -> String {
    let (width, height, left, bottom) = (640_i128, 300_i128, 70_i128, 40_i128);
    let most_mb = output
        .sweeps
        .iter()
        .flat_map(|s| s.sizes.iter().map(|r| i128::from(r.memory_mb)))
        .max()
        .unwrap_or(1)
        .max(1);
    let most_cost = output
        .sweeps
        .iter()
        .flat_map(|s| s.sizes.iter().map(|r| r.per_million.femto()))
        .max()
        .unwrap_or(1)
        .max(1);
    let x = |mb: u32| left + i128::from(mb) * (width - left - 20) / most_mb;
    let y = |cost: Money| height - bottom - cost.femto() * (height - bottom - 10) / most_cost;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{}" role="img" aria-label="cost per million invocations against memory size">"#,
        height + 20 * i128::try_from(output.sweeps.len()).unwrap_or(0)
    );
    let _ = write!(
        svg,
        r#"<line x1="{left}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/><line x1="{left}" y1="10" x2="{left}" y2="{b}" stroke="black"/><text x="{}" y="{}" text-anchor="middle" font-size="12">memory (MB)</text><text x="4" y="20" font-size="12">per 1M</text>"#,
        (left + width) / 2,
        height - 5,
        b = height - bottom,
        r = width - 20,
    );
    for mb in LAMBDA_SIZES_MB
        .iter()
        .filter(|m| [128, 1_024, 1_769, 3_008].contains(*m))
    {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="11">{mb}</text>"#,
            x(*mb),
            height - bottom + 15
        );
    }
    for (k, sweep) in output.sweeps.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let function = escape(&sweep.workload.function);
        let points: Vec<String> = sweep
            .sizes
            .iter()
            .map(|r| format!("{},{}", x(r.memory_mb), y(r.per_million)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="series" data-function="{function}" fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        for r in &sweep.sizes {
            let _ = write!(
                svg,
                r#"<circle class="point" cx="{}" cy="{}" r="{}" fill="{colour}" data-function="{function}" data-memory="{}" data-cost="{}"><title>{function} at {} MB: {} per 1M ({})</title></circle>"#,
                x(r.memory_mb),
                y(r.per_million),
                if sweep.cheapest_mb == r.memory_mb {
                    6
                } else {
                    3
                },
                r.memory_mb,
                r.per_million,
                r.memory_mb,
                r.per_million.fixed(4),
                escape(&marks(sweep, r.memory_mb))
            );
        }
        let _ = write!(
            svg,
            r#"<rect x="{left}" y="{}" width="12" height="12" fill="{colour}"/><text x="{}" y="{}" font-size="12">{function}: cheapest at {} MB, fastest at {} MB</text>"#,
            height + 4 + 20 * i128::try_from(k).unwrap_or(0),
            left + 18,
            height + 15 + 20 * i128::try_from(k).unwrap_or(0),
            sweep.cheapest_mb,
            sweep.fastest_mb
        );
    }
    svg.push_str("</svg>");
    svg
}

fn html(output: &Output) -> String {
    let mut rows = String::new();
    for sweep in &output.sweeps {
        for r in &sweep.sizes {
            let _ = write!(
                rows,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&sweep.workload.function),
                r.memory_mb,
                escape(&ms(r.duration_us)),
                r.billed_ms,
                r.per_invocation.fixed(12),
                r.per_million.fixed(4),
                escape(&marks(sweep, r.memory_mb))
            );
        }
    }
    let assumptions = items(output.assumptions.iter().copied());
    let m = &output.measured;
    let body = format!(
        r#"<p>Measured on {source} ({records} records) through the local platform: the functions' time {functions}, the process's CPU time {cpu}. Priced with the price book of {book} ({currency}); the larger dot on each line is its cheapest size.</p>
{chart}
<h2>Each size</h2>
<table><tr><th>function</th><th>memory (MB)</th><th>duration</th><th>billed (ms)</th><th>per invocation</th><th>per 1M</th><th></th></tr>{rows}</table>
<h2>The model's assumptions</h2>
<ul>{assumptions}</ul>"#,
        source = escape(&m.source),
        records = m.records,
        functions = ms(m.functions_us()),
        cpu = m.process_cpu_us.map_or_else(|| "not known".to_owned(), ms),
        book = escape(&output.book),
        currency = escape(&output.currency),
        chart = chart(output),
    );
    page(
        "cost against memory on Lambda",
        "Cost against memory on Lambda",
        "td:first-child,td:last-child",
        &body,
    )
}
