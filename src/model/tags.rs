//! Tags: the name → value pairs every top-level resource (and resource
//! group) carries. ARM keeps them beside a resource's properties; the model
//! keeps them in one table keyed by resource ID, so a resource kind needs
//! no field of its own and a deleted resource's tags go with it
//! ([`Model::prune_tags`]). Child resources (subnets, rules, routes,
//! peerings) have no tags in ARM and get none here.

use std::collections::BTreeMap;

use super::{AzureError, Model, ResourceId, bail};

/// One resource's tags, sorted by name (az prints them so).
pub type Tags = BTreeMap<String, String>;

// Azure: "Use tags to organize your Azure resources", Limitations
// (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations):
// at most 50 tag name-value pairs per resource, a name of at most 512
// characters (128 on storage accounts, which the lab does not hold), a
// value of at most 256, and names without `<`, `>`, `%`, `&`, `\`, `?`, `/`.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_NAME: usize = 512;
pub const MAX_TAG_VALUE: usize = 256;
const RESERVED: &[char] = &['<', '>', '%', '&', '\\', '?', '/'];

/// ARM's refusal of a tag set, or `Ok`. The codes and sentences are ARM's
/// (docs/errors.md gives the sources).
pub fn check_tags(tags: &Tags) -> Result<(), AzureError> {
    if tags.len() > MAX_TAGS {
        bail!(
            InvalidTags,
            "Too many tags specified. Requested tag count - '{}'. Maximum number of tags allowed - '{MAX_TAGS}'. Remove tags or combine them.",
            tags.len()
        );
    }
    if tags.keys().any(|k| k.trim().is_empty()) {
        bail!(
            InvalidTagName,
            "The tag name must be non-null, non-empty and non-whitespace only. Please provide an actual value."
        );
    }
    let bad: Vec<&str> = tags
        .keys()
        .filter(|k| k.chars().any(|c| RESERVED.contains(&c) || c.is_control()))
        .map(String::as_str)
        .collect();
    if !bad.is_empty() {
        bail!(
            InvalidTagNameCharacters,
            "The tag names '{}' have reserved characters '<,>,%,&,\\,?,/' or control characters. Rename the tags.",
            bad.join(",")
        );
    }
    if let Some(k) = tags.keys().find(|k| k.chars().count() > MAX_TAG_NAME) {
        bail!(
            InvalidTagName,
            "Tag key too large. Following tag name '{k}' exceeded the maximum length. Maximum allowed length for tag name - '{MAX_TAG_NAME}' characters."
        );
    }
    if let Some(v) = tags.values().find(|v| v.chars().count() > MAX_TAG_VALUE) {
        bail!(
            InvalidTagValueLength,
            "Tag value too large. Following tag value '{v}' exceeded the maximum length. Maximum allowed length for tag value - '{MAX_TAG_VALUE}' characters."
        );
    }
    Ok(())
}

/// Whether ARM gives resources of this type tags: every top-level type the
/// lab holds, resource groups and Private DNS links; no child type else.
pub fn carries_tags(resource_type: &str) -> bool {
    let t = resource_type.to_ascii_lowercase();
    t == "microsoft.network/privatednszones/virtualnetworklinks"
        || t == "microsoft.network/networkwatchers/flowlogs"
        || t.matches('/').count() == 1
}

/// How `az tag update` (ARM's Tags - Update At Scope) changes a tag set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagOperation {
    /// Adds the given names and updates the values of existing ones.
    Merge,
    /// The given set replaces the whole set.
    Replace,
    /// Removes the given names; a given non-empty value must match too.
    Delete,
}

