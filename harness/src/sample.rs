//! Sampling the memory and CPU of every process of a deployment while it runs: RSS (statm)
//! at the scenario's rss_hz, PSS and USS (smaps_rollup) at pss_hz, CPU from stat deltas,
//! thread counts; every process of the deployment's sessions, those born during the run
//! included (the process list is refreshed once a second), each under its leader's role.
//! It reads /proc; it never signals or changes a process.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::deploy::{Role, Sessions, process::members_by_role};

/// Peak and mean of a sum over the measured window, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PeakMean {
    pub peak_bytes: u64,
    pub mean_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sums {
    pub total: PeakMean,
    pub by_role: BTreeMap<String, PeakMean>,
}

/// One point of the ΣPSS/ΣRSS series, for charts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Point {
    /// Seconds since the measured window began.
    pub t: f64,
    pub bytes_by_role: BTreeMap<String, u64>,
}

/// One point of the CPU series: cores used by role since the previous point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CpuPoint {
    /// Seconds since the measured window began.
    pub t: f64,
    pub cores_by_role: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SampleReport {
    pub rss: Sums,
    pub pss: Sums,
    pub uss: Sums,
    /// CPU cores used on average over the window, by role and in total.
    pub cpu_cores: BTreeMap<String, f64>,
    pub cpu_cores_total: f64,
    pub max_processes: usize,
    pub max_threads: u64,
    pub pss_series: Vec<Point>,
    /// CPU cores used by role between consecutive PSS samples (~1 s), for charts.
    pub cpu_series: Vec<CpuPoint>,
    pub rss_samples: u64,
    pub pss_samples: u64,
    /// CPU the sampler thread itself used over the whole run (user + system), and as a share
    /// of one core: what watching the deployment cost.
    pub sampler_cpu_seconds: f64,
    pub sampler_cpu_share: f64,
}

impl SampleReport {
    /// Cores the deployment used over the window; None with fewer than two RSS samples: CPU is
    /// a difference between samples, and one sample would read as 0 cores.
    pub fn cpu_known(&self) -> Option<f64> {
        (self.rss_samples >= 2).then_some(self.cpu_cores_total)
    }

    /// Peak ΣPSS over the window; None without a PSS sample.
    pub fn pss_known(&self) -> Option<PeakMean> {
        (self.pss_samples >= 1).then_some(self.pss.total)
    }
}

/// The deployment at rest: its CPU and ΣPSS over a quiet window before its load, while
/// nothing was sent to it (`sampling.idle`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Idle {
    /// How long the window lasted.
    pub seconds: f64,
    /// Cores the whole deployment used on average over it.
    pub cpu_cores: f64,
    /// The highest ΣPSS sampled in it.
    pub pss_peak_bytes: u64,
}

impl Idle {
    /// From the sampler's report of the window; None when it took too few samples to know
    /// (CPU is a difference of two samples, ΣPSS needs one): unknown, never 0.
    pub fn of(seconds: f64, r: &SampleReport) -> Option<Self> {
        Some(Self {
            seconds,
            cpu_cores: r.cpu_known()?,
            pss_peak_bytes: r.pss_known()?.peak_bytes,
        })
    }
}

/// What the sampler saw at one PSS sample (~1 s), for a live view.
#[derive(Debug, Clone, Default)]
pub struct Glance {
    /// Seconds since the measured window began.
    pub t: f64,
    pub processes: Vec<ProcessGlance>,
}

#[derive(Debug, Clone)]
pub struct ProcessGlance {
    pub pid: i32,
    pub role: Role,
    /// The kernel's name for it (comm, at most 15 bytes).
    pub name: String,
    pub pss_bytes: u64,
    /// Cores used since the previous glance.
    pub cores: f64,
    pub threads: u64,
}

/// Called on the sampler's thread with each glance.
pub type Watch = Box<dyn FnMut(Glance) + Send>;

pub struct Sampler {
    stop: Arc<AtomicBool>,
    /// Taken by `finish`.
    handle: Option<JoinHandle<SampleReport>>,
}

impl Drop for Sampler {
    /// Dropped without `finish` (a panic of the run unwinding): the thread stops sampling.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Acc {
    peak: u64,
    sum: u128,
    n: u64,
}

impl Acc {
    fn add(&mut self, v: u64) {
        self.peak = self.peak.max(v);
        self.sum += u128::from(v);
        self.n += 1;
    }
    fn result(&self) -> PeakMean {
        PeakMean {
            peak_bytes: self.peak,
            mean_bytes: if self.n == 0 {
                0
            } else {
                (self.sum / u128::from(self.n)) as u64
            },
        }
    }
}

