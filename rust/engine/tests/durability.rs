//! Durability of the system: journal + snapshots + recovery give back exactly the books an
//! uninterrupted run has, and damaged files give the longest valid prefix or a clear error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lft_engine::journal::recovery::{recover, Mode};
use lft_engine::journal::segment::{list_segments, SegmentId};
use lft_engine::system::{
    AckPolicy, FsyncPolicy, JournalConfig, OwnedBatch, Request, SnapshotConfig, SymbolSpec, SystemConfig,
    TradingSystem,
};
use lft_engine::{
    BookConfig, BookWriter, Command, Decimal, EngineError, Modify, NewOrder, OrderId, OrderType, Side, Ticks,
    TimeInForce, Timestamp,
};

mod common;
use common::Rng;

const SYMBOLS: [&str; 3] = ["AAA", "BBB", "CCC"];

/// A fresh, empty directory under the system's temp dir.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lft-durability-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn book_config(name: &str, tick: Decimal) -> BookConfig {
    BookConfig::new(name, tick, Decimal::ONE).unwrap()
}

fn config(dir: &Path, every: Option<u64>, threads: usize) -> SystemConfig {
    SystemConfig {
        threads,
        journal: Some(JournalConfig {
            directory: dir.join("journal"),
            fsync: FsyncPolicy::Batch,
            ack: AckPolicy::AfterFsync,
            segment_bytes: 8192,
            queue_capacity: 64,
        }),
        snapshots: Some(SnapshotConfig {
            directory: dir.join("snapshots"),
            interval: None,
            every_commands: every,
            keep: 2,
            on_shutdown: false,
            compress: true,
        }),
        ..SystemConfig::with_symbols(
            SYMBOLS.iter().map(|s| SymbolSpec::new(book_config(s, Decimal::new(1, 2)))).collect(),
        )
    }
}

/// A random request of any kind at time `t`.
fn request(rng: &mut Rng, t: Timestamp, next_id: &mut OrderId) -> Request {
    let pick = rng.below(100);
    let some_id = |rng: &mut Rng| 1 + rng.below(*next_id as u64 + 1) as OrderId;
    let price = |rng: &mut Rng| 90 + rng.below(21) as Ticks;
    if pick < 50 {
        *next_id += 1;
        let side = if rng.chance(50) { Side::Buy } else { Side::Sell };
        let quantity = 1 + rng.below(20) as i64;
        let mut o = NewOrder::limit(*next_id, side, price(rng), quantity, t);
        match rng.below(10) {
            0 => {
                o.order_type = OrderType::Market;
                o.price = None;
                o.time_in_force = if rng.chance(50) { TimeInForce::Ioc } else { TimeInForce::Fok };
            }
            1 => o.time_in_force = TimeInForce::Ioc,
            2 => o.time_in_force = TimeInForce::Fok,
            3 | 4 => {
                o.time_in_force = TimeInForce::Gtd;
                o.expire_time = Some(t + 1 + rng.below(40) as i64);
            }
            5 => o.time_in_force = TimeInForce::Day,
            _ => {}
        }
        if o.time_in_force.rests() && o.order_type == OrderType::Limit {
            o.post_only = rng.chance(10);
            if rng.chance(20) {
                o.display_quantity = Some(1 + rng.below(quantity as u64) as i64);
            }
        }
        Request::New(o)
    } else if pick < 65 {
        Request::Cancel { id: some_id(rng), timestamp: t }
    } else if pick < 85 {
        let quantity = rng.chance(70).then(|| 1 + rng.below(25) as i64);
        let p = (quantity.is_none() || rng.chance(40)).then(|| price(rng));
        Request::Modify(Modify { id: some_id(rng), quantity, price: p, timestamp: t })
    } else if pick < 92 {
        let n = 1 + rng.below(4) as usize;
        let ids: Vec<u64> = (0..n).map(|_| 1_000_000 + rng.below(1_000_000)).collect();
        Request::Batch(OwnedBatch {
            side: (0..n).map(|_| rng.below(2) as i8).collect(),
            price: (0..n).map(|_| if rng.chance(10) { 0 } else { price(rng) }).collect(),
            quantity: (0..n).map(|_| 1 + rng.below(9) as i64).collect(),
            time_in_force: None,
            order_id: Some(ids),
            timestamp: t,
        })
    } else if pick < 97 {
        Request::Expire { now: t }
    } else {
        Request::EndOfDay { now: t }
    }
}

