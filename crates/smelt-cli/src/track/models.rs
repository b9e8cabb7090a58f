//! `smelt models`: the model registry: list, show, register, alias, delete.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use smelt_track::TrackError;
use smelt_track::entities::{ModelVersion, RegisteredModel};
use smelt_track::store::{SearchQuery, VersionCreate};
use smelt_track::{ArtifactPath, ErrorCode};

use super::store::{StoreArgs, Tracking, local_time, short_id};
use super::table::{Cell, Table, Tone, width};
use crate::Outcome;
use crate::style::{dim, head};

/// Where `smelt train` puts the model in a run's artifacts: the default of `register RUN`.
const DEFAULT_MODEL_PATH: &str = "model";

/// `smelt models`.
#[derive(Args, Debug)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// List registered models with their latest version and aliases.
    #[command(after_help = "Examples:\n  smelt models list")]
    List,
    /// Show a registered model and its versions.
    #[command(
        after_help = "Examples:\n  smelt models show housing\n  smelt models show housing --json"
    )]
    Show(ShowArgs),
    /// Register a run's model as a new version (creating the registered model if needed).
    #[command(
        after_help = "Examples:\n  smelt models register 1a2b3c4d --name housing\n  smelt models register 1a2b3c4d/model --name housing --alias champion"
    )]
    Register(RegisterArgs),
    /// Point an alias (champion, staging, ...) at a version, or remove it.
    #[command(
        disable_version_flag = true,
        after_help = "Examples:\n  smelt models alias housing champion 3\n  smelt models alias housing champion --delete"
    )]
    Alias(AliasArgs),
    /// Delete a registered model with all its versions, or one version.
    #[command(
        disable_version_flag = true,
        after_help = "Examples:\n  smelt models delete housing --version 2\n  smelt models delete housing"
    )]
    Delete(DeleteArgs),
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Registered model name
    pub name: String,

    /// Print the model and its versions as MLflow's JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct RegisterArgs {
    /// RUN or RUN/PATH: a run id, unique prefix or name, and the model's folder in its artifacts
    /// [default PATH: model]
    pub source: String,

    /// Registered model name
    #[arg(long)]
    pub name: String,

    /// Also point this alias at the new version
    #[arg(long, value_name = "ALIAS")]
    pub alias: Option<String>,

    /// Description of the version
    #[arg(long, default_value = "")]
    pub description: String,
}

#[derive(Args, Debug)]
pub struct AliasArgs {
    /// Registered model name
    pub name: String,

    /// The alias: champion, challenger, staging, ...
    pub alias: String,

    /// The version it points at
    #[arg(required_unless_present = "delete")]
    pub version: Option<String>,

    /// Remove the alias instead
    #[arg(long, conflicts_with = "version")]
    pub delete: bool,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Registered model name
    pub name: String,

    /// Delete only this version
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
}

pub fn run(args: ModelsArgs) -> Result<Outcome> {
    let t = Tracking::open(&args.store)?;
    let mut out = anstream::stdout().lock();
    match args.command {
        ModelsCommand::List => list(&t, &mut out),
        ModelsCommand::Show(a) => show(&t, a, &mut out),
        ModelsCommand::Register(a) => register(&t, a, &mut out),
        ModelsCommand::Alias(a) => alias(&t, a, &mut out),
        ModelsCommand::Delete(a) => delete(&t, a, &mut out),
    }
}

/// A registered model, or an error naming it with a hint to list them.
fn get_model(t: &Tracking, name: &str) -> Result<RegisteredModel> {
    match t.block_on(t.store().get_registered_model(name)) {
        Ok(m) => Ok(m),
        Err(e) if e.code() == ErrorCode::ResourceDoesNotExist => bail!(
            "no registered model named \"{name}\"\n\nhint: list them with `smelt models list`, or register one with \
             `smelt models register RUN --name {name}`"
        ),
        Err(e) => Err(e).context(format!("reading registered model \"{name}\"")),
    }
}

/// Every version of a model, newest first.
fn versions(t: &Tracking, name: &str) -> Result<Vec<ModelVersion>> {
    let quoted = if name.contains('\'') {
        format!("\"{name}\"")
    } else {
        format!("'{name}'")
    };
    let q = SearchQuery {
        filter: format!("name = {quoted}"),
        order_by: vec!["version_number DESC".into()],
        ..Default::default()
    };
    Ok(t.block_on(t.store().search_model_versions(&q))
        .with_context(|| format!("listing versions of \"{name}\""))?
        .items)
}

