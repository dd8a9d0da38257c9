//! The machine under the measurement: what the hypervisor and other programs took from it
//! over a window (steal, and CPU used outside djbench's process tree), and a fixed
//! calibration workload that measures how fast it is right now. Numbers measured on a shared
//! machine are only comparable when the machine was the same; this module says whether it was.
//! It reads /proc and spins its own threads; it must not know deployments, loads or results.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use procfs::{CurrentSI, KernelStats};
use serde::{Deserialize, Serialize};

/// The default share of the machine's cores that other programs or the hypervisor may take
/// over a window before it counts as disturbed: 5%, a tenth of a core on two cores. On this
/// machine, otherwise idle, others used 0.003 to 0.035 cores and steal stayed under 0.005 in
/// every trial of two capacity runs; one spinning program beside a trial shows more than 0.5.
pub const MAX_INTERFERENCE_SHARE: f64 = 0.05;

/// Linux's flag on a kernel thread (`PF_KTHREAD`).
const PF_KTHREAD: u32 = 0x0020_0000;

/// Every user process's CPU, and the machine's steal, at one instant.
///
/// Why per process rather than /proc/stat's machine-wide busy time: on this tickless kernel
/// (no IRQ time or full virtual CPU accounting) /proc/stat samples whatever runs at each
/// tick, and a load's short bursts slip between ticks: at 100 req/s it showed 0.01 cores
/// beside a deployment whose own counters said 0.18. A process's utime and stime are scaled
/// to its exact run time, so their sum over processes is right to a tick per busy process.
#[derive(Debug, Clone)]
struct Snapshot {
    /// (pid, start time) → (parent, ticks of itself and of its reaped children).
    procs: HashMap<(i32, u64), (i32, u64)>,
    steal: u64,
    at: Instant,
}

impl Snapshot {
    fn now() -> Option<Self> {
        let steal = KernelStats::current().ok()?.total.steal.unwrap_or(0);
        let mut procs = HashMap::new();
        for p in procfs::process::all_processes().ok()?.flatten() {
            // A process that exits while being read is simply not there.
            let Ok(st) = p.stat() else { continue };
            if st.flags & PF_KTHREAD != 0 {
                continue;
            }
            let reaped = (st.cutime + st.cstime).max(0) as u64;
            procs.insert(
                (st.pid, st.starttime),
                (st.ppid, st.utime + st.stime + reaped),
            );
        }
        Some(Self {
            procs,
            steal,
            at: Instant::now(),
        })
    }

    /// `root` and every process below it.
    fn tree(&self, root: i32, into: &mut HashSet<i32>) {
        into.insert(root);
        let mut grew = true;
        // A handful of passes over a few hundred processes: cheaper than building an index.
        while grew {
            grew = false;
            for (&(pid, _), &(ppid, _)) in &self.procs {
                if into.contains(&ppid) && into.insert(pid) {
                    grew = true;
                }
            }
        }
    }
}

/// Ticks used between two snapshots by user processes outside `ours`: for a process alive at
/// both, the difference; for one born in between, all of it; one that died in between had
/// its whole life added to its parent's reaped time, so what it had used before is taken off
/// again (unless its parent is one of ours, whose time is not counted at all).
fn others_ticks(a: &Snapshot, b: &Snapshot, ours: &HashSet<i32>) -> u64 {
    let mut used: i64 = 0;
    for (key, &(_, t)) in &b.procs {
        if !ours.contains(&key.0) {
            let before = a.procs.get(key).map_or(0, |&(_, t)| t);
            used += t as i64 - before as i64;
        }
    }
    for (key, &(ppid, t)) in &a.procs {
        if !b.procs.contains_key(key) && !ours.contains(&key.0) && !ours.contains(&ppid) {
            used -= t as i64;
        }
    }
    used.max(0) as u64
}

/// What the machine did over a window besides djbench and what it started.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interference {
    /// Cores the hypervisor gave to other guests while this one wanted to run.
    pub steal_cores: f64,
    /// Cores used by user processes outside djbench's process tree (djbench and the
    /// deployment it started). Kernel threads are left out: their work (the network's soft
    /// interrupts, writeback) is mostly done for the load itself. For a URL target, the
    /// server is one of these.
    pub others_cores: f64,
}

