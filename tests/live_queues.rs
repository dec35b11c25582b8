//! Several packet threads: with `VNETLAB_PACKET_THREADS=2` every VM's TUN
//! has two queues, each read by its own packet task, and flows spread over
//! both still arrive whole; one flow is carried by one thread, not handed
//! between threads. Needs root (`cargo test --features root-tests`).
#![cfg(feature = "root-tests")]

use std::collections::BTreeMap;
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

    let server = serve_once(&lab);
    // Eight connections: all eight hash to one queue once in 128 runs, so
    // nearly always both packet tasks carry some; a queue nobody read
    // would stall its connections and fail the transfer.
    let o = iperf3(&lab, &["-P", "8", "-n", "64M"]);
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

    // One UDP flow is one queue: one thread must carry it. On a shared
    // work-stealing runtime both threads ran its task in turn (each
    // hand-over a wake-up), costing the daemon about 45 % more CPU, which
    // the receiving VM then lacked (64-byte UDP lost at its socket).
    let server = serve_once(&lab);
    let before = thread_ticks(&lab);
    let o = iperf3(&lab, &["-u", "-l", "64", "-b", "51200000", "-t", "3"]);
    assert!(o.status.success(), "iperf3 -u failed: {}", text(&o));
    let after = thread_ticks(&lab);
    drop(server);
    let used: BTreeMap<String, u64> = after
        .iter()
        .map(|(t, &a)| (t.clone(), a.saturating_sub(before.get(t).copied().unwrap_or(0))))
        .filter(|&(_, d)| d > 0)
        .collect();
    let total: u64 = used.values().sum();
    let top = used.values().copied().max().unwrap_or(0);
    assert!(total >= 5, "the daemon hardly ran during 3 s of UDP: {used:?}");
    assert!(
        top * 10 >= total * 8,
        "one UDP flow's CPU is spread over threads (ticks by thread): {used:?}"
    );
}

/// iperf3 from ClientVM to ServerVM with `options`, its report as JSON;
/// `timeout` bounds it.
fn iperf3(lab: &Lab, options: &[&str]) -> Output {
    let argv: Vec<&str> = ["timeout", "60", "iperf3", "-c", "10.12.1.4"]
        .into_iter()
        .chain(options.iter().copied())
        .chain(["-J"])
        .collect();
    exec(lab, "ClientVM", &argv)
}

/// An iperf3 server in ServerVM for one client; `timeout` bounds it if
/// none comes.
fn serve_once(lab: &Lab) -> Server {
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
    while exec(lab, "ServerVM", &["ss", "-Hltn", "sport = :5201"])
        .stdout
        .is_empty()
    {
        assert!(start.elapsed() < Duration::from_secs(30), "iperf3 -s never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// CPU ticks (user + system) of each of the lab daemon's threads, by
/// thread id.
fn thread_ticks(lab: &Lab) -> BTreeMap<String, u64> {
    let pid_file = format!("/run/vnetlab/{}/daemon.pid", lab.0);
    let pids = std::fs::read_to_string(&pid_file).expect("read the daemon's PID file");
    let pid = pids.split_whitespace().next().expect("a PID");
    let mut ticks = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("list the daemon's threads") {
        let task = task.expect("a thread");
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // it ended
        };
        // After the name in parentheses: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat[stat.rfind(')').expect("stat has a name") + 2..]
            .split(' ')
            .collect();
        let used = fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
        ticks.insert(task.file_name().to_string_lossy().into_owned(), used);
    }
    ticks
}
