//! Azure naming rules, per resource type (azure-semantics §1.3).
//!
//! Names become network-namespace and file names in the live lab, so every
//! user-given name passes through here before anything else sees it. The
//! character sets below never admit `/`, NUL, whitespace or a leading `.`,
//! so no name can climb out of a directory (`../x` is refused).

use super::error::{AzureError, ErrorCode};

/// Which rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    ResourceGroup,
    VirtualNetwork,
    /// Subnets, peerings, NSGs and rules, route tables and routes, NICs,
    /// public IPs, gateways, connections, Route Servers.
    NetworkChild,
    VirtualMachine,
    /// Azure Cache for Redis: its name is also a DNS label.
    RedisCache,
}

impl NameKind {
    fn bounds(self) -> (usize, usize) {
        match self {
            NameKind::ResourceGroup => (1, 90),
            NameKind::VirtualNetwork => (2, 64),
            NameKind::NetworkChild => (1, 80),
            NameKind::VirtualMachine => (1, 64),
            NameKind::RedisCache => (1, 63),
        }
    }
}

/// Checks a resource ID's shape and its name. The ID must be pairs of
/// non-empty segments with no `.` or `..`, so that a name like `../x` or
/// `a/b` can never hide behind a well-formed last segment.
pub fn check_id(kind: NameKind, what: &str, id: &super::ResourceId) -> Result<(), AzureError> {
    let segs: Vec<&str> = id.as_str().split('/').skip(1).collect();
    let well_formed = id.as_str().starts_with('/')
        && segs.len().is_multiple_of(2)
        && segs
            .iter()
            .all(|s| !s.is_empty() && *s != "." && *s != ".." && !s.chars().any(char::is_control));
    if !well_formed {
        let code = if kind == NameKind::VirtualMachine {
            ErrorCode::InvalidParameter
        } else {
            ErrorCode::InvalidResourceName
        };
        return Err(AzureError::new(
            code,
            format!("The {what} ID {id} is malformed: a name must not contain '/' or be '.' or '..'. Choose a name of letters, digits, '_', '.' and '-'."),
        )
        .with_target(id.name().to_string()));
    }
    check(NameKind::ResourceGroup, "resource group", id.resource_group_name())?;
    check(kind, what, id.name())
}

/// Checks `name` against the rule for `kind`. `what` names the resource
/// type in the message, e.g. "virtual network".
pub fn check(kind: NameKind, what: &str, name: &str) -> Result<(), AzureError> {
    let (min, max) = kind.bounds();
    let len = name.chars().count();
    let ok = len >= min && len <= max && chars_ok(kind, name);
    if ok {
        return Ok(());
    }
    let rule = match kind {
        NameKind::ResourceGroup => "It can be up to 90 characters long and may contain letters, digits, '_', '-', '.', '(' and ')'; it must not end with '.'".to_string(),
        NameKind::VirtualMachine => "Linux virtual machine names can be 1 to 64 characters long, may contain letters, digits, '-' and '.', must begin with a letter or digit and must not end with '.' or '-'".to_string(),
        NameKind::RedisCache => "Cache names can be 1 to 63 characters long, may contain letters, digits and '-', must begin and end with a letter or digit, and must not contain '--'".to_string(),
        NameKind::VirtualNetwork | NameKind::NetworkChild => format!(
            "The name can be {min} to {max} characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'"
        ),
    };
    let code = match kind {
        NameKind::VirtualMachine => ErrorCode::InvalidParameter,
        _ => ErrorCode::InvalidResourceName,
    };
    Err(AzureError::new(
        code,
        format!("Resource name {name} is invalid for a {what}. {rule}. Choose a name that follows these rules."),
    )
    .with_target(name.to_string()))
}

fn chars_ok(kind: NameKind, name: &str) -> bool {
    let (Some(first), Some(last)) = (name.chars().next(), name.chars().last()) else {
        return false;
    };
    match kind {
        NameKind::ResourceGroup => {
            // Azure allows Unicode letters and digits here; control
            // characters and path separators never pass.
            name.chars().all(|c| c.is_alphanumeric() || "_-.()".contains(c)) && last != '.' && first != '.'
        }
        NameKind::VirtualNetwork | NameKind::NetworkChild => {
            name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                && first.is_ascii_alphanumeric()
                && (last.is_ascii_alphanumeric() || last == '_')
        }
        NameKind::RedisCache => {
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && !name.contains("--")
        }
        NameKind::VirtualMachine => {
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && first.is_ascii_alphanumeric()
                && last != '.'
                && last != '-'
        }
    }
}

