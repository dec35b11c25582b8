//! Azure resource IDs.
//!
//! ARM compares IDs without regard to case, so `ResourceId` keeps the
//! spelling it was created with (that is what `az` prints back) while
//! equality, hashing and ordering use the lower-cased form.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// A full ARM resource ID such as
/// `/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/V`.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct ResourceId(String);

pub const NETWORK: &str = "Microsoft.Network";
pub const COMPUTE: &str = "Microsoft.Compute";
pub const CACHE: &str = "Microsoft.Cache";
/// The type segment of an Azure Cache for Redis, as ARM answers it.
pub const REDIS: &str = "Redis";
/// `Microsoft.Cache/Redis`: a cache's resource type, as ARM answers it.
pub const REDIS_TYPE: &str = "Microsoft.Cache/Redis";

/// Resource types whose spelling in ARM's answers differs from the request
/// path's: (provider, type segment) as the answers spell them. Every ID the
/// model makes or is given goes through [`canonical`], so each front (the az
/// shim, the ARM endpoint, export, the topology loader, a private endpoint's
/// target) prints one spelling, whichever spelling the request used.
// Azure: azure-mgmt-redis PUTs `.../providers/Microsoft.Cache/redis/{name}`;
// the answer's `id` and `type` say `Microsoft.Cache/Redis` (azure-cli's
// recording redis/tests/latest/recordings/test_redis_cache_with_mandatory_args.yaml).
// ARM compares types without case, so both request spellings address it.
const ANSWER_SPELLINGS: &[(&str, &str)] = &[(CACHE, REDIS)];

/// `id` with each `providers/{provider}/{type}` of [`ANSWER_SPELLINGS`]
/// respelt as ARM answers it; any other ID is returned as it came.
fn canonical(id: String) -> String {
    let segs: Vec<&str> = id.split('/').collect();
    let mut respell: Vec<(usize, &str, &str)> = Vec::new();
    for (i, w) in segs.windows(3).enumerate() {
        if !w[0].eq_ignore_ascii_case("providers") {
            continue;
        }
        let hit = ANSWER_SPELLINGS
            .iter()
            .find(|(p, t)| w[1].eq_ignore_ascii_case(p) && w[2].eq_ignore_ascii_case(t));
        if let Some(&(p, t)) = hit.filter(|(p, t)| w[1] != *p || w[2] != *t) {
            respell.push((i + 1, p, t));
        }
    }
    if respell.is_empty() {
        return id;
    }
    let mut segs: Vec<String> = segs.into_iter().map(str::to_string).collect();
    for (i, p, t) in respell {
        segs[i] = p.to_string();
        segs[i + 1] = t.to_string();
    }
    segs.join("/")
}

impl ResourceId {
    pub fn subscription(sub: &str) -> Self {
        ResourceId(format!("/subscriptions/{sub}"))
    }

    pub fn resource_group(sub: &str, rg: &str) -> Self {
        ResourceId(format!("/subscriptions/{sub}/resourceGroups/{rg}"))
    }

