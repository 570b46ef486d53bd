//! The real `promeneur-bot serve` process in the platform tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// SIGTERM, as systemd sends it: the bot must exit 0 within 20 s.
pub fn terminate(mut child: Child, log: &Path) {
    let log_text = || std::fs::read_to_string(log).unwrap_or_default();
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "the bot did not stop cleanly ({status}):\n{}",
                log_text()
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the bot did not stop within 20 s of SIGTERM:\n{}",
                log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills what is left of a test's bot.
pub fn kill(child: Option<Child>) {
    if let Some(mut child) = child {
        let _ = child.kill();
        let _ = child.wait();
    }
}