fn list(t: &Tracking, out: &mut impl Write) -> Result<Outcome> {
    let mut models = Vec::new();
    let mut token = None;
    loop {
        let q = SearchQuery {
            order_by: vec!["name ASC".into()],
            page_token: token,
            ..Default::default()
        };
        let page = t
            .block_on(t.store().search_registered_models(&q))
            .context("listing registered models")?;
        models.extend(page.items);
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    if models.is_empty() {
        writeln!(out, "no registered models")?;
        writeln!(
            out,
            "{}",
            dim("register a run's model with `smelt models register RUN --name NAME`")
        )?;
        return Ok(Outcome::Success);
    }
    let mut table = Table::new(
        ["name", "latest", "aliases", "updated", "description"]
            .map(String::from)
            .to_vec(),
    );
    table.right[1] = true;
    for m in &models {
        let latest = m
            .latest_versions
            .iter()
            .filter_map(|v| v.version.parse::<i64>().ok())
            .max()
            .map(|v| format!("v{v}"))
            .unwrap_or_else(|| "-".into());
        let aliases: Vec<String> = m
            .aliases
            .iter()
            .map(|a| format!("@{}→v{}", a.alias, a.version))
            .collect();
        table.rows.push(vec![
            Cell::new(m.name.as_str(), Tone::Strong),
            latest.into(),
            aliases.join(" ").into(),
            local_time(m.last_updated_timestamp).into(),
            m.description.replace('\n', " ").into(),
        ]);
    }
    table.write(out, width())?;
    Ok(Outcome::Success)
}

fn show(t: &Tracking, a: ShowArgs, out: &mut impl Write) -> Result<Outcome> {
    let model = get_model(t, &a.name)?;
    let versions = versions(t, &a.name)?;
    if a.json {
        serde_json::to_writer_pretty(
            &mut *out,
            &serde_json::json!({ "registered_model": model, "model_versions": versions }),
        )?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    writeln!(out, "{}", head(&format!("model {}", model.name)))?;
    writeln!(out, "  created  {}", local_time(model.creation_timestamp))?;
    writeln!(
        out,
        "  updated  {}",
        local_time(model.last_updated_timestamp)
    )?;
    if !model.description.is_empty() {
        writeln!(out, "  {}", model.description)?;
    }
    for tag in &model.tags {
        writeln!(out, "  {} = {}", tag.key, tag.value)?;
    }
    writeln!(out)?;
    if versions.is_empty() {
        writeln!(
            out,
            "no versions\n{}",
            dim(&format!(
                "register one with `smelt models register RUN --name {}`",
                model.name
            ))
        )?;
        return Ok(Outcome::Success);
    }
    let mut table = Table::new(
        ["version", "stage", "aliases", "run", "created", "source"]
            .map(String::from)
            .to_vec(),
    );
    table.right[0] = true;
    for v in &versions {
        let aliases: Vec<String> = v.aliases.iter().map(|a| format!("@{a}")).collect();
        let stage_tone = match v.current_stage.as_str() {
            "Production" => Tone::Good,
            "Staging" => Tone::Warn,
            "Archived" => Tone::Dim,
            _ => Tone::Plain,
        };
        table.rows.push(vec![
            Cell::new(format!("v{}", v.version), Tone::Strong),
            Cell::new(v.current_stage.as_str(), stage_tone),
            Cell::new(aliases.join(" "), Tone::Good),
            Cell::new(
                if v.run_id.is_empty() {
                    "-"
                } else {
                    short_id(&v.run_id)
                },
                Tone::Dim,
            ),
            local_time(v.creation_timestamp).into(),
            short_source(&v.source).into(),
        ]);
    }
    table.write(out, width())?;
    Ok(Outcome::Success)
}

/// `runs:/<32 hex>/model` with the run id cut to its first 8 characters, so the path stays visible.
fn short_source(source: &str) -> String {
    match source
        .strip_prefix("runs:/")
        .and_then(|r| r.split_once('/'))
    {
        Some((run, path)) if run.len() > 8 => format!("runs:/{}…/{path}", short_id(run)),
        _ => source.to_string(),
    }
}

fn register(t: &Tracking, a: RegisterArgs, out: &mut impl Write) -> Result<Outcome> {
    // `RUN/PATH`: the run is everything up to the first slash.
    let (key, path) = match a.source.split_once('/') {
        Some((run, path)) if !path.trim_matches('/').is_empty() => {
            (run, path.trim_matches('/').to_string())
        }
        Some((run, _)) => (run, DEFAULT_MODEL_PATH.to_string()),
        None => (a.source.as_str(), DEFAULT_MODEL_PATH.to_string()),
    };
    let run = t.resolve_run(key)?;
    let run_id = run.info.run_id.clone();
    let sub = ArtifactPath::parse(&path).with_context(|| format!("model path \"{path}\""))?;
    // Check the files are there when the artifacts can be reached from here.
    if let Ok((store, base)) = t.artifacts(&run.info.artifact_uri) {
        let full = base.join_path(&sub)?;
        let size = t.block_on(store.total_size(&full)).ok();
        if size == Some(0) {
            bail!(
                "run {} ({}) has no artifacts at \"{path}\"\n\nhint: see its files with `smelt runs show {}`",
                short_id(&run_id),
                run.info.run_name,
                short_id(&run_id)
            );
        }
    }
    let created = match t.block_on(t.store().get_registered_model(&a.name)) {
        Ok(_) => false,
        Err(TrackError::NotFound(_)) => {
            t.block_on(t.store().create_registered_model(&a.name, &[], ""))
                .with_context(|| format!("registering model name \"{}\"", a.name))?;
            true
        }
        Err(e) => return Err(e).context(format!("reading registered model \"{}\"", a.name)),
    };
    let source = format!("runs:/{run_id}/{path}");
    let v = t
        .block_on(t.store().create_model_version(VersionCreate {
            name: a.name.clone(),
            source: source.clone(),
            run_id: run_id.clone(),
            description: a.description.clone(),
            ..Default::default()
        }))
        .with_context(|| format!("creating a version of \"{}\"", a.name))?;
    if created {
        writeln!(out, "created registered model {}", a.name)?;
    }
    writeln!(
        out,
        "registered {} version {} from {source}",
        v.name, v.version
    )?;
    if let Some(alias) = &a.alias {
        t.block_on(
            t.store()
                .set_registered_model_alias(&a.name, alias, &v.version),
        )
        .with_context(|| format!("setting alias \"{alias}\""))?;
        writeln!(out, "@{alias} → {} v{}", a.name, v.version)?;
    }
    writeln!(
        out,
        "{}",
        dim(&format!(
            "load it as models:/{}/{} (MLflow clients)",
            v.name, v.version
        ))
    )?;
    Ok(Outcome::Success)
}

fn alias(t: &Tracking, a: AliasArgs, out: &mut impl Write) -> Result<Outcome> {
    get_model(t, &a.name)?;
    if a.delete {
        let existed = t
            .block_on(t.store().get_model_version_by_alias(&a.name, &a.alias))
            .is_ok();
        if !existed {
            bail!(
                "model \"{}\" has no alias \"{}\"\n\nhint: see its aliases with `smelt models show {}`",
                a.name,
                a.alias,
                a.name
            );
        }
        t.block_on(t.store().delete_registered_model_alias(&a.name, &a.alias))
            .with_context(|| format!("removing alias \"{}\"", a.alias))?;
        writeln!(out, "removed @{} from {}", a.alias, a.name)?;
        return Ok(Outcome::Success);
    }
    let version = a
        .version
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches(['v', 'V']);
    match t.block_on(
        t.store()
            .set_registered_model_alias(&a.name, &a.alias, version),
    ) {
        Ok(()) => {}
        Err(e) if e.code() == ErrorCode::ResourceDoesNotExist => bail!(
            "model \"{}\" has no version \"{version}\"\n\nhint: see its versions with `smelt models show {}`",
            a.name,
            a.name
        ),
        Err(e) => return Err(e).context(format!("setting alias \"{}\"", a.alias)),
    }
    writeln!(out, "@{} → {} v{version}", a.alias, a.name)?;
    Ok(Outcome::Success)
}

fn delete(t: &Tracking, a: DeleteArgs, out: &mut impl Write) -> Result<Outcome> {
    get_model(t, &a.name)?;
    match &a.version {
        Some(v) => {
            let v = v.trim_start_matches(['v', 'V']);
            match t.block_on(t.store().delete_model_version(&a.name, v)) {
                Ok(()) => writeln!(out, "deleted {} version {v}", a.name)?,
                Err(e) if e.code() == ErrorCode::ResourceDoesNotExist => bail!(
                    "model \"{}\" has no version \"{v}\"\n\nhint: see its versions with `smelt models show {}`",
                    a.name,
                    a.name
                ),
                Err(e) => return Err(e).context(format!("deleting {} version {v}", a.name)),
            }
        }
        None => {
            let n = versions(t, &a.name)?.len();
            t.block_on(t.store().delete_registered_model(&a.name))
                .with_context(|| format!("deleting registered model \"{}\"", a.name))?;
            writeln!(
                out,
                "deleted registered model {} and its {n} version{}",
                a.name,
                if n == 1 { "" } else { "s" }
            )?;
        }
    }
    writeln!(
        out,
        "{}",
        dim("the runs and their artifacts are kept; delete runs with `smelt runs delete`")
    )?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_sources_keep_their_path() {
        assert_eq!(
            short_source("runs:/0123456789abcdef0123456789abcdef/model"),
            "runs:/01234567…/model"
        );
        assert_eq!(short_source("models:/m-1"), "models:/m-1");
    }
}
