#!/usr/bin/env bash
# Hub and spoke with a network virtual appliance, built with the commands of
# the Learn tutorial "Route network traffic with a route table using the
# Azure CLI" (route tables, an NVA with IP forwarding), applied to three
# peered spokes. With the az shim on PATH these commands build the same lab
# as topology.yaml:
#
#   vnetlab down
#   eval "$(vnetlab env)"
#   labs/02-hub-spoke-nva/setup.sh
#   vnetlab test labs/02-hub-spoke-nva      # checks expect.yaml with real traffic
set -euo pipefail

RG=${RG:-hub-spoke-rg}
LOCATION=${LOCATION:-westeurope}
PASSWORD=${PASSWORD:-'Hub-Spoke-Nva-2026!'}
NVA_IP=10.0.1.4

# A resource group for everything.
az group create --name "$RG" --location "$LOCATION" --output none

# The hub: a subnet for the NVA and one for workloads. The NVA gets a subnet
# of its own so that its routes never apply to the machines it serves.
az network vnet create \
    --resource-group "$RG" \
    --name hub-vnet \
    --address-prefixes 10.0.0.0/16 \
    --subnet-name nva-subnet \
    --subnet-prefixes 10.0.1.0/24 \
    --location "$LOCATION"

az network vnet subnet create \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --name workload \
    --address-prefixes 10.0.2.0/24

# Three spokes, one workload subnet each.
for n in 1 2 3; do
    az network vnet create \
        --resource-group "$RG" \
        --name "spoke$n-vnet" \
        --address-prefixes "10.$n.0.0/16" \
        --subnet-name workload \
        --subnet-prefixes "10.$n.1.0/24" \
        --location "$LOCATION"
done

# Route tables: each spoke sends the spokes it should reach to the NVA
# (next hop type VirtualAppliance, next hop IP the NVA's private address).
# spoke1 and spoke3 deliberately do not name each other.
az network route-table create --resource-group "$RG" --name spoke1-rt --location "$LOCATION"
az network route-table route create \
    --resource-group "$RG" \
    --route-table-name spoke1-rt \
    --name to-spoke2 \
    --address-prefix 10.2.0.0/16 \
    --next-hop-type VirtualAppliance \
    --next-hop-ip-address "$NVA_IP"

az network route-table create --resource-group "$RG" --name spoke2-rt --location "$LOCATION"
az network route-table route create \
    --resource-group "$RG" \
    --route-table-name spoke2-rt \
    --name to-spoke1 \
    --address-prefix 10.1.0.0/16 \
    --next-hop-type VirtualAppliance \
    --next-hop-ip-address "$NVA_IP"
az network route-table route create \
    --resource-group "$RG" \
    --route-table-name spoke2-rt \
    --name to-spoke3 \
    --address-prefix 10.3.0.0/16 \
    --next-hop-type VirtualAppliance \
    --next-hop-ip-address "$NVA_IP"

az network route-table create --resource-group "$RG" --name spoke3-rt --location "$LOCATION"
az network route-table route create \
    --resource-group "$RG" \
    --route-table-name spoke3-rt \
    --name to-spoke2 \
    --address-prefix 10.2.0.0/16 \
    --next-hop-type VirtualAppliance \
    --next-hop-ip-address "$NVA_IP"

# Associate each table with its spoke's subnet: route tables attach to
# subnets, not to VNets.
for n in 1 2 3; do
    az network vnet subnet update \
        --resource-group "$RG" \
        --vnet-name "spoke$n-vnet" \
        --name workload \
        --route-table "spoke$n-rt" \
        --output none
done

# The NVA: a VM without public IP or NSG, at a static address.
az vm create \
    --resource-group "$RG" \
    --name hub-nva \
    --image Ubuntu2204 \
    --vnet-name hub-vnet \
    --subnet nva-subnet \
    --private-ip-address "$NVA_IP" \
    --public-ip-address "" \
    --nsg "" \
    --admin-username azureuser \
    --admin-password "$PASSWORD"

# Azure side of forwarding: without it the NIC drops every packet that is
# not addressed to its own IP.
az network nic update \
    --resource-group "$RG" \
    --name hub-nvaVMNic \
    --ip-forwarding true

# Guest side of forwarding: the operating system must route too. (The
# tutorial uses the custom script extension; run-command does the same.
# vnetlab already sets it from the NIC's setting.)
az vm run-command invoke \
    --resource-group "$RG" \
    --name hub-nva \
    --command-id RunShellScript \
    --scripts "sysctl -w net.ipv4.ip_forward=1" \
    --output none

# Workload VMs: private IP only, with the NSG az vm create makes
# (<vm>NSG, allowing SSH).
for vm in hub-vm:hub-vnet spoke1-vm:spoke1-vnet spoke2-vm:spoke2-vnet spoke3-vm:spoke3-vnet; do
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

# Peerings: the hub with each spoke, both directions, never spoke to spoke.
# Spoke links that must accept what the NVA forwards get
# --allow-forwarded-traffic; spoke3's deliberately does not.
for n in 1 2 3; do
    az network vnet peering create \
        --resource-group "$RG" \
        --vnet-name hub-vnet \
        --name "hub-to-spoke$n" \
        --remote-vnet "spoke$n-vnet" \
        --allow-vnet-access \
        --output none
done
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name spoke1-vnet \
    --name spoke1-to-hub \
    --remote-vnet hub-vnet \
    --allow-vnet-access \
    --allow-forwarded-traffic \
    --output none
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name spoke2-vnet \
    --name spoke2-to-hub \
    --remote-vnet hub-vnet \
    --allow-vnet-access \
    --allow-forwarded-traffic \
    --output none
az network vnet peering create \
    --resource-group "$RG" \
    --vnet-name spoke3-vnet \
    --name spoke3-to-hub \
    --remote-vnet hub-vnet \
    --allow-vnet-access \
    --output none

az network vnet peering list \
    --resource-group "$RG" \
    --vnet-name hub-vnet \
    --query "[].{Name:name, PeeringState:peeringState, AllowVnetAccess:allowVirtualNetworkAccess}" \
    --output table

for n in 1 2 3; do
    az network vnet peering show \
        --resource-group "$RG" \
        --vnet-name "spoke$n-vnet" \
        --name "spoke$n-to-hub" \
        --query "{Name:name, PeeringState:peeringState, AllowForwardedTraffic:allowForwardedTraffic}" \
        --output table
done

# What the spokes' NICs see: a User route per named spoke, next hop
# VirtualAppliance 10.0.1.4.
for n in 1 2 3; do
    az network nic show-effective-route-table \
        --resource-group "$RG" \
        --name "spoke$n-vmVMNic" \
        --output table
done
