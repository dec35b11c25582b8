//! Errors a user sees when a change is refused, in Azure's words.
//!
//! Every refusal carries the error code Azure returns for the same mistake
//! (see `docs/errors.md` for the list and where each code comes from), a
//! sentence that says what is wrong and what to do, and the ID or name of
//! the resource it is about. The type is serializable because it crosses
//! the daemon's socket and is printed by the `az` front as `(Code) Message`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ids::ResourceId;

macro_rules! error_codes {
    ($($variant:ident),* $(,)?) => {
        /// Azure's error codes, spelled exactly as ARM returns them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => stringify!($variant)),* }
            }
        }
    };
}

error_codes! {
    // Every code below was seen in a real Azure response or in Microsoft's
    // documentation (docs/errors.md gives the source of each). Where no
    // real code is known for a refusal, vnetlab answers `BadRequest`, as
    // NRP does for many validation failures, with a precise sentence.
    BadRequest,
    NotFound,
    InvalidResourceName,
    InvalidResourceReference,
    InvalidResourceLocation,
    ResourceNotFound,
    ResourceGroupNotFound,
    SubscriptionNotFound,
    InvalidParameter,
    InvalidRequestFormat,
    // Address space and subnets.
    InvalidCIDRNotation,
    InvalidAddressPrefixFormat,
    NetcfgSubnetRangeOutsideVnet,
    NetcfgSubnetRangesOverlap,
    NetcfgInvalidSubnet,
    NetcfgMissingSubnet,
    InUsePrefixCannotBeDeleted,
    InUseSubnetCannotBeDeleted,
    InUseNetworkSecurityGroupCannotBeDeleted,
    InUseRouteTableCannotBeDeleted,
    PublicIPAddressCannotBeDeleted,
    NicInUse,
    CannotModifyNicAttachedToPrivateEndpoint,
    GatewaySubnet,
    // Private and public IPs.
    PrivateIPAddressInReservedRange,
    PrivateIPAddressNotInSubnet,
    PrivateIPAddressIsAllocated,
    SubnetIsFull,
    PublicIPAddressInUse,
    PublicIPCountLimitReached,
    // NSGs.
    SecurityRuleInvalidPriority,
    SecurityRuleConflict,
    SecurityRuleInvalidPortRange,
    SecurityRuleInvalidAddressPrefix,
    SecurityRuleParameterContainsUnsupportedValue,
    // Route tables.
    MissingNextHopIpAddress,
    RouteConflict,
    // Peering.
    VnetAddressSpacesOverlap,
    VnetAddressSpaceOverlapsWithAlreadyPeeredVnet,
    AnotherPeeringAlreadyReferencesRemoteVnet,
    RemoteVnetHasNoGateways,
    RemotePeeringIsDisconnected,
    ChangingRemoteVirtualNetworkNotAllowed,
    // Identity.
    AuthorizationFailed,
    LinkedAuthorizationFailed,
    PrincipalNotFound,
    RoleDefinitionDoesNotExist,
    RoleAssignmentExists,
    LocationNotAvailableForResourceType,
    // Count limits and quotas.
    SecurityRuleCountLimitReached,
    QuotaExceeded,
    // Topology files, as ARM template deployments.
    InvalidTemplate,
    InvalidTemplateDeployment,
    DeploymentFailed,
    DeploymentNotFound,
    // Load balancers.
    DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed,
    // AKS (Microsoft.ContainerService) and, for pods, Kubernetes reasons.
    SubnetNotFound,
    NetworkProfileCIDROverlapVNET,
    ServiceCidrOverlapExistingSubnetsCidr,
    PropertyChangeNotAllowed,
    // Private DNS (docs/dns.md gives the sources).
    Conflict,
    CannotDeleteResource,
    AlreadyExists,
    Invalid,
    PreconditionFailed,
    // Tags (src/model/tags.rs).
    InvalidTags,
    InvalidTagName,
    InvalidTagNameCharacters,
    InvalidTagValueLength,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused change. `Display` gives az's `(Code) Message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct AzureError {
    pub code: ErrorCode,
    pub message: String,
    /// The ID or name of the resource the error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl AzureError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AzureError {
            code,
            message: message.into(),
            target: None,
        }
    }

    /// ARM's answer for a resource that does not exist, for every kind of
    /// resource and for both the model and the az front. A child resource
    /// is named with its parents (`Microsoft.Network/virtualNetworks/V/subnets/S`).
    // Azure: ARM's ResourceNotFound message, as az prints it for
    // `az network vnet show -n X` (https://aka.ms/ARMResourceNotFoundFix).
    pub fn resource_not_found(id: &ResourceId) -> Self {
        let s = id.as_str();
        let qualified = qualified_name(id);
        AzureError::new(
            ErrorCode::ResourceNotFound,
            format!(
                "The Resource '{qualified}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                id.resource_group_name()
            ),
        )
        .with_target(s)
    }

    /// A topology file that defines one resource twice: ARM refuses such a
    /// template before deploying anything.
    // Azure: ARM template validation, "The resource '<type>/<name>' is
    // defined multiple times in a template" (Learn error-invalid-template;
    // the code InvalidTemplate is documented, the wording seen in answers
    // quoting it). The two places in the file are vnetlab's addition.
    pub fn defined_multiple_times(id: &ResourceId, first: &str, second: &str) -> Self {
        AzureError::new(
            ErrorCode::InvalidTemplate,
            format!(
                "Deployment template validation failed: 'The resource '{}' is defined multiple times in a template: at {first} and at {second}.' Give each resource its own name (names are case-insensitive), or merge the two entries.",
                qualified_name(id)
            ),
        )
        .with_target(id.as_str())
    }

    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// `Microsoft.Network/virtualNetworks/V/subnets/S`: how ARM names a resource
/// in its messages.
fn qualified_name(id: &ResourceId) -> String {
    let s = id.as_str();
    match s.to_ascii_lowercase().find("/providers/") {
        Some(i) => s[i + "/providers/".len()..].to_string(),
        None => format!("{}/{}", id.resource_type(), id.name()),
    }
}

impl fmt::Display for AzureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}) {}", self.code, self.message)
    }
}

/// Shorthand used by the validators: `bail!(Code, "...")`.
macro_rules! bail {
    ($code:ident, $($fmt:tt)+) => {
        return Err($crate::model::AzureError::new($crate::model::ErrorCode::$code, format!($($fmt)+)))
    };
}
pub(crate) use bail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_az() {
        let e = AzureError::new(ErrorCode::SubnetIsFull, "Subnet x is full.");
        assert_eq!(e.to_string(), "(SubnetIsFull) Subnet x is full.");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"code":"SubnetIsFull","message":"Subnet x is full."}"#);
    }

    #[test]
    fn resource_not_found_is_arms_text() {
        let vnet = ResourceId::network("s", "RG", "virtualNetworks", "X");
        assert_eq!(
            AzureError::resource_not_found(&vnet).to_string(),
            "(ResourceNotFound) The Resource 'Microsoft.Network/virtualNetworks/X' under resource group 'RG' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        );
        let subnet = vnet.child("subnets", "S");
        assert!(
            AzureError::resource_not_found(&subnet)
                .message
                .starts_with("The Resource 'Microsoft.Network/virtualNetworks/X/subnets/S' under resource group 'RG'")
        );
    }

    #[test]
    fn codes_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()));
        }
    }
}
