#!/usr/bin/env bash
# Global peering and load balancers (azure-semantics §4.3, §12.3), built
# with the az commands a learner would type: VNets and peerings as in the
# Learn peering exercise, then "Quickstart: create an internal load
# balancer (Azure CLI)" (lb create, probe create, rule create, nic ip-config
# address-pool add), "Configure virtual network support for a Premium Azure
# Cache for Redis" (redis create --subnet-id --static-ip) and "Azure Cache
# for Redis with Azure Private Link" (private-endpoint create --group-id
# redisCache). With the az shim on PATH these commands build the same lab
# as topology.yaml:
#
#   vnetlab down
#   eval "$(vnetlab env)"
#   labs/05-global-peering-load-balancers/setup.sh
#   vnetlab test labs/05-global-peering-load-balancers
set -euo pipefail

RG=${RG:-lb-lab-rg}
EAST=japaneast                          # VNet1, VM1, the private endpoint
WEST=japanwest                          # VNet2, VNet3, the backends, the caches
PASSWORD=${PASSWORD:-'Learn-Peering-2026!'}

az group create --name "$RG" --location "$EAST" --output none

# VNet1 in Japan East; VNet2 and VNet3 in Japan West. VNet1 and VNet2 also
# get a GatewaySubnet, empty until changes/vnet-to-vnet.yaml.
az network vnet create \
    --resource-group "$RG" \
    --name VNet1 \
    --address-prefixes 10.1.0.0/16 \
    --subnet-name default \
    --subnet-prefixes 10.1.0.0/24 \
    --location "$EAST"
az network vnet subnet create \
    --resource-group "$RG" \
    --vnet-name VNet1 \
    --name GatewaySubnet \
    --address-prefixes 10.1.255.0/27

az network vnet create \
    --resource-group "$RG" \
    --name VNet2 \
    --address-prefixes 10.2.0.0/16 \
    --subnet-name backend \
    --subnet-prefixes 10.2.0.0/24 \
    --location "$WEST"
# A VNet-injected cache needs a subnet of its own: nothing but caches in it.
az network vnet subnet create \
    --resource-group "$RG" \
    --vnet-name VNet2 \
    --name redis \
    --address-prefixes 10.2.1.0/24
az network vnet subnet create \
    --resource-group "$RG" \
    --vnet-name VNet2 \
    --name GatewaySubnet \
    --address-prefixes 10.2.255.0/27

az network vnet create \
    --resource-group "$RG" \
    --name VNet3 \
    --address-prefixes 10.3.0.0/16 \
    --subnet-name default \
    --subnet-prefixes 10.3.0.0/24 \
    --location "$WEST"

# VNet1 <-> VNet2 across regions: global peering. VNet2 <-> VNet3 in the
# same region: regional peering. No VNet1 <-> VNet3.
for p in VNet1:VNet2 VNet2:VNet1 VNet2:VNet3 VNet3:VNet2; do
    az network vnet peering create \
        --resource-group "$RG" \
        --vnet-name "${p%%:*}" \
        --name "${p%%:*}-to-${p##*:}" \
        --remote-vnet "${p##*:}" \
        --allow-vnet-access \
        --output none
done
az network vnet peering list \
    --resource-group "$RG" \
    --vnet-name VNet2 \
    --query "[].{Name:name, PeeringState:peeringState}" \
    --output table

# The VMs, one after the other so that their addresses come out as in
# topology.yaml: VM1 10.1.0.4; backend1 .4, backend2 .5, basic-backend1
# .6, basic-backend2 .7 in VNet2/backend; VM3 10.3.0.4.
az vm create \
    --resource-group "$RG" \
    --name VM1 \
    --image Ubuntu2204 \
    --vnet-name VNet1 \
    --subnet default \
    --location "$EAST" \
    --admin-username azureuser \
    --admin-password "$PASSWORD" \
    --output none
for vm in backend1 backend2; do
    az vm create \
        --resource-group "$RG" \
        --name "$vm" \
        --image Ubuntu2204 \
        --vnet-name VNet2 \
        --subnet backend \
        --location "$WEST" \
        --admin-username azureuser \
        --admin-password "$PASSWORD" \
        --output none
done
# basic-ilb's backends: no public IP (az's would be Standard, and Azure
# does not mix Basic and Standard resources on a Basic LB's VMs).
for vm in basic-backend1 basic-backend2; do
    az vm create \
        --resource-group "$RG" \
        --name "$vm" \
        --image Ubuntu2204 \
        --vnet-name VNet2 \
        --subnet backend \
        --public-ip-address "" \
        --location "$WEST" \
        --admin-username azureuser \
        --admin-password "$PASSWORD" \
        --output none
done
az vm create \
    --resource-group "$RG" \
    --name VM3 \
    --image Ubuntu2204 \
    --vnet-name VNet3 \
    --subnet default \
    --location "$WEST" \
    --admin-username azureuser \
    --admin-password "$PASSWORD" \
    --output none

