//! The daemon's side of the API socket.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::RecvError;

use super::Daemon;
use super::proto::{Request, Response};
use crate::host::Lab;

/// Binds the lab's socket, readable and writable by root alone (the
/// runtime directory around it is 0700 too).
pub fn bind(lab: &Lab) -> std::io::Result<UnixListener> {
    let path = lab.socket();
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// The longest request line taken: a change set as JSON is far smaller;
/// a longer line is answered with an error and the connection closed.
pub const MAX_LINE: usize = 16 << 20;

/// Serves until aborted. A failed accept (out of descriptors, most
/// likely) is logged and retried after a pause, with the pause growing to
/// a second while it keeps failing: the API never ends while the lab runs.
pub async fn serve(daemon: Arc<Daemon>, listener: UnixListener) {
    let mut pause = Duration::from_millis(10);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                pause = Duration::from_millis(10);
                tokio::spawn(connection(daemon.clone(), stream));
            }
            Err(e) => {
                eprintln!(
                    "API: cannot accept a connection ({e}); trying again in {} ms",
                    pause.as_millis()
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// One request line read: its text, or what was wrong with it.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Text(String),
    /// Longer than `MAX_LINE`: the rest of the stream cannot be trusted.
    TooLong,
    NotUtf8,
    Closed,
}

/// Reads up to the next newline, never holding more than `max` bytes.
async fn read_line(read: &mut (impl AsyncBufReadExt + Unpin), max: usize) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    let n = read.take(max as u64 + 1).read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return Ok(Line::Closed);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > max {
        return Ok(Line::TooLong);
    }
    Ok(String::from_utf8(buf).map_or(Line::NotUtf8, Line::Text))
}

async fn connection(daemon: Arc<Daemon>, stream: UnixStream) {
    // Changing a lab is root's business, as creating namespaces is.
    let root = stream.peer_cred().is_ok_and(|c| c.uid() == 0);
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    loop {
        let line = match read_line(&mut read, MAX_LINE).await {
            Ok(Line::Text(line)) => line,
            Ok(Line::Closed) | Err(_) => return,
            Ok(Line::TooLong) => {
                let reply = Response::Error {
                    message: format!(
                        "bad request: longer than {} MiB; send one JSON request per line",
                        MAX_LINE >> 20
                    ),
                };
                let _ = send(&mut write, &reply).await;
                return;
            }
            Ok(Line::NotUtf8) => {
                let reply = Response::Error {
                    message: "bad request: not UTF-8; send one JSON request per line".into(),
                };
                if send(&mut write, &reply).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let reply = if !root {
            Response::Error {
                message: "only root may use a lab's API".into(),
            }
        } else {
            match serde_json::from_str::<Request>(&line) {
                Err(e) => Response::Error {
                    message: format!("bad request: {e}"),
                },
                Ok(Request::Trace { vm }) => {
                    trace(&daemon, vm, &mut write).await;
                    return;
                }
                Ok(Request::Capture(req)) => {
                    // An error here is the client gone: nothing to tell it.
                    let _ =
                        super::capture::stream(&daemon.fabric.taps, &daemon.fabric.plane, req, &mut read, &mut write)
                            .await;
                    return;
                }
                Ok(req) => answer(&daemon, req).await,
            }
        };
        if send(&mut write, &reply).await.is_err() {
            return;
        }
    }
}

async fn answer(daemon: &Arc<Daemon>, req: Request) -> Response {
    match req {
        Request::Status => Response::Status(Box::new(daemon.status().await)),
        Request::Model => Response::Model(Box::new(daemon.model())),
        Request::Apply { changes } => daemon.apply(changes, &|line| eprintln!("{line}")).await,
        Request::Enter { netns } => daemon.enter(&netns).await,
        Request::Shutdown => {
            daemon.request_shutdown();
            Response::Ok
        }
        Request::Trace { .. } | Request::Capture(_) => Response::Error {
            message: "trace and capture stream on their own connection".into(),
        },
    }
}

/// Streams drops until the client hangs up.
async fn trace(daemon: &Daemon, vm: Option<String>, write: &mut (impl AsyncWriteExt + Unpin)) {
    let mut drops = daemon.drops();
    if send(write, &Response::Ok).await.is_err() {
        return;
    }
    loop {
        match drops.recv().await {
            Ok(event) => {
                if vm
                    .as_ref()
                    .is_some_and(|vm| !event.vms.iter().any(|v| v.eq_ignore_ascii_case(vm)))
                {
                    continue;
                }
                if send(write, &Response::Drop(event)).await.is_err() {
                    return;
                }
            }
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return,
        }
    }
}

pub(super) async fn send(write: &mut (impl AsyncWriteExt + Unpin), reply: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8], max: usize) -> Vec<Line> {
        let mut read = BufReader::new(input);
        let mut out = Vec::new();
        loop {
            let line = read_line(&mut read, max).await.expect("read");
            let end = matches!(line, Line::Closed | Line::TooLong);
            out.push(line);
            if end {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn lines_are_capped_and_checked_for_utf8() {
        let text = |s: &str| Line::Text(s.to_string());
        assert_eq!(lines(b"ab\ncd\n", 8).await, [text("ab"), text("cd"), Line::Closed]);
        // The last line may lack its newline; exactly `max` bytes pass.
        assert_eq!(lines(b"12345678", 8).await, [text("12345678"), Line::Closed]);
        assert_eq!(lines(b"123456789\nok\n", 8).await, [Line::TooLong]);
        assert_eq!(
            lines(b"\xff\xfe\n{}\n", 8).await,
            [Line::NotUtf8, text("{}"), Line::Closed]
        );
    }
}