impl TagOperation {
    pub const NAMES: &'static [&'static str] = &["Delete", "Merge", "Replace"];

    /// The operation named `s`, in any case (az's enum and ARM's body).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Delete, Self::Merge, Self::Replace]
            .into_iter()
            .zip(Self::NAMES)
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(op, _)| op)
    }

    // Azure: Tags - Update At Scope (learn.microsoft.com/rest/api/resources/tags/update-at-scope):
    // "The 'delete' option allows selectively deleting tags based on given
    // names or name/value pairs."
    pub fn apply(self, current: &Tags, given: &Tags) -> Tags {
        match self {
            TagOperation::Replace => given.clone(),
            TagOperation::Merge => {
                let mut out = current.clone();
                out.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
                out
            }
            TagOperation::Delete => current
                .iter()
                .filter(|(k, v)| !given.get(*k).is_some_and(|g| g.is_empty() || g == *v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

impl Model {
    /// The tags of `id`; none for a resource that has none.
    pub fn tags_of(&self, id: &ResourceId) -> Option<&Tags> {
        self.tags.get(id).filter(|t| !t.is_empty())
    }

    /// Replaces the tags of `id` (an empty set removes them).
    pub(super) fn set_tags(&mut self, id: &ResourceId, tags: Tags) -> Result<(), AzureError> {
        check_tags(&tags)?;
        // Azure: tags of a private endpoint's NIC are refused as any change
        // of it is (CannotModifyNicAttachedToPrivateEndpoint, seen for `az
        // resource tag` in a published deployment write-up).
        self.refuse_private_endpoint_nic(id)?;
        if !self.holds(id) {
            return Err(AzureError::resource_not_found(id));
        }
        if tags.is_empty() {
            self.tags.remove(id);
        } else {
            self.tags.insert(id.clone(), tags);
        }
        Ok(())
    }

    /// Drops the tags of resources that are gone (a delete, a group's
    /// cascade), so a resource made again under the same ID starts bare.
    pub(super) fn prune_tags(&mut self) {
        if self.tags.is_empty() {
            return;
        }
        let gone: Vec<ResourceId> = self.tags.keys().filter(|id| !self.holds(id)).cloned().collect();
        for id in gone {
            self.tags.remove(&id);
        }
    }

    /// `Ok` when `id` names something here that carries tags: a
    /// subscription, a group or a tagged type's resource (the scopes of
    /// `az tag --resource-id`).
    /// ARM's 404 otherwise: ResourceGroupNotFound when the group is not
    /// there, else ResourceNotFound.
    pub fn check_tag_scope(&self, id: &ResourceId) -> Result<(), AzureError> {
        if self.holds(id) {
            return Ok(());
        }
        let rg = id.resource_group_name();
        if !rg.is_empty()
            && !self
                .resource_groups
                .contains_key(&ResourceId::resource_group(id.subscription_id(), rg))
        {
            bail!(ResourceGroupNotFound, "Resource group '{rg}' could not be found.");
        }
        Err(AzureError::resource_not_found(id))
    }

    /// Whether the model holds a resource that carries tags under `id`.
    fn holds(&self, id: &ResourceId) -> bool {
        // A subscription carries tags too (`az tag create --resource-id /subscriptions/{id}`).
        if id.as_str().matches('/').count() == 2 {
            return self
                .subscriptions
                .iter()
                .any(|s| s.id.eq_ignore_ascii_case(id.subscription_id()));
        }
        match id.resource_type().to_ascii_lowercase().as_str() {
            "microsoft.resources/resourcegroups" => self.resource_groups.contains_key(id),
            "microsoft.network/virtualnetworks" => self.virtual_networks.contains_key(id),
            "microsoft.network/networksecuritygroups" => self.network_security_groups.contains_key(id),
            "microsoft.network/routetables" => self.route_tables.contains_key(id),
            "microsoft.network/publicipaddresses" => self.public_ip_addresses.contains_key(id),
            "microsoft.network/networkinterfaces" => self.network_interfaces.contains_key(id),
            "microsoft.compute/virtualmachines" => self.virtual_machines.contains_key(id),
            "microsoft.network/virtualnetworkgateways" => self.virtual_network_gateways.contains_key(id),
            "microsoft.network/localnetworkgateways" => self.local_network_gateways.contains_key(id),
            "microsoft.network/connections" => self.connections.contains_key(id),
            "microsoft.network/virtualhubs" => self.route_servers.contains_key(id),
            "microsoft.network/loadbalancers" => self.load_balancers.contains_key(id),
            "microsoft.cache/redis" => self.redis_caches.contains_key(id),
            "microsoft.network/privateendpoints" => self.private_endpoints.contains_key(id),
            "microsoft.containerservice/managedclusters" => self.managed_clusters.contains_key(id),
            "microsoft.network/privatednszones" => self.private_dns_zones.contains_key(id),
            "microsoft.network/privatednszones/virtualnetworklinks" => id
                .parent()
                .and_then(|z| self.private_dns_zones.get(&z))
                .is_some_and(|z| z.virtual_network_links.iter().any(|l| l.id == *id)),
            "microsoft.network/networkwatchers/flowlogs" => self.flow_logs.contains_key(id),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, ErrorCode};

    fn group() -> (Model, ResourceId) {
        let mut m = Model::new();
        m.apply(Change::PutResourceGroup {
            subscription: crate::model::DEFAULT_SUBSCRIPTION_ID.into(),
            name: "rg".into(),
            location: "westeurope".into(),
        })
        .expect("group");
        let id = ResourceId::resource_group(crate::model::DEFAULT_SUBSCRIPTION_ID, "rg");
        (m, id)
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn update_operations_merge_replace_and_delete() {
        let cur = tags(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let given = tags(&[("b", "9"), ("d", "4")]);
        assert_eq!(
            TagOperation::Merge.apply(&cur, &given),
            tags(&[("a", "1"), ("b", "9"), ("c", "3"), ("d", "4")])
        );
        assert_eq!(TagOperation::Replace.apply(&cur, &given), given);
        // A name alone deletes whatever the value; a pair only when it matches.
        let del = tags(&[("a", ""), ("b", "9"), ("c", "3")]);
        assert_eq!(TagOperation::Delete.apply(&cur, &del), tags(&[("b", "2")]));
        assert_eq!(TagOperation::parse("merge"), Some(TagOperation::Merge));
        assert_eq!(TagOperation::parse("Append"), None);
    }

    #[test]
    fn a_subscription_carries_tags() {
        let mut m = Model::new();
        let sub = ResourceId::subscription(crate::model::DEFAULT_SUBSCRIPTION_ID);
        m.apply(Change::SetTags {
            id: sub.clone(),
            tags: tags(&[("owner", "lab")]),
        })
        .expect("subscription tags");
        assert_eq!(m.tags_of(&sub), Some(&tags(&[("owner", "lab")])));
        let other = ResourceId::subscription("11111111-0000-4000-8000-000000000009");
        let e = m
            .apply(Change::SetTags {
                id: other,
                tags: tags(&[("owner", "lab")]),
            })
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ResourceNotFound);
    }

    #[test]
    fn tags_are_set_replaced_and_cleared() {
        let (mut m, id) = group();
        let set = |m: &mut Model, t: Tags| {
            m.apply(Change::SetTags {
                id: id.clone(),
                tags: t,
            })
        };
        set(&mut m, tags(&[("env", "test"), ("owner", "")])).expect("set");
        assert_eq!(m.tags_of(&id), Some(&tags(&[("env", "test"), ("owner", "")])));
        set(&mut m, tags(&[("env", "prod")])).expect("replace");
        assert_eq!(m.tags_of(&id), Some(&tags(&[("env", "prod")])));
        set(&mut m, Tags::new()).expect("clear");
        assert_eq!(m.tags_of(&id), None);
    }

    #[test]
    fn a_deleted_resource_takes_its_tags_along() {
        let (mut m, id) = group();
        m.apply(Change::SetTags {
            id: id.clone(),
            tags: tags(&[("env", "test")]),
        })
        .expect("set");
        m.apply(Change::DeleteResourceGroup(id.clone())).expect("delete");
        assert!(m.tags.is_empty());
    }

    #[test]
    fn bad_tags_are_refused_in_arms_words_and_change_nothing() {
        let (mut m, id) = group();
        let before = m.clone();
        let too_many: Tags = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        let cases = [
            (too_many, ErrorCode::InvalidTags),
            (tags(&[("a/b", "x")]), ErrorCode::InvalidTagNameCharacters),
            (tags(&[(" ", "x")]), ErrorCode::InvalidTagName),
            (tags(&[(&"n".repeat(513), "x")]), ErrorCode::InvalidTagName),
            (tags(&[("k", &"v".repeat(257))]), ErrorCode::InvalidTagValueLength),
        ];
        for (t, code) in cases {
            let e = m
                .apply(Change::SetTags {
                    id: id.clone(),
                    tags: t,
                })
                .expect_err("refused");
            assert_eq!(e.code, code, "{e}");
            assert_eq!(m, before);
        }
        // The limits themselves are allowed.
        let fifty: Tags = (0..50)
            .map(|i| (format!("{i}{}", "n".repeat(500)), "v".repeat(256)))
            .collect();
        m.apply(Change::SetTags {
            id: id.clone(),
            tags: fifty,
        })
        .expect("at the limits");
    }

    #[test]
    fn tags_of_a_missing_resource_are_its_resource_not_found() {
        let (mut m, _) = group();
        let vnet = ResourceId::network(crate::model::DEFAULT_SUBSCRIPTION_ID, "rg", "virtualNetworks", "v");
        let e = m
            .apply(Change::SetTags {
                id: vnet,
                tags: tags(&[("a", "b")]),
            })
            .expect_err("missing");
        assert_eq!(e.code, ErrorCode::ResourceNotFound);
    }

    #[test]
    fn only_top_level_types_carry_tags() {
        assert!(carries_tags("Microsoft.Network/virtualNetworks"));
        assert!(carries_tags("Microsoft.Resources/resourceGroups"));
        assert!(carries_tags("Microsoft.Network/privateDnsZones/virtualNetworkLinks"));
        assert!(!carries_tags("Microsoft.Network/virtualNetworks/subnets"));
        assert!(!carries_tags("Microsoft.Network/networkSecurityGroups/securityRules"));
    }
}
