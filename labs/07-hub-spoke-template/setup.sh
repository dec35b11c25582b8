#!/usr/bin/env bash
# Lab 02's hub and spoke, deployed from an ARM template (hub-spoke.json)
# instead of one az command per resource. With the az shim on PATH:
#
#   vnetlab down
#   eval "$(vnetlab env)"
#   labs/07-hub-spoke-template/setup.sh
#   vnetlab test labs/07-hub-spoke-template      # checks expect.yaml with real traffic
set -euo pipefail
cd "$(dirname "$0")"

RG=${RG:-hub-spoke-template-rg}
LOCATION=${LOCATION:-westeurope}

az group create --name "$RG" --location "$LOCATION" --output none

# What the template would do, then do it: three spokes, the first two
# routed through hub-nva (parameters.json).
az deployment group what-if --resource-group "$RG" --template-file hub-spoke.json --parameters @parameters.json
az deployment group create --resource-group "$RG" --template-file hub-spoke.json \
    --parameters @parameters.json --output none