/// Admin user names `az vm create` rejects outright (azure-cli-core
/// `DISALLOWED_USER_NAMES`).
const DISALLOWED_USER_NAMES: &[&str] = &[
    "administrator",
    "admin",
    "user",
    "user1",
    "test",
    "user2",
    "test1",
    "user3",
    "admin1",
    "1",
    "123",
    "a",
    "actuser",
    "adm",
    "admin2",
    "aspnet",
    "backup",
    "console",
    "guest",
    "owner",
    "root",
    "server",
    "sql",
    "support",
    "support_388945a0",
    "sys",
    "test2",
    "test3",
    "user4",
    "user5",
];

/// Accounts and groups of the VM's image. A VM's userland is the host's
/// (Debian or Ubuntu), so these are the system users (uid < 1000, and
/// nobody) and groups of a standard Debian/Ubuntu install and of the
/// packages vnetlab's setup installs. An admin user of one of these names
/// would take over a system account (`sshd`, `daemon`) or join a system
/// group (`sudo`, `shadow`) inside the VM, so the model refuses them; the
/// host side still drops any namesake it finds (host/vm.rs).
const IMAGE_ACCOUNTS: &[&str] = &[
    // Users (base-passwd, systemd, openssh, apt and common services).
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "_apt",
    "messagebus",
    "sshd",
    "syslog",
    "uuidd",
    "tcpdump",
    "tss",
    "landscape",
    "pollinate",
    "fwupd-refresh",
    "usbmux",
    "dnsmasq",
    "polkitd",
    "_chrony",
    "chrony",
    "ntp",
    "statd",
    "_rpc",
    "avahi",
    "lxd",
    "postfix",
    "postgres",
    "mysql",
    "redis",
    "iperf3",
    "bind",
    "_laurel",
    "dhcpcd",
    // Groups a new user must not be named after either: useradd would
    // fail or, with the group taken over, give the user its rights.
    "adm",
    "tty",
    "disk",
    "kmem",
    "dialout",
    "fax",
    "voice",
    "cdrom",
    "floppy",
    "tape",
    "sudo",
    "audio",
    "dip",
    "operator",
    "src",
    "shadow",
    "utmp",
    "video",
    "sasl",
    "plugdev",
    "staff",
    "users",
    "nogroup",
    "_ssh",
    "ssh",
    "ssl-cert",
    "netdev",
    "input",
    "sgx",
    "kvm",
    "render",
    "crontab",
    "docker",
    "wheel",
];

/// Whether `name` is one of the image's system accounts or groups.
fn is_image_account(name: &str) -> bool {
    // systemd creates its users on demand (systemd-network, -resolve,
    // -timesync, -coredump, -oom, -journal …), so the prefix is reserved.
    IMAGE_ACCOUNTS.contains(&name) || name.starts_with("systemd-")
}

/// Linux admin user name: Azure's rules, plus what `useradd` accepts,
/// because the name becomes a real account inside the VM, and never an
/// account of the VM's image.
pub fn check_admin_username(name: &str) -> Result<(), AzureError> {
    let err = |why: &str| {
        Err(AzureError::new(
            ErrorCode::InvalidParameter,
            format!("The Admin Username specified is not allowed: {why}. Choose another --admin-username."),
        )
        .with_target("adminUsername"))
    };
    let lower = name.to_ascii_lowercase();
    if DISALLOWED_USER_NAMES.contains(&lower.as_str()) || is_image_account(&lower) {
        // Azure: az vm create's text for a reserved user name
        // (azure-cli vm/_validators.py, _validate_admin_username).
        return Err(AzureError::new(
            ErrorCode::InvalidParameter,
            format!(
                "This user name '{name}' meets the general requirements, but is specifically disallowed for this image. Please try a different value."
            ),
        )
        .with_target("adminUsername"));
    }
    if name.is_empty() || name.len() > 32 {
        return err("it must be 1 to 32 characters long");
    }
    if name.starts_with('$') || name.starts_with('-') {
        return err("it must not start with '$' or '-'");
    }
    let first_ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if !first_ok || !rest_ok {
        return err(
            "Linux user names use lower-case letters, digits, '_', '.' and '-', and begin with a letter or '_'",
        );
    }
    Ok(())
}