    /// A top-level resource: `provider` is e.g. `Microsoft.Network` and
    /// `kind` the plural type segment, e.g. `virtualNetworks`.
    pub fn resource(sub: &str, rg: &str, provider: &str, kind: &str, name: &str) -> Self {
        ResourceId(canonical(format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{kind}/{name}"
        )))
    }

    pub fn network(sub: &str, rg: &str, kind: &str, name: &str) -> Self {
        Self::resource(sub, rg, NETWORK, kind, name)
    }

    /// A child resource, e.g. `subnets/Apps` below a virtual network.
    pub fn child(&self, kind: &str, name: &str) -> Self {
        ResourceId(format!("{}/{kind}/{name}", self.0))
    }

    /// Parses a user-given ID. Only the shape is checked here; whether the
    /// resource exists is the model's question.
    pub fn parse(s: &str) -> Option<Self> {
        let segs: Vec<&str> = s.split('/').collect();
        let ok = segs.len() >= 3
            && segs[0].is_empty()
            && segs[1].eq_ignore_ascii_case("subscriptions")
            && segs[1..].iter().all(|p| !p.is_empty());
        ok.then(|| ResourceId(canonical(s.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').skip(1)
    }

    /// The value that follows the segment `key` (case-insensitive).
    fn after(&self, key: &str) -> Option<&str> {
        let mut it = self.segments();
        while let Some(s) = it.next() {
            if s.eq_ignore_ascii_case(key) {
                return it.next();
            }
        }
        None
    }

    pub fn subscription_id(&self) -> &str {
        self.after("subscriptions").unwrap_or("")
    }

    pub fn resource_group_name(&self) -> &str {
        self.after("resourceGroups").unwrap_or("")
    }

    /// The last segment: the resource's own name.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The ID of the parent resource (`.../virtualNetworks/V` for a subnet).
    pub fn parent(&self) -> Option<ResourceId> {
        let cut = self.0.rfind('/')?;
        let cut = self.0[..cut].rfind('/')?;
        (cut > 0).then(|| ResourceId(self.0[..cut].to_string()))
    }

    /// The resource type as ARM spells it, e.g. `Microsoft.Network/virtualNetworks/subnets`.
    pub fn resource_type(&self) -> String {
        let segs: Vec<&str> = self.segments().collect();
        let Some(p) = segs.iter().position(|s| s.eq_ignore_ascii_case("providers")) else {
            return "Microsoft.Resources/resourceGroups".into();
        };
        let mut out = segs.get(p + 1).copied().unwrap_or("").to_string();
        for kind in segs.get(p + 2..).unwrap_or_default().iter().step_by(2) {
            out.push('/');
            out.push_str(kind);
        }
        out
    }

    /// True when `self` is `scope` itself or lies below it.
    pub fn is_within(&self, scope: &str) -> bool {
        let scope = scope.trim_end_matches('/');
        let me = self.0.as_bytes();
        me.len() >= scope.len()
            && me[..scope.len()].eq_ignore_ascii_case(scope.as_bytes())
            && (me.len() == scope.len() || me[scope.len()] == b'/')
    }

    fn key(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.bytes().map(|b| b.to_ascii_lowercase())
    }
}

impl ResourceId {
    /// A GUID that stays the same for the same resource and salt
    /// (resourceGuid, vmId, etag, a flow log's GUID).
    pub fn stable_guid(&self, salt: &str) -> String {
        let mut h = rustc_hash::FxHasher::default();
        self.hash(&mut h);
        salt.hash(&mut h);
        let a = h.finish();
        a.hash(&mut h);
        let b = h.finish();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    /// A NIC's MAC address in Azure's OUI (00-0D-3A), the same for the
    /// same NIC: what `az network nic show` prints and flow logs carry.
    pub fn stable_mac(&self) -> [u8; 6] {
        let g = self.stable_guid("mac");
        let hex: Vec<u8> = g.bytes().filter(u8::is_ascii_hexdigit).collect();
        let mut mac = [0x00, 0x0D, 0x3A, 0, 0, 0];
        for (slot, pair) in mac[3..].iter_mut().zip(hex.chunks(2)) {
            let text = std::str::from_utf8(pair).unwrap_or("00");
            *slot = u8::from_str_radix(text, 16).unwrap_or(0);
        }
        mac
    }
}

/// A saved model's IDs are respelt too: one written before the spelling
/// table (`Microsoft.Cache/redis`) loads as ARM answers it.
impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| ResourceId(canonical(s)))
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}
impl Eq for ResourceId {}

impl Hash for ResourceId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.key() {
            state.write_u8(b);
        }
    }
}

impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(other.key())
    }
}
impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_a_subnet_id() {
        let v = ResourceId::network("s1", "rg", "virtualNetworks", "SalesVNet");
        let s = v.child("subnets", "Apps");
        assert_eq!(s.subscription_id(), "s1");
        assert_eq!(s.resource_group_name(), "rg");
        assert_eq!(s.name(), "Apps");
        assert_eq!(s.parent(), Some(v.clone()));
        assert_eq!(s.resource_type(), "Microsoft.Network/virtualNetworks/subnets");
        assert!(s.is_within("/subscriptions/S1/resourcegroups/RG"));
        assert!(!s.is_within("/subscriptions/s1/resourceGroups/rg2"));
        assert!(!s.is_within("/subscriptions/s1/resourceGroups/r"));
    }

    #[test]
    fn ids_compare_without_case() {
        let a = ResourceId::network("S", "RG", "virtualNetworks", "V");
        let b = ResourceId::parse("/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/v")
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert_eq!(
            b.to_string(),
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/v"
        );
    }

    #[test]
    fn a_trailing_providers_segment_has_no_type_to_panic_on() {
        let id = ResourceId("/subscriptions/s/resourceGroups/rg/providers".into());
        assert_eq!(id.resource_type(), "");
        let id = ResourceId("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network".into());
        assert_eq!(id.resource_type(), "Microsoft.Network");
    }

    #[test]
    fn a_cache_id_has_one_spelling_whichever_the_request_used() {
        const PATH: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cache/redis/c1";
        let want = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cache/Redis/c1";
        for asked in [
            PATH,
            "/subscriptions/s/resourceGroups/rg/providers/microsoft.cache/REDIS/c1",
            want,
        ] {
            assert_eq!(ResourceId::parse(asked).unwrap().as_str(), want, "{asked}");
        }
        let built = ResourceId::resource("s", "rg", CACHE, "redis", "c1");
        assert_eq!(built.as_str(), want);
        assert_eq!(built.resource_type(), REDIS_TYPE);
        let saved: ResourceId = serde_json::from_str(&format!("{PATH:?}")).unwrap();
        assert_eq!(saved.as_str(), want);
        // An extension resource below a cache keeps its own spelling.
        let scoped = ResourceId::parse(&format!("{PATH}/providers/Microsoft.Authorization/roleAssignments/g")).unwrap();
        assert_eq!(
            scoped.as_str(),
            format!("{want}/providers/Microsoft.Authorization/roleAssignments/g")
        );
        // Other types are returned as they came (ARM echoes their spelling).
        let vnet = "/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/redis";
        assert_eq!(ResourceId::parse(vnet).unwrap().as_str(), vnet);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "subscriptions/x",
            "/subs/x",
            "/subscriptions//resourceGroups/x",
            "/subscriptions/x/",
        ] {
            assert!(ResourceId::parse(bad).is_none(), "{bad}");
        }
    }
}
