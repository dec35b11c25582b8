//! ARM PUT bodies of VPN gateways, local network gateways and connections
//! turned into the model's changes (the same specs `az network vnet-gateway`
//! and the topology loader make). Split from [`super::put`] to keep each
//! module about one family of resources.

use serde_json::Value;

use super::put::{bad, boolean, props, reference, string, strings};
use crate::model::{
    AzureError, Change, ConnectionSpec, ConnectionType, GatewaySpec, GatewayType, LocalGatewaySpec, ResourceId, VpnType,
};

/// `Microsoft.Network/virtualNetworkGateways`: its VNet is the one whose
/// GatewaySubnet the IP configurations name; one configuration (with its
/// public IP) per instance.
// Azure: REST Virtual Network Gateways - Create Or Update
// (learn.microsoft.com/rest/api/network-gateway/virtual-network-gateways/create-or-update):
// `sku`, `gatewayType`, `vpnType`, `activeActive`, `enableBgp`, `bgpSettings.asn`
// and `ipConfigurations[].properties.{subnet,publicIPAddress}` are properties.
pub(super) fn gateway(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    let p = props(body);
    let configs = p
        .get("ipConfigurations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut subnet = None;
    let mut public_ips = Vec::new();
    for c in &configs {
        let c = props(c);
        subnet = subnet.or(reference(c, "subnet")?);
        public_ips.extend(reference(c, "publicIPAddress")?);
    }
    let virtual_network = subnet.and_then(|s| s.parent()).ok_or_else(|| {
        bad(format!(
            "Virtual network gateway {} needs properties.ipConfigurations[0].properties.subnet.id: the ID of its virtual network's GatewaySubnet.",
            id.name()
        ))
    })?;
    let gateway_type = match string(p, "gatewayType").as_deref() {
        None => GatewayType::Vpn,
        Some(t) if t.eq_ignore_ascii_case("vpn") => GatewayType::Vpn,
        Some(t) if t.eq_ignore_ascii_case("expressroute") => GatewayType::ExpressRoute,
        Some(other) => {
            return Err(bad(format!(
                "Gateway type '{other}' of {} is not emulated: vnetlab has Vpn and ExpressRoute gateways. Set properties.gatewayType to one of them.",
                id.name()
            )));
        }
    };
    // The SKU is a property in ARM; an envelope `sku` is taken too (older exports).
    let sku = p
        .get("sku")
        .or_else(|| body.get("sku"))
        .and_then(|s| string(s, "name"))
        .unwrap_or_else(|| "Basic".into());
    let active_active = boolean(p, "activeActive").unwrap_or(false);
    Ok(Change::PutVirtualNetworkGateway(GatewaySpec {
        id: id.clone(),
        location: string(body, "location"),
        virtual_network,
        gateway_type,
        sku,
        active_active,
        enable_bgp: boolean(p, "enableBgp").unwrap_or(false),
        asn: p
            .get("bgpSettings")
            .and_then(|b| b.get("asn"))
            .and_then(Value::as_u64)
            .map(|a| a as u32),
        public_ip_addresses: public_ips,
        vpn_type: match string(p, "vpnType") {
            Some(t) if t.eq_ignore_ascii_case("policybased") => VpnType::PolicyBased,
            _ => VpnType::RouteBased,
        },
        vpn_gateway_generation: string(p, "vpnGatewayGeneration"),
    }))
}

/// `Microsoft.Network/localNetworkGateways`: the on-premises VPN device and
/// the prefixes behind it.
// Azure: REST Local Network Gateways - Create Or Update (gatewayIpAddress,
// localNetworkAddressSpace.addressPrefixes, bgpSettings).
pub(super) fn local_gateway(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    let p = props(body);
    let bgp = p.get("bgpSettings").unwrap_or(&Value::Null);
    Ok(Change::PutLocalNetworkGateway(LocalGatewaySpec {
        id: id.clone(),
        location: string(body, "location"),
        gateway_ip_address: string(p, "gatewayIpAddress").ok_or_else(|| {
            bad(format!(
                "Local network gateway {} needs properties.gatewayIpAddress: the public IP address of the on-premises VPN device.",
                id.name()
            ))
        })?,
        local_address_prefixes: p
            .get("localNetworkAddressSpace")
            .map(|s| strings(s, "addressPrefixes"))
            .unwrap_or_default(),
        asn: bgp.get("asn").and_then(Value::as_u64).map(|a| a as u32),
        bgp_peering_address: string(bgp, "bgpPeeringAddress"),
    }))
}

/// `Microsoft.Network/connections`: IPsec to a local network gateway, or
/// Vnet2Vnet to another VNet's gateway.
// Azure: REST Virtual Network Gateway Connections - Create Or Update
// (connectionType, virtualNetworkGateway1, localNetworkGateway2 | virtualNetworkGateway2, sharedKey, enableBgp).
pub(super) fn connection(id: &ResourceId, body: &Value) -> Result<Change, AzureError> {
    let p = props(body);
    let gateway1 = reference(p, "virtualNetworkGateway1")?.ok_or_else(|| {
        bad(format!(
            "Connection {} needs properties.virtualNetworkGateway1.id: the ID of the virtual network gateway it starts from.",
            id.name()
        ))
    })?;
    let (connection_type, peer) = match (
        reference(p, "localNetworkGateway2")?,
        reference(p, "virtualNetworkGateway2")?,
    ) {
        (Some(l), None) => (ConnectionType::IPsec, l),
        (None, Some(g)) => (ConnectionType::Vnet2Vnet, g),
        _ => {
            return Err(bad(format!(
                "Connection {} needs exactly one of properties.localNetworkGateway2.id (IPsec) and properties.virtualNetworkGateway2.id (Vnet2Vnet).",
                id.name()
            )));
        }
    };
    if let Some(t) = string(p, "connectionType") {
        let expected = format!("{connection_type:?}");
        if !t.eq_ignore_ascii_case(&expected) {
            return Err(bad(format!(
                "Connection {} has connectionType '{t}' but names a {} peer; vnetlab emulates IPsec (to localNetworkGateway2) and Vnet2Vnet (to virtualNetworkGateway2). Set connectionType to {expected}.",
                id.name(),
                if connection_type == ConnectionType::IPsec {
                    "local network gateway"
                } else {
                    "virtual network gateway"
                },
            )));
        }
    }
    Ok(Change::PutConnection(ConnectionSpec {
        id: id.clone(),
        location: string(body, "location"),
        connection_type,
        virtual_network_gateway1: gateway1,
        peer,
        shared_key: string(p, "sharedKey"),
        enable_bgp: boolean(p, "enableBgp").unwrap_or(false),
    }))
}
