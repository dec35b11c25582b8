//! The CLI's side of the API socket (blocking: the CLI has no runtime).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;

use thiserror::Error;

use super::proto::{Request, Response};
use crate::host::Lab;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("lab '{lab}' is not running (no daemon answers on {socket}); start it with `vnetlab up --lab {lab}`")]
    NotRunning { lab: String, socket: String },
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

impl Client {
    pub fn connect(lab: &Lab) -> Result<Client, ClientError> {
        let socket = lab.socket();
        let stream = UnixStream::connect(&socket).map_err(|_| ClientError::NotRunning {
            lab: lab.to_string(),
            socket: socket.display().to_string(),
        })?;
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

    pub fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Garbled {
            lab: self.lab.to_string(),
            source: e,
        })?;
        line.push(b'\n');
        self.writer.write_all(&line).map_err(|e| ClientError::Io {
            lab: self.lab.to_string(),
            source: e,
        })
    }

    /// The next response line; `None` when the daemon closed the stream.
    pub fn recv(&mut self) -> Result<Option<Response>, ClientError> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).map_err(|e| ClientError::Io {
            lab: self.lab.to_string(),
            source: e,
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
        self.recv()?.ok_or_else(|| ClientError::Io {
            lab: self.lab.to_string(),
            source: std::io::ErrorKind::UnexpectedEof.into(),
        })
    }
}

/// One request to the lab's daemon.
pub fn call(lab: &Lab, req: &Request) -> Result<Response, ClientError> {
    Client::connect(lab)?.call(req)
}