impl Interference {
    /// Why a window does not measure the target alone: steal, or (when `others_are_foreign`:
    /// the target is djbench's own deployment) other programs' CPU, above `share` of the
    /// machine's cores; None when neither was.
    pub fn disturbed(&self, others_are_foreign: bool, share: f64) -> Option<String> {
        let bound = share * cores() as f64;
        let mut why = Vec::new();
        if self.steal_cores > bound {
            why.push(format!(
                "the hypervisor stole {:.2} cores",
                self.steal_cores
            ));
        }
        if others_are_foreign && self.others_cores > bound {
            why.push(format!(
                "other programs used {:.2} cores",
                self.others_cores
            ));
        }
        (!why.is_empty()).then(|| {
            format!(
                "{} (more than {bound:.2} of this machine's {})",
                why.join(" and "),
                cores()
            )
        })
    }
}

/// Watches the machine over a window that starts later (after a warm-up).
pub struct Watch {
    handle: thread::JoinHandle<Option<Interference>>,
}

impl Watch {
    /// Reads the counters at `from` and again when `finish` is called.
    pub fn start(from: Instant) -> (Self, std::sync::mpsc::Sender<()>) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = thread::spawn(move || {
            thread::sleep(from.saturating_duration_since(Instant::now()));
            let a = Snapshot::now()?;
            // Finished (or dropped) means the window is over.
            let _ = rx.recv();
            let b = Snapshot::now()?;
            let mut ours = HashSet::new();
            let me = std::process::id() as i32;
            a.tree(me, &mut ours);
            b.tree(me, &mut ours);
            let hz = procfs::ticks_per_second() as f64;
            let secs = b.at.duration_since(a.at).as_secs_f64();
            (secs > 0.0).then(|| {
                let cores = |d: u64| d as f64 / hz / secs;
                Interference {
                    steal_cores: cores(b.steal.saturating_sub(a.steal)),
                    others_cores: cores(others_ticks(&a, &b, &ours)),
                }
            })
        });
        (Self { handle }, tx)
    }

    /// The window's interference; None when /proc could not be read or the window was empty.
    pub fn finish(self, end: std::sync::mpsc::Sender<()>) -> Option<Interference> {
        drop(end);
        self.handle.join().ok().flatten()
    }
}

/// The machine's cores as this process may use them.
pub fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// How fast the machine ran a fixed workload on all its cores at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    /// Work units per second, summed over the threads (one per core). A unit is a fixed
    /// amount of hashing over a buffer the size of a core's cache share, so it slows with
    /// steal, frequency and cache contention alike.
    pub units_per_second: f64,
    pub threads: usize,
    pub seconds: f64,
    /// The djbench build that ran it: a debug build's units are about 20% fewer than a
    /// release build's, so only speeds of one build compare.
    #[serde(default)]
    pub build: Build,
}

/// How djbench was compiled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Build {
    Release,
    Debug,
    /// Results written before the build was recorded.
    #[default]
    Unknown,
}

impl Build {
    /// This process's build.
    pub fn current() -> Self {
        if cfg!(debug_assertions) {
            Build::Debug
        } else {
            Build::Release
        }
    }
}

/// One unit of calibration work: SipHash over 256 KiB, read in a stride that defeats the
/// prefetcher. Hand-written because the point is a fixed, dependency-free instruction mix.
fn unit(buf: &[u64]) -> u64 {
    use std::hash::{DefaultHasher, Hasher};
    let mut h = DefaultHasher::new();
    let mut i = 0usize;
    for _ in 0..buf.len() / 8 {
        h.write_u64(buf[i]);
        i = (i + 4099) % buf.len();
    }
    h.finish()
}

