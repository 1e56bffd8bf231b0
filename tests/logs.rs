//! What a function logs, read back in tests: a process's stdout line by
//! line (where a platform's log agent reads it), and the lines a tracing
//! subscriber writes.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "test kit: a failure fails the test loudly"
)]

use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A tracing subscriber's writer that keeps what it is given.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// What was written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The lines written so far that are JSON objects.
    pub fn json_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a function process writes to stdout, read as it writes it (a
/// platform's log agent reads stdout so: one JSON object a line).
#[derive(Debug, Clone, Default)]
pub struct Stdout(Arc<Mutex<Vec<String>>>);

impl Stdout {
    /// Reads `child`'s piped stdout until it closes.
    pub fn of(child: &mut std::process::Child) -> Self {
        let stdout = Self::default();
        if let Some(out) = child.stdout.take() {
            let lines = Arc::clone(&stdout.0);
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        stdout
    }

    /// The lines so far that are JSON objects with `key`.
    pub fn json_lines_with(&self, key: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v.get(key).is_some())
            .collect()
    }

    /// Waits (up to five seconds) for at least `n` such lines.
    pub fn wait_for_lines_with(&self, key: &str, n: usize) -> Vec<Value> {
        for _ in 0..100 {
            let lines = self.json_lines_with(key);
            if lines.len() >= n {
                return lines;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.json_lines_with(key)
    }
}
