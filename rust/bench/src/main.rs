//! `lft-bench`: throughput, open-loop latency, comparison and memory benchmarks of the
//! lockfree-trading engine. Human summaries go to stderr; `--json PATH` writes a JSON
//! object. Run `lft-bench help` for the options.
#![warn(missing_docs)]

use std::process::ExitCode;
use std::time::Instant;

use lft_bench::args::Args;
use lft_bench::compare::{run_compare, CompareReport};
use lft_bench::durability::{run_durability, DurabilityReport};
use lft_bench::latency::{run_latency, LatencyReport};
use lft_bench::machine::{loadavg, machine_info, MachineInfo};
use lft_bench::memory::{replay_growth, resting_memory, BookKind};
use lft_bench::scaling::{default_workers, run_scaling, ScalingReport};
use lft_bench::statistics_cost::{run_statistics_cost, StatisticsCostReport};
use lft_bench::throughput::{run_throughput, ThroughputReport, DEFAULT_QUEUE_CAPACITY};
use lft_workload::Scenario;
use serde::Serialize;
use serde_json::{json, Value};

const USAGE: &str = "\
lft-bench COMMAND [OPTIONS]

Commands (human summary on stderr; --json PATH writes a JSON object):
  throughput [--scenarios static,normal,swing,flash-crash] [--count 2000000] [--seed 42]
             [--repeat 5] [--queue-capacity 8192]
      Closed-loop replay, one engine thread + one consumer thread over an SPSC ring
      (and the same without the consumer, for reference). Medians of --repeat runs.
  latency    [--scenario normal] [--rates 1M,...] [--count 1000000] [--seed 42]
             [--queue-capacity 8192]
      Open-loop replay at each offered rate; latency = finish time - scheduled time.
      Default rates: 1M/s plus 50% and 90% of a quick throughput pre-run.
  compare    [--scenario normal[,swing...]] [--count 1000000] [--seed 42] [--repeat 3]
      Same stream, one thread, no consumer: lft-engine vs orderbook-rs vs BTreeMap baseline.
  memory     [--quick] [--orders 1000000] [--messages 10000000] [--warmup 1000000] [--seed 42]
      Bytes per resting order (engine, baseline, orderbook-rs) and RSS growth over a
      normal-scenario replay; each measurement runs in a fresh child process.
  scaling    [--symbols 240] [--count 2000000] [--workers 1,2,...] [--repeat 3]
             [--scenario normal] [--seed 42] [--pin-workers]
      The TradingSystem with 1, 2, 4, ... workers (default up to the cores available) on a
      multi-symbol stream, uniform and Pareto-skewed activity; one driver thread hands
      each symbol's commands over in chunks of 256.
  durability [--count 1000000] [--symbols 4] [--workers 1] [--repeat 3]
             [--recovery-count 10000000] [--dir target/durability-bench] [--quick]
      TradingSystem throughput with the journal off / fsync never / interval / batch /
      always (one run, modes interleaved), single-submit ack latency per mode, fsync latency,
      snapshot capture pause and size for 1e3, 1e5, 1e6 resting orders, recovery time.
  statistics [--count 1000000] [--symbols 4] [--repeat 5] [--quick]
      TradingSystem throughput with statistics by period off and on (periods 1ms, 100ms,
      1s of the workload's engine time; runs interleaved): the worker's own time (one
      command list per symbol) and the pipelined simulate shape (with a row drainer).
      --only on|off runs one setting (for profiling).
  gateway    [--orders 200000] [--repeat 3] [--window 4096] [--rates 20k,100k]
             [--latency-orders 100000] [--quick]
      NewOrderSingles through the FIX gateway on loopback: orders/s from 1 and from 4
      pipelined sessions (at most --window unanswered each), open-loop latency (answer
      arrival - scheduled send) at each offered rate, and the share of time in parsing,
      the hand-off and the engine.
  shape      [--scenarios pub-static,...] [--count 2000000] [--seed 42] [--every 2000]
      Each stream through one book: resting orders and levels (mean and peak over samples
      every --every messages), fills, rejects, the mid's range. Default: the public shapes.
  public     [--count 2000000] [--seed 42] [--repeat 3]
      The five public-shape scenarios (pub-static ... pub-flash-crash): their shape, the
      engine with a consumer thread, the engine alone, the BTreeMap baseline and
      orderbook-rs on the same stream, and engine-with-consumer / baseline.
  all        --json PATH [--quick] [--seed 42]
      throughput (all scenarios), latency (normal), compare (worst scenario and normal),
      memory; --quick shrinks everything to well under 30 s.

Throughput and latency pin the engine thread and the consumer thread to the first two
allowed cores; --no-pin leaves them to the scheduler.

Numbers accept 1_000_000, 1e6, 1M, 500k.";

fn allowed(cmd: &str) -> &'static [&'static str] {
    match cmd {
        "throughput" => &["scenarios", "count", "seed", "repeat", "queue-capacity", "json", "no-pin"],
        "latency" => &["scenario", "rates", "count", "seed", "queue-capacity", "json", "no-pin"],
        "compare" => &["scenario", "count", "seed", "repeat", "json"],
        "memory" => &["quick", "orders", "messages", "warmup", "seed", "json", "part", "book", "levels"],
        "scaling" => &["symbols", "count", "workers", "repeat", "scenario", "seed", "json", "pin-workers"],
        "durability" => {
            &["count", "symbols", "workers", "repeat", "recovery-count", "dir", "seed", "json", "quick"]
        }
        "statistics" => &["count", "symbols", "repeat", "seed", "json", "quick", "only"],
        "gateway" => &["orders", "repeat", "window", "rates", "latency-orders", "json", "quick", "no-pin"],
        "shape" => &["scenarios", "count", "seed", "every", "json"],
        "public" => &["count", "seed", "repeat", "json", "no-pin"],
        "all" => &["json", "quick", "seed", "no-pin"],
        _ => &[],
    }
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1), allowed) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.flag("help") || matches!(args.command.as_str(), "help" | "-h" | "--help") {
        eprintln!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let pins = lft_bench::pinning::init(!args.flag("no-pin"));
    if pins.enabled {
        eprintln!(
            "pinning: engine thread on core {}, consumer on core {} (--no-pin to turn off)",
            pins.engine_core.unwrap_or_default(),
            pins.consumer_core.unwrap_or_default()
        );
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: debug build; run with `cargo run -p lft-bench --release -- ...` for real numbers"
        );
    }
    let result = match args.command.as_str() {
        "throughput" => cmd_throughput(&args),
        "latency" => cmd_latency(&args),
        "compare" => cmd_compare(&args),
        "memory" => cmd_memory(&args),
        "scaling" => cmd_scaling(&args),
        "durability" => cmd_durability(&args),
        "statistics" => cmd_statistics(&args),
        "gateway" => cmd_gateway(&args),
        "shape" => cmd_shape(&args),
        "public" => cmd_public(&args),
        "all" => cmd_all(&args),
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The JSON object every command writes (sections it did not run are left out). Typed,
/// not a `serde_json::Value`, so keys keep this order.
#[derive(Serialize)]
struct Output<'a> {
    machine: &'a MachineInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    throughput: Option<&'a ThroughputReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency: Option<&'a LatencyReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<&'a CompareReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scaling: Option<&'a ScalingReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    durability: Option<&'a DurabilityReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statistics: Option<&'a StatisticsCostReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway: Option<&'a lft_bench::gateway::GatewayReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<&'a Vec<lft_bench::shape::ShapeReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public: Option<&'a lft_bench::shape::PublicReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_seconds: Option<f64>,
}

