#!/usr/bin/env bash
# The same lab as topology.yaml, through the az front (or real az against
# Azure): a hub with Route Server and two NVAs, one spoke using the hub's
# Route Server. FRR inside the NVAs is set up by expect.yaml's `before`
# steps when `vnetlab test` runs; the README shows the same by hand, and
# with `az vm run-command invoke`.
set -euo pipefail
RG=${RG:-bgp-rg}
PASSWORD=${PASSWORD:-'Route-Server-Bgp-2026!'}

az group create --name "$RG" --location westeurope --output none
az network vnet create \
    --resource-group "$RG" \
    --name hub-vnet \
    --address-prefixes 10.0.0.0/16 \
    --subnet-name RouteServerSubnet \
    --subnet-prefixes 10.0.1.0/27 \
    --output none
az network vnet subnet create \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --name nva-subnet \
    --address-prefixes 10.0.2.0/24 \
    --output none
az network vnet create \
    --resource-group "$RG" \
    --name spoke1-vnet \
    --address-prefixes 10.1.0.0/16 \
    --subnet-name workload \
    --subnet-prefixes 10.1.1.0/24 \
    --output none

# Route Server needs a Standard public IP (Azure manages it through it).
az network public-ip create \
    --resource-group "$RG" \
    --name RouteServerIP \
    --sku Standard \
    --allocation-method Static \
    --version IPv4 \
    --output none
subnetId=$(az network vnet subnet show \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --name RouteServerSubnet \
    --query id --output tsv)
az network routeserver create \
    --resource-group "$RG" \
    --name hub-rs \
    --hosted-subnet "$subnetId" \
    --public-ip-address RouteServerIP \
    --output none

# The peerings after Route Server, so that the spoke's link can use it.
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
    --allow-forwarded-traffic \
    --use-remote-gateways \
    --output none

for vm in nva1:10.0.2.4 nva2:10.0.2.5; do
    az vm create \
        --resource-group "$RG" \
        --name "${vm%%:*}" \
        --image Ubuntu2204 \
        --vnet-name hub-vnet \
        --subnet nva-subnet \
        --private-ip-address "${vm##*:}" \
        --public-ip-address "" \
        --nsg "" \
        --admin-username azureuser \
        --admin-password "$PASSWORD" \
        --output none
    az network nic update \
        --resource-group "$RG" \
        --name "${vm%%:*}VMNic" \
        --ip-forwarding true \
        --output none
done
az vm create \
    --resource-group "$RG" \
    --name spoke1-vm \
    --image Ubuntu2204 \
    --vnet-name spoke1-vnet \
    --subnet workload \
    --public-ip-address "" \
    --admin-username azureuser \
    --admin-password "$PASSWORD" \
    --output none

# One BGP peering per NVA; each NVA peers with both instances (10.0.1.4
# and 10.0.1.5, `az network routeserver show --query virtualRouterIps`).
az network routeserver peering create \
    --resource-group "$RG" \
    --routeserver hub-rs \
    --name nva1 \
    --peer-ip 10.0.2.4 \
    --peer-asn 65001 \
    --output none
az network routeserver peering create \
    --resource-group "$RG" \
    --routeserver hub-rs \
    --name nva2 \
    --peer-ip 10.0.2.5 \
    --peer-asn 65002 \
    --output none
