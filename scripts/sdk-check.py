#!/usr/bin/env python3
"""The Azure SDK for Python against a lab's ARM endpoint (issue 15 item 4).

Run after `eval "$(vnetlab cloud env --lab L)"` with scripts/setup's venv
(/opt/vnetlab-venv/bin/python): it signs in as the lab's principal with
azure-identity, then through azure-mgmt-network / -compute / -resource
(bodies in ARM's JSON, as the SDK sends them) creates two VNets with a subnet each, a peering pair, an NSG with a rule, a
NIC in each VNet and a VM on each NIC; reads the first NIC's effective
routes (the peering's route must be there) and its effective NSGs; and has
the first VM ping the second over the peering with Run Command (real
packets through the lab). Prints one line per step; exits non-zero on the
first failure. Everything lives in resource group RG (default sdk-rg),
which it deletes at the end.
"""

import os
import sys

from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource import ResourceManagementClient, SubscriptionClient

RG = os.environ.get("RG", "sdk-rg")
LOCATION = "westeurope"


def step(what):
    print(f"sdk: {what}", flush=True)


def main():
    endpoint = os.environ["VNETLAB_ARM_ENDPOINT"]
    cred = ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"],
        os.environ["AZURE_CLIENT_ID"],
        os.environ["AZURE_CLIENT_SECRET"],
        authority=os.environ["AZURE_AUTHORITY_HOST"],
        disable_instance_discovery=True,
    )
    scopes = ["https://management.core.windows.net//.default"]
    subscriptions = SubscriptionClient(cred, base_url=endpoint, credential_scopes=scopes)
    sub = next(iter(subscriptions.subscriptions.list())).subscription_id
    step(f"signed in; subscription {sub}")
    resources = ResourceManagementClient(cred, sub, base_url=endpoint, credential_scopes=scopes)
    network = NetworkManagementClient(cred, sub, base_url=endpoint, credential_scopes=scopes)
    compute = ComputeManagementClient(cred, sub, base_url=endpoint, credential_scopes=scopes)

    resources.resource_groups.create_or_update(RG, {"location": LOCATION})
    vnets = {}
    for name, prefix in (("sdk-a", "10.61"), ("sdk-b", "10.62")):
        vnets[name] = network.virtual_networks.begin_create_or_update(
            RG,
            name,
            {
                "location": LOCATION,
                "properties": {
                    "addressSpace": {"addressPrefixes": [f"{prefix}.0.0/16"]},
                    "subnets": [{"name": "default", "properties": {"addressPrefix": f"{prefix}.1.0/24"}}],
                },
            },
        ).result()
    step("two VNets with a subnet each: " + ", ".join(v.name for v in vnets.values()))
    for local, remote in (("sdk-a", "sdk-b"), ("sdk-b", "sdk-a")):
        p = network.virtual_network_peerings.begin_create_or_update(
            RG,
            local,
            f"{local}-to-{remote}",
            {"properties": {"remoteVirtualNetwork": {"id": vnets[remote].id}, "allowVirtualNetworkAccess": True}},
        ).result()
    p = network.virtual_network_peerings.get(RG, "sdk-a", "sdk-a-to-sdk-b")
    step(f"peering pair: {p.peering_state}")
    if p.peering_state != "Connected":
        sys.exit("sdk: the peering is not Connected")
    nsg = network.network_security_groups.begin_create_or_update(RG, "sdk-nsg", {"location": LOCATION}).result()
    network.security_rules.begin_create_or_update(
        RG,
        "sdk-nsg",
        "allow-icmp-from-b",
        {
            "properties": {
                "priority": 100,
                "direction": "Inbound",
                "access": "Allow",
                "protocol": "Icmp",
                "sourceAddressPrefix": "10.62.0.0/16",
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": "*",
            }
        },
    ).result()
    step("NSG with a rule: " + ", ".join(r.name for r in network.security_rules.list(RG, "sdk-nsg")))

    vms = {}
    for name in ("sdk-a", "sdk-b"):
        nic = network.network_interfaces.begin_create_or_update(
            RG,
            f"{name}-nic",
            {
                "location": LOCATION,
                "properties": {
                    **({"networkSecurityGroup": {"id": nsg.id}} if name == "sdk-a" else {}),
                    "ipConfigurations": [
                        {"name": "ipconfig1", "properties": {"subnet": {"id": vnets[name].subnets[0].id}}}
                    ],
                },
            },
        ).result()
        compute.virtual_machines.begin_create_or_update(
            RG,
            f"{name}-vm",
            {
                "location": LOCATION,
                "properties": {
                    "hardwareProfile": {"vmSize": "Standard_B1s"},
                    "storageProfile": {
                        "imageReference": {
                            "publisher": "Canonical",
                            "offer": "ubuntu-24_04-lts",
                            "sku": "server",
                            "version": "latest",
                        }
                    },
                    "osProfile": {
                        "computerName": f"{name}-vm",
                        "adminUsername": "azureuser",
                        "adminPassword": "Sdk-Check-Pa55word",
                    },
                    "networkProfile": {"networkInterfaces": [{"id": nic.id}]},
                },
            },
        ).result()
        vms[name] = network.network_interfaces.get(RG, f"{name}-nic").ip_configurations[0].private_ip_address
    step(f"NICs and VMs: sdk-a-vm {vms['sdk-a']}, sdk-b-vm {vms['sdk-b']}")

    routes = network.network_interfaces.begin_get_effective_route_table(RG, "sdk-a-nic").result()
    peered = [r for r in routes.value if "10.62.0.0/16" in (r.address_prefix or [])]
    step("effective routes of sdk-a-nic: " + "; ".join(f"{r.address_prefix} {r.next_hop_type}" for r in routes.value))
    if not peered or peered[0].next_hop_type != "VNetPeering":
        sys.exit("sdk: no VNetPeering route to 10.62.0.0/16 in sdk-a-nic's effective routes")
    groups = network.network_interfaces.begin_list_effective_network_security_groups(RG, "sdk-a-nic").result()
    rules = [r.name for g in groups.value for r in g.effective_security_rules]
    step(f"effective NSG rules of sdk-a-nic: {len(rules)}")
    if "securityRules/allow-icmp-from-b" not in rules:
        sys.exit("sdk: the NSG's rule is not among the effective rules")

    out = compute.virtual_machines.begin_run_command(
        RG,
        "sdk-b-vm",
        {"commandId": "RunShellScript", "script": [f"ping -c 3 -W 2 {vms['sdk-a']}"]},
    ).result()
    message = out.value[0].message
    step("ping over the peering (run command on sdk-b-vm): " + message.replace("\n", " | "))
    if " 0% packet loss" not in message:
        sys.exit("sdk: the ping over the peering lost packets")

    resources.resource_groups.begin_delete(RG).result()
    step("resource group deleted; all checks passed")


if __name__ == "__main__":
    main()
