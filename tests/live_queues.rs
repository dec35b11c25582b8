//! Several packet threads: with `VNETLAB_PACKET_THREADS=2` every VM's TUN
//! has two queues, each read by its own packet task, and flows spread over
//! both still arrive whole. Needs root (`cargo test --features root-tests`).
#![cfg(feature = "root-tests")]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{BIN, Lab, text, vnetlab};

const NET_LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/net-lab");

fn exec(lab: &Lab, vm: &str, argv: &[&str]) -> Output {
    vnetlab(&[&["exec", "--lab", &lab.0, vm, "--"], argv].concat())
}

/// Ends the server's `vnetlab exec` if the test fails before it is done.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn two_packet_threads_read_two_queues_and_carry_every_flow() {
    let lab = Lab::named("p2q");
    let up = Command::new(BIN)
        .args(["up", NET_LAB, "--lab", &lab.0, "--latency", "off"])
        .env("VNETLAB_PACKET_THREADS", "2")
        .stdin(Stdio::null())
        .output()
        .expect("run vnetlab up");
    assert!(up.status.success(), "up failed: {}", text(&up));

    for vm in ["ClientVM", "ServerVM"] {
        let o = Command::new("ip")
            .args(["netns", "exec", &format!("vnl-{}.{vm}", lab.0)])
            .args(["ls", "/sys/class/net/eth0/queues"])
            .output()
            .expect("run ip netns exec");
        let queues = String::from_utf8_lossy(&o.stdout);
        let mut rx: Vec<&str> = queues.split_whitespace().filter(|q| q.starts_with("rx-")).collect();
        rx.sort_unstable();
        assert_eq!(rx, ["rx-0", "rx-1"], "{vm}'s eth0 queues: {}", text(&o));
    }

    // One client, then it exits; `timeout` bounds it if none comes.
    let server = Server(
        Command::new(BIN)
            .args([
                "exec", "--lab", &lab.0, "ServerVM", "--", "timeout", "60", "iperf3", "-s", "-1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start iperf3 -s"),
    );
    let start = Instant::now();
    while exec(&lab, "ServerVM", &["ss", "-Hltn", "sport = :5201"])
        .stdout
        .is_empty()
    {
        assert!(start.elapsed() < Duration::from_secs(30), "iperf3 -s never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Eight connections: all eight hash to one queue once in 128 runs, so
    // nearly always both packet tasks carry some; a queue nobody read
    // would stall its connections and fail the transfer.
    let o = exec(
        &lab,
        "ClientVM",
        &[
            "timeout",
            "60",
            "iperf3",
            "-c",
            "10.12.1.4",
            "-P",
            "8",
            "-n",
            "64M",
            "-J",
        ],
    );
    assert!(o.status.success(), "iperf3 -P 8 failed: {}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("iperf3 JSON");
    let streams = doc["end"]["streams"].as_array().cloned().unwrap_or_default();
    let received: Vec<u64> = streams
        .iter()
        .map(|s| s["receiver"]["bytes"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(received.len(), 8, "iperf3 streams: {}", text(&o));
    assert!(
        received.iter().all(|&b| b > 0),
        "a stream carried nothing: {received:?}"
    );
    drop(server);
}
