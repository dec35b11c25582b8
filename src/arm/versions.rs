//! Which api-versions and resource types each provider namespace answers.
//! ARM checks a request's `api-version` against the provider that serves
//! the path, and a type against the provider's registered types, before
//! the provider sees the request.
//!
//! The lists are what the clients the lab is judged by send: azure-cli
//! 2.91.0 (its aaz commands' `api-version`s and its API profile) and the
//! SDKs it pins (azure-mgmt-network 33.1.0, -compute 34.1.0, -resource
//! 24.0.0, -privatedns 1.0.0, -redis 14.5.0, -containerservice 41.6.0,
//! -authorization 5.0.0b2), read from scripts/setup's venv with
//! `grep -rhoE '"api-version", "…"'` over `azure/cli/command_modules/*`
//! and the `api_version` defaults and `v20xx_xx_xx` folders of
//! `azure/mgmt/*`. Microsoft.Network and Microsoft.Compute also take every
//! version their SDKs ever shipped (the `v20xx_xx_xx` folders of
//! azure-mgmt-network 19.3.0–22.3.0 and azure-mgmt-compute 29.1.0–33.0.0,
//! and the single version of each azure-mgmt-network 23.0.0–30.0.0, from
//! PyPI): templates, Terraform and pinned SDKs send older versions, and a
//! refusal there would break what works in Azure. Types are the
//! `/providers/{ns}/{type}` segments of the same SDKs' URL templates. Real
//! ARM knows more versions still; a client that sends one of those would
//! need it added here.

use super::Response;

#[derive(Debug)]
pub struct Provider {
    pub namespace: &'static str,
    /// Top-level resource types (case-insensitive), children follow them.
    pub types: &'static [&'static str],
    /// Newest first, as ARM lists them.
    pub versions: &'static [&'static str],
}

pub const RESOURCES: &str = "Microsoft.Resources";

