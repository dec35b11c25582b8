//! The deterministic names ARM templates make: `uniqueString` and `guid`.

/// ARM's 64-bit MurmurHash variant (two 32-bit lanes, its own constants).
// Azure: the algorithm behind uniqueString, as the public decompiled
// Azure.Deployments.Expression ComputeHash.MurmurHash64 and Kudu's
// HashHelper.MurmurHash64 (github.com/projectkudu/kudu) both show it.
fn murmur64(data: &[u8]) -> u64 {
    const C1: u32 = 0x239b_961b;
    const C2: u32 = 0xab0e_9789;
    const C3: u32 = 0x561c_cd1b;
    const C4: u32 = 0x0bca_a747;
    const C5: u32 = 0x85eb_ca6b;
    const C6: u32 = 0xc2b2_ae35;
    let word = |b: &[u8]| b.iter().rev().fold(0u32, |acc, x| (acc << 8) | u32::from(*x));
    let (mut h1, mut h2) = (0u32, 0u32);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let k1 = word(&c[..4]).wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h1 = (h1 ^ k1)
            .rotate_left(19)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(C3);
        let k2 = word(&c[4..]).wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
        h2 = (h2 ^ k2)
            .rotate_left(13)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(C4);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        h1 ^= word(&tail[..tail.len().min(4)])
            .wrapping_mul(C1)
            .rotate_left(15)
            .wrapping_mul(C2);
        if tail.len() > 4 {
            h2 ^= word(&tail[4..]).wrapping_mul(C2).rotate_left(17).wrapping_mul(C1);
        }
    }
    let len = data.len() as u32;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    let fmix = |mut h: u32| {
        h ^= h >> 16;
        h = h.wrapping_mul(C5);
        h ^= h >> 13;
        h = h.wrapping_mul(C6);
        h ^ (h >> 16)
    };
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (u64::from(h2) << 32) | u64::from(h1)
}

/// `uniqueString(a, b, …)`: the parts joined with `-`, hashed, and the
/// hash's top 65 bits written as 13 base-32 letters.
// Azure: "The returned value is 13 characters long" (template-functions-string#uniquestring);
// the encoding takes 5 bits at a time from the top, alphabet a-z2-7.
pub fn unique_string(parts: &[&str]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut h = murmur64(parts.join("-").as_bytes());
    (0..13)
        .map(|_| {
            let c = ALPHABET[(h >> 59) as usize] as char;
            h <<= 5;
            c
        })
        .collect()
}

/// ARM's namespace for `guid()`.
// Azure: `ARMNamespaceGuid = 11fb06fb-712d-4ddd-98c7-e71bbd588830`, used with
// `GuidUtility.Create(namespace, joined, version: 5)` in Microsoft's
// github.com/Azure/azure-policy-linter, src/PolicyLinter.Core/Expressions/
// EvaluationHelpers/ExpressionBuiltInFunctions.cs (ported, it says, from
// Azure Policy's evaluation engine, which evaluates the same template
// functions with Azure.Deployments' libraries). The value this file held before
// (…-e71bb6b9c32c) came from a write-up and was wrong in its last 6 bytes.
const ARM_NAMESPACE: [u8; 16] = [
    0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30,
];

/// `guid(a, b, …)`: the name-based (version 5, SHA-1) UUID of the parts
/// joined with `-` in ARM's namespace, lower-case.
// Azure: template-functions-string#guid ("a hash of the parameters"); the
// join with '-' is `JoinStringParametersWithDash` in the file cited above.
pub fn guid(parts: &[&str]) -> String {
    uuid5(&ARM_NAMESPACE, parts.join("-").as_bytes())
}

/// RFC 4122 §4.3 name-based UUID, version 5: SHA-1 over the namespace's
/// bytes (network order) then the name; version and variant bits set.
fn uuid5(namespace: &[u8; 16], name: &[u8]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(namespace);
    ctx.update(name);
    let d = ctx.finish();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_of_empty_input_is_the_mixed_zero() {
        // Zero lanes stay zero through fmix: the hash of nothing is 0.
        assert_eq!(murmur64(b""), 0);
        assert_eq!(unique_string(&[""]), "aaaaaaaaaaaaa");
    }

    #[test]
    fn unique_string_is_13_letters_stable_and_case_sensitive() {
        let a = unique_string(&["sub", "rg"]);
        assert_eq!(a.len(), 13);
        assert!(a.bytes().all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)));
        assert_eq!(a, unique_string(&["sub-rg"]), "parts are joined with '-'");
        assert_ne!(a, unique_string(&["SUB", "rg"]));
        // Every tail length of the 8-byte blocks changes the result.
        let all: std::collections::BTreeSet<String> = (0..17).map(|n| unique_string(&[&"x".repeat(n)])).collect();
        assert_eq!(all.len(), 17);
    }

    #[test]
    fn unique_string_matches_a_value_arm_computed() {
        // A public unit test (Modm, "UniqueStringShouldEqualValueCreatedFromArmTemplate")
        // checks this pair against Azure.Deployments.Expression, the library ARM runs.
        let id = "/subscriptions/31e9f9a0-9fd2-4294-a0a3-0101246d9700/resourceGroups/rg-modm201-20230913120256/providers/Microsoft.Compute/virtualMachines/bobjacmodm201";
        assert_eq!(unique_string(&[id]), "yvjxno3je5on2");
    }

    #[test]
    fn guid_is_a_version_5_uuid() {
        let g = guid(&["a", "b"]);
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "5");
        assert!(matches!(&g[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(g, guid(&["a-b"]));
        assert_ne!(g, guid(&["a", "c"]));
    }

    #[test]
    fn uuid5_matches_the_published_rfc_vector() {
        // Python's uuid docs: uuid5(NAMESPACE_DNS, 'python.org') is
        // 886313e1-3b8a-5372-9b90-0c9aee199e5d (the byte mechanics ARM's
        // GuidUtility shares: namespace in network order, then UTF-8 name).
        let dns = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
        ];
        assert_eq!(uuid5(&dns, b"python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    }

    #[test]
    fn guid_is_uuid5_in_arms_namespace() {
        // No input/output pair computed by a real deployment was found (see
        // docs/az.md); this is uuid.uuid5(UUID('11fb06fb-…-e71bbd588830'),
        // 'a-b') as Python computes it, which public scripts that reproduce
        // role-assignment names made by guid() use.
        assert_eq!(guid(&["a", "b"]), "2d796349-8c7e-55ec-9624-54ece82ed031");
    }
}