#[derive(Default)]
struct SumAcc {
    total: Acc,
    roles: HashMap<Role, Acc>,
}

impl SumAcc {
    fn add(&mut self, by_role: &HashMap<Role, u64>) {
        self.total.add(by_role.values().sum());
        for (role, v) in by_role {
            self.roles.entry(*role).or_default().add(*v);
        }
    }
    fn result(&self) -> Sums {
        Sums {
            total: self.total.result(),
            by_role: self
                .roles
                .iter()
                .map(|(r, a)| (r.name().to_owned(), a.result()))
                .collect(),
        }
    }
}

fn page_size() -> u64 {
    procfs::page_size()
}

/// One watched process: its statm and stat stay open and are re-read in place (pread at 0
/// regenerates a /proc file), two syscalls a tick instead of six with open and close; that
/// keeps the sampler far under 1% of a core at 10 Hz.
struct Watched {
    role: Role,
    name: String,
    statm: std::fs::File,
    stat: std::fs::File,
}

impl Watched {
    fn open(pid: i32, role: Role) -> Option<Self> {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        Some(Self {
            role,
            name: name.trim_end().to_owned(),
            statm: std::fs::File::open(format!("/proc/{pid}/statm")).ok()?,
            stat: std::fs::File::open(format!("/proc/{pid}/stat")).ok()?,
        })
    }

    /// RSS in bytes, CPU ticks (user + system) and threads, or None once the process is gone
    /// (or a zombie, whose memory is already released).
    fn read(&self, buf: &mut [u8]) -> Option<(u64, u64, u64)> {
        use std::os::unix::fs::FileExt;
        let n = self.statm.read_at(buf, 0).ok().filter(|&n| n > 0)?;
        let resident: u64 = std::str::from_utf8(&buf[..n])
            .ok()?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        let n = self.stat.read_at(buf, 0).ok().filter(|&n| n > 0)?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        // Fields after the command name, which may hold spaces and parentheses; see proc(5):
        // state is field 3, utime 14, stime 15, num_threads 20.
        let rest: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
        if rest.first() == Some(&"Z") {
            return None;
        }
        let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        Some((resident * page_size(), field(14)? + field(15)?, field(20)?))
    }
}

/// PSS and USS in bytes of one process.
fn pss_uss(pid: i32) -> Option<(u64, u64)> {
    let p = procfs::process::Process::new(pid).ok()?;
    let rollup = p.smaps_rollup().ok()?;
    let map = rollup.memory_map_rollup.0.first()?;
    let get = |k: &str| map.extension.map.get(k).copied().unwrap_or(0);
    Some((get("Pss"), get("Private_Clean") + get("Private_Dirty")))
}

impl Sampler {
    /// Starts sampling the sessions `leaders` (session id, role); only samples taken at or
    /// after `measure_from` count.
    pub fn start(
        leaders: impl Into<Sessions>,
        rss_hz: f64,
        pss_hz: f64,
        measure_from: Instant,
    ) -> Self {
        Self::watched(leaders, rss_hz, pss_hz, measure_from, None)
    }

