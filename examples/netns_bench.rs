//! Times what building and removing a VM's network costs on the host:
//! N namespaces, each with one TUN `eth0`, an address and a default route,
//! created and then deleted. Needs root. `cargo run --release --example
//! netns_bench -- [N]`.

use std::net::Ipv4Addr;
use std::time::Instant;

use vnetlab::host::{netns, tun};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args().nth(1).map_or(Ok(200), |s| s.parse())?;
    let names: Vec<String> = (0..n)
        .map(|i| format!("vnl-bench{}.vm{i}", std::process::id()))
        .collect();
    let start = Instant::now();
    let mut devs = Vec::new();
    let mut made = Ok(());
    for (i, ns) in names.iter().enumerate() {
        let iface = tun::Interface {
            address: Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 4)) + 8 * u32::try_from(i)?),
            prefix_len: 24,
            gateway: Ipv4Addr::new(10, 0, 0, 1),
            forwarding: false,
        };
        made = netns::add(ns).and_then(|()| tun::open(ns, "eth0", &iface, true).map(|d| devs.push(d)));
        if made.is_err() {
            break;
        }
    }
    let created = start.elapsed();
    drop(devs);
    let start = Instant::now();
    for ns in &names {
        netns::delete(ns)?;
    }
    let deleted = start.elapsed();
    made?;
    println!(
        "{n} namespaces with a TUN, an address and a route: create {:.0} ms ({:.2} ms each), delete {:.0} ms ({:.2} ms each)",
        created.as_secs_f64() * 1e3,
        created.as_secs_f64() * 1e3 / f64::from(n),
        deleted.as_secs_f64() * 1e3,
        deleted.as_secs_f64() * 1e3 / f64::from(n),
    );
    Ok(())
}
