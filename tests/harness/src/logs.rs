//! Reading back what a test's code logged, without flakes.
//!
//! A subscriber set for one test (`tracing::subscriber::set_default`) can miss events: `tracing`
//! caches each callsite's interest when it is first hit, and a callsite first hit by another
//! test running in parallel, under no subscriber, may be cached as uninteresting. The capture
//! here is the process's *global* subscriber, installed once per test binary (installing it
//! rebuilds every cached interest), so no event is lost. Every event of every level goes into
//! one buffer; a [`Capture`] reads what was logged since it was taken. Tests running in
//! parallel share the buffer: assert absence (a secret) on all of it, and presence on lines
//! carrying something only your test uses (its request id).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Where every event of this process goes, once [`capture`] was called.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lines are JSON (`tracing_subscriber`'s JSON format, span fields included) when `json`.
fn install(json: bool) -> &'static Buffer {
    static BUFFER: OnceLock<(Buffer, bool)> = OnceLock::new();
    let (buffer, installed_json) = BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = {
            let buffer = buffer.clone();
            move || buffer.clone()
        };
        let builder = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(writer);
        let installed = if json {
            tracing::subscriber::set_global_default(
                builder
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .finish(),
            )
        } else {
            tracing::subscriber::set_global_default(builder.finish())
        };
        installed
            .expect("no other global tracing subscriber in a test binary using test_harness::logs");
        (buffer, json)
    });
    assert_eq!(
        *installed_json, json,
        "one test binary captures logs in one format (text or JSON)"
    );
    buffer
}

/// What was logged from the moment it was taken.
pub struct Capture {
    buffer: &'static Buffer,
    start: usize,
}

/// Starts capturing (installing the global text subscriber on first use).
pub fn capture() -> Capture {
    Capture::at(install(false))
}

/// As [`capture`], with JSON lines (span fields included: the Lambda request id).
pub fn capture_json() -> Capture {
    Capture::at(install(true))
}

impl Capture {
    fn at(buffer: &'static Buffer) -> Capture {
        let start = buffer.0.lock().unwrap().len();
        Capture { buffer, start }
    }

    /// Everything logged (by any test of this binary) since the capture began.
    pub fn text(&self) -> String {
        let bytes = self.buffer.0.lock().unwrap();
        String::from_utf8_lossy(&bytes[self.start.min(bytes.len())..]).into_owned()
    }

    /// The lines since the capture began that contain `marker`.
    pub fn lines_with(&self, marker: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.contains(marker))
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_from_other_threads_are_captured() {
        let capture = capture();
        std::thread::scope(|s| {
            for i in 0..8 {
                s.spawn(move || tracing::info!(marker = "logs-test", thread = i, "hello"));
            }
        });
        assert_eq!(
            capture.lines_with("logs-test").len(),
            8,
            "{}",
            capture.text()
        );
    }
}
