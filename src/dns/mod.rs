//! Azure-provided DNS (168.63.129.16) as a pure function: a query's bytes
//! in, the response's bytes out (docs/dns.md).
//!
//! [`DnsView::compile`] turns the model into the names each VNet can
//! resolve; [`answer`] and [`answer_tcp`] decode a query with hickory-proto,
//! look the question up for the asking VM and encode the response. Nothing
//! here touches sockets: the live server (later) reads a datagram or a
//! TCP frame ([`take_tcp_message`]), calls [`answer`] and writes the bytes.

mod limit;
mod view;
mod why;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};

use crate::model::ResourceId;

pub use limit::{QUERIES_PER_SECOND, QUEUE_DEPTH, QueryLimiter};
pub use view::{DERIVED_TTL, DnsView, INTERNAL_ZONE, Outcome, PUBLIC_CNAME_TTL, Resolution};
pub use why::{NameAnswer, resolve_as_vm};

/// The EDNS payload size the resolver offers and honours at most: the
/// common "DNS flag day 2020" value, safe from IP fragmentation.
pub const MAX_UDP_PAYLOAD: u16 = 1232;

/// Plain DNS over UDP without EDNS: RFC 1035's 512 bytes.
const CLASSIC_UDP_PAYLOAD: usize = 512;

/// Who asks: the VM's VNet decides which names exist; its name is kept for
/// the server's per-VM accounting (1000 queries/s, azure-semantics-2 §1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AskerCtx {
    pub vnet: ResourceId,
    pub vm: String,
}

/// Answers a query that came over UDP: responses larger than the client's
/// EDNS payload (512 bytes without EDNS) are truncated with TC set, so the
/// client retries over TCP. `None` means drop the datagram: it is too short
/// to carry an ID, or it is itself a response (answering those could loop).
pub fn answer(view: &DnsView, asker: &AskerCtx, query: &[u8]) -> Option<Vec<u8>> {
    respond(view, asker, query, Transport::Udp)
}

/// Answers a query that came over TCP (one message, without its length
/// prefix); see [`tcp_frame`] and [`take_tcp_message`].
pub fn answer_tcp(view: &DnsView, asker: &AskerCtx, query: &[u8]) -> Option<Vec<u8>> {
    respond(view, asker, query, Transport::Tcp)
}

/// Prefixes a message with its 2-byte length for DNS over TCP (RFC 1035
/// §4.2.2). `None` if it does not fit in 65 535 bytes.
pub fn tcp_frame(message: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(message.len()).ok()?;
    let mut out = Vec::with_capacity(message.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Some(out)
}

/// Takes the first whole length-prefixed message off a TCP stream buffer,
/// leaving the rest; `None` until a whole message has arrived.
pub fn take_tcp_message(buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let (Some(hi), Some(lo)) = (buf.first(), buf.get(1)) else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    if buf.len() < 2 + len {
        return None;
    }
    let msg = buf[2..2 + len].to_vec();
    buf.drain(..2 + len);
    Some(msg)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// A bare header-only response, for queries hickory cannot decode: the ID
/// and opcode copied, QR and RA set, RD copied, and `rcode`.
fn header_only(query: &[u8], rcode: u8) -> Option<Vec<u8>> {
    let (id, flags) = (query.get(0..2)?, *query.get(2)?);
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(id);
    out.push(0x80 | (flags & 0x79)); // QR, opcode and RD from the query
    out.push(0x80 | (rcode & 0x0f)); // RA, rcode
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

fn respond(view: &DnsView, asker: &AskerCtx, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 {
        return None;
    }
    let formerr = || header_only(query, 1);
    let Ok(req) = Message::from_vec(query) else {
        return formerr();
    };
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.metadata.checking_disabled = req.metadata.checking_disabled;
    // Azure's resolver is recursive: RA is always set.
    resp.metadata.recursion_available = true;
    resp.add_queries(req.queries.iter().cloned());
    let mut limit = CLASSIC_UDP_PAYLOAD;
    if let Some(e) = &req.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(MAX_UDP_PAYLOAD);
        limit = usize::from(e.max_payload().clamp(512, MAX_UDP_PAYLOAD));
        resp.set_edns(edns);
        if e.version() > 0 {
            // RFC 6891 §6.1.3: only version 0 exists.
            resp.metadata.response_code = ResponseCode::BADVERS;
            return encode(resp, limit, transport);
        }
    }
    if req.metadata.op_code != OpCode::Query {
        resp.metadata.response_code = ResponseCode::NotImp;
        return encode(resp, limit, transport);
    }
    let [q] = req.queries.as_slice() else {
        resp.metadata.response_code = ResponseCode::FormErr;
        return encode(resp, limit, transport);
    };
    if q.query_class() != DNSClass::IN || matches!(q.query_type(), RecordType::AXFR | RecordType::IXFR) {
        resp.metadata.response_code = ResponseCode::Refused;
        return encode(resp, limit, transport);
    }
    let labels: Vec<String> = q
        .name()
        .iter()
        .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
        .collect();
    // A label holding a dot (sent escaped) could never be a name of ours.
    let name = if labels.iter().any(|l| l.contains('.')) {
        String::from("\u{0}")
    } else {
        labels.join(".")
    };
    let res = view.lookup_asked(&asker.vnet, &name, &q.name().to_ascii(), q.query_type());
    resp.metadata.authoritative = res.authoritative;
    resp.metadata.response_code = match res.outcome {
        Outcome::Answer | Outcome::NoData => ResponseCode::NoError,
        Outcome::NxDomain => ResponseCode::NXDomain,
        Outcome::ServFail => ResponseCode::ServFail,
    };
    resp.add_answers(res.answers);
    resp.add_authorities(res.authority);
    encode(resp, limit, transport)
}

fn encode(resp: Message, limit: usize, transport: Transport) -> Option<Vec<u8>> {
    let id = resp.metadata.id;
    let servfail = || {
        let mut m = Message::error_msg(id, OpCode::Query, ResponseCode::ServFail);
        m.metadata.message_type = MessageType::Response;
        m.to_vec().ok()
    };
    let Ok(bytes) = resp.to_vec() else {
        return servfail();
    };
    if transport == Transport::Udp && bytes.len() > limit {
        // RFC 2181 §9: drop the records, keep the question, set TC.
        return resp.truncate().to_vec().ok().or_else(servfail);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests;
