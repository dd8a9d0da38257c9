//! The largest durations and rates djbench accepts, from a flag or a scenario file: beyond them
//! a value is a typo, refused with exit 2; and the request headers an endpoint may not set. A
//! leaf: the command line, the scenario model and the load generator all read it, and it reads
//! nothing of theirs.

use std::time::Duration;

/// The longest load (`--duration`, `--warmup`, `workload.duration`, `workload.warmup`): a day.
/// A longer one is a typo, and the window's end must stay a representable instant.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// The longest timeout (`--timeout`, `workload.timeout`): an hour, the longest latency the
/// histograms hold unclamped, so a timeout's latency is never cut short.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// The highest rate (`--rate`, `workload.rate`, `tasks.rate`): 10⁹ per second, one send a
/// nanosecond. Beyond it the gap between sends is below the clock's resolution and the schedule
/// would never advance; far below it the generator already reports a shortfall.
pub const MAX_RATE: f64 = 1e9;

/// Headers that frame a request's body, which djbench sets from the body it sends: one an
/// endpoint set would disagree with it and desynchronise the keep-alive connection.
pub const FRAMING_HEADERS: [&str; 2] = ["content-length", "transfer-encoding"];
