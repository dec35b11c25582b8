//! What every command needs: the lab's model, the signed-in account and
//! the subscription it acts on, and ARM's way of naming and finding things.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{AzError, Backend, Profile};
use crate::model::{AzureError, Change, ErrorCode, Model, ResourceGroup, ResourceId, Subscription};

pub struct Ctx<'a> {
    pub backend: &'a mut dyn Backend,
    pub profile: Profile,
    model: Model,
    /// The subscription this command acts on.
    pub subscription: Subscription,
    /// az's `WARNING:` lines, printed to stderr whatever the outcome.
    warnings: Vec<String>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("subscription", &self.subscription.id)
            .finish()
    }
}

/// The account a lab's az session is signed in as until `az login` names another.
pub const LAB_USER: &str = "learner@vnetlab.test";

impl<'a> Ctx<'a> {
    /// A `WARNING:` line for stderr, as az's logger prints one.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    pub fn new(backend: &'a mut dyn Backend, subscription: Option<&str>) -> Result<Ctx<'a>, AzError> {
        let model = backend.model()?;
        let profile = backend.profile();
        let wanted = subscription
            .map(str::to_string)
            .or_else(|| profile.subscription_id.clone());
        let subscription = match &wanted {
            Some(s) => find_subscription(&model, s)
                .cloned()
                // A profile may name a subscription of a lab that is gone.
                .or_else(|| {
                    subscription
                        .is_none()
                        .then(|| model.subscriptions.first().cloned())
                        .flatten()
                }),
            None => model.subscriptions.first().cloned(),
        };
        let Some(subscription) = subscription else {
            return Err(AzError::Cli(format!(
                "Subscription '{}' not found. Check the spelling and casing and try again.",
                wanted.unwrap_or_default()
            )));
        };
        Ok(Ctx {
            backend,
            profile,
            model,
            subscription,
            warnings: Vec::new(),
        })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Applies the batch whole (or not at all) and reloads the model.
    pub fn apply(&mut self, changes: Vec<Change>) -> Result<(), AzError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.backend.apply(changes)?;
        self.model = self.backend.model()?;
        Ok(())
    }

    pub fn sub(&self) -> &str {
        &self.subscription.id
    }

    /// The signed-in principal's name, when it is one of the lab's principals.
    pub fn principal(&self) -> Option<String> {
        self.profile.user.as_ref().map(|u| u.name.clone())
    }

    pub fn rg_id(&self, rg: &str) -> ResourceId {
        ResourceId::resource_group(self.sub(), rg)
    }

    /// The resource group, or az's ResourceGroupNotFound.
    pub fn group(&self, rg: &str) -> Result<&ResourceGroup, AzError> {
        self.model.resource_groups.get(&self.rg_id(rg)).ok_or_else(|| {
            AzureError::new(
                ErrorCode::ResourceGroupNotFound,
                format!("Resource group '{rg}' could not be found."),
            )
            .into()
        })
    }

    /// What a `list` command prints: the resources of `items` in the group
    /// `-g` names (which must exist), else in the whole subscription.
    pub fn list<T>(
        &self,
        rg: Option<&str>,
        items: impl Fn(&Model) -> &BTreeMap<ResourceId, T>,
        render: impl Fn(&Model, &T) -> Value,
    ) -> Result<Value, AzError> {
        let scope = match rg {
            Some(rg) => self.group(rg)?.id.clone(),
            None => ResourceId::subscription(self.sub()),
        };
        let m = &self.model;
        Ok(Value::Array(
            items(m)
                .iter()
                .filter(|(id, _)| id.is_within(scope.as_str()))
                .map(|(_, x)| render(m, x))
                .collect(),
        ))
    }

    /// A top-level delete: deleting what is not there succeeds quietly, as
    /// ARM's DELETE does, once the group is known to exist.
    pub fn delete_if_present(&mut self, present: bool, change: Change, rg: &str) -> Result<(), AzError> {
        if present {
            self.apply(vec![change])
        } else {
            self.group(rg).map(|_| ())
        }
    }

    /// A Microsoft.Network resource in this subscription.
    pub fn net_id(&self, rg: &str, kind: &str, name: &str) -> ResourceId {
        ResourceId::network(self.sub(), rg, kind, name)
    }

    /// `NAME` in `rg`, or a full resource ID as az accepts for references.
    pub fn reference(&self, value: &str, rg: &str, provider: &str, kind: &str) -> Result<ResourceId, AzError> {
        if value.starts_with('/') {
            return ResourceId::parse(value)
                .ok_or_else(|| AzError::Cli(format!("'{value}' is not a valid Azure resource ID.")));
        }
        Ok(ResourceId::resource(self.sub(), rg, provider, kind, value))
    }

    /// A resource that must exist, or ARM's not-found error for it.
    pub fn existing<'m, T>(
        &'m self,
        map: &'m std::collections::BTreeMap<ResourceId, T>,
        id: &ResourceId,
    ) -> Result<&'m T, AzError> {
        if let Some(t) = map.get(id) {
            return Ok(t);
        }
        self.group(id.resource_group_name())?;
        Err(not_found(id))
    }
}

/// ARM's answer for a resource that does not exist.
pub fn not_found(id: &ResourceId) -> AzError {
    AzureError::resource_not_found(id).into()
}

pub fn find_subscription<'m>(model: &'m Model, name_or_id: &str) -> Option<&'m Subscription> {
    model
        .subscriptions
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(name_or_id))
        .or_else(|| {
            model
                .subscriptions
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(name_or_id))
        })
}
