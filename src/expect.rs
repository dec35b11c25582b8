//! A lab's `expect.yaml`: who must (and must not) reach whom, and the
//! report `vnetlab test` prints: a from × to matrix and JUnit XML.
//!
//! Pure: the live checks happen in the CLI; this module only reads the
//! expectations and renders outcomes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Deserialize;
use thiserror::Error;

/// Where `from` may name the Internet side instead of a VM.
pub const CLOUD_SHELL: &str = "CloudShell";

#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectFile {
    /// Steps run in order before the expectations are checked: what a lab
    /// needs done inside its VMs (an NVA's router started), and waits for
    /// what that makes the fabric learn.
    #[serde(default)]
    pub before: Vec<Step>,
    pub expectations: Vec<Expectation>,
}

/// One step of `before` (an expectations file) or `run` (a changes file):
/// either a script run inside a VM, or a wait for an effective route.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Step {
    /// The VM `script` runs in, as root, as `az vm run-command invoke
    /// --command-id RunShellScript` runs it; a non-zero exit stops the test.
    #[serde(default)]
    pub vm: Option<String>,
    /// A shell script (`sh -c`).
    #[serde(default)]
    pub script: Option<String>,
    /// Waits until a NIC's effective routes show a route, at most
    /// `STEP_WAIT`: what BGP teaches takes a moment to arrive.
    #[serde(default)]
    pub wait_for_route: Option<RouteWait>,
}

/// The longest a `waitForRoute` step waits.
pub const STEP_WAIT: Duration = Duration::from_secs(60);

/// A NIC's active route to `prefix` with exactly these next hops (in any
/// order); none at all means: no active route to `prefix`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteWait {
    pub nic: String,
    pub prefix: String,
    #[serde(default)]
    pub next_hops: Vec<String>,
}

impl Step {
    /// A step is a script in a VM or a wait, never both or neither.
    pub fn check(&self) -> Result<(), String> {
        match (&self.vm, &self.script, &self.wait_for_route) {
            (Some(_), Some(_), None) | (None, None, Some(_)) => Ok(()),
            _ => Err("a step is either `vm` with `script`, or `waitForRoute`".into()),
        }
    }