impl<'a> Output<'a> {
    fn new(machine: &'a MachineInfo) -> Self {
        Output {
            machine,
            config: None,
            throughput: None,
            latency: None,
            compare: None,
            memory: None,
            scaling: None,
            durability: None,
            statistics: None,
            gateway: None,
            shape: None,
            public: None,
            total_seconds: None,
        }
    }
}

fn write_json<T: Serialize>(args: &Args, value: &T) -> Result<(), String> {
    if let Some(path) = args.get("json") {
        let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
        if path == "-" {
            println!("{text}");
        } else {
            std::fs::write(path, text + "\n").map_err(|e| format!("writing {path}: {e}"))?;
            eprintln!("wrote {path}");
        }
    }
    Ok(())
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("report types serialize")
}

fn one_scenario(args: &Args, default: Scenario) -> Result<Scenario, String> {
    let v = args.scenarios("scenario", &[default])?;
    match v.as_slice() {
        [s] => Ok(*s),
        _ => Err("--scenario takes exactly one scenario".into()),
    }
}

fn cmd_throughput(args: &Args) -> Result<(), String> {
    let scenarios = args.scenarios("scenarios", &Scenario::ALL)?;
    let count = args.count("count", 2_000_000)?;
    let seed = args.count("seed", 42)? as u64;
    let repeat = args.count("repeat", 5)?;
    let cap = args.count("queue-capacity", DEFAULT_QUEUE_CAPACITY)?;
    eprintln!("throughput: {count} commands per scenario, seed {seed}, median of {repeat}");
    let r = run_throughput(&scenarios, count, seed, repeat, cap);
    eprintln!(
        "  headline (worst scenario {}): {:.2} M msg/s, {:.2} M events/s",
        r.worst_scenario,
        r.headline_messages_per_s / 1e6,
        r.headline_events_per_s / 1e6
    );
    let m = machine_info();
    write_json(args, &Output { throughput: Some(&r), ..Output::new(&m) })
}

