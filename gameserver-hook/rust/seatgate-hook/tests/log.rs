//! The log sink: the hook's lines reach the game's logger (in a process of its own, as the
//! sink is process-wide).
use std::sync::{Arc, Mutex};

use seatgate_hook::{Hook, LogLevel, Options, set_log_level, set_log_sink};

#[test]
fn lines_go_to_the_sink_and_hold_no_secret() {
    let lines: Arc<Mutex<Vec<(LogLevel, String)>>> = Arc::default();
    let seen = lines.clone();
    set_log_sink(Some(Box::new(move |level, line| {
        seen.lock().unwrap().push((level, line.to_string()))
    })));
    set_log_level(LogLevel::Debug);

    let db = std::env::temp_dir().join(format!("seatgate-hook-rs-log-{}.db", std::process::id()));
    let mut o = Options::new().unwrap();
    o.set("arbitrium-context-url", "http://127.0.0.1:1/v1/context/x/1")
        .unwrap()
        .set("arbitrium-context-token", "context-secret-0123456789")
        .unwrap()
        .set("store-url", &format!("sqlite://{}", db.display()))
        .unwrap()
        .set("stop-timeout", "100ms")
        .unwrap();
    let hook = Hook::new(&o).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(hook);
    set_log_sink(None);

    let lines = lines.lock().unwrap();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|(_, l)| l.starts_with("ts=") && !l.ends_with('\n')), "{lines:?}");
    assert!(
        lines.iter().any(|(lv, l)| *lv >= LogLevel::Info && l.contains("comp=hook")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|(_, l)| !l.contains("context-secret")), "{lines:?}");
}
