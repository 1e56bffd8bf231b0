//! `tailor serve`'s server under hostile clients, with the default limits,
//! under and over the connection cap: the figures in docs/benchmarks.md.
//!
//! ```sh
//! cargo bench -p tailor-tests --bench siege --profile dev
//! ```
//!
//! About 70 s; it opens about 1,300 connections, so the process needs
//! that many file descriptors.

use tailor_tests::siege::siege;

fn main() {
    let limits = tailor_runtime::http::ServeLimits::default();
    for stalled in [300, 600] {
        let s = siege(limits, stalled, 8, std::time::Duration::from_secs(45));
        let trickled = s.trickled.iter().map(|t| t.2).max().unwrap_or_default();
        println!(
            "{stalled} stalled + 8 trickled: /healthz {} in {:.0?}; events {} in {:.0?}; flood {} in {:.0?}; stalled closed by {:.1?} ({} left open); trickled cut off by {:.1?} ({:?})",
            s.health.0,
            s.health.1,
            s.events.0,
            s.events.1,
            s.flood.0,
            s.flood.2,
            s.stalled_closed_by,
            s.stalled_open,
            trickled,
            s.trickled.iter().map(|t| t.0).collect::<Vec<_>>(),
        );
    }
}
