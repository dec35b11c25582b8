#!/usr/bin/env bash
# The field report of azure-semantics §12.2, as az commands: spoke-to-spoke
# through the hub's Route Server, across three subscriptions, resource
# groups and regions. The Route Server steps follow the Learn "Quickstart:
# Create a Route Server using Azure CLI"; the route tables, the Learn
# tutorial "Route network traffic with a route table using the Azure CLI".
#
# vnetlab has no `az account create`: start from a lab that holds the
# three subscriptions (accounts.yaml), then run this script:
#
#   vnetlab down --lab routeserver
#   vnetlab up --lab routeserver labs/04-route-server/accounts.yaml
#   eval "$(vnetlab env --lab routeserver)"
#   labs/04-route-server/setup.sh
#   vnetlab test --lab routeserver labs/04-route-server
set -euo pipefail

HUB_SUB=${HUB_SUB:-hub-subscription}
SPOKE1_SUB=${SPOKE1_SUB:-spoke1-subscription}
SPOKE2_SUB=${SPOKE2_SUB:-spoke2-subscription}
PASSWORD=${PASSWORD:-'Route-Server-2026!'}

# ---- Hub subscription: hub-rg in West Europe -----------------------------
az account set --subscription "$HUB_SUB"
az group create --name hub-rg --location westeurope --output none

# The hub VNet with RouteServerSubnet (the name is fixed; the field report
# used a /24) and a workload subnet.
az network vnet create \
    --resource-group hub-rg \
    --name hub-vnet \
    --address-prefixes 10.20.0.0/16 \
    --subnet-name RouteServerSubnet \
    --subnet-prefixes 10.20.1.0/24 \
    --location westeurope
az network vnet subnet create \
    --resource-group hub-rg \
    --vnet-name hub-vnet \
    --name workload \
    --address-prefixes 10.20.2.0/24
subnetId=$(az network vnet subnet show \
    --resource-group hub-rg \
    --vnet-name hub-vnet \
    --name RouteServerSubnet \
    --query id --output tsv)
HUB_VNET_ID=$(az network vnet show --resource-group hub-rg --name hub-vnet --query id --output tsv)

# Route Server: a Standard public IP (management only) and the Route Server
# in RouteServerSubnet. Then allow branch-to-branch traffic, as the field
# report did.
az network public-ip create \
    --resource-group hub-rg \
    --name RouteServerIP \
    --sku Standard \
    --allocation-method Static \
    --version IPv4 \
    --output none
az network routeserver create \
    --resource-group hub-rg \
    --name hub-rs \
    --hosted-subnet "$subnetId" \
    --public-ip-address RouteServerIP
az network routeserver update \
    --resource-group hub-rg \
    --name hub-rs \
    --allow-b2b-traffic true

az vm create \
    --resource-group hub-rg \
    --no-wait \
    --name hub-vm \
    --image Ubuntu2204 \
    --vnet-name hub-vnet \
    --subnet workload \
    --public-ip-address "" \
    --admin-username azureuser \
    --admin-password "$PASSWORD"

# ---- Spoke subscriptions: one resource group and region each --------------
# spokeN-vnet, a route table sending the OTHER spoke's range to next hop
# VirtualNetworkGateway (no next hop IP: the gateway is the one the subnet
# uses), attached to the workload subnet, and a VM. spoke1 also gets a
# subnet without the route table, to compare.
make_spoke() { # n subscription location other-prefix
    local n=$1 sub=$2 location=$3 other=$4
    az account set --subscription "$sub"
    az group create --name "spoke$n-rg" --location "$location" --output none
    az network vnet create \
        --resource-group "spoke$n-rg" \
        --name "spoke$n-vnet" \
        --address-prefixes "10.2$n.0.0/16" \
        --subnet-name workload \
        --subnet-prefixes "10.2$n.1.0/24" \
        --location "$location"
    az network route-table create \
        --resource-group "spoke$n-rg" \
        --name "spoke$n-rt" \
        --location "$location"
    az network route-table route create \
        --resource-group "spoke$n-rg" \
        --route-table-name "spoke$n-rt" \
        --name "to-spoke$((3 - n))" \
        --address-prefix "$other" \
        --next-hop-type VirtualNetworkGateway
    az network vnet subnet update \
        --resource-group "spoke$n-rg" \
        --vnet-name "spoke$n-vnet" \
        --name workload \
        --route-table "spoke$n-rt" \
        --output none
    az vm create \
        --resource-group "spoke$n-rg" \
        --no-wait \
        --name "spoke$n-vm" \
        --image Ubuntu2204 \
        --vnet-name "spoke$n-vnet" \
        --subnet workload \
        --public-ip-address "" \
        --admin-username azureuser \
        --admin-password "$PASSWORD"
}