/// Runs the calibration workload on every core for `length` and returns the rate.
pub fn calibrate(length: Duration) -> Speed {
    let threads = cores();
    let started = Instant::now();
    let done: u64 = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let buf: Vec<u64> = (0..32 * 1024u64).map(|x| x ^ t as u64).collect();
                    let mut n = 0u64;
                    while started.elapsed() < length {
                        black_box(unit(black_box(&buf)));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    let seconds = started.elapsed().as_secs_f64();
    Speed {
        units_per_second: done as f64 / seconds,
        threads,
        seconds,
        build: Build::current(),
    }
}

/// The machine's speed before and after a measurement, and how far it moved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub before: Speed,
    pub after: Speed,
}

/// Speeds further apart than this (as a share of the faster) make a measurement's machine
/// "not the same": eight 2-second calibrations in a row on this idle 2-core machine spread
/// over 3% (debug build) and 7% (release build) of the fastest.
pub const MAX_DRIFT: f64 = 0.10;

impl Calibration {
    /// |before − after| ÷ the faster.
    pub fn drift(&self) -> f64 {
        relative_gap(self.before.units_per_second, self.after.units_per_second)
    }

    /// "the machine's speed moved 20% during the search (…)", when it moved more than
    /// `MAX_DRIFT`.
    pub fn moved(&self) -> Option<String> {
        (self.drift() > MAX_DRIFT).then(|| {
            format!(
                "the machine's speed moved {:.0}% during the search ({:.0} → {:.0} calibration \
                 units/s)",
                self.drift() * 100.0,
                self.before.units_per_second,
                self.after.units_per_second
            )
        })
    }

    /// The mean of before and after.
    pub fn units_per_second(&self) -> f64 {
        (self.before.units_per_second + self.after.units_per_second) / 2.0
    }
}

/// |a − b| ÷ max(a, b); 0 when both are 0.
pub fn relative_gap(a: f64, b: f64) -> f64 {
    let top = a.max(b);
    if top > 0.0 { (a - b).abs() / top } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A busy loop that ends by itself.
    const SPIN: &str = "while [ $SECONDS -lt 20 ]; do :; done";

    #[test]
    fn a_busy_program_outside_the_tree_is_interference_and_a_child_is_not() {
        // One spinning shell is this process's child (ours); the other is orphaned at once,
        // adopted by init, so it belongs to nobody here: another program. Each stops by itself
        // after 20 s (bash's SECONDS, no fork in the loop): a test killed before its clean-up
        // must not leave them spinning on the machine's cores.
        let mut child = std::process::Command::new("bash")
            .args(["-c", SPIN])
            .spawn()
            .unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("bash -c '{SPIN}' >/dev/null 2>&1 & echo $!")])
            .output()
            .unwrap();
        let orphan: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let (w, end) = Watch::start(Instant::now());
        thread::sleep(Duration::from_millis(1500));
        let i = w.finish(end).expect("/proc is readable here");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(orphan),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = child.kill();
        let _ = child.wait();
        // Two spinning shells on two cores: the orphan gets about one whatever else runs; our
        // own child is not counted, so the others stay well under two cores.
        assert!(i.others_cores > 0.5, "{i:?}");
        assert!(i.others_cores < 1.5, "{i:?}");
        assert!(i.steal_cores >= 0.0);
        let why = i.disturbed(true, MAX_INTERFERENCE_SHARE).unwrap();
        assert!(why.contains("other programs used"), "{why}");
        // A URL's server is one of the others: only steal counts then.
        let quiet = Interference {
            steal_cores: 0.0,
            ..i
        };
        assert_eq!(quiet.disturbed(false, MAX_INTERFERENCE_SHARE), None);
        // A bound of the whole machine turns the check off.
        assert_eq!(quiet.disturbed(true, 1.0), None);
    }

    #[test]
    fn calibration_counts_work_and_drift_is_relative() {
        let s = calibrate(Duration::from_millis(200));
        assert!(s.units_per_second > 0.0 && s.threads >= 1);
        let c = Calibration {
            before: Speed {
                units_per_second: 100.0,
                ..s
            },
            after: Speed {
                units_per_second: 80.0,
                ..s
            },
        };
        assert!((c.drift() - 0.2).abs() < 1e-9);
        assert_eq!(c.units_per_second(), 90.0);
        assert_eq!(relative_gap(0.0, 0.0), 0.0);
    }
}
