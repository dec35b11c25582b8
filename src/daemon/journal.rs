//! A lab's saved state: the model as it was after the last accepted
//! change, on disk (`Lab::state_dir`, `/var/lib/vnetlab/<lab>` unless
//! `VNETLAB_STATE_DIR` says otherwise), so `vnetlab up --lab L` after a
//! crash, a kill -9 or a reboot brings the same lab back.
//!
//! The model is written whole, atomically: a temporary file, fsync,
//! rename over the old one, fsync of the directory. A reader sees the old
//! snapshot or the new one, never a mix. The file starts with one header
//! line that carries the body's length and SHA-256, so a file damaged
//! afterwards (a bad disk, a hand edit, a truncated copy) is refused as a
//! whole with what is wrong, and nothing of it is applied.
//!
//! A snapshot rather than a log of changes: the model holds everything a
//! lab is (resources, the IPs it allocated, passwords and public keys),
//! and replaying it needs no engine of the same version to reach the same
//! result. The machines' host keys are kept beside it (`Lab::keys_dir`).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::host::Lab;
use crate::model::Model;

const MAGIC: &str = "vnetlab-state";
const VERSION: u32 = 1;
const FILE: &str = "model.json";

#[derive(Debug, Error)]
pub enum StateError {
    #[error("could not {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the saved state of lab '{lab}' ({}) is damaged: {why}. Nothing of it was applied. \
         Restore the file from a copy, or `vnetlab down --lab {lab}` discards it and `vnetlab up --lab {lab}` starts empty",
        path.display()
    )]
    Corrupt { lab: String, path: PathBuf, why: String },
}

/// The saved state of one lab.
#[derive(Clone, Debug)]
pub struct Journal {
    lab: Lab,
    dir: PathBuf,
}

impl Journal {
    pub fn new(lab: &Lab) -> Journal {
        Journal {
            lab: lab.clone(),
            dir: lab.state_dir(),
        }
    }

    pub fn file(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// Is there a saved model?
    pub fn exists(&self) -> bool {
        self.file().exists()
    }

    /// Writes `model` so that it replaces the saved one in one step.
    /// Returns once the data and the rename are on disk.
    pub fn save(&self, model: &Model) -> Result<(), StateError> {
        let io = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| StateError::Io { what, path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io("create", &self.dir))?;
        // It holds passwords and private host keys: root's alone.
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io("restrict", &self.dir))?;
        let body = serde_json::to_vec(model).map_err(|e| StateError::Io {
            what: "serialize the model for",
            path: self.file(),
            source: std::io::Error::other(e),
        })?;
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io("create", &tmp))?;
        f.write_all(header(&body).as_bytes()).map_err(io("write", &tmp))?;
        f.write_all(&body).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("sync", &tmp))?;
        drop(f);
        fs::rename(&tmp, self.file()).map_err(io("rename into place", &tmp))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io("sync", &self.dir))
    }

    /// The saved model, if there is one; a damaged file is an error that
    /// says what is wrong, and nothing of it is returned.
    pub fn load(&self) -> Result<Option<Model>, StateError> {
        let path = self.file();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    what: "read",
                    path,
                    source,
                });
            }
        };
        decode(&bytes).map(Some).map_err(|why| StateError::Corrupt {
            lab: self.lab.to_string(),
            path,
            why,
        })
    }

    /// Removes the saved state (`down`): the model and the host keys.
    pub fn remove(&self) -> Result<bool, StateError> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StateError::Io {
                what: "remove",
                path: self.dir.clone(),
                source,
            }),
        }
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn header(body: &[u8]) -> String {
    format!(
        "{MAGIC} {VERSION} bytes={} sha256={}\n",
        body.len(),
        hex(&Sha256::digest(body))
    )
}