/// Linux VM password: 12 to 72 characters, at least three of lower case,
/// upper case, digit, special character; no control characters.
pub fn check_admin_password(pw: &str) -> Result<(), AzureError> {
    let len = pw.chars().count();
    let classes = [
        pw.chars().any(|c| c.is_lowercase()),
        pw.chars().any(|c| c.is_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_alphanumeric() && !c.is_control()),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    if (12..=72).contains(&len) && classes >= 3 && !pw.chars().any(char::is_control) {
        return Ok(());
    }
    Err(AzureError::new(
        ErrorCode::InvalidParameter,
        "The supplied password must be between 12-72 characters long and must satisfy at least 3 of password complexity requirements from the following: 1) Contains an uppercase character 2) Contains a lowercase character 3) Contains a numeric digit 4) Contains a special character 5) Control characters are not allowed",
    )
    .with_target("adminPassword"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_names() {
        for ok in ["a", "Apps", "vnet-1", "my_vnet_", "a.b-c_d", &"x".repeat(80)] {
            check(NameKind::NetworkChild, "subnet", ok).unwrap();
        }
        for bad in [
            "",
            "-a",
            "_a",
            ".a",
            "a-",
            "a.",
            "a b",
            "../x",
            "a/b",
            "a\0",
            "é",
            &"x".repeat(81),
        ] {
            let e = check(NameKind::NetworkChild, "subnet", bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidResourceName, "{bad:?}");
        }
    }

    #[test]
    fn vnet_names_are_2_to_64() {
        assert!(check(NameKind::VirtualNetwork, "virtual network", "a").is_err());
        assert!(check(NameKind::VirtualNetwork, "virtual network", "ab").is_ok());
        assert!(check(NameKind::VirtualNetwork, "virtual network", &"v".repeat(65)).is_err());
    }

    #[test]
    fn vm_names() {
        for ok in ["SalesVM", "vm-1", "web.01"] {
            check(NameKind::VirtualMachine, "virtual machine", ok).unwrap();
        }
        for bad in ["vm_1", "vm-", "vm.", "-vm", "../vm", "vm!", "a b", &"v".repeat(65)] {
            let e = check(NameKind::VirtualMachine, "virtual machine", bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParameter, "{bad:?}");
        }
    }

    #[test]
    fn resource_group_names() {
        for ok in ["learn-rg", "rg(1)", "Ünïcode_rg"] {
            check(NameKind::ResourceGroup, "resource group", ok).unwrap();
        }
        for bad in ["rg.", "", "a/b", "..", &"r".repeat(91)] {
            assert!(
                check(NameKind::ResourceGroup, "resource group", bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn admin_users() {
        check_admin_username("azureuser").unwrap();
        for bad in ["admin", "Root", "Azureuser", "-x", "$x", "a:b", "a b", ""] {
            assert!(check_admin_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn image_accounts_are_refused_with_azs_text() {
        for bad in [
            "sshd",
            "daemon",
            "bin",
            "nobody",
            "www-data",
            "_apt",
            "systemd-network",
            "systemd-anything",
            "messagebus",
            "sudo",
            "shadow",
            "Sshd",
        ] {
            let e = check_admin_username(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidParameter, "{bad:?}");
            assert_eq!(
                e.message,
                format!(
                    "This user name '{bad}' meets the general requirements, but is specifically disallowed for this image. Please try a different value."
                )
            );
        }
        for ok in ["azureuser", "alice", "deploy", "sshd2", "binary"] {
            check_admin_username(ok).unwrap();
        }
    }

    #[test]
    fn passwords() {
        check_admin_password("Password1234!").unwrap();
        for bad in [
            "short1A!",
            "alllowercaseletters",
            "NoDigitsOrSpecial",
            "abc123\u{7}ABCdef!",
        ] {
            assert!(check_admin_password(bad).is_err(), "{bad:?}");
        }
    }
}