pub const KNOWN: &[Provider] = &[
    Provider {
        namespace: "Microsoft.Network",
        types: &[
            "ApplicationGatewayWebApplicationFirewallPolicies",
            "ExpressRoutePortsLocations",
            "IpAllocations",
            "applicationGatewayAvailableRequestHeaders",
            "applicationGatewayAvailableResponseHeaders",
            "applicationGatewayAvailableServerVariables",
            "applicationGatewayAvailableSslOptions",
            "applicationGatewayAvailableWafRuleSets",
            "applicationGateways",
            "applicationSecurityGroups",
            "azureFirewallFqdnTags",
            "azureFirewalls",
            "azureWebCategories",
            "bastionHosts",
            "bgpServiceCommunities",
            "checkTrafficManagerNameAvailability",
            "cloudServiceSlots",
            "connections",
            "customIpPrefixes",
            "ddosCustomPolicies",
            "ddosProtectionPlans",
            "dnsZones",
            "dscpConfigurations",
            "expressRouteCircuits",
            "expressRouteCrossConnections",
            "expressRouteGateways",
            "expressRoutePorts",
            "expressRouteProviderPorts",
            "expressRouteServiceProviders",
            "firewallPolicies",
            "ipGroups",
            "loadBalancers",
            "localNetworkGateways",
            "locations",
            "natGateways",
            "networkInterfaces",
            "networkManagerConnections",
            "networkManagers",
            "networkProfiles",
            "networkSecurityGroups",
            "networkSecurityPerimeters",
            "networkVirtualApplianceSkus",
            "networkVirtualAppliances",
            "networkWatchers",
            "operations",
            "privateDnsZones",
            "privateEndpoints",
            "privateLinkServices",
            "publicIPAddresses",
            "publicIPPrefixes",
            "routeFilters",
            "routeTables",
            "securityPartnerProviders",
            "serviceEndpointPolicies",
            "serviceGateways",
            "trafficManagerGeographicHierarchies",
            "trafficManagerProfiles",
            "virtualHubs",
            "virtualNetworkAppliances",
            "virtualNetworkGateways",
            "virtualNetworkTaps",
            "virtualNetworks",
            "virtualRouters",
            "virtualWans",
            "vpnGateways",
            "vpnServerConfigurations",
            "vpnSites",
        ],
        versions: &[
            "2026-09-01",
            "2026-03-01",
            "2026-01-01",
            "2025-09-01",
            "2025-07-01",
            "2025-05-01",
            "2025-03-01",
            "2025-01-01",
            "2024-10-01",
            "2024-07-01",
            "2024-06-01",
            "2024-05-01",
            "2024-03-01",
            "2024-01-01",
            "2023-11-01",
            "2023-09-01",
            "2023-07-01-preview",
            "2023-06-01",
            "2023-05-01",
            "2023-04-01",
            "2023-02-01",
            "2022-11-01",
            "2022-09-01",
            "2022-07-01",
            "2022-05-01",
            "2022-01-01",
            "2021-08-01",
            "2021-05-01",
            "2021-02-01-preview",
            "2021-02-01",
            "2020-11-01",
            "2020-08-01",
            "2020-07-01",
            "2020-06-01",
            "2020-05-01",
            "2020-04-01",
            "2020-03-01",
            "2019-12-01",
            "2019-11-01",
            "2019-09-01",
            "2019-08-01",
            "2019-07-01",
            "2019-06-01",
            "2019-04-01",
            "2019-02-01",
            "2018-12-01",
            "2018-11-01",
            "2018-10-01",
            "2018-09-01",
            "2018-08-01",
            "2018-07-01",
            "2018-06-01",
            "2018-04-01",
            "2018-02-01",
            "2018-01-01",
            "2017-10-01",
            "2017-06-01",
            "2017-03-01",
            "2016-12-01",
            "2016-09-01",
            "2015-06-15",
        ],
    },
    Provider {
        namespace: "Microsoft.Compute",
        types: &[
            "availabilitySets",
            "capacityReservationGroups",
            "cloudServices",
            "diskAccesses",
            "diskEncryptionSets",
            "disks",
            "galleries",
            "hostGroups",
            "images",
            "locations",
            "operations",
            "proximityPlacementGroups",
            "restorePointCollections",
            "skus",
            "snapshots",
            "sshPublicKeys",
            "virtualMachines",
            "virtualMachineScaleSets",
        ],
        versions: &[
            "2026-04-01",
            "2026-03-03",
            "2025-11-01",
            "2025-04-01",
            "2025-03-03",
            "2025-01-02",
            "2024-11-04",
            "2024-11-01",
            "2024-07-01",
            "2024-03-03",
            "2024-03-02",
            "2024-03-01",
            "2023-10-02",
            "2023-09-01",
            "2023-07-03",
            "2023-07-01",
            "2023-04-02",
            "2023-03-01",
            "2023-01-02",
            "2022-11-01",
            "2022-09-04",
            "2022-08-03",
            "2022-08-01",
            "2022-07-02",
            "2022-07-01",
            "2022-04-04",
            "2022-03-03",
            "2022-03-02",
            "2022-03-01",
            "2022-01-03",
            "2022-01-01",
            "2021-12-01",
            "2021-11-01",
            "2021-10-01",
            "2021-08-01",
            "2021-07-01",
            "2021-04-01",
            "2021-03-01",
            "2020-12-01",
            "2020-10-01-preview",
            "2020-09-30",
            "2020-06-30",
            "2020-06-01",
            "2020-05-01",
            "2019-12-01",
            "2019-11-01",
            "2019-07-01",
            "2019-04-01",
            "2019-03-01",
            "2018-10-01",
            "2018-09-30",
            "2018-06-01",
            "2018-04-01",
            "2017-12-01",
            "2017-09-01",
            "2017-03-30",
            "2016-04-30-preview",
            "2016-03-30",
            "2015-06-15",
        ],
    },
    Provider {
        namespace: RESOURCES,
        types: &[
            "calculateTemplateHash",
            "changes",
            "checkResourceName",
            "checkZonePeers",
            "dataBoundaries",
            "deployments",
            "deploymentScripts",
            "deploymentStacks",
            "deploymentStacksWhatIfResults",
            "links",
            "locations",
            "operations",
            "tags",
            "templateSpecs",
        ],
        versions: &[
            "2026-01-01-preview",
            "2025-11-01",
            "2025-07-01",
            "2025-04-01",
            "2025-03-01",
            "2024-11-01",
            "2024-08-01",
            "2024-07-01",
            "2024-03-01",
            "2023-04-01",
            "2022-12-01",
            "2022-09-01",
            "2022-08-01-preview",
            "2022-07-01-preview",
            "2022-06-01",
            "2022-05-01",
            "2021-07-01",
            "2021-06-01",
            "2021-05-01",
            "2021-04-01",
            "2021-01-01",
            "2020-10-01",
            "2020-09-01",
            "2020-07-01-preview",
            "2020-06-01",
            "2020-05-01",
            "2019-11-01",
            "2019-10-01",
            "2019-09-01",
            "2019-08-01",
            "2019-07-01",
            "2019-06-01",
            "2019-05-10",
            "2019-05-01",
            "2019-03-01",
            "2019-01-01",
            "2018-06-01",
            "2018-05-01",
            "2018-03-01",
            "2018-02-01",
            "2017-06-01-preview",
            "2017-05-10",
            "2016-12-01",
            "2016-09-01",
            "2016-06-01",
            "2016-04-01",
            "2016-02-01",
            "2015-12-01",
            "2015-10-01-preview",
            "2015-01-01",
        ],
    },
    Provider {
        namespace: "Microsoft.Cache",
        types: &["CheckNameAvailability", "locations", "operations", "redis"],
        versions: &["2024-11-01"],
    },
    Provider {
        namespace: "Microsoft.ContainerService",
        types: &["locations", "managedClusters", "operations", "snapshots"],
        versions: &["2026-06-01", "2026-04-01", "2025-07-01"],
    },
    Provider {
        namespace: "Microsoft.Authorization",
        types: &[
            "classicAdministrators",
            "denyAssignments",
            "operations",
            "permissions",
            "providerOperations",
            "roleAssignments",
            "roleDefinitions",
        ],
        versions: &[
            "2025-12-01-preview",
            "2024-09-01-preview",
            "2024-07-01-preview",
            "2022-08-01-preview",
            "2022-05-01-preview",
            "2022-04-01",
            "2021-12-01-preview",
            "2015-07-01",
        ],
    },
];

