//! `tailor gen`: a realistic event stream as JSON Lines ([`tailor_gen`]).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tailor_core::Timestamp;
use tailor_core::ports::Clock;
use tailor_gen::{GenOptions, generate};
use tailor_runtime::WallClock;

/// What stream to generate.
#[derive(clap::Args, Clone, Debug)]
pub struct GenArgs {
    /// How many people to simulate.
    #[arg(long, default_value_t = 200)]
    pub profiles: u32,
    /// How many days of activity.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Random seed: the same seed and end give the same stream.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// End of the period (RFC 3339); default: today at 00:00 UTC.
    #[arg(long)]
    pub end: Option<String>,
}

impl GenArgs {
    /// The generator's options.
    ///
    /// # Errors
    /// `--end` is not a time.
    pub fn options(&self) -> anyhow::Result<GenOptions> {
        let end = match &self.end {
            Some(t) => Timestamp::parse(t).context("--end")?,
            None => {
                let now = WallClock.now().as_millis();
                Timestamp::from_millis(now - now.rem_euclid(Timestamp::DAY))
            }
        };
        Ok(GenOptions {
            profiles: self.profiles,
            days: self.days,
            seed: self.seed,
            end,
            ..GenOptions::default()
        })
    }

    /// The stream's bytes and a description of it: `file`'s, or a generated one.
    ///
    /// # Errors
    /// The file cannot be read, or the options are wrong.
    pub fn read_or_generate(
        &self,
        file: Option<&std::path::Path>,
    ) -> anyhow::Result<(String, Vec<u8>)> {
        match file {
            Some(path) => Ok((
                path.display().to_string(),
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            )),
            None => {
                let options = self.options()?;
                let mut bytes = Vec::new();
                generate(&options, &mut bytes)?;
                Ok((
                    format!(
                        "a generated stream ({} people, {} days, seed {})",
                        options.profiles, options.days, options.seed
                    ),
                    bytes,
                ))
            }
        }
    }
}

/// `tailor gen`'s arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    stream: GenArgs,
    /// Output file (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

/// Writes the stream.
///
/// # Errors
/// The options are wrong or the output cannot be written.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let options = args.stream.options()?;
    let summary = match &args.out {
        Some(path) => {
            let mut w = BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            let s = generate(&options, &mut w)?;
            w.flush()?;
            s
        }
        None => generate(&options, &mut BufWriter::new(std::io::stdout().lock()))?,
    };
    eprintln!(
        "generated {} lines ({} events, {} duplicates, {} broken)",
        summary.lines, summary.events, summary.duplicates, summary.invalid
    );
    Ok(ExitCode::SUCCESS)
}
