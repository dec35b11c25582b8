//! The CLI's side of the API socket (blocking: the CLI has no runtime).
//!
//! No call waits forever: connecting, sending and every answer have a
//! deadline (`deadline`), and each way of failing says what is wrong and
//! what to do, so a stopped or wedged daemon never hangs `status` or
//! `down`.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use thiserror::Error;

use super::proto::{Request, Response};
use crate::host::Lab;

/// How long connecting may take (a daemon that stopped accepting fills
/// its socket's backlog, after which connect blocks).
const CONNECT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("lab '{lab}' is not running (no daemon socket at {socket}); start it with `vnetlab up --lab {lab}`")]
    NotRunning { lab: String, socket: String },
    #[error(
        "lab '{lab}' has a socket at {socket} but no daemon listens on it (its daemon died?); `vnetlab down --lab {lab}` removes what it left, then `vnetlab up --lab {lab}`"
    )]
    Refused { lab: String, socket: String },
    #[error("permission denied on {socket}: a lab's API is root's; run the command as root (sudo)")]
    Permission { socket: String },
    #[error(
        "the daemon of lab '{lab}' did not answer within {secs} s ({what}): it may be stopped or stuck; its log is {log}; `vnetlab down --lab {lab}` stops it and removes the lab"
    )]
    NoAnswer {
        lab: String,
        what: &'static str,
        secs: u64,
        log: String,
    },
    #[error("the daemon of lab '{lab}' went away: {source}")]
    Io { lab: String, source: std::io::Error },
    #[error("the daemon of lab '{lab}' answered something unreadable: {source}")]
    Garbled { lab: String, source: serde_json::Error },
}

pub struct Client {
    lab: Lab,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("lab", &self.lab).finish()
    }
}

/// How long the daemon may take to answer `req`: a change builds machines
/// (minutes for thousands of VMs), the rest is quick. A trace waits for
/// its first answer only; the drops then come when they come.
/// `VNETLAB_API_TIMEOUT` (seconds) replaces them all, for tests of a
/// wedged daemon and for users of a slow machine.
pub fn deadline(req: &Request) -> Duration {
    if let Some(secs) = std::env::var("VNETLAB_API_TIMEOUT").ok().and_then(|s| s.parse().ok()) {
        return Duration::from_secs(secs);
    }
    match req {
        Request::Apply { .. } => Duration::from_secs(30 * 60),
        Request::Status | Request::Model | Request::Enter { .. } => Duration::from_secs(60),
        Request::Trace { .. } | Request::Capture(_) | Request::Shutdown => Duration::from_secs(10),
    }
}

impl Client {
    pub fn connect(lab: &Lab) -> Result<Client, ClientError> {
        let socket = lab.socket();
        let stream = connect_within(&socket, CONNECT).map_err(|e| connect_error(lab, &socket, e))?;
        let writer = stream.try_clone().map_err(|e| ClientError::Io {
            lab: lab.to_string(),
            source: e,
        })?;
        Ok(Client {
            lab: lab.clone(),
            reader: BufReader::new(stream),
            writer,
        })
    }

    fn no_answer(&self, what: &'static str, limit: Duration) -> ClientError {
        ClientError::NoAnswer {
            lab: self.lab.to_string(),
            what,
            secs: limit.as_secs(),
            log: self.lab.log_file().display().to_string(),
        }
    }

    fn io(&self, e: std::io::Error) -> ClientError {
        ClientError::Io {
            lab: self.lab.to_string(),
            source: e,
        }
    }

    pub fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Garbled {
            lab: self.lab.to_string(),
            source: e,
        })?;
        line.push(b'\n');
        let limit = deadline(req);
        self.writer.set_write_timeout(Some(limit)).map_err(|e| self.io(e))?;
        self.writer.write_all(&line).map_err(|e| match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => self.no_answer("taking the request", limit),
            _ => self.io(e),
        })?;
        self.reader
            .get_ref()
            .set_read_timeout(Some(limit))
            .map_err(|e| self.io(e))
    }

    /// The next response line; `None` when the daemon closed the stream.
    /// Waits as long as the last request allows (forever once a trace
    /// or a capture has started: see `call`).
    pub fn recv(&mut self) -> Result<Option<Response>, ClientError> {
        let limit = self.reader.get_ref().read_timeout().ok().flatten();
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(|e| match (e.kind(), limit) {
            (ErrorKind::WouldBlock | ErrorKind::TimedOut, Some(limit)) => self.no_answer("answering", limit),
            _ => self.io(e),
        })?;
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_str(&line).map(Some).map_err(|e| ClientError::Garbled {
            lab: self.lab.to_string(),
            source: e,
        })
    }

    /// One frame of a capture stream: a `u32` big-endian length, then that
    /// many bytes. An empty frame ends the stream.
    pub fn recv_frame(&mut self) -> Result<Vec<u8>, ClientError> {
        let io = |lab: &Lab, e| ClientError::Io {
            lab: lab.to_string(),
            source: e,
        };
        let mut len = [0u8; 4];
        self.reader.read_exact(&mut len).map_err(|e| io(&self.lab, e))?;
        let mut bytes = vec![0u8; u32::from_be_bytes(len) as usize];
        self.reader.read_exact(&mut bytes).map_err(|e| io(&self.lab, e))?;
        Ok(bytes)
    }

    /// A second handle on the socket, to write on while another thread
    /// reads (a capture's Ctrl-C).
    pub fn writer(&self) -> Result<UnixStream, ClientError> {
        self.writer.try_clone().map_err(|e| ClientError::Io {
            lab: self.lab.to_string(),
            source: e,
        })
    }

    /// One request, one response.
    pub fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
        self.send(req)?;
        let reply = self.recv()?.ok_or_else(|| ClientError::Io {
            lab: self.lab.to_string(),
            source: ErrorKind::UnexpectedEof.into(),
        })?;
        if matches!(req, Request::Trace { .. } | Request::Capture(_)) {
            // Drops and captured packets come when there are packets: no
            // deadline on those.
            self.reader.get_ref().set_read_timeout(None).map_err(|e| self.io(e))?;
        }
        Ok(reply)
    }
}

/// Connects on a thread, so that a socket whose backlog is full (a daemon
/// that stopped accepting) cannot block the CLI past `limit`.
fn connect_within(socket: &Path, limit: Duration) -> std::io::Result<UnixStream> {
    let (tx, rx) = std::sync::mpsc::channel();
    let path = socket.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(UnixStream::connect(path));
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| Err(std::io::Error::from(ErrorKind::TimedOut)))
}

fn connect_error(lab: &Lab, socket: &Path, e: std::io::Error) -> ClientError {
    let log = lab.log_file().display().to_string();
    let (lab, socket) = (lab.to_string(), socket.display().to_string());
    match e.kind() {
        ErrorKind::NotFound => ClientError::NotRunning { lab, socket },
        ErrorKind::ConnectionRefused => ClientError::Refused { lab, socket },
        ErrorKind::PermissionDenied => ClientError::Permission { socket },
        ErrorKind::TimedOut | ErrorKind::WouldBlock => ClientError::NoAnswer {
            log,
            lab,
            what: "accepting the connection",
            secs: CONNECT.as_secs(),
        },
        _ => ClientError::Io { lab, source: e },
    }
}

/// One request to the lab's daemon.
pub fn call(lab: &Lab, req: &Request) -> Result<Response, ClientError> {
    Client::connect(lab)?.call(req)
}
