//! The daemon's side of the API socket.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
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

pub async fn serve(daemon: Arc<Daemon>, listener: UnixListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(connection(daemon.clone(), stream));
    }
}

async fn connection(daemon: Arc<Daemon>, stream: UnixStream) {
    // Changing a lab is root's business, as creating namespaces is.
    let root = stream.peer_cred().is_ok_and(|c| c.uid() == 0);
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
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
                        super::capture::stream(&daemon.fabric.taps, &daemon.fabric.plane, req, &mut lines, &mut write)
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
