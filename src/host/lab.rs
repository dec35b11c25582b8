//! A lab's names on the host: its namespaces and its runtime directory.
//!
//! Every name here is built from a validated lab name and a VM name the
//! model already validated (letters, digits, '-' and '.'), so none of them
//! can leave `/run/netns` or the runtime directory.

use std::path::PathBuf;

use thiserror::Error;

/// Where running labs keep their sockets, logs and per-VM files.
pub const RUNTIME_ROOT: &str = "/run/vnetlab";
/// Where labs keep what must outlive their daemon and a reboot (the model,
/// the machines' host keys): on disk, not tmpfs. `VNETLAB_STATE_DIR`
/// overrides it (tests use temporary directories).
pub const STATE_ROOT: &str = "/var/lib/vnetlab";
/// Every namespace vnetlab creates starts with this.
pub const NETNS_PREFIX: &str = "vnl-";
const MAX_LAB_NAME: usize = 24;

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "(InvalidLabName) Lab name '{0}' is invalid. Use 1 to {MAX_LAB_NAME} lowercase letters, digits, '-' or '_', starting with a letter or digit."
)]
pub struct InvalidLabName(pub String);

/// A validated lab name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lab(String);

impl Lab {
    /// `name` may use lowercase letters, digits, '-' and '_': never '.' or
    /// '@', which separate the lab from the rest of a namespace name, so no
    /// lab's namespaces can be mistaken for another's.
    pub fn new(name: &str) -> Result<Lab, InvalidLabName> {
        let ok = !name.is_empty()
            && name.len() <= MAX_LAB_NAME
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok {
            Ok(Lab(name.to_string()))
        } else {
            Err(InvalidLabName(name.to_string()))
        }
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// The namespace of a VM: `vnl-<lab>.<vm>`.
    pub fn vm_netns(&self, vm: &str) -> String {
        format!("{NETNS_PREFIX}{}.{vm}", self.0)
    }

    /// The Internet side, where the Cloud Shell lives. '@' cannot occur in
    /// a VM name, so no VM's namespace can take this name.
    pub fn cloud_shell_netns(&self) -> String {
        format!("{NETNS_PREFIX}{}@cloudshell", self.0)
    }

    /// An on-premises machine: `vnl-<lab>@site.<name>`. '@' keeps it apart
    /// from every VM's namespace.
    pub fn site_netns(&self, name: &str) -> String {
        format!("{NETNS_PREFIX}{}@site.{name}", self.0)
    }

    /// A managed service's instance (an Azure Cache for Redis):
    /// `vnl-<lab>@cache.<name>`.
    pub fn cache_netns(&self, name: &str) -> String {
        format!("{NETNS_PREFIX}{}@cache.{name}", self.0)
    }

    /// A Route Server instance's BGP speaker: `vnl-<lab>@rs.<name>.<i>`.
    pub fn route_server_netns(&self, name: &str) -> String {
        format!("{NETNS_PREFIX}{}@rs.{name}", self.0)
    }

    pub fn route_server_dir(&self, name: &str) -> PathBuf {
        self.runtime_dir().join("routeservers").join(name)
    }

    /// Where health probes come from: the Azure host, 168.63.129.16.
    pub fn azure_host_netns(&self) -> String {
        format!("{NETNS_PREFIX}{}@azurehost", self.0)
    }

    pub fn cache_dir(&self, name: &str) -> PathBuf {
        self.runtime_dir().join("caches").join(name)
    }

    /// An AKS pod: `vnl-<lab>@pod.<node>.<pod>`. '@' keeps it apart from
    /// every VM's namespace; node names hold no '.'.
    pub fn pod_netns(&self, node: &str, pod: &str) -> String {
        format!("{NETNS_PREFIX}{}@pod.{node}.{pod}", self.0)
    }

    /// Files of an on-premises site's machines.
    pub fn site_dir(&self, site: &str) -> PathBuf {
        self.runtime_dir().join("sites").join(site)
    }

    /// Is `netns` one of this lab's namespaces?
    pub fn owns_netns(&self, netns: &str) -> bool {
        netns
            .strip_prefix(NETNS_PREFIX)
            .and_then(|rest| rest.strip_prefix(self.0.as_str()))
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('@'))
    }

    pub fn runtime_dir(&self) -> PathBuf {
        PathBuf::from(RUNTIME_ROOT).join(&self.0)
    }

