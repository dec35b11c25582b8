#!/usr/bin/env bash
# Stage 1 of the lab, as you would type it: two VNets in two regions, an
# AKS cluster with Azure CNI Overlay in each, a database VM, and one test
# pod per node. With the az shim on PATH this builds the same lab as
# topology.yaml:
#
#   eval "$(sudo vnetlab env)"
#   labs/06-aks-overlay-multiregion/setup.sh
#   sudo vnetlab test labs/06-aks-overlay-multiregion
#
# `vnetlab kubectl` stands in for kubectl (see docs/aks.md for what it
# emulates); VNETLAB names the vnetlab binary if it is not on PATH.
set -euo pipefail

VNETLAB=${VNETLAB:-vnetlab}
PASSWORD=${PASSWORD:-'AksLab-Passw0rd!'}

az group create --name rg-canada --location canadacentral --output none
az group create --name rg-eastus --location eastus --output none

az network vnet create --resource-group rg-canada --name vnet-canada \
    --address-prefixes 10.0.0.0/14 --subnet-name aks-nodes --subnet-prefixes 10.1.0.0/24 --output none
az network vnet create --resource-group rg-eastus --name vnet-eastus \
    --address-prefixes 10.4.0.0/14 --subnet-name aks-nodes --subnet-prefixes 10.5.0.0/24 --output none
az network vnet subnet create --resource-group rg-eastus --vnet-name vnet-eastus \
    --name db --address-prefixes 10.6.0.0/24 --output none

az vm create --resource-group rg-eastus --name db-vm --image Ubuntu2404 \
    --vnet-name vnet-eastus --subnet db \
    --admin-username azureuser --admin-password "$PASSWORD" --output none

subnet() { az network vnet subnet show --resource-group "$1" --vnet-name "$2" --name aks-nodes --query id --output tsv; }

az aks create --resource-group rg-canada --name aks-canada --location canadacentral \
    --network-plugin azure --network-plugin-mode overlay --pod-cidr 10.32.0.0/13 \
    --service-cidr 10.100.0.0/16 --dns-service-ip 10.100.0.10 \
    --vnet-subnet-id "$(subnet rg-canada vnet-canada)" --node-count 2 --generate-ssh-keys --output none
az aks create --resource-group rg-eastus --name aks-eastus --location eastus \
    --network-plugin azure --network-plugin-mode overlay --pod-cidr 10.40.0.0/13 \
    --service-cidr 10.101.0.0/16 --dns-service-ip 10.101.0.10 \
    --vnet-subnet-id "$(subnet rg-eastus vnet-eastus)" --node-count 2 --generate-ssh-keys --output none

# One test pod per node: the scheduler puts each new pod on the node with
# the fewest pods, so pod 0 lands on node 0 and pod 1 on node 1.
for i in 0 1; do
    "$VNETLAB" kubectl --cluster aks-canada run "cc-pod-$i" --image busybox -- sleep infinity
    "$VNETLAB" kubectl --cluster aks-eastus run "eus-pod-$i" --image busybox -- sleep infinity
done
"$VNETLAB" kubectl --cluster aks-canada get pods -o wide
"$VNETLAB" kubectl --cluster aks-eastus get pods -o wide
