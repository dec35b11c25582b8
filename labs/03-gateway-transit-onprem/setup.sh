#!/usr/bin/env bash
# Gateway transit to an on-premises site, built with the commands of the
# Learn tutorials "Create a site-to-site VPN connection" (Azure CLI) and
# "Configure a VNet-to-VNet VPN gateway connection" (Azure CLI), plus the
# peering flags of "Configure VPN gateway transit for virtual network
# peering". With the az shim on PATH these commands build the same lab as
# topology.yaml:
#
#   vnetlab down
#   eval "$(vnetlab env)"
#   labs/03-gateway-transit-onprem/setup.sh
#   vnetlab test labs/03-gateway-transit-onprem
set -euo pipefail

RG=${RG:-transit-rg}
LOCATION=${LOCATION:-westeurope}
PASSWORD=${PASSWORD:-'Gateway-Transit-2026!'}
ONPREM_DEVICE_IP=203.0.113.250          # the on-premises VPN device's public address
ONPREM_PREFIXES=192.168.10.0/24         # the networks behind it
S2S_KEY='OnPrem-Shared-Key-2026'
V2V_KEY='Vnet2Vnet-Key-2026'

az group create --name "$RG" --location "$LOCATION" --output none

# The hub: a workload subnet and GatewaySubnet (the name is fixed; /27 is
# the recommended size; nothing but gateways may live in it).
az network vnet create \
    --resource-group "$RG" \
    --name hub-vnet \
    --address-prefixes 10.10.0.0/16 \
    --subnet-name workload \
    --subnet-prefixes 10.10.1.0/24 \
    --location "$LOCATION"
az network vnet subnet create \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --name GatewaySubnet \
    --address-prefixes 10.10.255.0/27

# The branch: its own workload subnet and GatewaySubnet.
az network vnet create \
    --resource-group "$RG" \
    --name branch-vnet \
    --address-prefixes 10.13.0.0/16 \
    --subnet-name workload \
    --subnet-prefixes 10.13.1.0/24 \
    --location "$LOCATION"
az network vnet subnet create \
    --resource-group "$RG" \
    --vnet-name branch-vnet \
    --name GatewaySubnet \
    --address-prefixes 10.13.255.0/27

# Two spokes without gateways.
for n in 1 2; do
    az network vnet create \
        --resource-group "$RG" \
        --name "spoke$n-vnet" \
        --address-prefixes "10.1$n.0.0/16" \
        --subnet-name workload \
        --subnet-prefixes "10.1$n.1.0/24" \
        --location "$LOCATION"
done

# The VPN gateways: each needs a Standard, static public IP. Route-based
# VpnGw1: az's default SKU, Basic, cannot do gateway transit. Creating a
# gateway takes 30-45 minutes in Azure, hence --no-wait and the waits below.
for gw in hub-gw:hub-vnet branch-gw:branch-vnet; do
    az network public-ip create \
        --resource-group "$RG" \
        --name "${gw%%:*}-pip" \
        --sku Standard \
        --allocation-method Static \
        --output none
    az network vnet-gateway create \
        --resource-group "$RG" \
        --name "${gw%%:*}" \
        --public-ip-addresses "${gw%%:*}-pip" \
        --vnet "${gw##*:}" \
        --gateway-type Vpn \
        --vpn-type RouteBased \
        --sku VpnGw1 \
        --no-wait
done

# The local network gateway: Azure's record of the on-premises VPN device
# (its public IP) and of the prefixes behind it.
az network local-gateway create \
    --resource-group "$RG" \
    --name OnPremSite \
    --gateway-ip-address "$ONPREM_DEVICE_IP" \
    --local-address-prefixes "$ONPREM_PREFIXES"

az network vnet-gateway wait --resource-group "$RG" --name hub-gw --created
az network vnet-gateway wait --resource-group "$RG" --name branch-gw --created

# Site-to-site: hub-gw <-> OnPremSite over IPsec with a pre-shared key.
az network vpn-connection create \
    --resource-group "$RG" \
    --name hub-to-onprem \
    --vnet-gateway1 hub-gw \
    --local-gateway2 OnPremSite \
    --shared-key "$S2S_KEY" \
    --output none

# VNet-to-VNet: one connection per direction, with the same key.
az network vpn-connection create \
    --resource-group "$RG" \
    --name hub-to-branch-conn \
    --vnet-gateway1 hub-gw \
    --vnet-gateway2 branch-gw \
    --shared-key "$V2V_KEY" \
    --output none
az network vpn-connection create \
    --resource-group "$RG" \
    --name branch-to-hub-conn \
    --vnet-gateway1 branch-gw \
    --vnet-gateway2 hub-gw \
    --shared-key "$V2V_KEY" \
    --output none

# One workload VM per VNet: private IP only, the NSG az vm create makes.
for vm in hub-vm:hub-vnet spoke1-vm:spoke1-vnet spoke2-vm:spoke2-vnet branch-vm:branch-vnet; do
    az vm create \
        --resource-group "$RG" \
        --no-wait \
        --name "${vm%%:*}" \
        --image Ubuntu2204 \
        --vnet-name "${vm##*:}" \
        --subnet workload \
        --public-ip-address "" \
        --admin-username azureuser \
        --admin-password "$PASSWORD"
done

# Gateway transit for spoke1: the hub's link allows it, spoke1's link uses
# the remote gateway. (spoke1-to-hub needs the hub's gateway to exist.)
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --name hub-to-spoke1 \
    --remote-vnet spoke1-vnet \
    --allow-vnet-access \
    --allow-gateway-transit \
    --output none
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name spoke1-vnet \
    --name spoke1-to-hub \
    --remote-vnet hub-vnet \
    --allow-vnet-access \
    --use-remote-gateways \
    --output none

# spoke2: peered with the hub, without the gateway flags.
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --name hub-to-spoke2 \
    --remote-vnet spoke2-vnet \
    --allow-vnet-access \
    --output none
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name spoke2-vnet \
    --name spoke2-to-hub \
    --remote-vnet hub-vnet \
    --allow-vnet-access \
    --output none

# branch: a plain peering next to the VNet-to-VNet connection. branch-vnet
# has its own gateway, so it could not use the hub's anyway.
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --name hub-to-branch \
    --remote-vnet branch-vnet \
    --allow-vnet-access \
    --output none
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name branch-vnet \
    --name branch-to-hub \
    --remote-vnet hub-vnet \
    --allow-vnet-access \
    --output none

az network vnet peering list \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --query "[].{Name:name, PeeringState:peeringState, AllowGatewayTransit:allowGatewayTransit}" \
    --output table

# Gateway routes (Source VirtualNetworkGateway) in the hub and in spoke1;
# none in spoke2; branch sees the hub as VNetPeering.
for nic in hub-vmVMNic spoke1-vmVMNic spoke2-vmVMNic branch-vmVMNic; do
    az network nic show-effective-route-table \
        --resource-group "$RG" \
        --name "$nic" \
        --output table
done
