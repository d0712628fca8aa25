//! The HTTP admin API over loopback TCP: every endpoint, the refusals (404, 405, 400, 413,
//! 431, 505), the limits (head size, slowloris, connections, keep-alive), garbage, and the
//! Prometheus exposition checked line by line (and by `promtool check metrics` when
//! `make promtool` has fetched it).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lft_engine::stats::{StatsConfig, StatsPeriod};
use lft_engine::system::{Request, SymbolSpec, SystemConfig, TradingSystem};
use lft_engine::{BookConfig, Decimal, NewOrder, Side};
use lft_gateway::admin::{AdminConfig, AdminServer};
use lft_gateway::codec::Limits;
use lft_gateway::server::{Gateway, GatewayConfig};
use lft_gateway::session::SessionConfig;

fn system_with(names: &[&str], statistics: bool) -> Arc<TradingSystem> {
    let specs = names
        .iter()
        .map(|n| SymbolSpec::new(BookConfig::new(*n, Decimal::new(1, 2), Decimal::new(1, 3)).unwrap()))
        .collect();
    let mut cfg = SystemConfig::with_symbols(specs);
    cfg.threads = 1;
    if statistics {
        cfg.statistics = Some(StatsConfig {
            periods: vec![StatsPeriod { name: "1s".into(), nanos: 1_000_000_000 }],
            ..StatsConfig::default()
        });
    }
    Arc::new(TradingSystem::start(cfg).unwrap())
}

fn config() -> AdminConfig {
    AdminConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_connections: 4,
        max_head_bytes: 1024,
        max_headers: 16,
        request_timeout: Duration::from_millis(400),
        max_requests_per_connection: 3,
        max_depth: 50,
    }
}

fn server(system: &Arc<TradingSystem>) -> AdminServer {
    AdminServer::start(Arc::clone(system), config(), None).unwrap()
}

fn order(id: u128, side: Side, price: i64, qty: i64) -> Request {
    Request::New(NewOrder::limit(id, side, price, qty, 1))
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s
}