fn cmd_latency(args: &Args) -> Result<(), String> {
    let scenario = one_scenario(args, Scenario::Normal)?;
    let count = args.count("count", 1_000_000)?;
    let seed = args.count("seed", 42)? as u64;
    let cap = args.count("queue-capacity", DEFAULT_QUEUE_CAPACITY)?;
    let rates = args.numbers("rates")?;
    if rates.as_ref().is_some_and(|r| r.is_empty() || r.iter().any(|x| *x <= 0.0)) {
        return Err("--rates must list positive rates".into());
    }
    eprintln!("latency: {} {count} commands per rate, seed {seed}", scenario.name());
    let r = run_latency(scenario, count, seed, rates, cap);
    let m = machine_info();
    write_json(args, &Output { latency: Some(&r), ..Output::new(&m) })
}

fn cmd_scaling(args: &Args) -> Result<(), String> {
    let r = scaling_section(args, false)?;
    let m = machine_info();
    write_json(args, &Output { scaling: Some(&r), ..Output::new(&m) })
}

fn scaling_section(args: &Args, quick: bool) -> Result<ScalingReport, String> {
    let scenario = one_scenario(args, Scenario::Normal)?;
    let symbols = args.count("symbols", 240)?;
    if !(1..=u16::MAX as usize).contains(&symbols) {
        return Err("--symbols must be in 1..=65535".into());
    }
    let count = args.count("count", if quick { 200_000 } else { 2_000_000 })?;
    let seed = args.count("seed", 42)? as u64;
    let repeat = args.count("repeat", if quick { 1 } else { 3 })?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = match args.numbers("workers")? {
        Some(w) if w.iter().all(|&x| x >= 1.0) => w.iter().map(|&x| x as usize).collect(),
        Some(_) => return Err("--workers must list counts >= 1".into()),
        None => default_workers(cores),
    };
    let pin = args.flag("pin-workers");
    eprintln!(
        "scaling: {count} commands over {symbols} symbols ({}), workers {workers:?}, median of {repeat}, {cores} cores{}",
        scenario.name(),
        if pin { ", workers pinned" } else { "" }
    );
    Ok(run_scaling(scenario, symbols as u16, count, seed, &workers, repeat, pin))
}

fn cmd_durability(args: &Args) -> Result<(), String> {
    let r = durability_section(args, args.flag("quick"))?;
    let m = machine_info();
    write_json(args, &Output { durability: Some(&r), ..Output::new(&m) })
}

fn durability_section(args: &Args, quick: bool) -> Result<DurabilityReport, String> {
    let count = args.count("count", if quick { 200_000 } else { 1_000_000 })?;
    let symbols = args.count("symbols", 4)?.clamp(1, u16::MAX as usize) as u16;
    let workers = args.count("workers", 1)?.max(1);
    let repeat = args.count("repeat", if quick { 1 } else { 3 })?;
    let recovery = args.count("recovery-count", if quick { 1_000_000 } else { 10_000_000 })?;
    let seed = args.count("seed", 42)? as u64;
    let dir = args.get("dir").map_or_else(lft_bench::durability::default_directory, std::path::PathBuf::from);
    let sizes: &[usize] = if quick { &[1_000, 100_000] } else { &[1_000, 100_000, 1_000_000] };
    eprintln!(
        "durability: {count} commands over {symbols} symbols, {workers} worker(s), median of {repeat}; files in {}",
        dir.display()
    );
    Ok(run_durability(&dir, count, symbols, workers, repeat, recovery, seed, sizes))
}

