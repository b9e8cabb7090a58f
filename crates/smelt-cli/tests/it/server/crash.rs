//! kill -9 in the middle of writes: acknowledged writes survive, batches are all-or-nothing.

use super::*;

// ---------------------------------------------------------------------------------------------
// 2. kill -9.

/// One writer's acknowledged range: steps `0..acked` of its run.
struct Writer {
    run: String,
    acked: i64,
}

/// Writers log batches and upload artifacts; the server is SIGKILLed in the middle, restarted
/// on the same store, and every acknowledged write must be there, whole.
#[test]
fn kill_9_mid_load_keeps_acknowledged_writes() {
    const WRITERS: usize = 8;
    const BATCH: i64 = 100;
    const FILE: usize = 4 << 20;
    let dir = tempdir();
    let (db, art) = (dir.path().join("db.sqlite"), dir.path().join("art"));
    let mut server = Server::start(&db, &art);
    let addr = server.addr;
    let mut setup = server.http();
    let runs: Vec<String> = (0..WRITERS)
        .map(|i| create_run(&mut setup, &format!("crash-{i}")))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = runs
        .iter()
        .cloned()
        .map(|run| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut http = Http::new(addr);
                let mut acked = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let body = batch_body(&run, acked, BATCH);
                    match http.request("POST", &format!("{API}/runs/log-batch"), Some(&body)) {
                        Ok(r) if r.status == 200 => acked += BATCH,
                        Ok(r) => panic!("log-batch before the kill: {} {}", r.status, r.text()),
                        Err(_) => break, // The server is gone.
                    }
                }
                Writer { run, acked }
            })
        })
        .collect();

    // Uploaders: one fast, one paced so that the kill lands in the middle of a body.
    let content: Arc<Vec<u8>> = Arc::new((0..FILE).map(|i| (i % 251) as u8).collect());
    let acked_files = Arc::new(Mutex::new(Vec::<String>::new()));
    let uploaders: Vec<_> = [Duration::ZERO, Duration::from_millis(15)]
        .into_iter()
        .enumerate()
        .map(|(u, pace)| {
            let (stop, content, acked_files) = (
                Arc::clone(&stop),
                Arc::clone(&content),
                Arc::clone(&acked_files),
            );
            thread::spawn(move || {
                let mut http = Http::new(addr);
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let name = format!("crash/u{u}/file-{i}.bin");
                    let target = format!("/api/2.0/mlflow-artifacts/artifacts/{name}");
                    let mut paced = |s: &mut TcpStream, b: &[u8]| {
                        for chunk in b.chunks(64 << 10) {
                            s.write_all(chunk)?;
                            if !pace.is_zero() {
                                thread::sleep(pace);
                            }
                        }
                        Ok(())
                    };
                    match http.request_with("PUT", &target, Some(&content), &mut paced) {
                        Ok(r) if r.status == 200 => acked_files.lock().expect("lock").push(name),
                        Ok(r) => panic!("upload before the kill: {} {}", r.status, r.text()),
                        // Cut by the kill: this one may or may not have landed, whole.
                        Err(_) => return Some(name),
                    }
                }
                None
            })
        })
        .collect();

    thread::sleep(Duration::from_secs(3));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let writers: Vec<Writer> = writers
        .into_iter()
        .map(|w| w.join().expect("a writer panicked"))
        .collect();
    let interrupted: Vec<String> = uploaders
        .into_iter()
        .filter_map(|u| u.join().expect("an uploader panicked"))
        .collect();
    let acked_files = acked_files.lock().expect("lock").clone();
    let acked: i64 = writers.iter().map(|w| w.acked).sum();
    eprintln!(
        "crash: killed with {acked} points and {} files acknowledged",
        acked_files.len()
    );
    assert!(acked > 0, "nothing was acknowledged before the kill");

    // Restart on the same store: migrations and WAL recovery must go through.
    let server = Server::start(&db, &art);
    let mut http = server.http();
    for w in &writers {
        let history = history_steps(&mut http, &w.run);
        let steps: BTreeSet<i64> = history.iter().map(|p| p.0).collect();
        assert_eq!(steps.len(), history.len(), "run {}: a step twice", w.run);
        // Batches are transactions: the stored steps are the acknowledged ones plus, at most,
        // the whole batch that was in flight.
        let n = history.len() as i64;
        assert!(
            n == w.acked || n == w.acked + BATCH,
            "run {}: {} acknowledged, {n} stored",
            w.run,
            w.acked
        );
        assert!(
            steps.iter().copied().eq(0..n),
            "run {}: the stored steps are not 0..{n}",
            w.run
        );
        // The latest value agrees with the history.
        let expect = history.iter().max_by_key(|p| p.0).copied();
        assert_eq!(
            latest(&mut http, &w.run),
            expect,
            "run {}: latest metric",
            w.run
        );
        // New writes work.
        let r = http.send_raw(
            "POST",
            &format!("{API}/runs/log-batch"),
            &batch_body(&w.run, n, 10),
        );
        r.ok("log-batch after the restart");
        assert_eq!(history_steps(&mut http, &w.run).len() as i64, n + 10);
    }
    create_run(&mut http, "after-the-crash");

    // Artifacts: whatever is listed is whole; everything acknowledged is listed and reads back.
    let mut listed = BTreeSet::new();
    for u in ["crash/u0", "crash/u1"] {
        let v = http
            .get(&format!("/api/2.0/mlflow-artifacts/artifacts?path={u}"))
            .ok("artifact listing");
        for f in v["files"].as_array().into_iter().flatten() {
            let name = format!("{u}/{}", f["path"].as_str().unwrap_or_default());
            assert_eq!(
                f["file_size"].as_u64(),
                Some(FILE as u64),
                "{name} is listed with a partial size"
            );
            listed.insert(name);
        }
    }
    for name in &acked_files {
        assert!(listed.contains(name), "acknowledged upload {name} is gone");
    }
    for name in &interrupted {
        let state = if listed.contains(name) {
            "whole"
        } else {
            "absent"
        };
        eprintln!("crash: upload cut by the kill: {name} is {state}");
    }
    let staging = walk_files(&art)
        .iter()
        .filter(|p| p.to_string_lossy().contains('#'))
        .count();
    eprintln!("crash: {staging} staging file(s) left on disk (never listed)");
    for name in interrupted
        .iter()
        .filter(|n| listed.contains(*n))
        .chain(listed.iter().rev().take(2))
    {
        let r = http.get(&format!("/api/2.0/mlflow-artifacts/artifacts/{name}"));
        assert_eq!(r.status, 200, "{name}");
        assert!(r.body == *content, "{name} reads back different bytes");
    }
    eprintln!(
        "crash: after the restart, {} files listed, all whole",
        listed.len()
    );
}
