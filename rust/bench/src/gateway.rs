//! `lft-bench gateway`: NewOrderSingles through the FIX gateway on loopback.
//!
//! - Throughput: 1 and 4 sessions, each a writer thread that sends pre-encoded orders as fast
//!   as the gateway takes them (at most `window` unanswered) and a reader thread that counts
//!   the answers (the first ExecutionReport of each order: New or Rejected) and every other
//!   report. Orders/s = orders / (last answer - first send).
//! - Latency: one session at a fixed offered rate; each order has a scheduled send time, and
//!   its latency is its answer's arrival minus that time, so a stall delays every order
//!   scheduled during it (no coordinated omission).
//! - Where the time goes, measured in this process on the same orders: decoding and reading
//!   a NewOrderSingle, the engine alone (`BookWriter::submit`), the hand-off (the system's
//!   queue and reply, pipelined like the gateway, minus the engine), and encoding the
//!   reports; the rest of the gateway's time per order is the sockets and the scheduling of
//!   client and server threads on the same cores.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lft_engine::system::{Request, SymbolSpec, SystemConfig, TradingSystem};
use lft_engine::{BookConfig, BookWriter, Decimal, Scale};
use lft_gateway::codec::{decode, Decoded, Limits, MessageBuilder};

use lft_gateway::orders::new_order_single;
use lft_gateway::reports::{execution_report, ExecType, OrderState, Report};
use lft_gateway::server::{Gateway, GatewayConfig};
use lft_gateway::session::{Session, SessionConfig};
use serde::Serialize;

const SYMBOL: &str = "BENCH";

/// Throughput with some number of sessions.
#[derive(Debug, Serialize)]
pub struct ThroughputRow {
    /// FIX sessions sending at once.
    pub sessions: usize,
    /// NewOrderSingles sent in all.
    pub orders: u64,
    /// Median orders answered per second.
    pub orders_per_s: f64,
    /// ExecutionReports received per order (acks, fills, rejects).
    pub reports_per_order: f64,
    /// Each run's orders/s.
    pub runs: Vec<f64>,
}

/// Open-loop latency at one offered rate.
#[derive(Debug, Serialize)]
pub struct LatencyRow {
    /// Orders per second offered (one session).
    pub offered_per_s: f64,
    /// Orders measured.
    pub orders: u64,
    /// Percentiles of answer time minus scheduled send time, microseconds.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest.
    pub max_us: f64,
}

/// Nanoseconds per order in each stage, measured in-process.
#[derive(Debug, Serialize)]
pub struct Breakdown {
    /// Decoding the frame and reading the NewOrderSingle into an engine order.
    pub parse_ns: f64,
    /// The engine alone (one book, one thread).
    pub engine_ns: f64,
    /// The system's queue, worker wake-up and reply, pipelined (minus the engine).
    pub hand_off_ns: f64,
    /// Encoding the order's ExecutionReports (as many as the workload produces per order).
    pub encode_ns: f64,
    /// The gateway's whole time per order with one session (1e9 / orders per second).
    pub gateway_ns: f64,
    /// Shares of `gateway_ns`: parse + encode, hand-off, engine, the rest (sockets, threads).
    pub share_codec: f64,
    /// See above.
    pub share_hand_off: f64,
    /// See above.
    pub share_engine: f64,
    /// See above.
    pub share_rest: f64,
}

/// What `lft-bench gateway` measured.
#[derive(Debug, Serialize)]
pub struct GatewayReport {
    /// Orders per session per run.
    pub orders_per_session: u64,
    /// Unanswered orders a session may have at most.
    pub window: u64,
    /// 1 and 4 sessions.
    pub throughput: Vec<ThroughputRow>,
    /// At fixed offered rates.
    pub latency: Vec<LatencyRow>,
    /// Where the time goes.
    pub breakdown: Breakdown,
}

fn scale() -> Scale {
    Scale::new(Decimal::new(1, 2), Decimal::new(1, 3)).expect("scale")
}

fn system() -> Arc<TradingSystem> {
    let book = BookConfig::new(SYMBOL, Decimal::new(1, 2), Decimal::new(1, 3)).expect("book");
    let mut cfg = SystemConfig::with_symbols(vec![SymbolSpec::new(book)]);
    cfg.threads = 1;
    Arc::new(TradingSystem::start(cfg).expect("system"))
}

fn comp_id(k: usize) -> String {
    format!("B{k}")
}