fn cmd_gateway(args: &Args) -> Result<(), String> {
    let quick = args.flag("quick");
    let orders = args.count("orders", if quick { 20_000 } else { 200_000 })? as u64;
    let repeat = args.count("repeat", if quick { 1 } else { 3 })?.max(1);
    let window = args.count("window", 4096)?.max(1) as u64;
    let latency_orders = args.count("latency-orders", if quick { 10_000 } else { 100_000 })? as u64;
    let rates = args.numbers("rates")?.unwrap_or_else(|| vec![20_000.0, 100_000.0]);
    eprintln!("gateway: {orders} NewOrderSingles per session, median of {repeat}, window {window}");
    let r = lft_bench::gateway::run_gateway(orders, repeat, window, &rates, latency_orders);
    for t in &r.throughput {
        eprintln!(
            "  {} session(s): {:.0} orders/s ({:.2} reports per order; runs {:?})",
            t.sessions,
            t.orders_per_s,
            t.reports_per_order,
            t.runs.iter().map(|x| x.round()).collect::<Vec<_>>()
        );
    }
    for l in &r.latency {
        eprintln!(
            "  offered {:.0}/s: p50 {:.1} us, p90 {:.1}, p99 {:.1}, p99.9 {:.1}, max {:.1} ({} orders)",
            l.offered_per_s, l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us, l.orders
        );
    }
    let b = &r.breakdown;
    eprintln!(
        "  per order: gateway {:.0} ns = parse {:.0} + encode {:.0} ({:.0}%), hand-off {:.0} ({:.0}%), engine {:.0} ({:.0}%), rest {:.0}%",
        b.gateway_ns,
        b.parse_ns,
        b.encode_ns,
        b.share_codec * 100.0,
        b.hand_off_ns,
        b.share_hand_off * 100.0,
        b.engine_ns,
        b.share_engine * 100.0,
        b.share_rest * 100.0
    );
    let m = machine_info();
    write_json(args, &Output { gateway: Some(&r), ..Output::new(&m) })
}

fn cmd_statistics(args: &Args) -> Result<(), String> {
    let r = statistics_section(args, args.flag("quick"))?;
    let m = machine_info();
    write_json(args, &Output { statistics: Some(&r), ..Output::new(&m) })
}

fn statistics_section(args: &Args, quick: bool) -> Result<StatisticsCostReport, String> {
    let count = args.count("count", if quick { 200_000 } else { 1_000_000 })?;
    let symbols = args.count("symbols", 4)?.clamp(1, u16::MAX as usize) as u16;
    let repeat = args.count("repeat", if quick { 1 } else { 5 })?.max(1);
    let seed = args.count("seed", 42)? as u64;
    eprintln!("statistics: {count} commands over {symbols} symbols, one worker, median of {repeat}");
    let only = match args.get("only") {
        None => None,
        Some("on") => Some(true),
        Some("off") => Some(false),
        Some(other) => return Err(format!("--only: expected on or off, got {other:?}")),
    };
    let r = run_statistics_cost(count, symbols, repeat, seed, only);
    for m in &r.modes {
        eprintln!(
            "  {:<10} periods {:<14} off {:.2} M/s, on {:.2} M/s: on/off {:.3} ({} rows, {} level rows)",
            m.mode,
            m.periods,
            m.off_messages_per_s / 1e6,
            m.on_messages_per_s / 1e6,
            m.on_vs_off,
            m.rows,
            m.level_rows
        );
    }
    Ok(r)
}

fn cmd_shape(args: &Args) -> Result<(), String> {
    let scenarios = args.scenarios("scenarios", &Scenario::PUBLIC)?;
    let count = args.count("count", 2_000_000)?;
    let seed = args.count("seed", 42)? as u64;
    let every = args.count("every", 2_000)?.max(1);
    eprintln!("shape: {count} messages, seed {seed}, sampled every {every}");
    let reports: Vec<_> = scenarios
        .iter()
        .map(|&sc| {
            let r = lft_bench::shape::measure(sc, count, seed, every);
            eprintln!("{}", lft_bench::shape::describe(&r));
            r
        })
        .collect();
    let m = machine_info();
    write_json(args, &Output { shape: Some(&reports), ..Output::new(&m) })
}

