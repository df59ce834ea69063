//! `keys create|list|revoke`: the API keys of `serve --auth`, kept in the model store.

use neuro_divergent_store::{ApiKeyInfo, ModelStore, Scope};

use crate::args::{KeysAction, KeysArgs};
use crate::error::CliResult;
use crate::store::{open_existing, print, runtime, to_json};

/// Runs a `keys` action against the store.
pub fn run_keys(args: &KeysArgs) -> CliResult<()> {
    runtime()?.block_on(async {
        let store = open_existing(&args.store).await?;
        let result = keys_action(&store, &args.action).await;
        store.close().await;
        result
    })
}

async fn keys_action(store: &ModelStore, action: &KeysAction) -> CliResult<()> {
    match action {
        KeysAction::Create { scope, label } => {
            let scopes = scope
                .iter()
                .map(|s| Scope::parse(s))
                .collect::<Result<Vec<_>, _>>()?;
            let created = store.create_key(label, &scopes).await?;
            eprintln!(
                "created API key {} ({}); it is shown once, here:",
                created.info.id,
                scope_list(&created.info)
            );
            print(&created.key)?;
        }
        KeysAction::List { json } => {
            let keys = store.list_keys().await?;
            print(&if *json { to_json(&keys) } else { table(&keys) })?;
        }
        KeysAction::Revoke { id } => {
            store.revoke_key(id).await?;
            eprintln!("revoked API key {id}: every node refuses it within its refresh interval");
        }
    }
    Ok(())
}

fn scope_list(info: &ApiKeyInfo) -> String {
    let names: Vec<&str> = info.scopes.iter().map(|s| s.as_str()).collect();
    names.join(",")
}

/// Keys as an aligned table: id, scopes, created, revoked, label.
fn table(keys: &[ApiKeyInfo]) -> String {
    let mut out = format!(
        "{:<14}{:<18}{:<26}{:<26}LABEL\n",
        "ID", "SCOPES", "CREATED", "REVOKED"
    );
    for key in keys {
        out.push_str(&format!(
            "{:<14}{:<18}{:<26}{:<26}{}\n",
            key.id,
            scope_list(key),
            key.created_at,
            key.revoked_at.as_deref().unwrap_or("-"),
            key.label
        ));
    }
    out
}
