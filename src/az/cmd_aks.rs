//! `az aks` and `az aks nodepool`: AKS clusters with Azure CNI Overlay.
//! Nodes become lab VMs in the node subnet (see `model::aks`); the test
//! pods and the cluster mesh are `vnetlab kubectl` and `vnetlab aks mesh`.

use serde_json::{Value, json};

use super::args::{Args, Leaf, choice, flag, location, name, opt, rg, tags, yes};
use super::{AzError, Ctx, Handler, Reply, confirm, finish, table_rows};
use crate::model::{
    AgentPool, AgentPoolMode, AgentPoolSpec, CONTAINER_SERVICE, Change, DEFAULT_POOL_NAME, ManagedCluster,
    ManagedClusterSpec, ResourceId,
};

pub fn leaves() -> Vec<Leaf<Handler>> {
    let cluster = || opt("cluster-name").required(true);
    let count = || opt("node-count").short('c');
    vec![
        Leaf {
            path: "aks create",
            about: "Create a managed Kubernetes cluster (Azure CNI Overlay).",
            args: vec![
                rg(),
                name(),
                location(),
                choice("network-plugin", &["azure", "kubenet", "none"]),
                choice("network-plugin-mode", &["overlay"]),
                opt("pod-cidr"),
                opt("service-cidr"),
                opt("dns-service-ip"),
                opt("vnet-subnet-id"),
                count(),
                opt("node-vm-size").short('s'),
                opt("kubernetes-version").short('k'),
                opt("dns-name-prefix").short('p'),
                opt("node-resource-group"),
                opt("nodepool-name"),
                opt("ssh-key-value"),
                flag("generate-ssh-keys"),
                flag("no-ssh-key"),
                flag("enable-managed-identity"),
                opt("tier"),
                tags(),
                flag("no-wait"),
                yes(),
            ],
            run: create,
        },
        Leaf {
            path: "aks list",
            about: "List managed Kubernetes clusters.",
            args: vec![opt("resource-group").short('g')],
            run: list,
        },
        Leaf {
            path: "aks show",
            about: "Show the details for a managed Kubernetes cluster.",
            args: vec![rg(), name()],
            run: show,
        },
        Leaf {
            path: "aks delete",
            about: "Delete a managed Kubernetes cluster.",
            args: vec![rg(), name(), flag("no-wait"), yes()],
            run: delete,
        },
        Leaf {
            path: "aks scale",
            about: "Scale the node pool in a managed Kubernetes cluster.",
            args: vec![
                rg(),
                name(),
                count().required(true),
                opt("nodepool-name"),
                flag("no-wait"),
            ],
            run: scale_cluster,
        },
        Leaf {
            path: "aks nodepool add",
            about: "Add a node pool to the managed Kubernetes cluster.",
            args: vec![
                rg(),
                cluster(),
                name(),
                count(),
                opt("node-vm-size").short('s'),
                opt("vnet-subnet-id"),
                choice("mode", &["System", "User"]),
                flag("no-wait"),
            ],
            run: pool_add,
        },
        Leaf {
            path: "aks nodepool list",
            about: "List node pools in the managed Kubernetes cluster.",
            args: vec![rg(), cluster()],
            run: pool_list,
        },
        Leaf {
            path: "aks nodepool show",
            about: "Show the details for a node pool in the managed Kubernetes cluster.",
            args: vec![rg(), cluster(), name()],
            run: pool_show,
        },
        Leaf {
            path: "aks nodepool scale",
            about: "Scale the node pool in a managed Kubernetes cluster.",
            args: vec![rg(), cluster(), name(), count(), flag("no-wait")],
            run: pool_scale,
        },
        Leaf {
            path: "aks nodepool delete",
            about: "Delete the agent pool in the managed Kubernetes cluster.",
            args: vec![rg(), cluster(), name(), flag("no-wait"), yes()],
            run: pool_delete,
        },
    ]
}