pub fn provider(namespace: &str) -> Option<&'static Provider> {
    KNOWN.iter().find(|p| p.namespace.eq_ignore_ascii_case(namespace))
}

/// What a path asks of ARM: the provider namespace that serves it and, for
/// a resource path, its top-level type. Paths of ARM itself (subscriptions,
/// resource groups, `providers` listings and registration) are
/// Microsoft.Resources with no type.
fn target<'a>(segs: &[&'a str], l: &[&str]) -> (&'a str, Option<&'a str>) {
    // Azure: an extension resource (`{resource}/providers/{ns}/{type}`,
    // e.g. a role assignment on a subnet) is served by the extension's
    // provider, not the resource's.
    if let Some(i) = l
        .iter()
        .rposition(|s| *s == "providers")
        .filter(|i| *i > 6 && l.len() > i + 2)
    {
        return (segs[i + 1], Some(segs[i + 2]));
    }
    match l {
        ["subscriptions", _, "resourcegroups", _, "providers", _, _, ..] => (segs[5], Some(segs[6])),
        // `/subscriptions/{id}/providers/{ns}` and `/register` are ARM's.
        ["subscriptions", _, "providers", _, _, ..] if l.get(4) != Some(&"register") => (segs[3], Some(segs[4])),
        _ => (RESOURCES, None),
    }
}

/// ARM's refusal of a request's api-version or resource type, if any.
/// `stored(ns)`: the endpoint holds resources of that namespace anyway (a
/// deployment's opaque resources), which are then answered.
pub fn check(segs: &[&str], l: &[&str], version: &str, body: &[u8], stored: impl Fn(&str) -> bool) -> Option<Response> {
    let (namespace, typ) = target(segs, l);
    let Some(p) = provider(namespace) else {
        if stored(namespace) {
            return None;
        }
        return Some(no_provider_for_namespace(namespace, version));
    };
    if let Some(t) = typ
        && !p.types.iter().any(|k| k.eq_ignore_ascii_case(t))
    {
        // Azure: an unknown type under a known namespace is ARM's 404
        // InvalidResourceType ("The resource type '…' could not be found in
        // the namespace '…' for api version '…'.").
        return Some(Response::error(
            404,
            "InvalidResourceType",
            &format!(
                "The resource type '{t}' could not be found in the namespace '{}' for api version '{version}'.",
                p.namespace
            ),
        ));
    }
    if p.versions.iter().any(|v| v.eq_ignore_ascii_case(version)) {
        return None;
    }
    // The location ARM names is the one the request is for.
    let location = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|b| b["location"].as_str().map(str::to_string))
        .unwrap_or_else(|| "global".to_string());
    Some(match typ {
        // Azure: a resource provider's type with a version it does not
        // serve is NoRegisteredProviderFound, naming the versions it does
        // (the message every too-old template gets).
        Some(t) => Response::error(
            400,
            "NoRegisteredProviderFound",
            &format!(
                "No registered resource provider found for location '{location}' and API version '{version}' for type '{t}'. The supported api-versions are '{}'.",
                p.versions.join(", ")
            ),
        ),
        // Azure: ARM's own paths (subscriptions, resource groups) answer
        // InvalidApiVersionParameter with the versions they take.
        None => Response::error(
            400,
            "InvalidApiVersionParameter",
            &format!(
                "The api-version '{version}' is invalid. The supported versions are '{}'.",
                p.versions.join(",")
            ),
        ),
    })
}

/// The api-version the endpoint's own operation URLs carry for a provider:
/// one it serves.
pub fn for_operations(namespace: &str) -> &'static str {
    provider(namespace)
        .map(|p| {
            p.versions
                .iter()
                .find(|v| **v == "2024-05-01")
                .or_else(|| p.versions.iter().find(|v| !v.ends_with("-preview")))
                .unwrap_or(&p.versions[0])
        })
        .copied()
        .unwrap_or("2024-05-01")
}

