//! `vnetlab web`: a local page for a running lab — the diagram, counters
//! moving live, the drop stream with reasons, a VM's effective routes and
//! NSG rules, and an explain box. The server is this CLI process: it asks
//! the lab's daemon over its API and computes nothing the commands don't.
//!
//! Loopback only, and every request must carry the random token of the
//! printed URL (as Jupyter does): the page shows a lab's addresses and
//! rules, which only root could read otherwise.

mod http;
mod stream;
mod views;

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use http_body_util::{Either, Full, channel::Channel};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use self::http::Route;
use super::live;
use crate::host::Lab;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

type Body = Either<Full<Bytes>, Channel<Bytes>>;

#[derive(Debug)]
struct State {
    lab: Lab,
    token: String,
}

/// `--listen`, checked: an address on the loopback interface.
pub fn loopback(listen: &str) -> anyhow::Result<SocketAddr> {
    let addr: SocketAddr = listen.parse().with_context(|| {
        format!("--listen '{listen}' is not IP:PORT; give a loopback address such as 127.0.0.1:8765")
    })?;
    if !addr.ip().is_loopback() {
        bail!(
            "--listen {addr}: vnetlab web serves only on loopback (127.0.0.0/8 or [::1]), because the page shows the lab's \
             addresses and rules to whoever reaches it; give 127.0.0.1:PORT and, from another machine, tunnel to it \
             (ssh -L PORT:127.0.0.1:PORT)"
        );
    }
    Ok(addr)
}

/// The page with its script and style inlined: one request loads it all.
fn page(lab: &Lab) -> String {
    PAGE.replace("/*STYLE*/", STYLE)
        .replace("/*SCRIPT*/", SCRIPT)
        .replace("{{LAB}}", lab.name())
}

pub fn web(lab: &Lab, listen: &str, out: &mut impl Write) -> anyhow::Result<u8> {
    let addr = loopback(listen)?;
    // A lab that does not run is said now, not as a broken page.
    live::lab_model(lab)?;
    let token = http::new_token().context("cannot read random bytes for the page's token")?;
    let listener = std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    writeln!(out, "http://{local}/?token={token}")?;
    writeln!(
        out,
        "vnetlab web: lab '{lab}' on the URL above (only with its token); Ctrl-C stops"
    )?;
    out.flush()?;
    let state = Arc::new(State {
        lab: lab.clone(),
        token,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(serve(listener, state))
}

async fn serve(listener: std::net::TcpListener, state: Arc<State>) -> anyhow::Result<u8> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, say: this connection is lost, the server is not.
                Err(e) => {
                    eprintln!("vnetlab web: accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(0),
        };
        let st = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(st.clone(), req));
            // A browser that goes away mid-answer is not the server's error.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

fn reply(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Either::Left(Full::new(body.into())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json(v: &serde_json::Value) -> Response<Body> {
    reply(200, "application/json", v.to_string())
}

fn events(fill: impl FnOnce(http_body_util::channel::Sender<Bytes>)) -> Response<Body> {
    let (tx, body) = Channel::new(16);
    fill(tx);
    let mut r = Response::new(Either::Right(body));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The capture as a pcapng download, streamed as the daemon sends it.
fn download(lab: &Lab, target: &str, client: crate::daemon::client::Client) -> Response<Body> {
    let (tx, body) = Channel::new(16);
    tokio::task::spawn_blocking(move || stream::relay_capture(client, tx));
    let file: String = format!("{}-{target}.pcapng", lab.name())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut r = Response::new(Either::Right(body));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-pcapng"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(hyper::header::CONTENT_DISPOSITION, v);
    }
    r
}

/// Runs `f` on the running lab's model, off the async threads (the daemon
/// client and Graphviz block). A lab that is gone is a 503 with the reason.
async fn with_model<T: Send + 'static>(
    state: &State,
    f: impl FnOnce(&crate::model::Model) -> T + Send + 'static,
) -> Result<T, Response<Body>> {
    let lab = state.lab.clone();
    match tokio::task::spawn_blocking(move || live::lab_model(&lab).map(|m| f(&m))).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(reply(503, "text/plain; charset=utf-8", format!("{e:#}"))),
        Err(e) => Err(reply(500, "text/plain; charset=utf-8", e.to_string())),
    }
}

fn answer(r: Result<serde_json::Value, String>) -> Response<Body> {
    match r {
        Ok(v) => json(&v),
        Err(why) => reply(400, "text/plain; charset=utf-8", why),
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let route = http::route(req.method().as_str(), req.uri().path(), req.uri().query(), &state.token);
    let done = |r: Result<Response<Body>, Response<Body>>| Ok(r.unwrap_or_else(|e| e));
    match route {
        Route::Refuse { status, why } => Ok(reply(status, "text/plain; charset=utf-8", why)),
        Route::Page => Ok(reply(200, "text/html; charset=utf-8", page(&state.lab))),
        Route::Graph => done(with_model(&state, |m| json(&views::diagram(m))).await),
        Route::Vm { name } => done(with_model(&state, move |m| answer(views::vm(m, &name))).await),
        Route::Explain { from, to, protocol } => done(
            with_model(&state, move |m| {
                answer(
                    views::explain(m, &from, &to, protocol.as_deref()).map(|text| serde_json::json!({ "text": text })),
                )
            })
            .await,
        ),
        Route::Capture { target, seconds } => {
            let lab = state.lab.clone();
            let t = target.clone();
            match tokio::task::spawn_blocking(move || stream::start_capture(&lab, &t, seconds)).await {
                Ok(Ok((client, _point))) => Ok(download(&state.lab, &target, client)),
                Ok(Err(why)) => Ok(reply(400, "text/plain; charset=utf-8", why)),
                Err(e) => Ok(reply(500, "text/plain; charset=utf-8", e.to_string())),
            }
        }
        Route::Counters => {
            let lab = state.lab.clone();
            Ok(events(|tx| {
                tokio::spawn(stream::counters(lab, tx));
            }))
        }
        Route::Drops => {
            let lab = state.lab.clone();
            Ok(events(|tx| {
                tokio::spawn(stream::drops(lab, tx));
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_must_be_loopback() {
        assert_eq!(loopback("127.0.0.1:8765").expect("ok").port(), 8765);
        assert!(loopback("127.1.2.3:0").is_ok());
        assert!(loopback("[::1]:8765").is_ok());
        for bad in ["0.0.0.0:8765", "10.1.1.4:80", "[::]:8765", "192.168.1.2:1"] {
            let e = loopback(bad).unwrap_err().to_string();
            assert!(e.contains("only on loopback"), "{bad}: {e}");
        }
        assert!(loopback("localhost").unwrap_err().to_string().contains("not IP:PORT"));
    }

    #[test]
    fn the_page_inlines_its_script_and_style() {
        let lab = crate::host::lab_from(Some("h9page")).expect("a lab name");
        let p = page(&lab);
        assert!(!p.contains("/*SCRIPT*/") && !p.contains("/*STYLE*/") && !p.contains("{{LAB}}"));
        assert!(p.contains("EventSource") && p.contains("h9page"));
    }
}