fn cluster_id(ctx: &Ctx, a: &Args, key: &str) -> ResourceId {
    ResourceId::resource(
        ctx.sub(),
        a.must("resource-group"),
        CONTAINER_SERVICE,
        "managedClusters",
        a.must(key),
    )
}

fn count(a: &Args, default: i64) -> Result<i64, AzError> {
    Ok(a.int::<i64>("node-count")?.unwrap_or(default))
}

fn create(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    ctx.group(a.must("resource-group"))?;
    let id = cluster_id(ctx, &a, "name");
    if ctx.model().managed_clusters.contains_key(&id) {
        return Err(AzError::Cli(format!(
            "The cluster '{}' already exists in resource group '{}'. Use `az aks update` to change it, or another name.",
            id.name(),
            id.resource_group_name()
        )));
    }
    let subnet = a
        .str("vnet-subnet-id")
        .map(|s| {
            ResourceId::parse(s)
                .ok_or_else(|| AzError::Cli(format!("--vnet-subnet-id is not a valid Azure resource ID: {s}")))
        })
        .transpose()?;
    let pool = a.str("nodepool-name").unwrap_or(DEFAULT_POOL_NAME);
    let spec = ManagedClusterSpec {
        pool: AgentPoolSpec {
            id: id.child("agentPools", pool),
            count: count(&a, 3)?,
            vm_size: a.str("node-vm-size").map(str::to_string),
            vnet_subnet_id: subnet,
            mode: Some(AgentPoolMode::System),
        },
        id,
        location: a.str("location").map(str::to_string),
        // az 2.91's default plugin is azure (with overlay since 2.63).
        network_plugin: a.str("network-plugin").unwrap_or("azure").to_string(),
        network_plugin_mode: a
            .str("network-plugin-mode")
            .map(str::to_string)
            .or_else(|| a.str("network-plugin").is_none().then(|| "overlay".to_string())),
        pod_cidr: a.str("pod-cidr").map(str::to_string),
        service_cidr: a.str("service-cidr").map(str::to_string),
        dns_service_ip: a.str("dns-service-ip").map(str::to_string),
        kubernetes_version: a.str("kubernetes-version").map(str::to_string),
        dns_prefix: a.str("dns-name-prefix").map(str::to_string),
        node_resource_group: a.str("node-resource-group").map(str::to_string),
    };
    let tags = a.tags_put(&spec.id);
    ctx.apply(vec![Change::PutManagedCluster(spec), tags])?;
    finish(ctx, a, show)
}

fn list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    Ok(Reply::Table(
        ctx.list(
            a.str("resource-group"),
            |m| &m.managed_clusters,
            super::render_aks::cluster,
        )?,
        cluster_table,
    ))
}

fn show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let c = ctx.existing(&ctx.model().managed_clusters, &cluster_id(ctx, &a, "name"))?;
    Ok(Reply::Table(super::render_aks::cluster(ctx.model(), c), cluster_table))
}

fn delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let id = cluster_id(ctx, &a, "name");
    let present = ctx.model().managed_clusters.contains_key(&id);
    ctx.delete_if_present(present, Change::DeleteManagedCluster(id), a.must("resource-group"))?;
    Ok(Reply::Nothing)
}

fn scale_cluster(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let c = ctx.existing(&ctx.model().managed_clusters, &cluster_id(ctx, &a, "name"))?;
    let pool = match a.str("nodepool-name") {
        Some(p) => p.to_string(),
        None if c.agent_pools.len() == 1 => c.agent_pools[0].name.clone(),
        None => return Err(AzError::Cli("There are more than one node pool in the cluster. Please specify nodepool name or use az aks nodepool command to scale node pool".into())),
    };
    let spec = AgentPoolSpec {
        id: c.agent_pool_id(&pool),
        count: count(&a, 3)?,
        vm_size: None,
        vnet_subnet_id: None,
        mode: None,
    };
    ctx.apply(vec![Change::PutAgentPool(spec)])?;
    finish(ctx, a, show)
}

