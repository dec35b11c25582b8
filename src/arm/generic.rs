//! ARM's generic resource lists, `GET /subscriptions/{id}/resources` and
//! `…/resourceGroups/{rg}/resources`, with the `$filter` az sends: its
//! `resource_exists` (azure-cli core, `commands/arm.py`) asks
//! `resourceGroup eq '…' and name eq '…' and resourceType eq '…'` before
//! `az network lb create --vnet-name V --subnet S` decides whether the VNet
//! is there or must be made.

use serde_json::Value;

use super::wire;
use crate::model::{AzureError, ErrorCode, Model, ResourceId};

/// One `field eq 'value'` clause of a `$filter`.
struct Clause {
    field: Field,
    value: String,
}

enum Field {
    ResourceGroup,
    Name,
    ResourceType,
}

/// `$filter` as clauses joined by `and`; what else OData allows is refused
/// with a sentence naming what this endpoint takes.
fn parse(filter: &str) -> Result<Vec<Clause>, AzureError> {
    let refuse = |clause: &str| {
        AzureError::new(
            ErrorCode::BadRequest,
            format!(
                "vnetlab's ARM endpoint cannot filter resources by '{clause}'. It takes clauses of resourceGroup, name and resourceType eq '…' joined by 'and'."
            ),
        )
    };
    // ASCII lower case keeps byte offsets, so `lower`'s split points are `filter`'s.
    let lower = filter.to_ascii_lowercase();
    let mut clauses = Vec::new();
    // Clauses split on " and " outside quotes.
    let (mut parts, mut start, mut quoted, mut i) = (Vec::new(), 0, false, 0);
    while i < lower.len() {
        if lower.as_bytes()[i] == b'\'' {
            quoted = !quoted;
        } else if !quoted && lower.as_bytes()[i..].starts_with(b" and ") {
            parts.push((start, i));
            i += 5;
            start = i;
            continue;
        }
        i += 1;
    }
    parts.push((start, filter.len()));
    for (a, b) in parts {
        let clause = filter[a..b].trim();
        let Some((field, value)) = clause.split_once(" eq ") else {
            return Err(refuse(clause));
        };
        let value = value.trim();
        let Some(value) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
            return Err(refuse(clause));
        };
        let field = match field.trim().to_ascii_lowercase().as_str() {
            "resourcegroup" => Field::ResourceGroup,
            "name" => Field::Name,
            "resourcetype" => Field::ResourceType,
            _ => return Err(refuse(clause)),
        };
        clauses.push(Clause {
            field,
            value: value.replace("''", "'"),
        });
    }
    Ok(clauses)
}

/// The top-level resources below `scope` (a subscription or a group) that
/// pass `filter`, as ARM's list gives them: the envelope (id, name, type,
/// location, tags, sku), no properties.
// Azure: Resources - List / List By Resource Group
// (learn.microsoft.com/rest/api/resources/resources/list): GenericResourceExpanded.
pub fn list(m: &Model, scope: &str, filter: Option<&str>) -> Result<Vec<Value>, AzureError> {
    let clauses = filter.map(parse).transpose()?.unwrap_or_default();
    let keep = |id: &ResourceId| {
        let typ = id.resource_type();
        typ.matches('/').count() == 1
            && !typ.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups")
            && id.as_str().len() > scope.len()
            && id.is_within(scope)
            && clauses.iter().all(|c| {
                let have = match c.field {
                    Field::ResourceGroup => id.resource_group_name().to_string(),
                    Field::Name => id.name().to_string(),
                    Field::ResourceType => typ.clone(),
                };
                have.eq_ignore_ascii_case(&c.value)
            })
    };
    Ok(wire::all_rendered(m)
        .into_iter()
        .filter(|v| {
            v.get("id")
                .and_then(Value::as_str)
                .and_then(ResourceId::parse)
                .is_some_and(|id| keep(&id))
        })
        .map(|v| match wire::to_arm(v) {
            Value::Object(mut o) => {
                o.remove("properties");
                o.remove("etag");
                Value::Object(o)
            }
            other => other,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    fn lab() -> Model {
        Topology::parse(
            "resourceGroups:\n  - {name: rg, location: westeurope}\nvirtualNetworks:\n  - {name: VNet2, addressPrefixes: [10.2.0.0/16], subnets: [{name: backend, addressPrefix: 10.2.0.0/24}]}\n  - {name: VNet3, addressPrefixes: [10.3.0.0/16]}\n",
        )
        .unwrap()
        .build()
        .unwrap()
    }

    #[test]
    fn resource_exists_finds_exactly_the_vnet_it_asks_for() {
        let m = lab();
        let sub = format!("/subscriptions/{}", crate::model::DEFAULT_SUBSCRIPTION_ID);
        let filter =
            "resourceGroup eq 'rg' and name eq 'VNet2' and resourceType eq 'Microsoft.Network/virtualNetworks'";
        let found = list(&m, &sub, Some(filter)).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["type"], "Microsoft.Network/virtualNetworks");
        assert!(found[0].get("properties").is_none());
        // Children (subnets) are not generic resources.
        assert_eq!(list(&m, &sub, None).unwrap().len(), 2);
        let none = "resourceGroup eq 'rg' and name eq 'VNet9' and resourceType eq 'Microsoft.Network/virtualNetworks'";
        assert!(list(&m, &sub, Some(none)).unwrap().is_empty());
        let e = list(&m, &sub, Some("tagName eq 'x'")).unwrap_err();
        assert!(
            e.message.contains("resourceGroup, name and resourceType"),
            "{}",
            e.message
        );
    }
}
