//! Passphrases: where the CLI takes them from (GROVE_PASSPHRASE for the current one,
//! GROVE_NEW_PASSPHRASE for a new one, else a prompt on a terminal), `grove init` and
//! `grove passphrase`.

use std::io::IsTerminal as _;
use std::path::Path;

use anyhow::{bail, Result};
use grove_node::{change_passphrase, check_passphrase, home_is_encrypted, Node, NodeErrorKind};
use zeroize::Zeroizing;

use crate::args::PassphraseCmd;
use crate::print::Out;

const ENV: &str = "GROVE_PASSPHRASE";
const NEW_ENV: &str = "GROVE_NEW_PASSPHRASE";

pub type Secret = Zeroizing<String>;

fn from_env(var: &str) -> Option<Secret> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Zeroizing::new)
}

fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

fn ask(prompt: &str) -> Result<Secret> {
    let secret = Zeroizing::new(rpassword::prompt_password(prompt)?);
    if secret.is_empty() {
        bail!("a passphrase cannot be empty");
    }
    Ok(secret)
}

fn ask_new() -> Result<Secret> {
    let first = ask("New passphrase: ")?;
    let again = ask("New passphrase again: ")?;
    if *first != *again {
        bail!("the two passphrases differ; nothing was changed");
    }
    Ok(first)
}

/// The passphrase to open the home with: GROVE_PASSPHRASE, else asked for on a terminal
/// when the home is encrypted.
pub fn for_opening(home: Option<&Path>) -> Result<Option<Secret>> {
    if let Some(secret) = from_env(ENV) {
        return Ok(Some(secret));
    }
    if !interactive() {
        return Ok(None);
    }
    let encrypted = match home_is_encrypted(home) {
        Ok(encrypted) => encrypted,
        // Held by a running node: the command is forwarded to it, and it wants the same
        // passphrase a direct open would. Asked without the lock: a missing passphrase is
        // refused only by an encrypted home.
        Err(e) if e.kind() == NodeErrorKind::Locked => matches!(
            check_passphrase(home, None),
            Err(e) if e.kind() == NodeErrorKind::Passphrase
        ),
        Err(_) => false,
    };
    if encrypted {
        return Ok(Some(ask("Passphrase for the Grove home: ")?));
    }
    Ok(None)
}

/// The current passphrase of an encrypted home; None when the home is not encrypted.
fn current(home: Option<&Path>) -> Result<Option<Secret>> {
    if !home_is_encrypted(home)? {
        return Ok(None);
    }
    if let Some(secret) = from_env(ENV) {
        return Ok(Some(secret));
    }
    if !interactive() {
        bail!("this Grove home is encrypted: give its passphrase in GROVE_PASSPHRASE");
    }
    Ok(Some(ask("Current passphrase: ")?))
}

fn new_secret() -> Result<Secret> {
    if let Some(secret) = from_env(NEW_ENV) {
        return Ok(secret);
    }
    if !interactive() {
        bail!("give the new passphrase in GROVE_NEW_PASSPHRASE");
    }
    ask_new()
}

/// `grove init`: creates the home and this device's identity (or opens them if present).
pub async fn init(home: Option<&Path>, encrypt: bool, out: &Out) -> Result<()> {
    let secret = match from_env(ENV) {
        Some(secret) => Some(secret),
        None if encrypt && interactive() => Some(ask_new()?),
        None if encrypt => {
            bail!("`--passphrase` needs a passphrase: set GROVE_PASSPHRASE, or run on a terminal")
        }
        None => for_opening(home)?,
    };
    let dir = grove_node::resolve_home(home)?;
    let mut builder = Node::builder().home(&dir);
    if let Some(secret) = &secret {
        builder = builder.passphrase(secret.as_str());
    }
    let node = builder.spawn()?;
    let me = node.me().await;
    // The store closes before stop returns, so the home can be inspected right after.
    let _ = node.stop().await;
    let me = me?;
    let encrypted = home_is_encrypted(Some(&dir))?;
    let summary = serde_json::json!({
        "home": dir.display().to_string(),
        "encrypted": encrypted,
        "member": me.member,
        "device": me.device,
    });
    out.show(&summary, |_| {
        format!(
            "Grove home at {} ({})\n  member {}  device {}\n",
            dir.display(),
            if encrypted {
                "encrypted with a passphrase"
            } else {
                "not encrypted"
            },
            me.member,
            me.device
        )
    })
}

/// Re-seals the home (every stored value, under Argon2id and a new key) with a progress line.
fn reseal(out: &Out, work: impl FnOnce() -> grove_node::Result<()>) -> grove_node::Result<()> {
    let _working = crate::progress::Progress::start(out, "re-sealing every stored value");
    work()
}

/// `grove passphrase set|change|remove`, on a home no node is serving.
pub fn command(home: Option<&Path>, cmd: &PassphraseCmd, out: &Out) -> Result<()> {
    match cmd {
        PassphraseCmd::Set => {
            if home_is_encrypted(home)? {
                bail!("this Grove home is already encrypted; change its passphrase with `grove passphrase change`");
            }
            let new = new_secret()?;
            reseal(out, || change_passphrase(home, None, Some(new.as_str())))?;
            out.done("the Grove home is now encrypted with the passphrase")
        }
        PassphraseCmd::Change => {
            let Some(old) = current(home)? else {
                bail!("this Grove home is not encrypted; encrypt it with `grove passphrase set`");
            };
            let new = new_secret()?;
            reseal(out, || {
                change_passphrase(home, Some(old.as_str()), Some(new.as_str()))
            })?;
            out.done("passphrase changed; the old one no longer opens this home")
        }
        PassphraseCmd::Remove => {
            let Some(old) = current(home)? else {
                bail!("this Grove home is not encrypted");
            };
            reseal(out, || change_passphrase(home, Some(old.as_str()), None))?;
            out.done("the Grove home is no longer encrypted: anyone with its files can read it")
        }
    }
}