fn public_section(args: &Args, quick: bool) -> Result<lft_bench::shape::PublicReport, String> {
    let count = args.count("count", if quick { 200_000 } else { 2_000_000 })?;
    let seed = args.count("seed", 42)? as u64;
    let repeat = args.count("repeat", if quick { 1 } else { 3 })?;
    eprintln!("public shapes: {count} messages each, seed {seed}, median of {repeat}");
    Ok(lft_bench::shape::run_public(count, seed, repeat, DEFAULT_QUEUE_CAPACITY))
}

fn cmd_public(args: &Args) -> Result<(), String> {
    let r = public_section(args, false)?;
    let m = machine_info();
    write_json(args, &Output { public: Some(&r), ..Output::new(&m) })
}

fn cmd_compare(args: &Args) -> Result<(), String> {
    let scenarios = args.scenarios("scenario", &[Scenario::Normal])?;
    let count = args.count("count", 1_000_000)?;
    let seed = args.count("seed", 42)? as u64;
    let repeat = args.count("repeat", 3)?;
    eprintln!("compare: {count} commands, seed {seed}, median of {repeat}");
    let r = run_compare(&scenarios, count, seed, repeat);
    let m = machine_info();
    write_json(args, &Output { compare: Some(&r), ..Output::new(&m) })
}

/// Memory sizes: (resting orders, replay messages, replay warm-up).
fn memory_sizes(args: &Args, quick: bool) -> Result<(usize, usize, usize), String> {
    let (o, m, w) = if quick { (100_000, 1_000_000, 100_000) } else { (1_000_000, 10_000_000, 1_000_000) };
    Ok((args.count("orders", o)?, args.count("messages", m)?, args.count("warmup", w)?))
}

/// Run one memory measurement in a fresh child process and parse the JSON it prints.
fn memory_child(extra: &[String]) -> Value {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return json!({ "error": format!("current_exe: {e}") }),
    };
    let out = std::process::Command::new(exe)
        .arg("memory")
        .args(extra)
        .args(["--json", "-"])
        .stderr(std::process::Stdio::inherit())
        .output();
    match out {
        Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| json!({ "error": format!("child output is not JSON: {e}") })),
        Ok(o) => json!({ "error": format!("child exited with {}", o.status) }),
        Err(e) => json!({ "error": format!("spawning child: {e}") }),
    }
}

fn memory_section(args: &Args, quick: bool, seed: u64) -> Result<Value, String> {
    let (orders, messages, warmup) = memory_sizes(args, quick)?;
    let mut resting = Vec::new();
    for book in ["engine", "baseline", "orderbook-rs"] {
        resting.push(memory_child(&[
            "--part".into(),
            "resting".into(),
            "--book".into(),
            book.into(),
            "--orders".into(),
            orders.to_string(),
        ]));
    }
    let replay = memory_child(&[
        "--part".into(),
        "replay".into(),
        "--messages".into(),
        messages.to_string(),
        "--warmup".into(),
        warmup.to_string(),
        "--seed".into(),
        seed.to_string(),
    ]);
    Ok(json!({ "resting": resting, "replay": replay }))
}