fn gateway(system: Arc<TradingSystem>, sessions: usize) -> Gateway {
    let config = GatewayConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        sessions: (0..sessions)
            .map(|k| SessionConfig {
                our_comp_id: "LFT".into(),
                their_comp_id: comp_id(k),
                password: None,
                heartbeat_range: (1, 120),
            })
            .collect(),
        limits: Limits::default(),
        max_connections: 64,
        logon_timeout: Duration::from_secs(5),
        max_messages_per_second: u32::MAX,
        state_directory: None,
    };
    Gateway::start(system, config).expect("gateway")
}

/// A small deterministic generator (xorshift), so every run sends the same orders.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The `i`-th order of a stream: limit orders around 100.00 (both sides over the same 20
/// ticks, so about half of them trade), 1 in 8 IOC.
fn order_fields(i: u64, rng: &mut Rng) -> (char, String, String, char) {
    let r = rng.next();
    let side = if r & 1 == 0 { '1' } else { '2' };
    let price = format!("{:.2}", 100.0 + ((r >> 8) % 21) as f64 * 0.01 - 0.10);
    let qty = format!("{}", 1 + (r >> 20) % 5);
    let tif = if i % 8 == 7 { '3' } else { '1' };
    (side, price, qty, tif)
}

fn new_order_bytes(sender: &str, seq: u64, i: u64, rng: &mut Rng) -> Vec<u8> {
    let (side, price, qty, tif) = order_fields(i, rng);
    let mut b = MessageBuilder::new("D");
    b.field(49, sender)
        .field(56, "LFT")
        .field(34, seq)
        .field(52, "20261202-10:00:00.000")
        .field(11, i)
        .field(55, SYMBOL)
        .field(54, side)
        .field(60, "20261202-10:00:00.000")
        .field(38, qty)
        .field(40, '2')
        .field(44, price)
        .field(59, tif);
    b.finish()
}

fn admin(sender: &str, msg_type: &str, seq: u64, extra: &[(u32, &str)]) -> Vec<u8> {
    let mut b = MessageBuilder::new(msg_type);
    b.field(49, sender).field(56, "LFT").field(34, seq).field(52, "20261202-10:00:00.000");
    for (t, v) in extra {
        b.field(*t, v);
    }
    b.finish()
}

/// The value of `tag` in one framed message (a scan for `SOH tag=`; no field table).
fn find_tag<'a>(msg: &'a [u8], tag: &[u8]) -> Option<&'a [u8]> {
    let mut i = 0;
    while let Some(p) = msg[i..].iter().position(|&b| b == 1) {
        let start = i + p + 1;
        let rest = &msg[start..];
        if rest.len() > tag.len() && rest.starts_with(tag) && rest[tag.len()] == b'=' {
            let v = &rest[tag.len() + 1..];
            let end = v.iter().position(|&b| b == 1).unwrap_or(v.len());
            return Some(&v[..end]);
        }
        i = start;
    }
    None
}

/// The length of the whole message at the front of `buf` (from its BodyLength), if all there.
fn frame_len(buf: &[u8]) -> Option<usize> {
    // 8=FIX.4.4 SOH 9=<n> SOH <body> 10=ccc SOH
    let after = buf.get(12..)?;
    let end = after.iter().position(|&b| b == 1)?;
    let body: usize = std::str::from_utf8(&after[..end]).ok()?.parse().ok()?;
    let total = 12 + end + 1 + body + 7;
    (buf.len() >= total).then_some(total)
}

/// Read whole messages from `stream` into `f(msg_type, exec_type, cl_ord_id)` until it
/// returns false. The load generator's own parsing is kept light (it shares the cores).
fn read_messages(stream: &mut TcpStream, mut f: impl FnMut(&[u8], Option<&[u8]>, Option<&[u8]>) -> bool) {
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        while let Some(len) = frame_len(&buf[used..]) {
            let msg = &buf[used..used + len];
            used += len;
            let msg_type = find_tag(msg, b"35").unwrap_or_default();
            let (exec, cl) =
                if msg_type == b"8" { (find_tag(msg, b"150"), find_tag(msg, b"11")) } else { (None, None) };
            if !f(msg_type, exec, cl) {
                return;
            }
        }
        buf.drain(..used);
    }
}

fn logon(addr: std::net::SocketAddr, sender: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.write_all(&admin(sender, "A", 1, &[(98, "0"), (108, "30")])).expect("logon");
    read_messages(&mut s, |t, _, _| t != b"A");
    s
}

