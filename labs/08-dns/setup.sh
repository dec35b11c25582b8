#!/usr/bin/env bash
# Lab 08 as a learner types it: two peered VNets, three VMs, Azure-provided
# DNS. With the az shim on PATH these commands build the same lab as
# topology.yaml:
#
#   eval "$(vnetlab env)"
#   labs/08-dns/setup.sh
#   vnetlab test labs/08-dns          # dig, getent and ssh by name, for real
set -euo pipefail

RG=${RG:-dns-rg}
PASSWORD=${PASSWORD:-'Lab-Dns-2026!'}

az group create --name "$RG" --location westeurope --output none

az network vnet create --resource-group "$RG" --name AppVNet --location westeurope \
    --address-prefixes 10.10.0.0/16 --subnet-name Apps --subnet-prefixes 10.10.1.0/24 --output none
az network vnet create --resource-group "$RG" --name DataVNet --location westeurope \
    --address-prefixes 10.20.0.0/16 --subnet-name Data --subnet-prefixes 10.20.1.0/24 --output none

for vm in AppVM1 AppVM2; do
    az vm create --resource-group "$RG" --name "$vm" --location westeurope \
        --vnet-name AppVNet --subnet Apps --image Ubuntu2204 \
        --admin-username azureuser --admin-password "$PASSWORD" --output none
done
az vm create --resource-group "$RG" --name DataVM --location westeurope \
    --vnet-name DataVNet --subnet Data --image Ubuntu2204 \
    --admin-username azureuser --admin-password "$PASSWORD" --output none

az network vnet peering create --resource-group "$RG" --name AppVNet-To-DataVNet \
    --vnet-name AppVNet --remote-vnet DataVNet --allow-vnet-access --output none
az network vnet peering create --resource-group "$RG" --name DataVNet-To-AppVNet \
    --vnet-name DataVNet --remote-vnet AppVNet --allow-vnet-access --output none

# A spoke whose DNS server is a forwarder on AppVM2 (expect.yaml starts it).
az network vnet create --resource-group "$RG" --name SpokeVNet --location westeurope \
    --address-prefixes 10.30.0.0/16 --subnet-name Spoke --subnet-prefixes 10.30.1.0/24 \
    --dns-servers 10.10.1.5 --output none
az vm create --resource-group "$RG" --name SpokeVM --location westeurope \
    --vnet-name SpokeVNet --subnet Spoke --image Ubuntu2204 \
    --admin-username azureuser --admin-password "$PASSWORD" --output none
az network vnet peering create --resource-group "$RG" --name AppVNet-To-SpokeVNet \
    --vnet-name AppVNet --remote-vnet SpokeVNet --allow-vnet-access --output none
az network vnet peering create --resource-group "$RG" --name SpokeVNet-To-AppVNet \
    --vnet-name SpokeVNet --remote-vnet AppVNet --allow-vnet-access --output none

# Each NIC shows the suffix DHCP gives its VM (the VNet's, one per VNet).
# A cache by name through a private endpoint in AppVNet: the privatelink
# zone linked to AppVNet, and the endpoint's DNS zone group writing its A record.
az redis create --resource-group "$RG" --name dnslab-cache --location westeurope \
    --sku Standard --vm-size C1 --enable-non-ssl-port --output none
CACHE_ID=$(az redis show --resource-group "$RG" --name dnslab-cache --query id --output tsv)
az network private-endpoint create --resource-group "$RG" --name cache-pe --location westeurope \
    --vnet-name AppVNet --subnet Apps --private-connection-resource-id "$CACHE_ID" \
    --group-id redisCache --connection-name cache-pe-connection --output none
az network private-dns zone create --resource-group "$RG" \
    --name privatelink.redis.cache.windows.net --output none
az network private-dns link vnet create --resource-group "$RG" \
    --zone-name privatelink.redis.cache.windows.net --name AppVNet-link \
    --virtual-network AppVNet --registration-enabled false --output none
az network private-endpoint dns-zone-group create --resource-group "$RG" \
    --endpoint-name cache-pe --name default \
    --private-dns-zone privatelink.redis.cache.windows.net --zone-name redis --output none

az network nic list --resource-group "$RG" \
    --query "[].{NIC:name, Suffix:dnsSettings.internalDomainNameSuffix}" --output table