/// The same request applied to a lone book, as the worker does.
fn apply(book: &mut BookWriter, r: &Request) {
    match r {
        Request::Batch(b) => {
            let mut out = Default::default();
            let mut ev = Default::default();
            let _ = book.submit_batch_with_events(&b.as_input(), &mut out, &mut ev);
        }
        Request::New(o) => drop(book.apply(&Command::New(*o))),
        Request::Cancel { id, timestamp } => {
            drop(book.apply(&Command::Cancel { id: *id, timestamp: *timestamp }))
        }
        Request::Modify(m) => drop(book.apply(&Command::Modify(*m))),
        Request::Expire { now } => drop(book.apply(&Command::Expire { now: *now })),
        Request::EndOfDay { now } => drop(book.apply(&Command::EndOfDay { now: *now })),
        _ => unreachable!(),
    }
}

/// Per symbol, the requests in the order sent.
type Streams = Vec<Vec<Request>>;

/// Run `n` random requests through the system, snapshotting on demand now and then.
fn drive(
    system: &TradingSystem,
    rng: &mut Rng,
    n: usize,
    t0: Timestamp,
    streams: &mut Streams,
    ids: &mut OrderId,
) {
    for k in 0..n {
        let s = rng.below(SYMBOLS.len() as u64) as usize;
        let r = request(rng, t0 + k as i64, ids);
        let _ = system.execute(s as u32, r.clone(), false);
        streams[s].push(r);
        if rng.chance(1) {
            system.snapshot().unwrap();
        }
    }
}

/// The state hash of each symbol after replaying the first `upto[s]` requests alone.
fn reference_hashes(streams: &Streams, upto: &[usize]) -> Vec<u64> {
    streams
        .iter()
        .enumerate()
        .map(|(s, reqs)| {
            let mut b = BookWriter::try_with_config(book_config(SYMBOLS[s], Decimal::new(1, 2))).unwrap();
            reqs[..upto[s]].iter().for_each(|r| apply(&mut b, r));
            b.state_hash()
        })
        .collect()
}

