//! What the live test crates share: the binary, a run of it, its output as
//! text, and a lab that is removed when the test ends, however it ends.
//! Each test file adds the methods it needs to `Lab` in an `impl` of its own.
#![allow(dead_code)] // each test crate uses a part

use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_vnetlab");

/// `vnetlab ARGS`, stdin closed.
pub fn vnetlab(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run vnetlab")
}

/// stdout then stderr, for assertion messages and matching.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A lab name, unique to this test process, that `vnetlab down` removes
/// when the guard goes.
pub struct Lab(pub String);

impl Lab {
    /// `TAG` + this process's id: tests of one run share no lab.
    pub fn named(tag: &str) -> Lab {
        Lab(format!("{tag}{}", std::process::id() % 100_000))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = vnetlab(&["down", "--lab", &self.0]);
    }
}