/// Read one response (by its Content-Length; `head_only` for HEAD) from `buf` + the stream.
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>, head_only: bool) -> Option<Response> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).unwrap();
            let mut lines = head.split("\r\n");
            let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
            let headers: HashMap<String, String> = lines
                .map(|l| {
                    let (k, v) = l.split_once(':').unwrap();
                    (k.to_ascii_lowercase(), v.trim().to_string())
                })
                .collect();
            let len: usize = if head_only { 0 } else { headers["content-length"].parse().unwrap() };
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8(buf[end + 4..end + 4 + len].to_vec()).unwrap();
            buf.drain(..end + 4 + len);
            return Some(Response { status, headers, body });
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn get_on(s: &mut TcpStream, method: &str, target: &str) -> Response {
    write!(s, "{method} {target} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    read_response(s, &mut Vec::new(), method == "HEAD").expect("a response")
}

fn get(addr: SocketAddr, target: &str) -> Response {
    get_on(&mut connect(addr), "GET", target)
}

/// Whether the server closed the connection (EOF or reset) within `within`.
fn closed(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut b = [0u8; 4096];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn health_symbols_and_book_answer_json() {
    let system = system_with(&["BTC-USD", "ETH-USD"], false);
    let admin = server(&system);
    system.execute(0, order(1, Side::Buy, 10_000, 1500), false).unwrap();
    system.execute(0, order(2, Side::Buy, 9_990, 2), false).unwrap();
    system.execute(0, order(3, Side::Buy, 10_000, 5), false).unwrap();
    system.execute(0, order(4, Side::Sell, 10_025, 7), false).unwrap();

    let h = get(admin.local_addr, "/health");
    assert_eq!(h.status, 200);
    assert_eq!(h.headers["content-type"], "application/json");
    assert!(h.headers["date"].ends_with(" GMT"));
    assert!(
        h.body.starts_with(r#"{"status":"ok","symbols":2,"workers":1,"halted":[],"uptime_seconds":"#),
        "{}",
        h.body
    );

    let s = get(admin.local_addr, "/symbols");
    assert_eq!(s.status, 200);
    assert!(
        s.body.contains(
            r#"{"name":"BTC-USD","index":0,"worker":0,"tick_size":"0.01","lot_size":"0.001","best_bid":"100.00","best_ask":"100.25","resting_orders":4,"#
        ),
        "{}",
        s.body
    );
    assert!(s.body.contains(r#""commands":4,"trades":0,"rejects":0,"halted":null}"#), "{}", s.body);
    assert!(s.body.contains(r#""name":"ETH-USD","index":1,"worker":0,"tick_size":"0.01","lot_size":"0.001","best_bid":null,"best_ask":null,"resting_orders":0"#));

    let b = get(admin.local_addr, "/book/BTC-USD?depth=1");
    assert_eq!(b.status, 200);
    assert_eq!(
        b.body,
        format!(
            r#"{{"symbol":"BTC-USD","sequence":{},"depth":1,"bids":[{{"price":"100.00","quantity":"1.505","order_count":2}}],"asks":[{{"price":"100.25","quantity":"0.007","order_count":1}}]}}"#,
            system.book(0).unwrap().sequence()
        )
    );
    let b = get(admin.local_addr, "/book/BTC-USD");
    assert!(b.body.contains(r#""depth":10,"bids":[{"price":"100.00","quantity":"1.505","order_count":2},{"price":"99.90","quantity":"0.002","order_count":1}]"#), "{}", b.body);
    // Percent-encoded names, unknown parameters ignored.
    assert_eq!(get(admin.local_addr, "/book/BTC%2DUSD?x=1&depth=2").status, 200);
    let i = get(admin.local_addr, "/");
    assert_eq!(i.status, 200);
    assert!(i.body.contains("/metrics"));
}

#[test]
fn refusals_have_their_status_and_a_json_error() {
    let system = system_with(&["BTC-USD"], false);
    let admin = server(&system);
    let a = admin.local_addr;
    for (target, status, text) in [
        ("/nope", 404, "no such resource"),
        ("/book/", 404, "no such resource"),
        ("/book/a/b", 404, "no such resource"),
        ("/book/DOGE", 404, "unknown symbol \\\"DOGE\\\""),
        ("/book/BTC-USD?depth=0", 400, "depth"),
        ("/book/BTC-USD?depth=51", 400, "from 1 to 50"),
        ("/book/BTC-USD?depth=-1", 400, "depth"),
        ("/book/BTC-USD?depth=abc", 400, "depth"),
        ("/book/BTC-USD?depth=99999999999999999999999", 400, "depth"),
        ("/book/%ZZ", 400, "percent"),
        ("/book/%FF", 400, "percent"),
    ] {
        let r = get(a, target);
        assert_eq!(r.status, status, "{target}: {r:?}");
        assert_eq!(r.headers["content-type"], "application/json");
        assert!(r.body.starts_with("{\"error\":\"") && r.body.contains(text), "{target}: {}", r.body);
    }
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"] {
        let r = get_on(&mut connect(a), method, "/health");
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.headers["allow"], "GET, HEAD");
    }
    // A body: refused and closed.
    let mut s = connect(a);
    s.write_all(b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd").unwrap();
    let r = read_response(&mut s, &mut Vec::new(), false).unwrap();
    assert_eq!((r.status, r.headers["connection"].as_str()), (413, "close"));
    assert!(closed(&mut s, Duration::from_secs(2)));
    for (raw, status) in [
        (&b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..], 413),
        (b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"GET /health HTTP/1.1\r\n\r\n", 400),
        (b"GET /health\r\n\r\n", 400),
        (b"GET health HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", 400),
    ] {
        let mut s = connect(a);
        s.write_all(raw).unwrap();
        let r = read_response(&mut s, &mut Vec::new(), false).unwrap();
        assert_eq!(r.status, status, "{:?}", String::from_utf8_lossy(raw));
        assert!(closed(&mut s, Duration::from_secs(2)));
    }
    // HEAD: the headers of GET, no body.
    let mut s = connect(a);
    let h = get_on(&mut s, "HEAD", "/metrics");
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    assert!(h.headers["content-length"].parse::<usize>().unwrap() > 100);
    let g = get_on(&mut s, "GET", "/health");
    assert_eq!(g.status, 200);
    assert_eq!(admin.counters.bad_requests.load(std::sync::atomic::Ordering::Relaxed), 7);
}

#[test]
fn an_oversized_head_gets_431_and_the_server_goes_on() {
    let system = system_with(&["BTC-USD"], false);
    let admin = server(&system);
    let mut s = connect(admin.local_addr);
    let mut big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Fill: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 4000));
    big.extend_from_slice(b"\r\n\r\n");
    s.write_all(&big).unwrap();
    let r = read_response(&mut s, &mut Vec::new(), false).unwrap();
    assert_eq!(r.status, 431);
    assert!(r.body.contains("longer than 1024 bytes"));
    assert!(closed(&mut s, Duration::from_secs(2)));
    // Without an end of head at all (a flood): 431 as soon as the limit is passed.
    let mut s = connect(admin.local_addr);
    let _ = s.write_all(&vec![b'x'; 100_000]);
    assert_eq!(read_response(&mut s, &mut Vec::new(), false).unwrap().status, 431);
    // Too many header fields.
    let mut s = connect(admin.local_addr);
    let mut many = String::from("GET /health HTTP/1.1\r\nHost: x\r\n");
    for i in 0..20 {
        many.push_str(&format!("X-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    s.write_all(many.as_bytes()).unwrap();
    let r = read_response(&mut s, &mut Vec::new(), false).unwrap();
    assert_eq!(r.status, 431);
    assert!(r.body.contains("more than 16 header fields"));
    assert_eq!(get(admin.local_addr, "/health").status, 200);
}

#[test]
fn a_slowloris_connection_is_closed() {
    let system = system_with(&["BTC-USD"], false);
    let admin = server(&system);
    let started = Instant::now();
    let mut s = connect(admin.local_addr);
    s.write_all(b"GET /health HTTP/1.1\r\nHo").unwrap();
    // Trickle: a byte every 100 ms does not extend the deadline.
    for b in b"st: x" {
        std::thread::sleep(Duration::from_millis(100));
        if s.write_all(&[*b]).is_err() {
            break;
        }
    }
    assert!(closed(&mut s, Duration::from_secs(3)));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(350) && took < Duration::from_secs(2), "{took:?}");
    // An idle keep-alive connection too.
    let mut s = connect(admin.local_addr);
    assert_eq!(get_on(&mut s, "GET", "/health").status, 200);
    assert!(closed(&mut s, Duration::from_secs(3)));
    // A silent one.
    let mut s = connect(admin.local_addr);
    assert!(closed(&mut s, Duration::from_secs(3)));
    assert!(admin.counters.timeouts.load(std::sync::atomic::Ordering::Relaxed) >= 3);
    assert_eq!(get(admin.local_addr, "/health").status, 200);
}

#[test]
fn keep_alive_is_bounded_and_pipelining_is_answered_in_order() {
    let system = system_with(&["BTC-USD"], false);
    let admin = server(&system);
    let mut s = connect(admin.local_addr);
    let mut buf = Vec::new();
    // Three requests in one write: answered in order; the third (the limit) closes.
    s.write_all(
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /symbols HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    let r1 = read_response(&mut s, &mut buf, false).unwrap();
    let r2 = read_response(&mut s, &mut buf, false).unwrap();
    let r3 = read_response(&mut s, &mut buf, false).unwrap();
    assert_eq!((r1.status, r2.status, r3.status), (200, 404, 200));
    assert_eq!(r1.headers["connection"], "keep-alive");
    assert_eq!(r3.headers["connection"], "close");
    assert!(r3.body.starts_with("{\"symbols\":["));
    assert!(closed(&mut s, Duration::from_secs(2)));
    // `Connection: close` and HTTP/1.0 without keep-alive close after the answer.
    for raw in [
        &b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        b"GET /health HTTP/1.0\r\n\r\n",
    ] {
        let mut s = connect(admin.local_addr);
        s.write_all(raw).unwrap();
        let r = read_response(&mut s, &mut Vec::new(), false).unwrap();
        assert_eq!((r.status, r.headers["connection"].as_str()), (200, "close"));
        assert!(closed(&mut s, Duration::from_secs(1)));
    }
    // A request split across writes.
    let mut s = connect(admin.local_addr);
    for part in [&b"GET /hea"[..], b"lth HTTP/1.1\r", b"\nHost: x\r\n", b"\r\n"] {
        s.write_all(part).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(read_response(&mut s, &mut Vec::new(), false).unwrap().status, 200);
}

#[test]
fn connections_beyond_the_limit_are_closed() {
    let system = system_with(&["BTC-USD"], false);
    let cfg = AdminConfig { request_timeout: Duration::from_secs(10), ..config() };
    let admin = AdminServer::start(Arc::clone(&system), cfg, None).unwrap();
    let mut held: Vec<TcpStream> = (0..4).map(|_| connect(admin.local_addr)).collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut extra: Vec<TcpStream> = (0..6).map(|_| connect(admin.local_addr)).collect();
    for s in &mut extra {
        assert!(closed(s, Duration::from_secs(2)));
    }
    assert_eq!(admin.counters.refused_connections.load(std::sync::atomic::Ordering::Relaxed), 6);
    for s in &mut held {
        assert_eq!(get_on(s, "GET", "/health").status, 200);
    }
    drop(held);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(get(admin.local_addr, "/health").status, 200);
}

#[test]
fn garbage_never_takes_the_server_down() {
    let system = system_with(&["BTC-USD"], false);
    let admin = server(&system);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..30 {
        let mut s = connect(admin.local_addr);
        let len = (next() % 3000) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 3 == 0 {
            // Something that looks like a head, with random bytes in it.
            let mut head = b"GET /book/".to_vec();
            head.extend(bytes.iter().take(40));
            head.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
            bytes = head;
        } else if round % 3 == 1 {
            bytes.extend_from_slice(b"\r\n\r\n");
        }
        let _ = s.write_all(&bytes);
        // Answered (any status) and/or closed; never hung open past the timeout.
        let mut buf = Vec::new();
        let _ = read_response(&mut s, &mut buf, false);
        assert!(closed(&mut s, Duration::from_secs(2)) || round % 3 == 0, "round {round}");
    }
    assert_eq!(get(admin.local_addr, "/health").status, 200);
}

#[test]
fn health_degrades_when_a_symbol_halts() {
    let system = system_with(&["BTC-USD", "ETH-USD"], false);
    let admin = server(&system);
    let _ = system.execute(1, Request::InjectPanic, false);
    let h = get(admin.local_addr, "/health");
    assert_eq!(h.status, 503);
    assert!(
        h.body.starts_with(
            r#"{"status":"degraded","symbols":2,"workers":1,"halted":[{"symbol":"ETH-USD","reason":""#
        ),
        "{}",
        h.body
    );
    let m = get(admin.local_addr, "/metrics").body;
    assert!(m.contains("lft_symbol_halted{symbol=\"ETH-USD\"} 1\n"));
    assert!(m.contains("lft_symbol_halted{symbol=\"BTC-USD\"} 0\n"));
}

// ------------------------------------------------------------------ Prometheus

/// A sample line: name, labels, value.
fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let name_end = line.find(['{', ' ']).expect("a name");
    let name = &line[..name_end];
    assert!(
        name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad name in {line:?}"
    );
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let mut chars = r.char_indices().peekable();
        loop {
            let (start, _) = *chars.peek().expect("labels end");
            if r[start..].starts_with('}') {
                rest = &r[start + 1..];
                break;
            }
            let eq = r[start..].find("=\"").expect("label=\"") + start;
            let lname = r[start..eq].to_string();
            assert!(lname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{lname:?}");
            while chars.peek().is_some_and(|&(i, _)| i <= eq + 1) {
                chars.next();
            }
            let mut value = String::new();
            loop {
                let (_, c) = chars.next().expect("closing quote");
                match c {
                    '\\' => match chars.next().expect("escape").1 {
                        'n' => value.push('\n'),
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        other => panic!("bad escape \\{other} in {line:?}"),
                    },
                    '"' => break,
                    '\n' => panic!("raw newline"),
                    c => value.push(c),
                }
            }
            labels.push((lname, value));
            if chars.peek().is_some_and(|&(_, c)| c == ',') {
                chars.next();
            }
        }
    }
    let value = rest.strip_prefix(' ').expect("a space before the value");
    assert!(!value.contains(' '), "a timestamp or junk in {line:?}");
    let v = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    (name.to_string(), labels, v)
}

/// Check the exposition like a scraper would; returns `name{labels}` -> value.
fn check_exposition(text: &str) -> HashMap<String, f64> {
    assert!(text.ends_with('\n'));
    let mut families: HashMap<String, String> = HashMap::new();
    let mut done: HashSet<String> = HashSet::new();
    let mut current: Option<(String, String)> = None;
    let mut help: Option<String> = None;
    let mut values = HashMap::new();
    let mut buckets: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("# HELP ") {
            let (name, text) = h.split_once(' ').unwrap();
            assert!(!text.is_empty());
            if let Some((cur, _)) = &current {
                done.insert(cur.clone());
            }
            assert!(!done.contains(name), "family {name} twice");
            help = Some(name.to_string());
        } else if let Some(t) = line.strip_prefix("# TYPE ") {
            let (name, kind) = t.split_once(' ').unwrap();
            assert_eq!(help.as_deref(), Some(name), "TYPE without HELP just before: {name}");
            assert!(["counter", "gauge", "histogram"].contains(&kind));
            assert!(name.starts_with("lft_"));
            assert_eq!(name.ends_with("_total"), kind == "counter", "{name} {kind}");
            assert!(families.insert(name.to_string(), kind.to_string()).is_none());
            current = Some((name.to_string(), kind.to_string()));
        } else {
            assert!(!line.starts_with('#') && !line.is_empty(), "{line:?}");
            let (name, labels, v) = parse_sample(line);
            let (family, kind) = current.as_ref().expect("a sample before any TYPE");
            let ok = match kind.as_str() {
                "histogram" => {
                    [format!("{family}_bucket"), format!("{family}_sum"), format!("{family}_count")]
                        .contains(&name)
                }
                _ => &name == family,
            };
            assert!(ok, "{name} outside its family {family}");
            let mut seen = HashSet::new();
            assert!(labels.iter().all(|(k, _)| seen.insert(k.clone())), "repeated label in {line:?}");
            let key_labels: Vec<String> =
                labels.iter().filter(|(k, _)| k != "le").map(|(k, v)| format!("{k}={v:?}")).collect();
            if name.ends_with("_bucket") {
                let le = labels.iter().find(|(k, _)| k == "le").expect("le").1.clone();
                let le = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() };
                buckets.entry(format!("{family}{{{}}}", key_labels.join(","))).or_default().push((le, v));
            }
            let key = format!(
                "{name}{{{}}}",
                labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join(",")
            );
            assert!(values.insert(key, v).is_none(), "sample twice: {line:?}");
        }
    }
    for (series, b) in &buckets {
        assert!(b.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{series}: {b:?}");
        assert_eq!(b.last().unwrap().0, f64::INFINITY);
        let (family, labels) = series.split_once('{').unwrap();
        assert_eq!(values[&format!("{family}_count{{{labels}")], b.last().unwrap().1);
    }
    values
}

fn promtool() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/prometheus/usr/bin/promtool");
    p.exists().then_some(p)
}

fn promtool_accepts(text: &str) {
    let Some(tool) = promtool() else {
        eprintln!("promtool not fetched (make promtool): checked by the parser above only");
        return;
    };
    let mut child = std::process::Command::new(tool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}");
}

fn metric(values: &HashMap<String, f64>, key: &str) -> f64 {
    *values.get(key).unwrap_or_else(|| panic!("no {key}"))
}

#[test]
fn metrics_are_well_formed_and_move_with_the_flow() {
    let weird = "we\"ird\\sym\nbol";
    let system = system_with(&["BTC-USD", weird], true);
    let gw = Gateway::start(
        Arc::clone(&system),
        GatewayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            sessions: vec![SessionConfig {
                our_comp_id: "LFT".into(),
                their_comp_id: "CLI\"ENT".into(),
                password: None,
                heartbeat_range: (1, 60),
            }],
            limits: Limits::default(),
            max_connections: 4,
            logon_timeout: Duration::from_secs(5),
            max_messages_per_second: 1000,
            state_directory: None,
        },
    )
    .unwrap();
    let admin = AdminServer::start(Arc::clone(&system), config(), Some(Arc::clone(&gw.counters))).unwrap();
    let r = get(admin.local_addr, "/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let before = check_exposition(&r.body);
    promtool_accepts(&r.body);
    let btc = "{symbol=\"BTC-USD\"}";
    assert_eq!(metric(&before, &format!("lft_symbol_commands_total{btc}")), 0.0);
    assert!(!before.contains_key(&format!("lft_symbol_best_bid{btc}")));
    assert_eq!(metric(&before, &format!("lft_symbol_resting_orders{{symbol={weird:?}}}")), 0.0);
    assert!(r.body.contains("lft_symbol_resting_orders{symbol=\"we\\\"ird\\\\sym\\nbol\"} 0\n"));
    let session = "{sender_comp_id=\"CLI\\\"ENT\",target_comp_id=\"LFT\"}";
    assert!(r.body.contains(&format!("lft_fix_session_logged_on{session} 0\n")), "{}", r.body);
    assert!(r.body.contains(&format!("lft_fix_session_execution_reports_total{session} 0\n")));

    system.execute(0, order(1, Side::Sell, 10_025, 5), false).unwrap();
    system.execute(0, order(2, Side::Buy, 10_000, 3), false).unwrap();
    system.execute(0, order(3, Side::Buy, 10_030, 2), false).unwrap(); // trades 2 @ 100.25
    let mut post_only = NewOrder::limit(4, Side::Buy, 10_025, 1, 1);
    post_only.post_only = true;
    system.execute(0, Request::New(post_only), false).unwrap(); // REJECTED: would cross
    assert!(system.execute(0, Request::Cancel { id: 99, timestamp: 1 }, false).is_err()); // refused

    // The per-symbol counters move before the reply; the worker's entry count and latency
    // histogram just after it (at the end of the entry and of the round): wait for those.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (r, after) = loop {
        let r = get(admin.local_addr, "/metrics");
        let after = check_exposition(&r.body);
        let settled = metric(&after, "lft_worker_entries_processed_total{worker=\"0\"}") == 5.0
            && metric(&after, "lft_command_latency_seconds_count{worker=\"0\"}") == 5.0;
        if settled || Instant::now() > deadline {
            break (r, after);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    promtool_accepts(&r.body);
    assert_eq!(metric(&after, &format!("lft_symbol_commands_total{btc}")), 5.0);
    assert_eq!(metric(&after, &format!("lft_symbol_trades_total{btc}")), 1.0);
    assert_eq!(metric(&after, &format!("lft_symbol_rejects_total{btc}")), 2.0);
    assert_eq!(metric(&after, &format!("lft_symbol_resting_orders{btc}")), 2.0);
    assert_eq!(metric(&after, &format!("lft_symbol_best_bid{btc}")), 100.0);
    assert_eq!(metric(&after, &format!("lft_symbol_best_ask{btc}")), 100.25);
    assert_eq!(metric(&after, "lft_worker_entries_processed_total{worker=\"0\"}"), 5.0);
    assert!(metric(&after, "lft_worker_events_published_total{worker=\"0\"}") > 0.0);
    assert_eq!(metric(&after, "lft_command_latency_seconds_count{worker=\"0\"}"), 5.0);
    assert!(metric(&after, "lft_command_latency_seconds_sum{worker=\"0\"}") > 0.0);
    assert_eq!(metric(&after, "lft_command_latency_seconds_bucket{worker=\"0\",le=\"+Inf\"}"), 5.0);
    assert!(metric(&after, "lft_admin_requests_total{}") >= 1.0);
    assert_eq!(metric(&after, "lft_fix_connections_total{}"), 0.0);
}

#[test]
fn without_statistics_there_is_no_latency_family() {
    let system = system_with(&["BTC-USD"], false);
    let admin = server(&system);
    let body = get(admin.local_addr, "/metrics").body;
    check_exposition(&body);
    promtool_accepts(&body);
    assert!(!body.contains("lft_command_latency_seconds"));
    assert!(!body.contains("lft_fix_"));
    assert!(!body.contains("lft_journal_"));
}

/// `cargo test -p lft-gateway --profile ci --test admin -- --ignored --nocapture scrape_time`
#[test]
#[ignore = "a measurement, not a check"]
fn scrape_time() {
    for n in [10usize, 100, 1000] {
        let names: Vec<String> = (0..n).map(|i| format!("SYM-{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let system = system_with(&refs, true);
        for i in 0..n as u32 {
            for k in 0..20 {
                let _ =
                    system.execute(i, order(u128::from(i) << 32 | k, Side::Buy, 10_000 - k as i64, 1), false);
            }
        }
        let admin = server(&system);
        let mut s = connect(admin.local_addr);
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..2 {
            for target in ["/metrics", "/symbols"] {
                let _ = get_on(&mut s, "GET", target);
            }
            s = connect(admin.local_addr);
        }
        for target in ["/metrics", "/symbols", "/book/SYM-0?depth=20"] {
            let mut best = Duration::MAX;
            for _ in 0..2 {
                let t = Instant::now();
                let r = get_on(&mut s, "GET", target);
                best = best.min(t.elapsed());
                bytes = r.body.len();
                s = connect(admin.local_addr);
            }
            times.push(format!("{target}: {best:?} ({bytes} bytes)"));
        }
        println!("{n} symbols: {}", times.join(", "));
    }
}
