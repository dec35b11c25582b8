//! The lab's identity endpoint: an OAuth 2.0 authority that hands a lab
//! principal a bearer token for ARM, and the check of that token on every
//! ARM request.
//!
//! Protocol: the client-credentials grant of the Microsoft identity
//! platform (`POST /{tenant}/oauth2/v2.0/token`) behind an OpenID
//! discovery document (`/{tenant}/v2.0/.well-known/openid-configuration`).
//! It is what `az login --service-principal` (MSAL) and azure-identity's
//! `ClientSecretCredential` speak, against any authority once instance
//! discovery is off (az: `core.instance_discovery=false`; azure-identity:
//! `disable_instance_discovery=True`), and it serves several principals,
//! which role assignments need. The managed-identity protocol was not
//! chosen: az 2.91 reaches it through MSAL's ManagedIdentityClient, whose
//! IMDS address (169.254.169.254) cannot be served without changing the
//! root namespace, and it gives one identity per environment.
//!
//! Tokens are JWTs signed with HMAC-SHA256 under a key of the lab; a
//! principal's client secret is derived from the same key, so nothing but
//! the key is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde_json::{Value, json};

/// The principal every lab has: the lab's own service principal, Owner of
/// every subscription (the account `vnetlab cloud env` signs in).
pub const LAB_PRINCIPAL_APP_ID: &str = "00000000-0000-4000-8000-0000000000c1";
pub const LAB_PRINCIPAL_NAME: &str = "vnetlab-cloud";

/// How long a token lives, in seconds (Entra's default is about an hour).
pub const TOKEN_LIFETIME: u64 = 3600;

/// Who a valid token names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// The application (client) ID the principal signed in with.
    pub app_id: String,
    pub tenant_id: String,
    /// Who the request's auxiliary tokens (`x-ms-authorization-auxiliary`,
    /// one per other tenant) name, each verified as the main token is.
    pub linked: Vec<Caller>,
}

#[derive(Debug)]
pub struct Keys {
    key: hmac::Key,
}

impl Keys {
    /// `secret` is the lab's key (32 random bytes kept in its runtime folder).
    pub fn new(secret: &[u8]) -> Self {
        Keys {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key, data).as_ref().to_vec()
    }

    /// The client secret of the principal with this application ID.
    pub fn client_secret(&self, app_id: &str) -> String {
        let mac = self.mac(format!("client-secret:{}", app_id.to_ascii_lowercase()).as_bytes());
        format!("vnl~{}", URL_SAFE_NO_PAD.encode(&mac[..24]))
    }

    /// A signed access token for `caller`, valid from `now` (Unix seconds).
    pub fn token(&self, caller: &Caller, audience: &str, issuer: &str, now: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = json!({
            "aud": audience,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "appid": caller.app_id,
            "oid": caller.app_id,
            "sub": caller.app_id,
            "tid": caller.tenant_id,
            "idtyp": "app",
            "ver": "1.0",
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(self.mac(signed.as_bytes()));
        format!("{signed}.{sig}")
    }

    /// The caller a bearer token names, if its signature holds and it has
    /// not expired at `now`.
    pub fn verify(&self, token: &str, now: u64) -> Result<Caller, &'static str> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err("The access token is not a JWT.");
        };
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "The access token's signature is not base64url.")?;
        hmac::verify(&self.key, format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| "The access token's signature is invalid (was it issued by another lab?).")?;
        let claims: Value = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("The access token's claims are not JSON.")?;
        let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        if exp <= now {
            return Err("The access token has expired.");
        }
        let field = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Ok(Caller {
            app_id: field("appid"),
            tenant_id: field("tid"),
            linked: Vec::new(),
        })
    }
}

/// The OpenID discovery document of tenant `tenant` at `base`.
pub fn openid_configuration(base: &str, tenant: &str) -> Value {
    let authority = format!("{base}/{tenant}");
    json!({
        "authorization_endpoint": format!("{authority}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{authority}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{authority}/oauth2/v2.0/logout"),
        "grant_types_supported": ["client_credentials"],
        "id_token_signing_alg_values_supported": ["HS256"],
        "issuer": format!("{authority}/v2.0"),
        "jwks_uri": format!("{authority}/discovery/v2.0/keys"),
        "response_types_supported": ["token"],
        "scopes_supported": ["openid"],
        "subject_types_supported": ["pairwise"],
        "tenant_region_scope": "EU",
        "token_endpoint": format!("{authority}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
    })
}

/// `application/x-www-form-urlencoded` pairs, decoded.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// `%XX` and `+` decoded, as forms and query strings encode them.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An OAuth error response body (RFC 6749 §5.2, with Entra's AADSTS codes).
pub fn oauth_error(error: &str, description: &str) -> Value {
    json!({ "error": error, "error_description": description, "error_codes": [], "timestamp": "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller {
        Caller {
            app_id: LAB_PRINCIPAL_APP_ID.into(),
            tenant_id: "t".into(),
            linked: Vec::new(),
        }
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let k = Keys::new(b"0123456789abcdef0123456789abcdef");
        let t = k.token(&caller(), "https://management.core.windows.net/", "iss", 1000);
        assert_eq!(k.verify(&t, 1001), Ok(caller()));
        assert!(k.verify(&t, 1000 + TOKEN_LIFETIME).is_err());
    }

    #[test]
    fn another_labs_token_is_refused() {
        let a = Keys::new(b"a");
        let b = Keys::new(b"b");
        let t = a.token(&caller(), "aud", "iss", 0);
        assert!(b.verify(&t, 1).is_err());
        assert!(a.verify("not.a.token", 1).is_err());
        assert!(a.verify("garbage", 1).is_err());
    }

    #[test]
    fn secrets_differ_per_principal_and_lab() {
        assert_ne!(Keys::new(b"a").client_secret("x"), Keys::new(b"a").client_secret("y"));
        assert_ne!(Keys::new(b"a").client_secret("x"), Keys::new(b"b").client_secret("x"));
    }

    #[test]
    fn forms_decode() {
        let f = form(b"grant_type=client_credentials&scope=https%3A%2F%2Fx%2F.default&a=b+c&bad=%zz");
        assert_eq!(f[1].1, "https://x/.default");
        assert_eq!(f[2].1, "b c");
        assert_eq!(f[3].1, "%zz");
    }
}