#[test]
fn a_restarted_system_has_exactly_the_books_of_an_uninterrupted_run() {
    for (seed, every, threads) in [(1u64, Some(150), 2), (2, None, 1), (3, Some(37), 3)] {
        let dir = scratch_dir(&format!("roundtrip-{seed}"));
        let mut rng = Rng((seed * 0x9E37_79B9) | 1);
        let mut streams: Streams = vec![Vec::new(); SYMBOLS.len()];
        let mut ids = 0;
        let system = TradingSystem::start(config(&dir, every, threads)).unwrap();
        drive(&system, &mut rng, 1500, 1, &mut streams, &mut ids);
        let before: Vec<u64> = (0..3).map(|s| system.state_hash(s).unwrap()).collect();
        drop(system); // no shutdown snapshot: recovery must use the journal tail
        let all: Vec<usize> = streams.iter().map(Vec::len).collect();
        assert_eq!(before, reference_hashes(&streams, &all), "seed {seed}: the live system vs a lone replay");

        let system = TradingSystem::start(config(&dir, every, threads)).unwrap();
        let report = system.recovery().expect("recovered").clone();
        for (s, r) in report.symbols.iter().enumerate() {
            assert_eq!(r.command_sequence as usize, streams[s].len(), "seed {seed}: {r:?}");
            assert_eq!(r.state_hash, before[s]);
        }
        assert!(report.notes.is_empty(), "{:?}", report.notes);
        // And it goes on exactly as the uninterrupted run would.
        drive(&system, &mut rng, 500, 10_000, &mut streams, &mut ids);
        let after: Vec<u64> = (0..3).map(|s| system.state_hash(s).unwrap()).collect();
        drop(system);
        let all: Vec<usize> = streams.iter().map(Vec::len).collect();
        assert_eq!(after, reference_hashes(&streams, &all), "seed {seed}: after recovery");
        // A third start recovers across two runs of journal.
        let system = TradingSystem::start(config(&dir, every, threads)).unwrap();
        let again: Vec<u64> = (0..3).map(|s| system.state_hash(s).unwrap()).collect();
        assert_eq!(again, after);
        drop(system);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn books() -> Vec<BookConfig> {
    SYMBOLS.iter().map(|s| book_config(s, Decimal::new(1, 2))).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Journal only (no snapshots), one worker: a stream we can cut anywhere.
fn journal_only(dir: &Path) -> (SystemConfig, Streams) {
    let mut cfg = config(dir, None, 1);
    cfg.snapshots = None;
    let system = TradingSystem::start(cfg.clone()).unwrap();
    let mut rng = Rng(77);
    let mut streams: Streams = vec![Vec::new(); 3];
    let mut ids = 0;
    for k in 0..120 {
        let s = rng.below(3) as usize;
        let r = request(&mut rng, 1 + k, &mut ids);
        let _ = system.execute(s as u32, r.clone(), false);
        streams[s].push(r);
    }
    drop(system);
    (cfg, streams)
}

#[test]
fn a_journal_cut_at_any_byte_recovers_the_longest_valid_prefix() {
    let dir = scratch_dir("torn");
    let (cfg, streams) = journal_only(&dir);
    let segments = list_segments(&dir.join("journal")).unwrap();
    let (_, last) = segments.last().unwrap().clone();
    let len = std::fs::metadata(&last).unwrap().len();
    let work = dir.join("work");
    // Every offset of the last ~600 bytes (several records), and some earlier ones.
    let mut cuts: Vec<u64> = (len.saturating_sub(600)..len).collect();
    cuts.extend((0..len.saturating_sub(600)).step_by(97));
    for cut in cuts {
        copy_dir(&dir.join("journal"), &work);
        let victim = work.join(last.file_name().unwrap());
        let f = std::fs::OpenOptions::new().write(true).open(&victim).unwrap();
        f.set_len(cut).unwrap();
        drop(f);
        let j = JournalConfig { directory: work.clone(), ..cfg.journal.clone().unwrap() };
        // Every cut is a prefix of what was written, so every cut recovers, a cut inside
        // the last segment's header included (a crash while that segment was created).
        let r =
            recover(&books(), Some(&j), None, Mode::Recover).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let upto: Vec<usize> = r.report.symbols.iter().map(|s| s.command_sequence as usize).collect();
        let hashes: Vec<u64> = r.report.symbols.iter().map(|s| s.state_hash).collect();
        assert_eq!(hashes, reference_hashes(&streams, &upto), "cut at {cut}");
        // The cut was made durable: a second recovery finds no torn tail.
        let again = recover(&books(), Some(&j), None, Mode::Verify).unwrap();
        assert!(again.report.notes.is_empty(), "cut at {cut}: {:?}", again.report.notes);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The name the next segment of the last segment's stream would get.
fn next_segment_name(journal: &Path) -> String {
    let (id, _) = list_segments(journal).unwrap().last().unwrap().clone();
    SegmentId { index: id.index + 1, ..id }.file_name()
}

#[test]
fn a_segment_the_crash_left_inside_its_header_is_removed_and_nothing_is_lost() {
    let dir = scratch_dir("unfinished-header");
    let (cfg, streams) = journal_only(&dir);
    let journal = dir.join("journal");
    let all: Vec<usize> = streams.iter().map(Vec::len).collect();
    let whole = reference_hashes(&streams, &all);
    let (_, last) = list_segments(&journal).unwrap().last().unwrap().clone();
    let header = std::fs::read(&last).unwrap()[..20].to_vec();
    let name = next_segment_name(&journal);
    for (what, bytes) in
        [("empty", Vec::new()), ("magic only", header[..8].to_vec()), ("16 bytes", header[..16].to_vec())]
    {
        std::fs::write(journal.join(&name), &bytes).unwrap();
        std::fs::write(journal.join(format!("{name}.tmp")), &header).unwrap();
        // Verify says what it would do and changes nothing.
        let seen = recover(&books(), cfg.journal.as_ref(), None, Mode::Verify).unwrap();
        let hashes: Vec<u64> = seen.report.symbols.iter().map(|s| s.state_hash).collect();
        assert_eq!(hashes, whole, "{what}");
        assert_eq!(seen.report.notes.len(), 2, "{what}: {:?}", seen.report.notes);
        assert!(seen.report.notes.iter().all(|n| n.contains("would be removed")), "{:?}", seen.report.notes);
        assert!(journal.join(&name).exists() && journal.join(format!("{name}.tmp")).exists());
        // Recovery removes both and keeps every record.
        let done = recover(&books(), cfg.journal.as_ref(), None, Mode::Recover).unwrap();
        let hashes: Vec<u64> = done.report.symbols.iter().map(|s| s.state_hash).collect();
        assert_eq!(hashes, whole, "{what}");
        assert!(!journal.join(&name).exists() && !journal.join(format!("{name}.tmp")).exists());
        let again = recover(&books(), cfg.journal.as_ref(), None, Mode::Verify).unwrap();
        assert!(again.report.notes.is_empty(), "{what}: {:?}", again.report.notes);
    }
    // The system starts on such a directory and appends after it.
    std::fs::write(journal.join(&name), b"").unwrap();
    let system = TradingSystem::start(cfg).unwrap();
    assert_eq!((0..3).map(|s| system.state_hash(s).unwrap()).collect::<Vec<_>>(), whole);
    drop(system);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_segment_without_a_whole_header_before_the_end_of_its_stream_is_an_error() {
    let dir = scratch_dir("unfinished-middle");
    let (cfg, _) = journal_only(&dir);
    let journal = dir.join("journal");
    let segments = list_segments(&journal).unwrap();
    assert!(segments.len() >= 2, "the test needs a stream of several segments");
    let (_, first) = segments[0].clone();
    std::fs::write(&first, b"").unwrap();
    let err = recover(&books(), cfg.journal.as_ref(), None, Mode::Verify).err().expect("an error");
    assert!(matches!(err, EngineError::CorruptData(_)), "{err}");
    assert!(err.to_string().contains(first.file_name().unwrap().to_str().unwrap()), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn damage_in_the_middle_of_the_journal_is_an_error_naming_the_file_and_offset() {
    let dir = scratch_dir("damage");
    let (cfg, _) = journal_only(&dir);
    let (_, first) = list_segments(&dir.join("journal")).unwrap()[0].clone();
    let mut bytes = std::fs::read(&first).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x5A;
    std::fs::write(&first, &bytes).unwrap();
    let err = recover(&books(), cfg.journal.as_ref(), None, Mode::Verify).err().expect("an error");
    let text = err.to_string();
    assert!(matches!(err, EngineError::CorruptData(_)), "{text}");
    assert!(
        text.contains(first.file_name().unwrap().to_str().unwrap()) && text.contains("at byte"),
        "{text}"
    );
    // Start refuses too: never a silently different state.
    assert!(TradingSystem::start(cfg).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_the_previous_one() {
    let dir = scratch_dir("fallback");
    let cfg = config(&dir, None, 1);
    let system = TradingSystem::start(cfg.clone()).unwrap();
    let mut rng = Rng(5);
    let mut streams: Streams = vec![Vec::new(); 3];
    let mut ids = 0;
    drive(&system, &mut rng, 200, 1, &mut streams, &mut ids);
    system.snapshot().unwrap();
    drive(&system, &mut rng, 200, 1000, &mut streams, &mut ids);
    system.snapshot().unwrap();
    drive(&system, &mut rng, 100, 5000, &mut streams, &mut ids);
    let expected: Vec<u64> = (0..3).map(|s| system.state_hash(s).unwrap()).collect();
    drop(system);
    let kept = lft_engine::journal::snapshot::list(&dir.join("snapshots"), "AAA").unwrap();
    assert_eq!(kept.len(), 2, "snapshots.keep");
    let victim = kept[1].1.clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xFF;
    std::fs::write(&victim, &bytes).unwrap();
    let system = TradingSystem::start(cfg.clone()).unwrap();
    let r = system.recovery().unwrap();
    assert!(
        r.notes.iter().any(|n| n.contains(victim.file_name().unwrap().to_str().unwrap())),
        "{:?}",
        r.notes
    );
    let got: Vec<u64> = (0..3).map(|s| system.state_hash(s).unwrap()).collect();
    assert_eq!(got, expected);
    drop(system);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_changed_tick_size_is_refused_naming_the_symbol_and_file() {
    let dir = scratch_dir("tick");
    let (mut cfg, _) = journal_only(&dir);
    cfg.symbols[1] = SymbolSpec::new(book_config("BBB", Decimal::new(1, 1)));
    let err = TradingSystem::start(cfg).err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("symbols[BBB].tick_size") && text.contains(".lftj"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn old_segments_are_deleted_once_every_kept_snapshot_has_passed_them() {
    let dir = scratch_dir("prune");
    let cfg = config(&dir, Some(100), 1);
    let system = TradingSystem::start(cfg.clone()).unwrap();
    let mut rng = Rng(11);
    let mut streams: Streams = vec![Vec::new(); 3];
    let mut ids = 0;
    drive(&system, &mut rng, 3000, 1, &mut streams, &mut ids);
    std::thread::sleep(Duration::from_millis(50));
    let expected: Vec<u64> = (0..3).map(|s| system.state_hash(s).unwrap()).collect();
    let deleted =
        system.snapshot_counters().unwrap().segments_deleted.load(std::sync::atomic::Ordering::Relaxed);
    drop(system);
    assert!(deleted > 0, "8 KiB segments and a snapshot every 100 commands: some must go");
    let system = TradingSystem::start(cfg).unwrap();
    let got: Vec<u64> = (0..3).map(|s| system.state_hash(s).unwrap()).collect();
    assert_eq!(got, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What a lone book answers to a request, in the form the system's reply carries.
fn answer(book: &mut BookWriter, r: &Request) -> String {
    match r {
        Request::Batch(b) => {
            let mut out = Default::default();
            let mut ev = Default::default();
            format!("{:?}", book.submit_batch_with_events(&b.as_input(), &mut out, &mut ev).map(|()| out))
        }
        Request::New(o) => format!("{:?}", book.apply(&Command::New(*o))),
        Request::Cancel { id, timestamp } => {
            format!("{:?}", book.apply(&Command::Cancel { id: *id, timestamp: *timestamp }))
        }
        Request::Modify(m) => format!("{:?}", book.apply(&Command::Modify(*m))),
        Request::Expire { now } => format!("{:?}", book.expire(*now)),
        Request::EndOfDay { now } => format!("{:?}", book.end_of_day(*now)),
        _ => unreachable!(),
    }
}

fn system_answer(reply: lft_engine::system::Reply) -> String {
    use lft_engine::system::Outcome;
    match reply {
        Ok(r) => match r.outcome {
            Outcome::Report(rep) if rep.report.is_none() => {
                format!("{:?}", Ok::<_, EngineError>(rep.updates))
            }
            Outcome::Report(rep) => format!("{:?}", Ok::<_, EngineError>(rep)),
            Outcome::Batch(out) => format!("{:?}", Ok::<_, EngineError>(out)),
            other => panic!("unexpected outcome {other:?}"),
        },
        Err(refusal) => format!("{:?}", Err::<(), _>(refusal.error)),
    }
}

#[test]
fn after_recovery_every_reply_depth_and_order_equals_the_uninterrupted_books() {
    let dir = scratch_dir("events");
    let cfg = config(&dir, Some(97), 2);
    let mut rng = Rng(21);
    let mut streams: Streams = vec![Vec::new(); SYMBOLS.len()];
    let mut ids = 0;
    let system = TradingSystem::start(cfg.clone()).unwrap();
    drive(&system, &mut rng, 1200, 1, &mut streams, &mut ids);
    drop(system);
    // The uninterrupted books: the same prefix, alone.
    let mut reference: Vec<BookWriter> = (0..SYMBOLS.len())
        .map(|s| {
            let mut b = BookWriter::try_with_config(book_config(SYMBOLS[s], Decimal::new(1, 2))).unwrap();
            streams[s].iter().for_each(|r| apply(&mut b, r));
            b
        })
        .collect();
    let system = TradingSystem::start(cfg).unwrap();
    for k in 0..800 {
        let s = rng.below(SYMBOLS.len() as u64) as usize;
        let r = request(&mut rng, 50_000 + k, &mut ids);
        let got = system_answer(system.execute(s as u32, r.clone(), false));
        let want = answer(&mut reference[s], &r);
        assert_eq!(got, want, "command {k} on {}: {r:?}", SYMBOLS[s]);
    }
    for (s, book) in reference.iter().enumerate() {
        let live = system.book(s as u32).unwrap();
        assert_eq!(live.depth(1000), book.depth(1000), "{}", SYMBOLS[s]);
        assert_eq!(live.len(), book.len());
        assert_eq!(system.state_hash(s as u32).unwrap(), book.state_hash());
    }
    drop(system);
    let _ = std::fs::remove_dir_all(&dir);
}