    /// As `start`, and hands `watch` a glance at every PSS sample of the measured window.
    pub fn watched(
        leaders: impl Into<Sessions>,
        rss_hz: f64,
        pss_hz: f64,
        measure_from: Instant,
        watch: Option<Watch>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let leaders = leaders.into();
        let handle = std::thread::Builder::new()
            .name("djbench-sample".into())
            .spawn(move || run(leaders, rss_hz, pss_hz, measure_from, &flag, watch))
            .expect("a sampler thread");
        Self {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops sampling and returns what was seen; an error when the sampler thread panicked:
    /// then nothing is known of the run's memory and CPU (never zeros, which would read best).
    pub fn finish(mut self) -> Result<SampleReport, String> {
        self.stop.store(true, Ordering::Relaxed);
        let handle = self
            .handle
            .take()
            .ok_or("the sampler was finished already")?;
        handle.join().map_err(|p| {
            format!(
                "the sampler panicked: {}",
                crate::panics::panic_message(p.as_ref())
            )
        })
    }
}

fn run(
    leaders: Sessions,
    rss_hz: f64,
    pss_hz: f64,
    from: Instant,
    stop: &AtomicBool,
    mut watch: Option<Watch>,
) -> SampleReport {
    let started = Instant::now();
    crate::panics::fault("sampler");
    let tick = Duration::from_secs_f64(1.0 / rss_hz);
    let pss_every = Duration::from_secs_f64(1.0 / pss_hz);
    let ticks_per_sec = procfs::ticks_per_second() as f64;
    let mut pids: Vec<(i32, Role)> = Vec::new();
    let mut watched: HashMap<i32, Watched> = HashMap::new();
    let mut buf = vec![0u8; 4096];
    let mut last_scan = None::<Instant>;
    let mut last_pss = None::<Instant>;
    let (mut rss, mut pss, mut uss) = (SumAcc::default(), SumAcc::default(), SumAcc::default());
    let mut report = SampleReport::default();
    // CPU ticks per process at the first and latest measured sample.
    let mut cpu_first: HashMap<i32, (Role, u64)> = HashMap::new();
    let mut cpu_last: HashMap<i32, (Role, u64)> = HashMap::new();
    let mut window_start = None::<Instant>;
    let mut last_cpu_point = None::<(Instant, HashMap<i32, (Role, u64)>)>;
    let mut threads_of: HashMap<i32, u64> = HashMap::new();
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if last_scan.is_none_or(|t| now - t >= Duration::from_secs(1)) {
            pids = members_by_role(&leaders.now());
            watched.retain(|pid, _| pids.iter().any(|(p, _)| p == pid));
            for &(pid, role) in &pids {
                if let std::collections::hash_map::Entry::Vacant(e) = watched.entry(pid)
                    && let Some(w) = Watched::open(pid, role)
                {
                    e.insert(w);
                }
            }
            last_scan = Some(now);
        }
        let measuring = now >= from;
        let mut rss_by_role: HashMap<Role, u64> = HashMap::new();
        let mut threads = 0;
        for (&pid, w) in &watched {
            let role = w.role;
            if let Some((bytes, ticks, n)) = w.read(&mut buf) {
                *rss_by_role.entry(role).or_default() += bytes;
                threads += n;
                if watch.is_some() {
                    threads_of.insert(pid, n);
                }
                if measuring {
                    cpu_first.entry(pid).or_insert((role, ticks));
                    cpu_last.insert(pid, (role, ticks));
                }
            }
        }
        if measuring {
            window_start.get_or_insert(now);
            rss.add(&rss_by_role);
            report.rss_samples += 1;
            report.max_processes = report.max_processes.max(pids.len());
            report.max_threads = report.max_threads.max(threads);
            if last_pss.is_none_or(|t| now - t >= pss_every) {
                let (mut p_by, mut u_by) = (HashMap::new(), HashMap::new());
                let mut glance = Glance {
                    t: now.duration_since(from).as_secs_f64(),
                    processes: Vec::new(),
                };
                for &(pid, role) in &pids {
                    if let Some((p, u)) = pss_uss(pid) {
                        *p_by.entry(role).or_default() += p;
                        *u_by.entry(role).or_default() += u;
                        if watch.is_some()
                            && let Some(w) = watched.get(&pid)
                        {
                            glance.processes.push(ProcessGlance {
                                pid,
                                role,
                                name: w.name.clone(),
                                pss_bytes: p,
                                cores: 0.0,
                                threads: threads_of.get(&pid).copied().unwrap_or(0),
                            });
                        }
                    }
                }
                pss.add(&p_by);
                uss.add(&u_by);
                report.pss_samples += 1;
                // CPU since the previous point, from each process's latest ticks.
                let at_ticks: HashMap<i32, (Role, u64)> = cpu_last.clone();
                if let Some((t0, before)) = &last_cpu_point {
                    let dt = now.duration_since(*t0).as_secs_f64();
                    let mut by_role: BTreeMap<String, f64> = BTreeMap::new();
                    for (pid, (role, ticks)) in &at_ticks {
                        let prev = before
                            .get(pid)
                            .map_or(cpu_first.get(pid).map_or(*ticks, |f| f.1), |p| p.1);
                        let cores = ticks.saturating_sub(prev) as f64 / ticks_per_sec / dt;
                        *by_role.entry(role.name().to_owned()).or_default() += cores;
                        if let Some(g) = glance.processes.iter_mut().find(|g| g.pid == *pid) {
                            g.cores = cores;
                        }
                    }
                    report.cpu_series.push(CpuPoint {
                        t: now.duration_since(from).as_secs_f64(),
                        cores_by_role: by_role,
                    });
                }
                last_cpu_point = Some((now, at_ticks));
                if let Some(w) = watch.as_mut() {
                    threads_of.retain(|pid, _| watched.contains_key(pid));
                    glance.processes.sort_by_key(|g| (g.role.order(), g.pid));
                    w(glance);
                }
                report.pss_series.push(Point {
                    t: now.duration_since(from).as_secs_f64(),
                    bytes_by_role: p_by
                        .iter()
                        .map(|(r, v): (&Role, &u64)| (r.name().to_owned(), *v))
                        .collect(),
                });
                last_pss = Some(now);
            }
        }
        next += tick;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    let elapsed = window_start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    if elapsed > 0.0 {
        for (pid, (role, last)) in &cpu_last {
            let first = cpu_first.get(pid).map_or(*last, |f| f.1);
            let cores = (last - first) as f64 / ticks_per_sec / elapsed;
            *report.cpu_cores.entry(role.name().to_owned()).or_default() += cores;
            report.cpu_cores_total += cores;
        }
    }
    report.sampler_cpu_seconds = cpu_seconds(nix::sys::resource::UsageWho::RUSAGE_THREAD);
    report.sampler_cpu_share = report.sampler_cpu_seconds / started.elapsed().as_secs_f64();
    report.rss = rss.result();
    report.pss = pss.result();
    report.uss = uss.result();
    report
}

/// djbench's own CPU while it measured one deployment, by what spent it, each from the
/// kernel's per-thread account (RUSAGE_THREAD) and the whole from the process's: the harness's
/// share of the machine it is measuring on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HarnessCpu {
    /// From the deployment's readiness to the end of the task drain.
    pub wall_seconds: f64,
    /// User + system CPU of the whole djbench process over that time.
    pub cpu_seconds: f64,
    /// The web load's generator threads, the task load's, the sampler thread, the thread that
    /// runs the scenario (readiness, drain, task accounting), and the rest of the process (the
    /// live view or the terminal's notes).
    pub web_load_seconds: f64,
    pub task_load_seconds: f64,
    pub sampler_seconds: f64,
    pub orchestration_seconds: f64,
    pub other_seconds: f64,
    /// Cores used on average: `cpu_seconds / wall_seconds`.
    pub cores: f64,
    /// The same as a share of every core of the machine (0.02 is 2%).
    pub share_of_machine: f64,
}

impl HarnessCpu {
    /// From the whole process's CPU over `wall_seconds` and its known parts; the rest is
    /// `other_seconds`.
    pub fn new(wall_seconds: f64, cpu_seconds: f64, parts: [f64; 4], machine_cores: usize) -> Self {
        let [
            web_load_seconds,
            task_load_seconds,
            sampler_seconds,
            orchestration_seconds,
        ] = parts;
        let cores = if wall_seconds > 0.0 {
            cpu_seconds / wall_seconds
        } else {
            0.0
        };
        Self {
            wall_seconds,
            cpu_seconds,
            web_load_seconds,
            task_load_seconds,
            sampler_seconds,
            orchestration_seconds,
            other_seconds: (cpu_seconds - parts.iter().sum::<f64>()).max(0.0),
            cores,
            share_of_machine: cores / machine_cores.max(1) as f64,
        }
    }
}

/// User + system CPU so far of this process (RUSAGE_SELF), the calling thread
/// (RUSAGE_THREAD) or the waited-for children (RUSAGE_CHILDREN), from the kernel's accounting.
pub fn cpu_seconds(who: nix::sys::resource::UsageWho) -> f64 {
    nix::sys::resource::getrusage(who).map_or(0.0, |u| {
        let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        tv(u.user_time()) + tv(u.system_time())
    })
}

/// ΣPSS of the given processes now, in bytes (one reading; used to cross-check with smem).
pub fn pss_now(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|&p| pss_uss(p))
        .map(|(p, _)| p)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sampler that panics (here on a rate no scenario passes validation with) reports
    /// nothing, never zeros.
    #[test]
    fn a_panicking_sampler_reports_no_figures() {
        let sampler = Sampler::start(Vec::new(), 0.0, 1.0, Instant::now());
        let e = sampler.finish().unwrap_err();
        assert!(e.starts_with("the sampler panicked: "), "{e}");
    }

    #[test]
    fn an_idle_window_with_too_few_samples_is_unknown() {
        let mut r = SampleReport {
            cpu_cores_total: 0.25,
            rss_samples: 1,
            pss_samples: 1,
            ..Default::default()
        };
        r.pss.total.peak_bytes = 64 << 20;
        // One RSS sample: CPU would read 0 cores, so it is unknown.
        assert_eq!(r.cpu_known(), None);
        assert_eq!(Idle::of(3.0, &r), None);
        r.rss_samples = 30;
        assert_eq!(
            Idle::of(3.0, &r),
            Some(Idle {
                seconds: 3.0,
                cpu_cores: 0.25,
                pss_peak_bytes: 64 << 20
            })
        );
        r.pss_samples = 0;
        assert_eq!(Idle::of(3.0, &r), None);
    }
}
