//! Where the numbers were taken.

use serde::Serialize;

/// Machine description for the JSON report.
#[derive(Clone, Debug, Serialize)]
pub struct MachineInfo {
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: Option<String>,
    /// CPUs this process may use.
    pub cores: usize,
    /// `processor` entries in /proc/cpuinfo.
    pub logical_cpus_in_cpuinfo: usize,
    /// `rustc --version`, when rustc is on the PATH.
    pub rustc: Option<String>,
    /// Kernel release.
    pub kernel: Option<String>,
    /// `release` or `debug` (numbers from a debug build are meaningless).
    pub build_profile: &'static str,
    /// 1/5/15-minute load averages when the run started.
    pub loadavg_start: Option<[f64; 3]>,
    /// Load averages when it ended (filled in by the caller).
    pub loadavg_end: Option<[f64; 3]>,
}

/// 1/5/15-minute load averages from /proc/loadavg.
pub fn loadavg() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().map(|x| x.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Collect the machine description.
pub fn machine_info() -> MachineInfo {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string());
    let logical = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    MachineInfo {
        cpu_model,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        logical_cpus_in_cpuinfo: logical,
        rustc,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
        build_profile: if cfg!(debug_assertions) { "debug" } else { "release" },
        loadavg_start: loadavg(),
        loadavg_end: None,
    }
}