    /// What the step does, for the test's progress lines.
    pub fn describe(&self) -> String {
        match (&self.vm, &self.wait_for_route) {
            (Some(vm), _) => {
                let first = self.script.as_deref().unwrap_or("").lines().next().unwrap_or("");
                format!("in {vm}: {first}…")
            }
            (None, Some(w)) if w.next_hops.is_empty() => format!("wait until {} has no route to {}", w.nic, w.prefix),
            (None, Some(w)) => format!("wait until {} routes {} to {}", w.nic, w.prefix, w.next_hops.join(", ")),
            (None, None) => "an empty step".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expectation {
    /// A VM's name, `CloudShell` (the Internet side), an on-premises
    /// machine, or an AKS pod as `CLUSTER/POD`.
    pub from: String,
    /// A VM's name (its private IP; from the Cloud Shell, its public IP),
    /// an AKS pod as `CLUSTER/POD` (its pod IP) or an IPv4 address.
    pub to: String,
    pub via: Probe,
    /// TCP port for `tcp` (ssh always uses 22).
    #[serde(default)]
    pub port: Option<u16>,
    /// For `ssh`: log in to the name `to` as the VM resolves it (its
    /// resolv.conf), not to the address vnetlab looks up.
    #[serde(default)]
    pub by_name: bool,
    /// For `dig` and `getent`: the address the name must resolve to
    /// (`reachable: true` then means "resolves to this address").
    #[serde(default)]
    pub address: Option<std::net::Ipv4Addr>,
    /// For `ping`, `tcp`, `ssh`: reached. For `dig` and `getent`: the name
    /// resolves to an IPv4 address (to `address` when given).
    pub reachable: bool,
    /// For ssh: the host name the login must print (the machine that
    /// answers an address several could hold, such as an NVA's range).
    #[serde(default)]
    pub hostname: Option<String>,
    /// For traceroute: the routers the path must cross, in order, before
    /// the target answers (an NVA's kernel is a hop; Azure's fabric is not).
    #[serde(default)]
    pub hops: Vec<std::net::Ipv4Addr>,
    /// Why, in the lab's words (shown in the report).
    #[serde(default)]
    pub because: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Probe {
    /// ICMP echo.
    Ping,
    /// A TCP connection that completes.
    Tcp,
    /// An OpenSSH login that runs `hostname` and prints the target's name.
    Ssh,
    /// `dig +search NAME A` inside the VM, through its resolv.conf.
    Dig,
    /// `getent ahostsv4 NAME` inside the VM (glibc: /etc/hosts, then DNS).
    Getent,
    /// `traceroute -n` (UDP probes) inside the VM: the target answers, after
    /// the routers `hops` lists.
    Traceroute,
}

impl Probe {
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::Ping => "ping",
            Probe::Tcp => "tcp",
            Probe::Ssh => "ssh",
            Probe::Dig => "dig",
            Probe::Getent => "getent",
            Probe::Traceroute => "traceroute",
        }
    }
}

#[derive(Debug, Error)]
pub enum ExpectError {
    #[error("{0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("expectation {index} ({from} -> {to}): {message}")]
    Invalid {
        index: usize,
        from: String,
        to: String,
        message: String,
    },
}

impl ExpectFile {
    pub fn parse(text: &str) -> Result<ExpectFile, ExpectError> {
        let file: ExpectFile = serde_yaml_ng::from_str(text)?;
        for (i, step) in file.before.iter().enumerate() {
            step.check().map_err(|message| ExpectError::Invalid {
                index: i + 1,
                from: "before".into(),
                to: step.describe(),
                message,
            })?;
        }
        for (i, e) in file.expectations.iter().enumerate() {
            let bad = |message: &str| {
                Err(ExpectError::Invalid {
                    index: i + 1,
                    from: e.from.clone(),
                    to: e.to.clone(),
                    message: message.into(),
                })
            };
            match (e.via, e.port) {
                (Probe::Tcp, None) => return bad("a tcp probe needs a port"),
                (Probe::Ping, Some(_)) => return bad("ping has no port"),
                (Probe::Ssh, Some(p)) if p != 22 => return bad("ssh probes port 22; use `via: tcp` for other ports"),
                _ if e.hostname.is_some() && (e.via != Probe::Ssh || !e.reachable) => {
                    return bad("hostname is what a reachable ssh login prints");
                }
                (Probe::Dig | Probe::Getent, Some(_)) => return bad("a name lookup has no port"),
                (Probe::Traceroute, Some(_)) => return bad("traceroute probes its own UDP ports; it takes no port"),
                _ if !e.hops.is_empty() && (e.via != Probe::Traceroute || !e.reachable) => {
                    return bad("hops are what a traceroute that reaches its target crosses");
                }
                _ => {}
            }
            let lookup = matches!(e.via, Probe::Dig | Probe::Getent);
            if e.by_name && e.via != Probe::Ssh {
                return bad("byName is for ssh; dig and getent always use the name");
            }
            if e.address.is_some() && !lookup {
                return bad("address is for dig and getent");
            }
        }
        Ok(file)
    }
}

/// Each hop's answering router in `traceroute -n` output, in order: the
/// first that answered of the hop's probes (None when all stayed silent).
pub fn traceroute_hops(printed: &str) -> Vec<Option<std::net::Ipv4Addr>> {
    printed
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.next()?.parse::<u8>().ok()?;
            Some(words.find_map(|w| w.parse().ok()))
        })
        .collect()
}

