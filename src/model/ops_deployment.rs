//! What ARM keeps beside the network: the record of each template
//! deployment (`Microsoft.Resources/deployments`) and the resources of types
//! the model does not emulate that deployments put (storage accounts, key
//! vaults …). Both are documents as ARM returns them; they live in the model
//! so they are saved with the lab (`daemon::journal`) and every front (the
//! az shim, the ARM endpoint) reads the same ones, also after a restart.

use serde_json::Value;

use super::Model;
use super::error::{AzureError, bail};
use super::ids::ResourceId;

impl Model {
    /// Keeps (or replaces) a deployment's record.
    pub(super) fn put_deployment(&mut self, id: ResourceId, record: Value) -> Result<(), AzureError> {
        self.check_scope(&id)?;
        self.deployments.insert(id, record);
        Ok(())
    }

    /// Azure: deleting a deployment removes its record, not its resources
    /// (https://learn.microsoft.com/rest/api/resources/deployments/delete).
    pub(super) fn delete_deployment(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if self.deployments.remove(id).is_none() {
            bail!(DeploymentNotFound, "Deployment '{}' could not be found.", id.name());
        }
        Ok(())
    }

    pub(super) fn put_opaque_resource(&mut self, id: ResourceId, doc: Value) -> Result<(), AzureError> {
        self.check_scope(&id)?;
        self.opaque_resources.insert(id, doc);
        Ok(())
    }

    pub(super) fn delete_opaque_resource(&mut self, id: &ResourceId) -> Result<(), AzureError> {
        if self.opaque_resources.remove(id).is_none() {
            return Err(AzureError::resource_not_found(id));
        }
        Ok(())
    }

    /// A record below a resource group needs the group.
    fn check_scope(&self, id: &ResourceId) -> Result<(), AzureError> {
        let rg = id.resource_group_name();
        if !rg.is_empty()
            && !self.resource_groups.keys().any(|g| {
                g.subscription_id().eq_ignore_ascii_case(id.subscription_id()) && g.name().eq_ignore_ascii_case(rg)
            })
        {
            bail!(ResourceGroupNotFound, "Resource group '{rg}' could not be found.");
        }
        Ok(())
    }

    /// A deleted group takes its deployments and opaque resources with it.
    pub(super) fn forget_documents_within(&mut self, group: &ResourceId) {
        let inside = |r: &ResourceId| r.is_within(group.as_str());
        self.deployments.retain(|k, _| !inside(k));
        self.opaque_resources.retain(|k, _| !inside(k));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::model::{Change, ErrorCode, Model, ResourceId};

    fn group(m: &mut Model) -> ResourceId {
        m.apply(Change::PutResourceGroup {
            subscription: crate::model::DEFAULT_SUBSCRIPTION_ID.into(),
            name: "rg".into(),
            location: "eastus".into(),
        })
        .unwrap();
        ResourceId::resource_group(crate::model::DEFAULT_SUBSCRIPTION_ID, "rg")
    }

    #[test]
    fn records_live_and_die_with_their_group() {
        let mut m = Model::new();
        let rg = group(&mut m);
        let dep = ResourceId::parse(&format!("{}/providers/Microsoft.Resources/deployments/d1", rg.as_str())).unwrap();
        let sa = ResourceId::parse(&format!(
            "{}/providers/Microsoft.Storage/storageAccounts/sa",
            rg.as_str()
        ))
        .unwrap();
        m.apply(Change::PutDeployment {
            id: dep.clone(),
            record: json!({"name": "d1"}),
        })
        .unwrap();
        m.apply(Change::PutOpaqueResource {
            id: sa.clone(),
            doc: json!({"name": "sa"}),
        })
        .unwrap();
        // Saved and loaded as the journal does.
        let back: Model = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back.deployments[&dep]["name"], "d1");
        assert_eq!(back.opaque_resources[&sa]["name"], "sa");
        m.apply(Change::DeleteResourceGroup(rg)).unwrap();
        assert!(m.deployments.is_empty() && m.opaque_resources.is_empty());
        let e = m.apply(Change::DeleteDeployment(dep.clone())).unwrap_err();
        assert_eq!(e.code, ErrorCode::DeploymentNotFound);
        let e = m
            .apply(Change::PutDeployment {
                id: dep,
                record: json!({}),
            })
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ResourceGroupNotFound);
    }
}
