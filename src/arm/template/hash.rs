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

/// `guid(a, b, …)`: a name-based (version 5, SHA-1) UUID of the parts
/// joined with `-`, in ARM's namespace.
// Azure: "The returned value … is a hash of the parameters"
// (template-functions-string#guid). The namespace
// 11fb06fb-712d-4ddd-98c7-e71bb6b9c32c is Azure.Deployments' as quoted in
// public write-ups; not checked here against a real deployment.
pub fn guid(parts: &[&str]) -> String {
    const NAMESPACE: [u8; 16] = [
        0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xb6, 0xb9, 0xc3, 0x2c,
    ];
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&NAMESPACE);
    ctx.update(parts.join("-").as_bytes());
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
}
