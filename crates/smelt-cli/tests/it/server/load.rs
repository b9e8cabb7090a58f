//! 32 clients logging for a minute; every acknowledged point is counted back.

use super::*;

// ---------------------------------------------------------------------------------------------
// 1. Load.

/// 32 clients, each with its own run, log batches of 100 points and single points for
/// `SMELT_LOAD_SECONDS` (60 by default); every acknowledged point must come back.
#[test]
fn load_32_clients_every_point_counted() {
    const CLIENTS: usize = 32;
    let seconds: u64 = std::env::var("SMELT_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempdir();
    let server = Server::start(&dir.path().join("db.sqlite"), &dir.path().join("art"));
    let addr = server.addr;
    let mut setup = server.http();
    let runs: Vec<String> = (0..CLIENTS)
        .map(|i| create_run(&mut setup, &format!("load-{i}")))
        .collect();

    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let workers: Vec<_> = runs
        .iter()
        .cloned()
        .map(|run| {
            thread::spawn(move || {
                let mut http = Http::new(addr);
                let (mut step, mut requests) = (0i64, 0u64);
                while Instant::now() < deadline {
                    let r = http
                        .request(
                            "POST",
                            &format!("{API}/runs/log-batch"),
                            Some(&batch_body(&run, step, 100)),
                        )
                        .unwrap_or_else(|e| panic!("log-batch: {e}"));
                    assert_eq!(r.status, 200, "log-batch: {}", r.text());
                    step += 100;
                    let r = http
                        .request(
                            "POST",
                            &format!("{API}/runs/log-metric"),
                            Some(&metric_body(&run, step)),
                        )
                        .unwrap_or_else(|e| panic!("log-metric: {e}"));
                    assert_eq!(r.status, 200, "log-metric: {}", r.text());
                    step += 1;
                    requests += 2;
                }
                (run, step, requests)
            })
        })
        .collect();
    let results: Vec<(String, i64, u64)> = workers
        .into_iter()
        .map(|w| w.join().expect("a load client panicked"))
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    let points: i64 = results.iter().map(|r| r.1).sum();
    let requests: u64 = results.iter().map(|r| r.2).sum();
    eprintln!(
        "load: {CLIENTS} clients, {elapsed:.1} s: {points} points acknowledged in {requests} requests \
         = {:.0} points/s, {:.0} requests/s",
        points as f64 / elapsed,
        requests as f64 / elapsed
    );

    let count_start = Instant::now();
    let mut http = server.http();
    for (run, acked, _) in &results {
        let history = history_steps(&mut http, run);
        assert_eq!(
            history.len() as i64,
            *acked,
            "run {run}: points acknowledged vs stored"
        );
        let steps: Vec<i64> = history.iter().map(|p| p.0).collect();
        assert!(
            steps.iter().copied().eq(0..*acked),
            "run {run}: the steps are not exactly 0..{acked}"
        );
        assert!(history.iter().all(|(s, v)| *s as f64 == *v));
        if *acked > 0 {
            assert_eq!(
                latest(&mut http, run),
                Some((acked - 1, (acked - 1) as f64))
            );
        }
    }
    eprintln!(
        "load: counted {points} points back in {:.1} s",
        count_start.elapsed().as_secs_f64()
    );
    assert!(points > 0, "no point was logged");
}
