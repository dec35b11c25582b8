#!/usr/bin/env bash
# The Microsoft Learn exercise "Configure virtual network peering", as a
# learner types it. With the az shim on PATH these commands build the same
# lab as topology.yaml:
#
#   eval "$(vnetlab env)"
#   labs/01-peering-basics/setup.sh
#   vnetlab test labs/01-peering-basics     # checks expect.yaml with real traffic
#
# The Learn sandbox hands you a resource group; here you make your own.
set -euo pipefail

RG=${RG:-learn-rg}
PASSWORD=${PASSWORD:-'Learn-Peering-2026!'}

az group create --name "$RG" --location northeurope --output none

# Unit 3: the three virtual networks.
az network vnet create \
    --resource-group "$RG" \
    --name SalesVNet \
    --address-prefixes 10.1.0.0/16 \
    --subnet-name Apps \
    --subnet-prefixes 10.1.1.0/24 \
    --location northeurope

az network vnet create \
    --resource-group "$RG" \
    --name MarketingVNet \
    --address-prefixes 10.2.0.0/16 \
    --subnet-name Apps \
    --subnet-prefixes 10.2.1.0/24 \
    --location northeurope

az network vnet create \
    --resource-group "$RG" \
    --name ResearchVNet \
    --address-prefixes 10.3.0.0/16 \
    --subnet-name Data \
    --subnet-prefixes 10.3.1.0/24 \
    --location westeurope

az network vnet list --query "[?contains(provisioningState, 'Succeeded')]" --output table

# One Ubuntu VM in each network.
az vm create \
    --resource-group "$RG" \
    --no-wait \
    --name SalesVM \
    --location northeurope \
    --vnet-name SalesVNet \
    --subnet Apps \
    --image Ubuntu2204 \
    --admin-username azureuser \
    --admin-password "$PASSWORD"

az vm create \
    --resource-group "$RG" \
    --no-wait \
    --name MarketingVM \
    --location northeurope \
    --vnet-name MarketingVNet \
    --subnet Apps \
    --image Ubuntu2204 \
    --admin-username azureuser \
    --admin-password "$PASSWORD"

az vm create \
    --resource-group "$RG" \
    --no-wait \
    --name ResearchVM \
    --location westeurope \
    --vnet-name ResearchVNet \
    --subnet Data \
    --image Ubuntu2204 \
    --admin-username azureuser \
    --admin-password "$PASSWORD"

az vm list \
    --resource-group "$RG" \
    --show-details \
    --query "[*].{Name:name, ProvisioningState:provisioningState, PowerState:powerState}" \
    --output table

# Unit 5: peer Sales <-> Marketing and Marketing <-> Research.
az network vnet peering create \
    --name SalesVNet-To-MarketingVNet \
    --remote-vnet MarketingVNet \
    --resource-group "$RG" \
    --vnet-name SalesVNet \
    --allow-vnet-access

az network vnet peering create \
    --name MarketingVNet-To-SalesVNet \
    --remote-vnet SalesVNet \
    --resource-group "$RG" \
    --vnet-name MarketingVNet \
    --allow-vnet-access

az network vnet peering create \
    --name MarketingVNet-To-ResearchVNet \
    --remote-vnet ResearchVNet \
    --resource-group "$RG" \
    --vnet-name MarketingVNet \
    --allow-vnet-access

az network vnet peering create \
    --name ResearchVNet-To-MarketingVNet \
    --remote-vnet MarketingVNet \
    --resource-group "$RG" \
    --vnet-name ResearchVNet \
    --allow-vnet-access

az network vnet peering list \
    --resource-group "$RG" \
    --vnet-name SalesVNet \
    --query "[].{Name:name, Resource:resourceGroup, PeeringState:peeringState, AllowVnetAccess:allowVirtualNetworkAccess}" \
    --output table

# Unit 6: what routes does each VM's NIC get?
az network nic show-effective-route-table \
    --resource-group "$RG" \
    --name SalesVMVMNic \
    --output table

az network nic show-effective-route-table \
    --resource-group "$RG" \
    --name MarketingVMVMNic \
    --output table

az network nic show-effective-route-table \
    --resource-group "$RG" \
    --name ResearchVMVMNic \
    --output table

az vm list \
    --resource-group "$RG" \
    --query "[*].{Name:name, PrivateIP:privateIps, PublicIP:publicIps}" \
    --show-details \
    --output table