# Two internal load balancers in VNet2/backend, the same rule on each:
# Tcp 2222 on the frontend -> 22 on the backends, with a Tcp probe on 22
# every 5 s. std-ilb is Standard (az's default SKU), basic-ilb Basic.
for lb in std-ilb:Standard:10.2.0.100 basic-ilb:Basic:10.2.0.101; do
    IFS=: read -r name sku ip <<<"$lb"
    az network lb create \
        --resource-group "$RG" \
        --name "$name" \
        --location "$WEST" \
        --sku "$sku" \
        --vnet-name VNet2 \
        --subnet backend \
        --private-ip-address "$ip" \
        --backend-pool-name "${name}bepool" \
        --output none
    az network lb probe create \
        --resource-group "$RG" \
        --lb-name "$name" \
        --name ssh-probe \
        --protocol Tcp \
        --port 22 \
        --interval 5 \
        --output none
    az network lb rule create \
        --resource-group "$RG" \
        --lb-name "$name" \
        --name ssh-2222 \
        --protocol Tcp \
        --frontend-port 2222 \
        --backend-port 22 \
        --probe-name ssh-probe \
        --output none
done

# Backend pools: a NIC's IP configuration joins a pool. A NIC cannot be in
# a Basic and a Standard load balancer at once (Azure refuses with
# DifferentSkuLoadBalancersAndPublicIPAddressNotAllowed), hence four VMs.
for member in backend1:std-ilb backend2:std-ilb basic-backend1:basic-ilb basic-backend2:basic-ilb; do
    vm=${member%%:*}
    lb=${member##*:}
    # az vm create names the NIC <vm>VMNic and its IP configuration
    # ipconfig<vm>; ask rather than guess.
    ipconfig=$(az network nic show \
        --resource-group "$RG" \
        --name "${vm}VMNic" \
        --query "ipConfigurations[0].name" --output tsv)
    az network nic ip-config address-pool add \
        --resource-group "$RG" \
        --nic-name "${vm}VMNic" \
        --ip-config-name "$ipconfig" \
        --lb-name "$lb" \
        --address-pool "${lb}bepool" \
        --output none
done
az network lb list --resource-group "$RG" --output table

# A Premium cache injected into VNet2/redis with a static IP: Azure puts it
# behind an internal Basic load balancer whose frontend is 10.2.1.10.
# (In Azure this takes 15-20 minutes; az waits.)
REDIS_SUBNET=$(az network vnet subnet show \
    --resource-group "$RG" \
    --vnet-name VNet2 \
    --name redis \
    --query id --output tsv)
az redis create \
    --resource-group "$RG" \
    --name lb-lab-cache \
    --location "$WEST" \
    --sku Premium \
    --vm-size P1 \
    --subnet-id "$REDIS_SUBNET" \
    --static-ip 10.2.1.10 \
    --enable-non-ssl-port \
    --output none

# A second cache, not injected (a private endpoint cannot be used with a
# VNet-injected cache), reached from VNet1 through a private endpoint in
# VNet1's default subnet: the endpoint gets the next free address,
# 10.1.0.5, and a /32 InterfaceEndpoint route.
az redis create \
    --resource-group "$RG" \
    --name lb-lab-cache-pl \
    --location "$WEST" \
    --sku Standard \
    --vm-size C1 \
    --enable-non-ssl-port \
    --output none
CACHE_ID=$(az redis show --resource-group "$RG" --name lb-lab-cache-pl --query id --output tsv)
az network private-endpoint create \
    --resource-group "$RG" \
    --name cache-pe \
    --location "$EAST" \
    --vnet-name VNet1 \
    --subnet default \
    --private-connection-resource-id "$CACHE_ID" \
    --group-id redisCache \
    --connection-name cache-pe-connection \
    --output none

# The cache by name: a privatelink zone linked to VNet1, and the endpoint's
# DNS zone group, which writes lb-lab-cache-pl A 10.1.0.5 into it. Then
# lb-lab-cache-pl.redis.cache.windows.net CNAMEs to the privatelink name
# and resolves to the endpoint from VNet1.
az network private-dns zone create --resource-group "$RG" \
    --name privatelink.redis.cache.windows.net --output none
az network private-dns link vnet create --resource-group "$RG" \
    --zone-name privatelink.redis.cache.windows.net --name VNet1-link \
    --virtual-network VNet1 --registration-enabled false --output none
az network private-endpoint dns-zone-group create --resource-group "$RG" \
    --endpoint-name cache-pe --name default \
    --private-dns-zone privatelink.redis.cache.windows.net --zone-name redis --output none

# VM1's routes: VNet2 as VNetGlobalPeering, the endpoint as a /32
# InterfaceEndpoint. VM3's: VNet2 as VNetPeering.
for nic in VM1VMNic VM3VMNic; do
    az network nic show-effective-route-table \
        --resource-group "$RG" \
        --name "$nic" \
        --output table
done

# The caches' access key (redis-cli -a KEY); without it a cache answers
# NOAUTH Authentication required.
az redis list-keys --resource-group "$RG" --name lb-lab-cache-pl --query primaryKey --output tsv
