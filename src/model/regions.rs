//! Azure regions and the cloud each belongs to. Peering between regions
//! is global peering; peering between clouds is impossible (§4.3).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    Public,
    UsGovernment,
    China,
}

const REGIONS: &[(&str, Cloud)] = {
    use Cloud::*;
    &[
        ("eastus", Public),
        ("eastus2", Public),
        ("westus", Public),
        ("westus2", Public),
        ("westus3", Public),
        ("centralus", Public),
        ("northcentralus", Public),
        ("southcentralus", Public),
        ("westcentralus", Public),
        ("canadacentral", Public),
        ("canadaeast", Public),
        ("brazilsouth", Public),
        ("brazilsoutheast", Public),
        ("mexicocentral", Public),
        ("chilecentral", Public),
        ("northeurope", Public),
        ("westeurope", Public),
        ("uksouth", Public),
        ("ukwest", Public),
        ("francecentral", Public),
        ("francesouth", Public),
        ("germanywestcentral", Public),
        ("germanynorth", Public),
        ("switzerlandnorth", Public),
        ("switzerlandwest", Public),
        ("norwayeast", Public),
        ("norwaywest", Public),
        ("swedencentral", Public),
        ("swedensouth", Public),
        ("polandcentral", Public),
        ("italynorth", Public),
        ("spaincentral", Public),
        ("austriaeast", Public),
        ("belgiumcentral", Public),
        ("eastasia", Public),
        ("southeastasia", Public),
        ("japaneast", Public),
        ("japanwest", Public),
        ("koreacentral", Public),
        ("koreasouth", Public),
        ("australiaeast", Public),
        ("australiasoutheast", Public),
        ("australiacentral", Public),
        ("australiacentral2", Public),
        ("centralindia", Public),
        ("southindia", Public),
        ("westindia", Public),
        ("jioindiawest", Public),
        ("jioindiacentral", Public),
        ("uaenorth", Public),
        ("uaecentral", Public),
        ("southafricanorth", Public),
        ("southafricawest", Public),
        ("qatarcentral", Public),
        ("israelcentral", Public),
        ("newzealandnorth", Public),
        ("indonesiacentral", Public),
        ("malaysiawest", Public),
        ("usgovvirginia", UsGovernment),
        ("usgovarizona", UsGovernment),
        ("usgovtexas", UsGovernment),
        ("usdodcentral", UsGovernment),
        ("usdodeast", UsGovernment),
        ("chinaeast", China),
        ("chinaeast2", China),
        ("chinaeast3", China),
        ("chinanorth", China),
        ("chinanorth2", China),
        ("chinanorth3", China),
    ]
};

/// `az` accepts display names ("North Europe"); ARM stores "northeurope".
pub fn normalize(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

pub fn cloud_of(location: &str) -> Option<Cloud> {
    let l = normalize(location);
    REGIONS.iter().find(|(r, _)| *r == l).map(|(_, c)| *c)
}

pub fn all() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|(r, _)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_normalize() {
        assert_eq!(normalize("North Europe"), "northeurope");
        assert_eq!(cloud_of("West Europe"), Some(Cloud::Public));
        assert_eq!(cloud_of("chinanorth3"), Some(Cloud::China));
        assert_eq!(cloud_of("northeu"), None);
    }
}
