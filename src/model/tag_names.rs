//! A subscription's tag names (`az tag create --name`, `az tag list`):
//! ARM keeps a list of predefined tag names and values per subscription,
//! and its tag-name listing joins them with the names and values the
//! subscription's resources carry, each counted.
// Azure: Tags - Create Or Update / Create Or Update Value / Delete / Delete
// Value / List (learn.microsoft.com/rest/api/resources/tags): names are
// case-insensitive; a predefined name can be deleted only when no resource
// uses it and its predefined values are gone; a value only when no resource
// carries it under that name.

use std::collections::{BTreeMap, BTreeSet};

use super::tags::check_tags;
use super::{AzureError, Model, ResourceId, Tags, bail};

/// One subscription's predefined tag names, each with its predefined values.
pub type TagNames = BTreeMap<String, BTreeSet<String>>;

/// A tag name as `GET /subscriptions/{id}/tagNames` reports it: how many
/// resources carry it and each value with its own count.
#[derive(Clone, Debug, PartialEq)]
pub struct TagNameUse {
    pub name: String,
    pub count: usize,
    pub values: Vec<(String, usize)>,
}

impl Model {
    /// The tag names of subscription `sub`, predefined or in use, sorted by
    /// name (without case), with their counts.
    pub fn tag_names_of(&self, sub: &str) -> Vec<TagNameUse> {
        let scope = ResourceId::subscription(sub);
        // Lower-cased name → (spelling, resources carrying it, value → count).
        let mut out: BTreeMap<String, (String, usize, BTreeMap<String, usize>)> = BTreeMap::new();
        if let Some(names) = self.tag_names.get(&sub.to_ascii_lowercase()) {
            for (name, values) in names {
                let e = out
                    .entry(name.to_ascii_lowercase())
                    .or_insert_with(|| (name.clone(), 0, BTreeMap::new()));
                for v in values {
                    e.2.entry(v.clone()).or_insert(0);
                }
            }
        }
        for (id, tags) in &self.tags {
            if !id.is_within(scope.as_str()) {
                continue;
            }
            for (k, v) in tags {
                let e = out
                    .entry(k.to_ascii_lowercase())
                    .or_insert_with(|| (k.clone(), 0, BTreeMap::new()));
                e.1 += 1;
                *e.2.entry(v.clone()).or_insert(0) += 1;
            }
        }
        out.into_values()
            .map(|(name, count, values)| TagNameUse {
                name,
                count,
                values: values.into_iter().collect(),
            })
            .collect()
    }

    /// Adds a predefined tag name (and, with `value`, one of its values).
    pub(super) fn put_tag_name(&mut self, sub: &str, name: &str, value: Option<&str>) -> Result<(), AzureError> {
        let sub_key = self.known_subscription(sub)?;
        let mut probe = Tags::new();
        probe.insert(name.to_string(), value.unwrap_or_default().to_string());
        check_tags(&probe)?;
        // Azure: "Tag names cannot have the following prefixes which are
        // reserved for Azure use: 'microsoft', 'azure', 'windows'."
        let lower = name.to_ascii_lowercase();
        if ["microsoft", "azure", "windows"].iter().any(|p| lower.starts_with(p)) {
            bail!(
                BadRequest,
                "The tag name '{name}' starts with a prefix reserved for Azure use ('microsoft', 'azure', 'windows'). Choose another name."
            );
        }
        let key = self
            .tag_names
            .get(&sub_key)
            .and_then(|names| names.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned());
        if value.is_some() && key.is_none() && !self.tag_name_in_use(sub, name) {
            bail!(
                NotFound,
                "The tag name '{name}' does not exist in subscription '{sub}'. Create it first (az tag create --name {name})."
            );
        }
        let values = self
            .tag_names
            .entry(sub_key)
            .or_default()
            .entry(key.unwrap_or_else(|| name.to_string()))
            .or_default();
        if let Some(v) = value {
            values.insert(v.to_string());
        }
        Ok(())
    }