/// Whether a traceroute reached `target` across exactly the routers `want`
/// (any, when `want` is empty), with the path it took in words.
pub fn traceroute_verdict(
    hops: &[Option<std::net::Ipv4Addr>],
    target: std::net::Ipv4Addr,
    want: &[std::net::Ipv4Addr],
) -> (bool, String) {
    let path = hops
        .iter()
        .map(|h| h.map_or("*".to_string(), |ip| ip.to_string()))
        .collect::<Vec<_>>()
        .join(" -> ");
    let Some((last, before)) = hops.split_last() else {
        return (false, "traceroute printed no hop".into());
    };
    if *last != Some(target) {
        return (false, format!("{target} did not answer: {path}"));
    }
    let crossed: Vec<Option<std::net::Ipv4Addr>> = before.to_vec();
    let wanted: Vec<Option<std::net::Ipv4Addr>> = want.iter().copied().map(Some).collect();
    if !want.is_empty() && crossed != wanted {
        let want = want.iter().map(|ip| ip.to_string()).collect::<Vec<_>>().join(" -> ");
        return (false, format!("path {path}, not through {want}"));
    }
    (true, format!("path {path}"))
}

/// What a check saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub expectation: Expectation,
    /// The address the probe went to.
    pub address: String,
    pub reachable: bool,
    /// What the probe printed or why it failed (ssh: the remote hostname).
    pub detail: String,
    /// The verdict function's explanation of the first packet.
    pub why: String,
    pub took: Duration,
}

impl Outcome {
    /// (A login that lands on another machine than `hostname` says is
    /// not reachable: the ssh probe checks the name it prints.)
    pub fn passed(&self) -> bool {
        self.reachable == self.expectation.reachable
    }

    fn label(&self) -> String {
        let e = &self.expectation;
        match (e.via, e.port) {
            (Probe::Tcp, Some(p)) => format!("tcp/{p}"),
            (Probe::Ssh, _) if e.by_name => "ssh by name".to_string(),
            (v, _) => v.as_str().to_string(),
        }
    }
}

/// The from × to matrix: each cell lists the probes, `ok` for reached and
/// `--` for blocked, with `!` marking a result that broke an expectation.
pub fn matrix(outcomes: &[Outcome]) -> String {
    let mut rows: Vec<String> = Vec::new();
    let mut cols: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for o in outcomes {
        let (f, t) = (o.expectation.from.clone(), o.expectation.to.clone());
        if !rows.contains(&f) {
            rows.push(f.clone());
        }
        if !cols.contains(&t) {
            cols.push(t.clone());
        }
        let mark = if o.passed() { "" } else { "!" };
        cells
            .entry((f, t))
            .or_default()
            .push(format!("{} {}{mark}", o.label(), if o.reachable { "ok" } else { "--" }));
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            std::iter::once(r.clone())
                .chain(cols.iter().map(|c| {
                    cells
                        .get(&(r.clone(), c.clone()))
                        .map_or_else(String::new, |v| v.join(", "))
                }))
                .collect()
        })
        .collect();
    let headers: Vec<&str> = std::iter::once("from \\ to")
        .chain(cols.iter().map(String::as_str))
        .collect();
    crate::print::tabulate(&headers, &rows) + "\n"
}

/// One line per expectation that failed or that expected a block.
pub fn findings(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for o in outcomes {
        let e = &o.expectation;
        let head = format!("{} -> {} ({}) {}", e.from, e.to, o.address, o.label());
        let because = e.because.as_deref().map(|b| format!(" [{b}]")).unwrap_or_default();
        match (o.passed(), o.reachable) {
            (true, true) => {}
            (true, false) => {
                let _ = writeln!(out, "ok      {head}: blocked as expected{because}: {}", o.why);
            }
            (false, true) => {
                let _ = writeln!(
                    out,
                    "FAILED  {head}: expected blocked, but it got through ({}){because}: {}",
                    o.detail, o.why
                );
            }
            (false, false) => {
                let _ = writeln!(
                    out,
                    "FAILED  {head}: expected reachable, but {}{because}: {}",
                    o.detail, o.why
                );
            }
        }
    }
    out
}