make_spoke 1 "$SPOKE1_SUB" northeurope 10.22.0.0/16
az network vnet subnet create \
    --resource-group spoke1-rg \
    --vnet-name spoke1-vnet \
    --name unrouted \
    --address-prefixes 10.21.2.0/24
az vm create \
    --resource-group spoke1-rg \
    --no-wait \
    --name spoke1-vm2 \
    --image Ubuntu2204 \
    --vnet-name spoke1-vnet \
    --subnet unrouted \
    --public-ip-address "" \
    --admin-username azureuser \
    --admin-password "$PASSWORD"
SPOKE1_VNET_ID=$(az network vnet show --resource-group spoke1-rg --name spoke1-vnet --query id --output tsv)

make_spoke 2 "$SPOKE2_SUB" francecentral 10.21.0.0/16
SPOKE2_VNET_ID=$(az network vnet show --resource-group spoke2-rg --name spoke2-vnet --query id --output tsv)

# ---- Peerings across subscriptions: the remote VNet by full ID -----------
# Hub side: "Allow gateway or route server in hub-vnet to forward traffic
# to the peered virtual network" (allowGatewayTransit).
az account set --subscription "$HUB_SUB"
az network vnet peering create \
    --resource-group hub-rg \
    --vnet-name hub-vnet \
    --name hub-to-spoke1 \
    --remote-vnet "$SPOKE1_VNET_ID" \
    --allow-vnet-access \
    --allow-gateway-transit \
    --output none
az network vnet peering create \
    --resource-group hub-rg \
    --vnet-name hub-vnet \
    --name hub-to-spoke2 \
    --remote-vnet "$SPOKE2_VNET_ID" \
    --allow-vnet-access \
    --allow-gateway-transit \
    --output none

# Spoke side: "Enable spokeN-vnet to use the peered virtual network's
# remote gateway or route server" (useRemoteGateways). The hub must hold a
# gateway or Route Server by now, or Azure refuses (RemoteVnetHasNoGateways).
az account set --subscription "$SPOKE1_SUB"
az network vnet peering create \
    --resource-group spoke1-rg \
    --vnet-name spoke1-vnet \
    --name spoke1-to-hub \
    --remote-vnet "$HUB_VNET_ID" \
    --allow-vnet-access \
    --use-remote-gateways \
    --output none
az network nic show-effective-route-table --resource-group spoke1-rg --name spoke1-vmVMNic --output table

az account set --subscription "$SPOKE2_SUB"
az network vnet peering create \
    --resource-group spoke2-rg \
    --vnet-name spoke2-vnet \
    --name spoke2-to-hub \
    --remote-vnet "$HUB_VNET_ID" \
    --allow-vnet-access \
    --use-remote-gateways \
    --output none
az network nic show-effective-route-table --resource-group spoke2-rg --name spoke2-vmVMNic --output table

az account set --subscription "$HUB_SUB"
az network vnet peering list \
    --resource-group hub-rg \
    --vnet-name hub-vnet \
    --query "[].{Name:name, PeeringState:peeringState, AllowGatewayTransit:allowGatewayTransit}" \
    --output table