fn pool_of<'m>(ctx: &'m Ctx, a: &Args) -> Result<(&'m ManagedCluster, Option<&'m AgentPool>), AzError> {
    let c = ctx.existing(&ctx.model().managed_clusters, &cluster_id(ctx, a, "cluster-name"))?;
    Ok((c, c.agent_pools.iter().find(|p| p.name == a.must("name"))))
}

fn pool_add(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let (c, existing) = pool_of(ctx, &a)?;
    if existing.is_some() {
        return Err(AzError::Cli(format!(
            "Node pool {} already exists, please try a different name, use 'aks nodepool list' to get current list of node pool",
            a.must("name")
        )));
    }
    let subnet = a
        .str("vnet-subnet-id")
        .map(|s| {
            ResourceId::parse(s)
                .ok_or_else(|| AzError::Cli(format!("--vnet-subnet-id is not a valid Azure resource ID: {s}")))
        })
        .transpose()?;
    let mode = match a.str("mode") {
        Some("System") => AgentPoolMode::System,
        _ => AgentPoolMode::User,
    };
    let spec = AgentPoolSpec {
        id: c.agent_pool_id(a.must("name")),
        count: count(&a, 3)?,
        vm_size: a.str("node-vm-size").map(str::to_string),
        vnet_subnet_id: subnet,
        mode: Some(mode),
    };
    ctx.apply(vec![Change::PutAgentPool(spec)])?;
    finish(ctx, a, pool_show)
}

fn pool_list(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let c = ctx.existing(&ctx.model().managed_clusters, &cluster_id(ctx, &a, "cluster-name"))?;
    Ok(Reply::Table(
        Value::Array(
            c.agent_pools
                .iter()
                .map(|p| super::render_aks::agent_pool(c, p))
                .collect(),
        ),
        pool_table,
    ))
}

fn pool_show(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let (c, p) = pool_of(ctx, &a)?;
    let p = p.ok_or_else(|| super::ctx::not_found(&c.agent_pool_id(a.must("name"))))?;
    Ok(Reply::Table(super::render_aks::agent_pool(c, p), pool_table))
}

fn pool_scale(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    let (c, p) = pool_of(ctx, &a)?;
    let id = c.agent_pool_id(a.must("name"));
    p.ok_or_else(|| super::ctx::not_found(&id))?;
    ctx.apply(vec![Change::PutAgentPool(AgentPoolSpec {
        id,
        count: count(&a, 3)?,
        vm_size: None,
        vnet_subnet_id: None,
        mode: None,
    })])?;
    finish(ctx, a, pool_show)
}

fn pool_delete(ctx: &mut Ctx, a: Args) -> Result<Reply, AzError> {
    confirm(ctx, &a)?;
    let (c, p) = pool_of(ctx, &a)?;
    let id = c.agent_pool_id(a.must("name"));
    p.ok_or_else(|| super::ctx::not_found(&id))?;
    ctx.apply(vec![Change::DeleteAgentPool(id)])?;
    Ok(Reply::Nothing)
}

/// az's aks_list_table_format / aks_show_table_format.
fn cluster_table(v: &Value) -> Value {
    table_rows(v, |c| {
        json!({
            "Name": c["name"], "Location": c["location"], "ResourceGroup": c["resourceGroup"], "KubernetesVersion": c["kubernetesVersion"],
            "CurrentKubernetesVersion": c["currentKubernetesVersion"], "ProvisioningState": c["provisioningState"], "Fqdn": c["fqdn"],
        })
    })
}

/// az's aks_agentpool_list_table_format.
fn pool_table(v: &Value) -> Value {
    table_rows(v, |p| {
        json!({
            "Name": p["name"], "OsType": p["osType"], "KubernetesVersion": p["orchestratorVersion"], "VmSize": p["vmSize"],
            "Count": p["count"], "MaxPods": p["maxPods"], "ProvisioningState": p["provisioningState"], "Mode": p["mode"],
        })
    })
}