/// An unknown namespace: no provider is registered for it.
pub fn no_provider_for_namespace(namespace: &str, version: &str) -> Response {
    Response::error(
        404,
        "NoRegisteredProviderFound",
        &format!(
            "No registered resource provider found for location 'global' and API version '{version}' for namespace '{namespace}'. The lab serves {}.",
            KNOWN.iter().map(|p| p.namespace).collect::<Vec<_>>().join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(segs: &[&str]) -> Vec<String> {
        segs.iter().map(|s| s.to_ascii_lowercase()).collect()
    }

    fn run(path: &str, version: &str) -> Option<Response> {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let low = lower(&segs);
        let l: Vec<&str> = low.iter().map(String::as_str).collect();
        check(&segs, &l, version, br#"{"location": "westeurope"}"#, |ns| {
            ns.eq_ignore_ascii_case("Microsoft.Storage")
        })
    }

    const RG: &str = "/subscriptions/s/resourceGroups/rg";

    #[test]
    fn what_az_sends_is_taken() {
        assert!(
            run(
                &format!("{RG}/providers/Microsoft.Network/virtualNetworks/v"),
                "2024-07-01"
            )
            .is_none()
        );
        assert!(
            run(
                &format!("{RG}/providers/Microsoft.Compute/virtualMachines/vm"),
                "2024-11-01"
            )
            .is_none()
        );
        assert!(run(RG, "2024-11-01").is_none());
        assert!(run("/subscriptions/s", "2022-12-01").is_none());
        assert!(run("/subscriptions/s/providers/Microsoft.Nowhere", "2024-11-01").is_none());
        assert!(
            run(
                &format!("{RG}/providers/Microsoft.Storage/storageAccounts/x"),
                "2023-01-01"
            )
            .is_none()
        );
    }

    #[test]
    fn versions_older_sdks_and_templates_send_are_taken() {
        for (path, version) in [
            ("Microsoft.Network/virtualNetworks/v", "2020-11-01"),
            ("Microsoft.Network/networkSecurityGroups/n", "2015-06-15"),
            ("Microsoft.Network/virtualNetworks/v", "2023-05-01"),
            ("Microsoft.Compute/virtualMachines/vm", "2021-03-01"),
        ] {
            assert!(
                run(&format!("{RG}/providers/{path}"), version).is_none(),
                "{path} {version}"
            );
        }
    }

    #[test]
    fn a_version_the_type_does_not_serve_names_the_ones_it_does() {
        let r = run(
            &format!("{RG}/providers/Microsoft.Network/virtualNetworks/v"),
            "2024-11-01",
        )
        .expect("refused");
        assert_eq!(r.status, 400);
        let e = &r.body.expect("body")["error"];
        assert_eq!(e["code"], "NoRegisteredProviderFound");
        let m = e["message"].as_str().expect("message");
        assert!(m.contains("location 'westeurope'"), "{m}");
        assert!(
            m.contains("for type 'virtualNetworks'") && m.contains("'2026-09-01, 2026-03-01"),
            "{m}"
        );
        let r = run(RG, "2024-05-01").expect("refused");
        let e = &r.body.expect("body")["error"];
        assert_eq!(e["code"], "InvalidApiVersionParameter");
        assert!(
            e["message"].as_str().expect("m").contains("2025-04-01,2025-03-01"),
            "{e}"
        );
    }

    #[test]
    fn operation_urls_carry_a_version_their_provider_serves() {
        for p in KNOWN {
            let v = for_operations(p.namespace);
            assert!(
                p.versions.contains(&v) && !v.ends_with("-preview"),
                "{} {v}",
                p.namespace
            );
            // The SDKs poll these URLs (a resource group's delete polls
            // Microsoft.Resources/locations/…/operationResults).
            if p.namespace != "Microsoft.Authorization" {
                let url = format!(
                    "/subscriptions/s/providers/{}/locations/lab/operationResults/x",
                    p.namespace
                );
                assert!(run(&url, v).is_none(), "{url} {v}");
            }
        }
    }

    #[test]
    fn unknown_types_and_namespaces() {
        let r = run(
            &format!("{RG}/providers/Microsoft.Network/virtualNetwerks/v"),
            "2024-07-01",
        )
        .expect("refused");
        assert_eq!(r.status, 404);
        let e = &r.body.expect("body")["error"];
        assert_eq!(e["code"], "InvalidResourceType");
        assert_eq!(
            e["message"],
            "The resource type 'virtualNetwerks' could not be found in the namespace 'Microsoft.Network' for api version '2024-07-01'."
        );
        let r = run(&format!("{RG}/providers/Microsoft.Nowhere/things/x"), "2024-07-01").expect("refused");
        assert_eq!(r.status, 404);
        assert_eq!(r.body.expect("body")["error"]["code"], "NoRegisteredProviderFound");
    }
}
