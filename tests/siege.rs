//! A siege of `tailor serve`'s server: connections that stall, bodies
//! that trickle, a flood, and timed requests meanwhile. The black-box
//! test runs it against tight limits; the `siege` bench against the
//! default ones, for the figures in docs/benchmarks.md.

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "a test kit: a failure fails the test or bench loudly"
)]

/// One request with the all-scopes key, answered within 15 s or not at
/// all: its status (0 for none), JSON body and how long it took.
pub fn timed(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, serde_json::Value, std::time::Duration) {
    use std::io::{Read, Write};
    let start = std::time::Instant::now();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: siege\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        crate::API_KEY,
        body.len()
    );
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let elapsed = start.elapsed();
    let (status, json) = crate::parse_response(&response);
    (status, json, elapsed)
}

/// A connection that sends a request's head and then its body one byte
/// every 100 ms, until the server answers or lets go (or `deadline`):
/// the answer's status (0 for none), whether the server closed the
/// connection, and when.
pub fn trickle(
    addr: std::net::SocketAddr,
    deadline: std::time::Instant,
) -> (u16, bool, std::time::Duration) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: siege\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{{",
        crate::API_KEY
    );
    stream.write_all(head.as_bytes()).unwrap();
    let start = std::time::Instant::now();
    let mut reader = stream.try_clone().unwrap();
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let writer = {
        let done = std::sync::Arc::clone(&done);
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                if stream.write_all(b" ").is_err() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    };
    reader
        .set_read_timeout(Some(
            deadline.saturating_duration_since(std::time::Instant::now())
                + std::time::Duration::from_millis(1),
        ))
        .unwrap();
    let mut response = Vec::new();
    let closed = match reader.read_to_end(&mut response) {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let status = String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, closed, elapsed)
}

/// What a siege of the server measured.
#[derive(Debug)]
pub struct Siege {
    /// `/healthz`: status, time to answer.
    pub health: (u16, std::time::Duration),
    /// One small `POST /v1/events`: status, time to answer.
    pub events: (u16, std::time::Duration),
    /// The flood: status, body, time to answer.
    pub flood: (u16, serde_json::Value, std::time::Duration),
    /// The trickled bodies: status, closed by the server, when.
    pub trickled: Vec<(u16, bool, std::time::Duration)>,
    /// Stalled connections the server had not closed by the deadline.
    pub stalled_open: usize,
    /// When the last stalled connection the server closed was seen closed.
    pub stalled_closed_by: std::time::Duration,
}

/// `stalled` connections that send half a header line and stop,
/// `trickled` ones that send a head and then a body a byte at a time, and
/// one JSON Lines request of 300,000 tiny records, while `/healthz` and a
/// small events request are timed; everything ends by `deadline` after
/// the start.
pub fn siege(
    limits: tailor_runtime::http::ServeLimits,
    stalled: usize,
    trickled: usize,
    deadline: std::time::Duration,
) -> Siege {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = crate::spawn_server_within(dir.path(), limits);
    let addr = server.addr;
    let start = std::time::Instant::now();
    let deadline = start + deadline;
    let stalls: Vec<std::net::TcpStream> = (0..stalled)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(b"POST /v1/events HTTP/1.1\r\nHost: sie")
                .unwrap();
            s
        })
        .collect();
    // Waits for the server to close each stalled connection.
    let stalls = std::thread::spawn(move || {
        let mut open = 0;
        let mut last = std::time::Duration::ZERO;
        for mut s in stalls {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            s.set_read_timeout(Some(left + std::time::Duration::from_millis(1)))
                .unwrap();
            let mut rest = Vec::new();
            match s.read_to_end(&mut rest) {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    open += 1;
                }
                _ => last = start.elapsed(),
            }
        }
        (open, last)
    });
    let trickles: Vec<_> = (0..trickled)
        .map(|_| std::thread::spawn(move || trickle(addr, deadline)))
        .collect();
    let flood = std::thread::spawn(move || {
        let body = "{}\n".repeat(300_000);
        timed(
            addr,
            "POST",
            "/v1/events",
            "application/x-ndjson",
            body.as_bytes(),
        )
    });
    let (status, _, took) = timed(addr, "GET", "/healthz", "application/json", b"");
    let health = (status, took);
    let one = serde_json::to_vec(&crate::event(
        "evt-siege-0001",
        "content_view",
        "2026-11-20T10:00:00Z",
        serde_json::json!({"anonymous_id": "a-s", "user_id": "u-s"}),
        serde_json::json!({"content_id": "c-1", "category": "guides"}),
    ))
    .unwrap();
    let (status, _, took) = timed(addr, "POST", "/v1/events", "application/json", &one);
    let events = (status, took);
    let flood = flood.join().unwrap();
    let trickled = trickles.into_iter().map(|t| t.join().unwrap()).collect();
    let (stalled_open, stalled_closed_by) = stalls.join().unwrap();
    Siege {
        health,
        events,
        flood,
        trickled,
        stalled_open,
        stalled_closed_by,
    }
}
