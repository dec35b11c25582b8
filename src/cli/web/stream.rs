//! The page's live feeds: as server-sent events the lab's counters,
//! polled from the daemon about once a second, and the daemon's drop
//! stream (`Trace`), passed on as each drop happens; and a capture's
//! pcapng (`Capture`), passed on frame by frame as a download.

use std::time::Duration;

use http_body_util::channel::Sender;
use hyper::body::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::daemon::client::{self, Client};
use crate::daemon::proto::{CaptureRequest, Request, Response};
use crate::host::Lab;

/// How often the counters are read: a learner sees a ping move them
/// within a second; the daemon answers a status in well under that.
const POLL: Duration = Duration::from_secs(1);
/// A comment line this often on an idle drop stream: the only way to learn
/// that the browser went away (a send fails), so the daemon's trace
/// connection is not held for a closed tab.
const KEEPALIVE: Duration = Duration::from_secs(10);

/// One event in the text/event-stream format; `data` is one JSON line.
pub fn event(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

fn error_event(message: &str) -> Bytes {
    event("fault", &serde_json::json!({ "message": message }).to_string())
}

/// Sends the lab's status (every NIC's and peering's counters) until the
/// page goes away. A daemon that stopped answering is said, not fatal: the
/// page shows it and the next poll may find the lab again.
pub async fn counters(lab: Lab, mut tx: Sender<Bytes>) {
    loop {
        let l = lab.clone();
        let frame = match tokio::task::spawn_blocking(move || client::call(&l, &Request::Status)).await {
            Ok(Ok(Response::Status(s))) => match serde_json::to_string(&s) {
                Ok(json) => event("status", &json),
                Err(e) => error_event(&e.to_string()),
            },
            Ok(Ok(other)) => error_event(&format!("the daemon answered {other:?} to a status request")),
            Ok(Err(e)) => error_event(&e.to_string()),
            Err(_) => return,
        };
        if tx.send_data(frame).await.is_err() {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Attaches to the daemon's drop stream (the `Trace` request `vnetlab
/// trace` makes) and passes each drop on, until the page or the daemon
/// goes away.
pub async fn drops(lab: Lab, mut tx: Sender<Bytes>) {
    if let Err(e) = relay_drops(&lab, &mut tx).await {
        let _ = tx.send_data(error_event(&e)).await;
    }
}

async fn relay_drops(lab: &Lab, tx: &mut Sender<Bytes>) -> Result<(), String> {
    let socket = lab.socket();
    let stream = tokio::net::UnixStream::connect(&socket)
        .await
        .map_err(|e| format!("lab '{lab}' is not running ({}: {e})", socket.display()))?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(&Request::Trace { vm: None }).map_err(|e| e.to_string())?;
    line.push(b'\n');
    write.write_all(&line).await.map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(read).lines();
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    loop {
        let frame = tokio::select! {
            next = lines.next_line() => match next.map_err(|e| e.to_string())? {
                None => return Err(format!("the daemon of lab '{lab}' ended the drop stream (the lab stopped?)")),
                Some(text) => match serde_json::from_str::<Response>(&text) {
                    // The daemon's yes to the trace: from here every drop comes.
                    Ok(Response::Ok) => event("attached", "{}"),
                    Ok(Response::Drop(d)) => event("drop", &serde_json::to_string(&d).map_err(|e| e.to_string())?),
                    Ok(other) => return Err(format!("the daemon answered {other:?} to a trace")),
                    Err(e) => return Err(format!("the daemon sent an unreadable line: {e}")),
                },
            },
            _ = keepalive.tick() => Bytes::from_static(b": keepalive\n\n"),
        };
        if tx.send_data(frame).await.is_err() {
            return Ok(());
        }
    }
}

/// Starts a capture of `target` for `seconds` (blocking: the daemon's
/// client is): the daemon's yes (its description of the capture point)
/// and the connection the pcapng comes on, or the daemon's refusal (an
/// unknown target, say) for the page to show.
pub fn start_capture(lab: &Lab, target: &str, seconds: u64) -> Result<(Client, String), String> {
    let mut c = Client::connect(lab).map_err(|e| e.to_string())?;
    let answer = c
        .call(&Request::Capture(CaptureRequest {
            target: target.to_string(),
            count: None,
            duration_ms: Some(seconds * 1000),
            drops_only: false,
        }))
        .map_err(|e| e.to_string())?;
    match answer {
        Response::Capturing { interface, description } => Ok((c, format!("{interface} ({description})"))),
        Response::Error { message } => Err(message),
        other => Err(format!("the daemon answered {other:?} to a capture")),
    }
}

/// Passes the capture's pcapng frames on until the daemon ends it (its
/// duration is up) or the browser goes away; then the connection closes
/// and the daemon removes its tap. Runs on a blocking thread.
pub fn relay_capture(mut c: Client, mut tx: Sender<Bytes>) {
    let rt = tokio::runtime::Handle::current();
    loop {
        let bytes = match c.recv_frame() {
            Ok(b) if !b.is_empty() => b,
            // The end (an empty frame), or the daemon gone: the file ends.
            _ => return,
        };
        if rt.block_on(tx.send_data(Bytes::from(bytes))).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_block_of_event_and_data_lines() {
        assert_eq!(&event("drop", "{\"a\":1}")[..], b"event: drop\ndata: {\"a\":1}\n\n");
        // A message with a newline stays on one data line (JSON escapes it).
        let e = error_event("two\nlines");
        assert_eq!(std::str::from_utf8(&e).expect("utf-8").matches('\n').count(), 3);
    }
}