/// Checks the header against the body, then reads the model. Pure.
fn decode(bytes: &[u8]) -> Result<Model, String> {
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line (the file is empty or cut short)")?;
    let (head, body) = (&bytes[..nl], &bytes[nl + 1..]);
    let head = std::str::from_utf8(head).map_err(|_| "the header is not text")?;
    let fields: Vec<&str> = head.split(' ').collect();
    let [magic, version, len, sum] = fields[..] else {
        return Err(format!("the header '{head}' is not a vnetlab state header"));
    };
    if magic != MAGIC {
        return Err(format!("the header '{head}' is not a vnetlab state header"));
    }
    if version != VERSION.to_string() {
        return Err(format!(
            "it is format version {version}; this vnetlab reads version {VERSION}"
        ));
    }
    let len: usize = len
        .strip_prefix("bytes=")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("the header '{head}' has no length"))?;
    let sum = sum
        .strip_prefix("sha256=")
        .ok_or_else(|| format!("the header '{head}' has no checksum"))?;
    if body.len() != len {
        return Err(format!(
            "it holds {} bytes of model where its header promises {len} (torn or cut short)",
            body.len()
        ));
    }
    let actual = hex(&Sha256::digest(body));
    if actual != sum {
        return Err(format!(
            "its checksum does not match (sha256 {actual}, header says {sum})"
        ));
    }
    serde_json::from_slice(body).map_err(|e| format!("its model cannot be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    fn lab01() -> Model {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/labs/01-peering-basics/topology.yaml"
        ))
        .unwrap();
        Topology::parse(&text).unwrap().build().unwrap()
    }

    fn encoded(m: &Model) -> Vec<u8> {
        let body = serde_json::to_vec(m).unwrap();
        let mut out = header(&body).into_bytes();
        out.extend(body);
        out
    }

    #[test]
    fn a_model_comes_back_exactly() {
        let m = lab01();
        assert!(!m.virtual_machines.is_empty());
        assert_eq!(decode(&encoded(&m)).unwrap(), m);
    }

    #[test]
    fn every_damage_is_refused_with_its_cause() {
        let good = encoded(&lab01());
        let nl = good.iter().position(|&b| b == b'\n').unwrap();
        let mut flipped = good.clone();
        let at = nl + 1 + (good.len() - nl) / 2;
        flipped[at] ^= 0x20;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "no header"),
            (good[..nl].to_vec(), "no header"),
            (good[..good.len() - 10].to_vec(), "torn or cut short"),
            (flipped, "checksum does not match"),
            (
                [&b"garbage\n"[..], &good[nl + 1..]].concat(),
                "not a vnetlab state header",
            ),
            (
                String::from_utf8_lossy(&good)
                    .replacen("vnetlab-state 1", "vnetlab-state 9", 1)
                    .into_bytes(),
                "version 9",
            ),
        ];
        for (bytes, why) in cases {
            let e = decode(&bytes).expect_err(why);
            assert!(e.contains(why), "{e} lacks {why}");
        }
    }

    #[test]
    fn save_replaces_whole_and_load_refuses_damage() {
        let root = std::env::temp_dir().join(format!("vnetlab-journal-{}", std::process::id()));
        let j = Journal {
            lab: Lab::new("j1").unwrap(),
            dir: root.join("j1"),
        };
        assert!(j.load().unwrap().is_none());
        let m = lab01();
        j.save(&Model::new()).unwrap();
        j.save(&m).unwrap();
        assert_eq!(j.load().unwrap(), Some(m));
        assert!(!j.dir.join("model.json.tmp").exists());
        let mode = fs::metadata(&j.dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);

        let mut bytes = fs::read(j.file()).unwrap();
        bytes.truncate(bytes.len() - 1);
        fs::write(j.file(), &bytes).unwrap();
        let e = j.load().unwrap_err().to_string();
        assert!(
            e.contains("lab 'j1'") && e.contains("damaged") && e.contains("vnetlab down --lab j1"),
            "{e}"
        );

        assert!(j.remove().unwrap());
        assert!(!j.remove().unwrap());
        let _ = fs::remove_dir_all(&root);
    }
}
