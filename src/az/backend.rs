//! Where the az front reads and changes the lab: the running daemon (see
//! `cli::az`), or a model in memory for tests and offline use.

use serde::{Deserialize, Serialize};

use super::AzError;
pub use super::watcher::Measured;
use crate::model::{Change, Model};

/// The signed-in account, as az keeps it in its profile: which subscription
/// commands act on and who acts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// `None`: the lab's first subscription.
    pub subscription_id: Option<String>,
    /// `None`: the lab's own user, as a Cloud Shell session is signed in.
    pub user: Option<SignedIn>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    /// A user principal name or a service principal's name.
    pub name: String,
    /// `user` or `servicePrincipal`, as az prints it.
    #[serde(rename = "type")]
    pub kind: String,
}

/// What a script run by `az vm run-command invoke` printed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScriptOutput {
    pub stdout: String,
    pub stderr: String,
}

pub trait Backend {
    /// The lab's model; an empty one when no lab runs.
    fn model(&mut self) -> Result<Model, AzError>;
    /// Applies all `changes` or none, starting the lab when none runs.
    fn apply(&mut self, changes: Vec<Change>) -> Result<(), AzError>;
    fn profile(&mut self) -> Profile;
    fn save_profile(&mut self, profile: &Profile) -> Result<(), AzError>;
    /// Runs a shell script inside a running VM as root.
    fn run_script(&mut self, vm: &str, script: &str) -> Result<ScriptOutput, AzError>;
    /// `--generate-ssh-keys`: the public key of ~/.ssh/id_rsa, made if missing.
    fn ssh_public_key(&mut self, generate: bool) -> Result<Option<String>, AzError>;
    /// Asks a yes/no question; an error when nobody can answer.
    fn confirm(&mut self, question: &str) -> Result<bool, AzError>;
    /// Real probes from a VM to `dst` (TCP connects to `port`, or pings
    /// without one); `None` when there is no live lab to send them in.
    fn probe(&mut self, vm: &str, dst: std::net::Ipv4Addr, port: Option<u16>) -> Result<Option<Measured>, AzError>;
    /// A template deployment call. The engine is ARM's (layer `arm`, which
    /// the az layer cannot import): the live backend hands the call to it,
    /// a backend without it says so.
    fn deployment(&mut self, _call: &DeploymentCall) -> Result<DeploymentReply, AzError> {
        Err(AzError::Cli(
            "this lab backend has no template engine: run `az deployment` against a lab (vnetlab az …)".into(),
        ))
    }
}

/// A lab that lives in memory: what the pure tests and golden files use.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    pub model: Model,
    pub profile: Profile,
    /// How many times `apply` was called (a refused one included).
    pub applies: usize,
    pub public_key: Option<String>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        MemoryBackend {
            model: Model::new(),
            ..Default::default()
        }
    }
}

impl Backend for MemoryBackend {
    fn model(&mut self) -> Result<Model, AzError> {
        Ok(self.model.clone())
    }

    fn apply(&mut self, changes: Vec<Change>) -> Result<(), AzError> {
        self.applies += 1;
        self.model.apply_all(changes).map_err(|(_, e)| AzError::Azure(e))
    }

    fn profile(&mut self) -> Profile {
        self.profile.clone()
    }

    fn save_profile(&mut self, profile: &Profile) -> Result<(), AzError> {
        self.profile = profile.clone();
        Ok(())
    }

    fn run_script(&mut self, vm: &str, _script: &str) -> Result<ScriptOutput, AzError> {
        Err(AzError::Cli(format!(
            "VM '{vm}' is not running in a live lab: run-command needs `vnetlab up`."
        )))
    }

    fn ssh_public_key(&mut self, _generate: bool) -> Result<Option<String>, AzError> {
        Ok(self.public_key.clone())
    }

    fn confirm(&mut self, _question: &str) -> Result<bool, AzError> {
        Err(AzError::Cli(
            "Unable to prompt for confirmation as no tty available. Use --yes.".into(),
        ))
    }

    fn probe(&mut self, _vm: &str, _dst: std::net::Ipv4Addr, _port: Option<u16>) -> Result<Option<Measured>, AzError> {
        Ok(None)
    }
}

/// What is asked of `Microsoft.Resources/deployments` (ARM's REST verbs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentVerb {
    /// PUT: deploy.
    Create,
    /// POST `validate`.
    Validate,
    /// POST `whatIf`.
    WhatIf,
    Show,
    List,
    Delete,
}

/// One deployment call, as the shim's `az deployment …` and the ARM
/// endpoint both make it: one engine (`arm::deployments::call`) answers both.
#[derive(Clone, Debug)]
pub struct DeploymentCall {
    pub verb: DeploymentVerb,
    /// A resource group, or a subscription (`az deployment sub …`).
    pub scope: crate::model::ResourceId,
    /// The deployment's name (empty for List).
    pub name: String,
    /// `{location?, properties: {template, parameters, mode}}` for Create,
    /// Validate and WhatIf.
    pub body: serde_json::Value,
}

/// ARM's answer: the HTTP status and body (`{"error": …}` when refused).
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentReply {
    pub status: u16,
    pub body: Option<serde_json::Value>,
}