pub fn junit(lab: &str, outcomes: &[Outcome]) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new(format!("vnetlab {lab}"));
    for o in outcomes {
        let e = &o.expectation;
        let name = format!(
            "{} -> {} {} {}",
            e.from,
            e.to,
            o.label(),
            if e.reachable { "reachable" } else { "blocked" }
        );
        let status = if o.passed() {
            TestCaseStatus::success()
        } else {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!(
                "{}: {}",
                if o.reachable { "got through" } else { "blocked" },
                o.detail
            ));
            s.set_description(o.why.clone());
            s
        };
        let mut case = TestCase::new(name, status);
        case.set_classname(format!("{lab}.{}", e.from));
        case.set_time(o.took);
        suite.add_test_case(case);
    }
    let mut report = Report::new("vnetlab");
    report.add_test_suite(suite);
    report.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(from: &str, to: &str, via: Probe, expected: bool, got: bool) -> Outcome {
        Outcome {
            expectation: Expectation {
                from: from.into(),
                to: to.into(),
                via,
                port: None,
                by_name: false,
                address: None,
                reachable: expected,
                hostname: None,
                hops: vec![],
                because: None,
            },
            address: "10.0.0.4".into(),
            reachable: got,
            detail: "timed out".into(),
            why: "dropped: no route".into(),
            took: Duration::from_millis(5),
        }
    }

    #[test]
    fn parses_the_learn_lab() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/01-peering-basics/expect.yaml"
        ))
        .unwrap();
        let file = ExpectFile::parse(&text).unwrap();
        assert!(
            file.expectations.iter().any(|e| !e.reachable),
            "needs negative expectations"
        );
        assert!(file.expectations.iter().any(|e| e.from == CLOUD_SHELL));
    }

    #[test]
    fn refuses_ports_that_make_no_sense() {
        for bad in [
            "{from: a, to: b, via: tcp, reachable: true}",
            "{from: a, to: b, via: ping, port: 1, reachable: true}",
            "{from: a, to: b, via: ssh, port: 2222, reachable: true}",
            "{from: a, to: b, via: dig, port: 53, reachable: true}",
            "{from: a, to: b, via: ping, byName: true, reachable: true}",
            "{from: a, to: b, via: ssh, address: 10.0.0.4, reachable: true}",
        ] {
            assert!(ExpectFile::parse(&format!("expectations: [{bad}]")).is_err(), "{bad}");
        }
        assert!(ExpectFile::parse("expectations: [{from: a, to: b, via: udp, reachable: true}]").is_err());
        let names = "expectations: [{from: a, to: b, via: dig, address: 10.0.0.4, reachable: true}, {from: a, to: b, via: ssh, byName: true, reachable: false}]";
        let file = ExpectFile::parse(names).unwrap();
        assert_eq!(file.expectations[0].address, Some("10.0.0.4".parse().unwrap()));
        assert!(file.expectations[1].by_name);
        assert!(ExpectFile::parse("expectations: [{from: a, to: b, via: ping, reachable: true, extra: 1}]").is_err());
    }

    #[test]
    fn steps_are_a_script_in_a_vm_or_a_wait() {
        let ok = "before:\n  - {vm: nva1, script: 'frrinit.sh start'}\n  - waitForRoute: {nic: n, prefix: 10.9.0.0/16, nextHops: [10.0.2.4]}\nexpectations: []";
        let f = ExpectFile::parse(ok).unwrap();
        assert_eq!(f.before.len(), 2);
        assert_eq!(f.before[1].describe(), "wait until n routes 10.9.0.0/16 to 10.0.2.4");
        for bad in [
            "{vm: nva1}",
            "{script: x}",
            "{vm: a, script: x, waitForRoute: {nic: n, prefix: 10.0.0.0/8}}",
        ] {
            assert!(
                ExpectFile::parse(&format!("before: [{bad}]\nexpectations: []")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn hops_go_with_a_reachable_traceroute_only() {
        let ok = "expectations: [{from: a, to: 192.168.100.10, via: traceroute, reachable: true, hops: [10.0.2.4]}]";
        assert_eq!(
            ExpectFile::parse(ok).unwrap().expectations[0].hops,
            vec![std::net::Ipv4Addr::new(10, 0, 2, 4)]
        );
        for e in [
            "{from: a, to: b, via: ping, reachable: true, hops: [10.0.2.4]}",
            "{from: a, to: b, via: traceroute, reachable: false, hops: [10.0.2.4]}",
            "{from: a, to: b, via: traceroute, port: 33434, reachable: true}",
        ] {
            assert!(ExpectFile::parse(&format!("expectations: [{e}]")).is_err(), "{e}");
        }
    }

    // As Debian's traceroute 2.1 prints it with -n -q 1.
    const TRACE: &str = "traceroute to 192.168.100.10 (192.168.100.10), 8 hops max, 60 byte packets\n 1  10.0.2.4  1.031 ms\n 2  192.168.100.10  0.658 ms\n";

    #[test]
    fn traceroute_hops_are_read_in_order_silent_ones_included() {
        let ip = |d| Some(std::net::Ipv4Addr::new(10, 0, 2, d));
        assert_eq!(traceroute_hops(TRACE), vec![ip(4), "192.168.100.10".parse().ok()]);
        assert_eq!(traceroute_hops(" 1  * *\n 2  *  10.0.2.5  0.5 ms\n"), vec![None, ip(5)]);
    }

    #[test]
    fn traceroute_verdict_wants_the_target_last_and_the_listed_routers_before() {
        let target = "192.168.100.10".parse().unwrap();
        let hops = traceroute_hops(TRACE);
        let nva = |d| std::net::Ipv4Addr::new(10, 0, 2, d);
        assert!(traceroute_verdict(&hops, target, &[nva(4)]).0);
        assert!(traceroute_verdict(&hops, target, &[]).0);
        let (ok, why) = traceroute_verdict(&hops, target, &[nva(5)]);
        assert!(!ok && why.contains("not through 10.0.2.5"), "{why}");
        assert!(
            !traceroute_verdict(&hops[..1], target, &[]).0,
            "the target never answered"
        );
        assert!(!traceroute_verdict(&[], target, &[]).0);
    }

    #[test]
    fn hostname_goes_with_a_reachable_ssh_login_only() {
        let ok = "expectations: [{from: a, to: 192.168.100.1, via: ssh, reachable: true, hostname: nva1}]";
        assert!(ExpectFile::parse(ok).is_ok());
        for bad in [
            "{from: a, to: b, via: ping, reachable: true, hostname: x}",
            "{from: a, to: b, via: ssh, reachable: false, hostname: x}",
        ] {
            assert!(ExpectFile::parse(&format!("expectations: [{bad}]")).is_err(), "{bad}");
        }
    }

    #[test]
    fn matrix_marks_mismatches_and_findings_explain_them() {
        let o = [
            outcome("SalesVM", "MarketingVM", Probe::Ssh, true, true),
            outcome("SalesVM", "ResearchVM", Probe::Ssh, false, false),
            outcome("SalesVM", "ResearchVM", Probe::Ping, true, false),
        ];
        let m = matrix(&o);
        assert!(m.lines().next().unwrap().starts_with("from \\ to"));
        assert!(m.contains("ssh ok"), "{m}");
        assert!(m.contains("ssh --, ping --!"), "{m}");
        let f = findings(&o);
        assert!(f.contains("blocked as expected: dropped: no route"), "{f}");
        assert!(
            f.contains("FAILED  SalesVM -> ResearchVM (10.0.0.4) ping: expected reachable, but timed out"),
            "{f}"
        );
        let x = junit("t", &o).unwrap();
        assert_eq!(x.matches("<testcase").count(), 3);
        assert_eq!(x.matches("<failure").count(), 1);
    }
}