/// One session's run: (orders answered, reports received, first send, last answer).
fn run_session(
    addr: std::net::SocketAddr,
    k: usize,
    orders: u64,
    window: u64,
    schedule: Option<(Instant, f64)>,
    latency: Option<&mut Histogram<u64>>,
) -> (u64, u64, Instant, Instant) {
    let sender = comp_id(k);
    let stream = logon(addr, &sender);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (k as u64 + 1));
    let messages: Vec<Vec<u8>> = (0..orders).map(|i| new_order_bytes(&sender, i + 2, i, &mut rng)).collect();
    let answered = Arc::new(AtomicU64::new(0));
    let mut writer = stream.try_clone().expect("clone");
    let (answered_w, sender_w) = (Arc::clone(&answered), sender.clone());
    let started = Instant::now();
    let write = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(64 * 1024);
        let mut i = 0u64;
        while i < orders {
            match schedule {
                Some((start, rate)) => {
                    // Open loop, like wrk2: every order whose time has come goes out now (in
                    // one write), then a short sleep; an order's latency counts from its
                    // scheduled time, so the sender's own lateness is charged too.
                    let now = Instant::now();
                    batch.clear();
                    while i < orders && start + Duration::from_secs_f64(i as f64 / rate) <= now {
                        batch.extend_from_slice(&messages[i as usize]);
                        i += 1;
                    }
                    if batch.is_empty() {
                        // Sleep while the next order is far (timer slack makes short sleeps
                        // long), then yield the core until it is due.
                        let next = start + Duration::from_secs_f64(i as f64 / rate);
                        let gap = next.saturating_duration_since(now);
                        if gap > Duration::from_micros(200) {
                            std::thread::sleep(gap - Duration::from_micros(150));
                        } else {
                            std::thread::yield_now();
                        }
                    } else {
                        writer.write_all(&batch).expect("send");
                    }
                }
                None => {
                    // Window full: sleep rather than spin, the gateway needs the cores.
                    while i - answered_w.load(Ordering::Acquire) >= window {
                        std::thread::sleep(Duration::from_micros(20));
                    }
                    let room = window - (i - answered_w.load(Ordering::Acquire));
                    batch.clear();
                    let end = (i + room.min(64)).min(orders);
                    for m in &messages[i as usize..end as usize] {
                        batch.extend_from_slice(m);
                    }
                    writer.write_all(&batch).expect("send");
                    i = end;
                }
            }
        }
        writer.write_all(&admin(&sender_w, "5", orders + 2, &[])).expect("logout");
    });
    let mut reader = stream;
    let (mut answers, mut reports) = (0u64, 0u64);
    let mut last = Instant::now();
    let mut hist = latency;
    read_messages(&mut reader, |t, exec, cl| {
        if t == b"8" {
            reports += 1;
            if matches!(exec, Some(b"0") | Some(b"8")) {
                answers += 1;
                answered.store(answers, Ordering::Release);
                last = Instant::now();
                if let (Some(h), Some((start, rate)), Some(cl)) = (hist.as_deref_mut(), schedule, cl) {
                    let i: u64 = std::str::from_utf8(cl).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    let _ = h.record(last.saturating_duration_since(due).as_nanos() as u64);
                }
            }
        }
        t != b"5"
    });
    write.join().expect("writer");
    (answers, reports, started, last)
}

fn throughput(sessions: usize, orders: u64, window: u64) -> (f64, f64) {
    let sys = system();
    let gw = gateway(Arc::clone(&sys), sessions);
    let addr = gw.local_addr;
    let runs: Vec<_> = (0..sessions)
        .map(|k| std::thread::spawn(move || run_session(addr, k, orders, window, None, None)))
        .collect();
    let results: Vec<_> = runs.into_iter().map(|h| h.join().expect("session")).collect();
    drop(gw);
    let answered: u64 = results.iter().map(|r| r.0).sum();
    let reports: u64 = results.iter().map(|r| r.1).sum();
    let first = results.iter().map(|r| r.2).min().expect("a session");
    let last = results.iter().map(|r| r.3).max().expect("a session");
    assert_eq!(answered, orders * sessions as u64, "every order answered");
    (answered as f64 / (last - first).as_secs_f64(), reports as f64 / answered as f64)
}

fn latency(rate: f64, orders: u64) -> LatencyRow {
    let sys = system();
    let gw = gateway(Arc::clone(&sys), 1);
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
    let start = Instant::now() + Duration::from_millis(50);
    run_session(gw.local_addr, 0, orders, u64::MAX, Some((start, rate)), Some(&mut h));
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
    LatencyRow {
        offered_per_s: rate,
        orders: h.len(),
        p50_us: us(0.5),
        p90_us: us(0.9),
        p99_us: us(0.99),
        p999_us: us(0.999),
        max_us: h.max() as f64 / 1e3,
    }
}