fn cmd_memory(args: &Args) -> Result<(), String> {
    let quick = args.flag("quick");
    let seed = args.count("seed", 42)? as u64;
    let (orders, messages, warmup) = memory_sizes(args, quick)?;
    let value = match args.get("part") {
        // Child mode: one measurement in this process.
        Some("resting") => {
            let book = BookKind::parse(args.get("book").unwrap_or("engine"))?;
            let levels = args.count("levels", 5_000)?;
            let r = resting_memory(book, orders, levels);
            eprintln!(
                "  memory resting {:<12} {} orders on {} levels/side: {:.1} bytes/order (RSS {:.1} -> {:.1} MiB, {} resting)",
                book.name(),
                r.orders,
                r.levels_per_side,
                r.bytes_per_order,
                r.rss_before as f64 / 1048576.0,
                r.rss_after as f64 / 1048576.0,
                r.resting
            );
            to_value(&r)
        }
        Some("replay") => {
            let r = replay_growth(Scenario::Normal, messages, warmup, seed);
            eprintln!(
                "  memory replay {} {} msgs: RSS {:.1} MiB before, {:.1} after {} warm-up, {:.1} at end; growth after warm-up {:.2} MiB ({:.3} B/msg); resting {} -> {}",
                r.scenario,
                r.messages,
                r.rss_before as f64 / 1048576.0,
                r.rss_after_warmup as f64 / 1048576.0,
                r.warmup,
                r.rss_after as f64 / 1048576.0,
                r.growth_after_warmup as f64 / 1048576.0,
                r.growth_bytes_per_message,
                r.resting_after_warmup,
                r.resting_after
            );
            to_value(&r)
        }
        Some(other) => return Err(format!("--part must be resting or replay, got {other:?}")),
        None => {
            eprintln!("memory: each measurement in a fresh process");
            memory_section(args, quick, seed)?
        }
    };
    match args.get("json") {
        // A child prints one compact line for its parent.
        Some("-") if args.get("part").is_some() => {
            println!("{}", serde_json::to_string(&value).map_err(|e| e.to_string())?);
            Ok(())
        }
        _ => {
            let m = machine_info();
            write_json(args, &Output { memory: Some(value), ..Output::new(&m) })
        }
    }
}

fn cmd_all(args: &Args) -> Result<(), String> {
    if args.get("json").is_none() {
        return Err("`all` needs --json PATH".into());
    }
    let quick = args.flag("quick");
    let seed = args.count("seed", 42)? as u64;
    let started = Instant::now();
    let mut machine = machine_info();
    eprintln!(
        "lft-bench all{}: cpu {:?}, {} cores, load average {:?}",
        if quick { " --quick" } else { "" },
        machine.cpu_model.as_deref().unwrap_or("?"),
        machine.cores,
        machine.loadavg_start
    );
    let (tp_count, tp_repeat, lat_count, cmp_count, cmp_repeat) =
        if quick { (200_000, 1, 200_000, 200_000, 1) } else { (2_000_000, 5, 1_000_000, 1_000_000, 3) };

    eprintln!("throughput: {tp_count} commands per scenario, median of {tp_repeat}");
    let tp = run_throughput(&Scenario::ALL, tp_count, seed, tp_repeat, DEFAULT_QUEUE_CAPACITY);
    eprintln!(
        "  headline (worst scenario {}): {:.2} M msg/s, {:.2} M events/s",
        tp.worst_scenario,
        tp.headline_messages_per_s / 1e6,
        tp.headline_events_per_s / 1e6
    );

    eprintln!("latency: normal, {lat_count} commands per rate");
    let lat = run_latency(Scenario::Normal, lat_count, seed, None, DEFAULT_QUEUE_CAPACITY);

    let worst: Scenario = tp.worst_scenario.parse().map_err(|e: String| e)?;
    let mut cmp_scenarios = vec![worst];
    if worst != Scenario::Normal {
        cmp_scenarios.push(Scenario::Normal);
    }
    eprintln!("compare: {cmp_count} commands, median of {cmp_repeat}");
    let cmp = run_compare(&cmp_scenarios, cmp_count, seed, cmp_repeat);

    eprintln!("memory: each measurement in a fresh process");
    let mem = memory_section(args, quick, seed)?;

    let scaling = scaling_section(args, quick)?;

    let durability = durability_section(args, quick)?;

    let statistics = statistics_section(args, quick)?;

    let public = public_section(args, quick)?;

    machine.loadavg_end = loadavg();
    let total = started.elapsed().as_secs_f64();
    eprintln!("all done in {total:.1} s; load average at end {:?}", machine.loadavg_end);
    let config = json!({
        "quick": quick,
        "seed": seed,
        "queue_capacity": DEFAULT_QUEUE_CAPACITY,
        "pinning": to_value(&lft_bench::pinning::plan()),
        "throughput_count": tp_count,
        "throughput_repeat": tp_repeat,
        "latency_count": lat_count,
        "compare_count": cmp_count,
        "compare_repeat": cmp_repeat,
    });
    write_json(
        args,
        &Output {
            config: Some(config),
            throughput: Some(&tp),
            latency: Some(&lat),
            compare: Some(&cmp),
            memory: Some(mem),
            scaling: Some(&scaling),
            durability: Some(&durability),
            statistics: Some(&statistics),
            public: Some(&public),
            total_seconds: Some(total),
            ..Output::new(&machine)
        },
    )
}
