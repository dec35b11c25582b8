//! The lab's certificate authority and the endpoint's certificate, as PEM
//! text. Made on first use and kept in the lab's runtime folder by the
//! caller: clients trust the CA (`REQUESTS_CA_BUNDLE`), never a
//! certificate of the real Azure.

use rcgen::{BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CaError {
    #[error("cannot make the lab's certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// A CA certificate and its key, PEM.
#[derive(Clone, Debug)]
pub struct Pem {
    pub cert: String,
    pub key: String,
}

fn ca_params(lab: &str) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("vnetlab lab CA ({lab})"));
    dn.push(DnType::OrganizationName, "vnetlab");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

/// A new CA for lab `lab`.
pub fn new_ca(lab: &str) -> Result<Pem, CaError> {
    let key = KeyPair::generate()?;
    let cert = ca_params(lab)?.self_signed(&key)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A server certificate for `localhost` and `127.0.0.1`, signed by the
/// CA whose key is `ca_key` (PEM); the certificate and its key, PEM.
pub fn server_cert(lab: &str, ca_key: &str) -> Result<Pem, CaError> {
    let ca_key = KeyPair::from_pem(ca_key)?;
    let issuer = Issuer::new(ca_params(lab)?, ca_key);
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("vnetlab ARM endpoint ({lab})"));
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_certificate_is_signed_by_the_ca() {
        let ca = new_ca("t").expect("ca");
        let leaf = server_cert("t", &ca.key).expect("leaf");
        assert!(ca.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(leaf.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_ne!(ca.cert, leaf.cert);
    }
}