fn breakdown(orders: u64, gateway_ns: f64, reports_per_order: f64) -> Breakdown {
    let sc = scale();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ 1);
    let messages: Vec<Vec<u8>> = (0..orders).map(|i| new_order_bytes("B0", i + 2, i, &mut rng)).collect();
    let limits = Limits::default();
    // Parse.
    let t = Instant::now();
    let mut parsed = Vec::with_capacity(messages.len());
    for m in &messages {
        if let Decoded::Message(msg, _) = decode(m, &limits) {
            parsed.push(new_order_single(&msg, |_| Some(sc), 0).expect("valid order").order);
        }
    }
    let parse_ns = t.elapsed().as_nanos() as f64 / orders as f64;
    for (i, o) in parsed.iter_mut().enumerate() {
        o.id = i as u128 + 1;
    }
    // Engine alone.
    let mut book = BookWriter::new(SYMBOL, Decimal::new(1, 2), Decimal::new(1, 3)).expect("book");
    let t = Instant::now();
    for o in &parsed {
        let _ = book.submit(o);
    }
    let engine_ns = t.elapsed().as_nanos() as f64 / orders as f64;
    // Through the system, pipelined in rounds like the gateway's.
    let sys = system();
    let t = Instant::now();
    for chunk in parsed.chunks(64) {
        let pending: Vec<_> =
            chunk.iter().map(|o| sys.send(0, Request::New(*o), true, None).expect("queued")).collect();
        for p in pending {
            let _ = p.wait();
        }
    }
    let system_ns = t.elapsed().as_nanos() as f64 / orders as f64;
    // Encode.
    let cfg = SessionConfig {
        our_comp_id: "LFT".into(),
        their_comp_id: "B0".into(),
        password: None,
        heartbeat_range: (1, 120),
    };
    let mut session = Session::new(cfg, 1, 1, 0);
    let state = OrderState::new(12345, "123", SYMBOL, lft_engine::Side::Buy, 3000, Some(10_000));
    let report = Report {
        exec_type: ExecType::New,
        status: lft_engine::OrderStatus::New,
        leaves: 3000,
        last: None,
        exec_id: "BENCH:1".into(),
        ord_rej_reason: None,
        text: None,
    };
    let t = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..orders {
        bytes += execution_report(&mut session, 0, &sc, &state, &report).len();
    }
    std::hint::black_box(bytes);
    let encode_ns = t.elapsed().as_nanos() as f64 / orders as f64 * reports_per_order;
    let hand_off_ns = (system_ns - engine_ns).max(0.0);
    let share = |x: f64| x / gateway_ns;
    let rest = (gateway_ns - parse_ns - encode_ns - hand_off_ns - engine_ns).max(0.0);
    Breakdown {
        parse_ns,
        engine_ns,
        hand_off_ns,
        encode_ns,
        gateway_ns,
        share_codec: share(parse_ns + encode_ns),
        share_hand_off: share(hand_off_ns),
        share_engine: share(engine_ns),
        share_rest: share(rest),
    }
}

/// Run the gateway benchmark: `orders` per session, median of `repeat`, latency at `rates`.
pub fn run_gateway(
    orders: u64,
    repeat: usize,
    window: u64,
    rates: &[f64],
    latency_orders: u64,
) -> GatewayReport {
    let mut rows = Vec::new();
    for sessions in [1usize, 4] {
        let mut runs = Vec::new();
        let mut per_order = 0.0;
        for _ in 0..repeat {
            let (rate, rpo) = throughput(sessions, orders, window);
            runs.push(rate);
            per_order = rpo;
        }
        rows.push(ThroughputRow {
            sessions,
            orders: orders * sessions as u64,
            orders_per_s: crate::stats::median(runs.clone()),
            reports_per_order: per_order,
            runs,
        });
    }
    let lat = rates
        .iter()
        .map(|&r| latency(r, latency_orders.max((r * 0.5) as u64).min(latency_orders * 4)))
        .collect();
    let one = &rows[0];
    let bd = breakdown(orders.min(200_000), 1e9 / one.orders_per_s, one.reports_per_order);
    GatewayReport { orders_per_session: orders, window, throughput: rows, latency: lat, breakdown: bd }
}