    /// Beside the runtime directory, never inside it: see `LabLock`.
    pub fn lock_file(&self) -> PathBuf {
        PathBuf::from(RUNTIME_ROOT).join(format!("{}.lock", self.0))
    }

    /// The az front's signed-in account for this lab. It lives beside the
    /// runtime dir, which a lab's start wipes, so `az login` may come first.
    pub fn az_profile_file(&self) -> PathBuf {
        PathBuf::from(RUNTIME_ROOT).join(format!("{}.az-profile.json", self.0))
    }

    /// The lab's saved state: `$VNETLAB_STATE_DIR/<lab>`, by default
    /// `/var/lib/vnetlab/<lab>`. `down` removes it, `down --keep-state`
    /// keeps it.
    pub fn state_dir(&self) -> PathBuf {
        let root = std::env::var_os("VNETLAB_STATE_DIR")
            .filter(|r| !r.is_empty())
            .map_or_else(|| PathBuf::from(STATE_ROOT), PathBuf::from);
        root.join(&self.0)
    }

    /// Where a machine's host keys are kept, so a lab brought back after a
    /// crash or reboot greets ssh clients with the keys they know. `dir` is
    /// one of the machine directories under the runtime directory
    /// (`vm_dir`, `site_dir`), and the keys take the same place under
    /// `state_dir`.
    pub fn keys_dir(&self, dir: &std::path::Path) -> PathBuf {
        let rel = dir.strip_prefix(self.runtime_dir()).unwrap_or(dir);
        self.state_dir().join("keys").join(rel)
    }

    /// Where the lab's flow logs are written, one folder per storage
    /// account: in the lab's saved state, so they outlive the daemon (a
    /// crash, a reboot) and go with `down` unless `--keep-state`.
    pub fn flow_log_dir(&self) -> PathBuf {
        self.state_dir().join("flowlogs")
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime_dir().join("api.sock")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.runtime_dir().join("daemon.pid")
    }

    pub fn log_file(&self) -> PathBuf {
        self.runtime_dir().join("daemon.log")
    }

    /// Per-VM files: passwd, shadow, home, sshd config and host key.
    pub fn vm_dir(&self, vm: &str) -> PathBuf {
        self.runtime_dir().join("vms").join(vm)
    }
}

impl std::fmt::Display for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The lab a command means: `--lab`, else `VNETLAB_LAB`, else `default`.
pub fn lab_from(flag: Option<&str>) -> Result<Lab, InvalidLabName> {
    match flag {
        Some(name) => Lab::new(name),
        None => Lab::new(std::env::var("VNETLAB_LAB").ok().as_deref().unwrap_or("default")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_names() {
        for ok in ["default", "t1", "my-lab", "a_b", "0"] {
            assert!(Lab::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "a.b",
            "a@b",
            "../x",
            "a/b",
            "-a",
            "x".repeat(25).as_str(),
            "a b",
        ] {
            assert_eq!(Lab::new(bad), Err(InvalidLabName(bad.to_string())), "{bad}");
        }
    }

    #[test]
    fn keys_are_kept_under_the_state_directory() {
        let a = Lab::new("a").unwrap();
        let keys = a.keys_dir(&a.vm_dir("SalesVM"));
        assert!(keys.starts_with(a.state_dir()), "{}", keys.display());
        assert!(keys.ends_with("keys/vms/SalesVM"), "{}", keys.display());
        assert!(
            a.keys_dir(&a.site_dir("Site").join("host"))
                .ends_with("keys/sites/Site/host")
        );
    }

    #[test]
    fn namespaces_belong_to_one_lab_only() {
        let a = Lab::new("a").unwrap();
        assert_eq!(a.vm_netns("SalesVM"), "vnl-a.SalesVM");
        assert!(a.owns_netns("vnl-a.SalesVM"));
        assert!(a.owns_netns(&a.cloud_shell_netns()));
        // Lab "a-b" shares the prefix "vnl-a" but not the separator.
        let ab = Lab::new("a-b").unwrap();
        assert!(!a.owns_netns(&ab.vm_netns("SalesVM")));
        assert!(!a.owns_netns(&ab.cloud_shell_netns()));
        assert!(!a.owns_netns("vnl-a"));
        assert!(!a.owns_netns("other"));
    }
}
