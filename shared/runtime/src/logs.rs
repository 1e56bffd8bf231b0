//! Log set-up through `tracing`: one call per process.
//!
//! The filter comes from `TAILOR_LOG` (an `EnvFilter` directive such as
//! `info` or `tailor=debug`). No personal data is logged at info level.

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable text.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where logs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// A person's terminal: standard error, default level `warn`.
    Terminal(LogFormat),
    /// A platform that collects standard output (Lambda to CloudWatch,
    /// Cloud Run to Cloud Logging): JSON, no timestamp of our own since the
    /// platform stamps each line, default level `info`.
    Collector,
}

/// What `log` logs at level `info` and above, in the collector target's
/// form (one JSON object a line, no timestamp): the bytes a platform's log
/// service takes in for it.
pub fn collected(log: impl FnOnce()) -> Vec<u8> {
    let sink = Sink::default();
    let subscriber = collector(tracing_subscriber::EnvFilter::new("info"), {
        let sink = sink.clone();
        move || sink.clone()
    })
    .finish();
    tracing::subscriber::with_default(subscriber, log);
    sink.0.lock().map(|b| b.clone()).unwrap_or_default()
}

/// Lines written, kept in memory.
#[derive(Debug, Clone, Default)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut kept) = self.0.lock() {
            kept.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The collector target's form, writing to `writer`: JSON, no span, no
/// timestamp of our own (the platform stamps each line).
fn collector<W>(
    filter: tracing_subscriber::EnvFilter,
    writer: W,
) -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json, ()>,
    tracing_subscriber::EnvFilter,
    W,
>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .with_current_span(false)
        .without_time()
        .with_writer(writer)
}

/// Installs the global subscriber; a second call does nothing.
pub fn init(target: LogTarget) {
    let default = match target {
        LogTarget::Terminal(_) => "warn",
        LogTarget::Collector => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAILOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let terminal = || tracing_subscriber::fmt().with_writer(std::io::stderr);
    // `try_init`: a process (or a test binary) that already has one keeps it.
    let _ = match target {
        LogTarget::Terminal(LogFormat::Text) => terminal().with_env_filter(filter).try_init(),
        LogTarget::Terminal(LogFormat::Json) => {
            terminal().with_env_filter(filter).json().try_init()
        }
        LogTarget::Collector => collector(filter, std::io::stdout).try_init(),
    };
}