    /// Removes a predefined tag name (`value: None`) or one of its values.
    pub(super) fn delete_tag_name(&mut self, sub: &str, name: &str, value: Option<&str>) -> Result<(), AzureError> {
        let sub_key = self.known_subscription(sub)?;
        let scope = ResourceId::subscription(sub);
        let users = self
            .tags
            .iter()
            .filter(|(id, _)| id.is_within(scope.as_str()))
            .filter(|(_, t)| {
                t.iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case(name) && value.is_none_or(|want| v == want))
            })
            .count();
        let what = match value {
            Some(v) => format!("tag value '{v}' of tag name '{name}'"),
            None => format!("tag name '{name}'"),
        };
        if users > 0 {
            bail!(
                BadRequest,
                "The {what} is in use by {users} resource(s) in subscription '{sub}'. Remove it from those resources first (az tag update --operation Delete)."
            );
        }
        let names = self.tag_names.entry(sub_key.clone()).or_default();
        let key = names.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned();
        match (key, value) {
            (Some(k), None) => {
                if !names[&k].is_empty() {
                    bail!(
                        BadRequest,
                        "The tag name '{name}' still has predefined values. Delete them first (az tag remove-value --name {name} --value VALUE)."
                    );
                }
                names.remove(&k);
            }
            (Some(k), Some(v)) => {
                names.get_mut(&k).map(|vs| vs.remove(v));
            }
            // Azure: deleting a name or value that is not there succeeds.
            (None, _) => {}
        }
        if names.is_empty() {
            self.tag_names.remove(&sub_key);
        }
        Ok(())
    }

    fn tag_name_in_use(&self, sub: &str, name: &str) -> bool {
        let scope = ResourceId::subscription(sub);
        self.tags
            .iter()
            .any(|(id, t)| id.is_within(scope.as_str()) && t.keys().any(|k| k.eq_ignore_ascii_case(name)))
    }

    /// The key of a subscription the model holds, or ARM's refusal.
    fn known_subscription(&self, sub: &str) -> Result<String, AzureError> {
        if !self.subscriptions.iter().any(|s| s.id.eq_ignore_ascii_case(sub)) {
            bail!(SubscriptionNotFound, "The subscription '{sub}' could not be found.");
        }
        Ok(sub.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Change, DEFAULT_SUBSCRIPTION_ID as SUB, ErrorCode};

    fn put(m: &mut Model, name: &str, value: Option<&str>) -> Result<(), AzureError> {
        m.apply(Change::PutTagName {
            subscription: SUB.into(),
            name: name.into(),
            value: value.map(str::to_string),
        })
    }

    fn delete(m: &mut Model, name: &str, value: Option<&str>) -> Result<(), AzureError> {
        m.apply(Change::DeleteTagName {
            subscription: SUB.into(),
            name: name.into(),
            value: value.map(str::to_string),
        })
    }

    fn group_tagged(m: &mut Model, pairs: &[(&str, &str)]) {
        m.apply(Change::PutResourceGroup {
            subscription: SUB.into(),
            name: "rg".into(),
            location: "westeurope".into(),
        })
        .expect("group");
        m.apply(Change::SetTags {
            id: ResourceId::resource_group(SUB, "rg"),
            tags: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        })
        .expect("tags");
    }

    #[test]
    fn predefined_names_and_used_ones_are_listed_with_counts() {
        let mut m = Model::new();
        put(&mut m, "Dept", None).expect("name");
        put(&mut m, "dept", Some("Finance")).expect("value, any case of the name");
        group_tagged(&mut m, &[("Dept", "IT"), ("env", "prod")]);
        let names = m.tag_names_of(SUB);
        assert_eq!(
            names,
            vec![
                TagNameUse {
                    name: "Dept".into(),
                    count: 1,
                    values: vec![("Finance".into(), 0), ("IT".into(), 1)]
                },
                TagNameUse {
                    name: "env".into(),
                    count: 1,
                    values: vec![("prod".into(), 1)]
                },
            ]
        );
    }

    #[test]
    fn refusals_leave_the_names_unchanged() {
        let mut m = Model::new();
        assert_eq!(
            put(&mut m, "nope", Some("v")).unwrap_err().code,
            ErrorCode::NotFound,
            "a value needs its name"
        );
        assert_eq!(put(&mut m, "azure-x", None).unwrap_err().code, ErrorCode::BadRequest);
        assert_eq!(
            put(&mut m, "a/b", None).unwrap_err().code,
            ErrorCode::InvalidTagNameCharacters
        );
        put(&mut m, "Dept", Some("Finance")).expect_err("no name yet");
        put(&mut m, "Dept", None).expect("name");
        put(&mut m, "Dept", Some("Finance")).expect("value");
        assert_eq!(
            delete(&mut m, "Dept", None).unwrap_err().code,
            ErrorCode::BadRequest,
            "values first"
        );
        delete(&mut m, "Dept", Some("Finance")).expect("value goes");
        delete(&mut m, "Dept", None).expect("then the name");
        assert!(m.tag_names.is_empty());
        group_tagged(&mut m, &[("env", "prod")]);
        assert_eq!(
            delete(&mut m, "ENV", None).unwrap_err().code,
            ErrorCode::BadRequest,
            "in use"
        );
        assert_eq!(
            delete(&mut m, "env", Some("prod")).unwrap_err().code,
            ErrorCode::BadRequest
        );
        delete(&mut m, "env", Some("test")).expect("an unused value is no refusal");
        let other = Change::PutTagName {
            subscription: "11111111-0000-4000-8000-000000000009".into(),
            name: "x".into(),
            value: None,
        };
        assert_eq!(m.apply(other).unwrap_err().code, ErrorCode::SubscriptionNotFound);
    }
}
