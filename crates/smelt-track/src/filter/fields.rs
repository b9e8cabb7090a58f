//! What each [`SearchKind`] can filter and order on: prefixes, attributes and their columns.

use super::{Entity, SearchKind};

/// The SQL type of an attribute column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AttrType {
    /// `TEXT NOT NULL`: `= != LIKE ILIKE`, quoted values.
    Str,
    /// `BIGINT NOT NULL`: `= != > >= < <=`, numbers.
    Int,
    /// `BIGINT`, nullable (a run's `end_time`).
    NullableInt,
}

/// One searchable attribute.
pub(super) struct Attr {
    /// The canonical name in filters.
    pub name: &'static str,
    /// The column, qualified with the kind's alias.
    pub column: &'static str,
    /// Its type.
    pub ty: AttrType,
    /// Whether `IN` / `NOT IN` apply.
    pub list: bool,
    /// Whether filters may use it (else only `order_by`).
    pub filter: bool,
    /// Whether `order_by` may use it.
    pub order: bool,
}

const fn attr(name: &'static str, column: &'static str, ty: AttrType) -> Attr {
    Attr {
        name,
        column,
        ty,
        list: false,
        filter: true,
        order: true,
    }
}

const fn listable(mut a: Attr) -> Attr {
    a.list = true;
    a
}

const fn order_only(mut a: Attr) -> Attr {
    a.filter = false;
    a
}

const fn filter_only(mut a: Attr) -> Attr {
    a.order = false;
    a
}

use AttrType::{Int, NullableInt, Str};

const RUN_ATTRS: &[Attr] = &[
    listable(attr("run_id", "r.run_uuid", Str)),
    attr("run_name", "r.name", Str),
    attr("status", "r.status", Str),
    attr("user_id", "r.user_id", Str),
    attr("start_time", "r.start_time", Int),
    attr("end_time", "r.end_time", NullableInt),
    attr("artifact_uri", "r.artifact_uri", Str),
    attr("lifecycle_stage", "r.lifecycle_stage", Str),
];

const EXPERIMENT_ATTRS: &[Attr] = &[
    attr("name", "e.name", Str),
    attr("experiment_id", "e.experiment_id", Int),
    attr("creation_time", "e.creation_time", Int),
    attr("last_update_time", "e.last_update_time", Int),
];

const REGISTERED_MODEL_ATTRS: &[Attr] = &[
    attr("name", "m.name", Str),
    attr("creation_timestamp", "m.creation_timestamp", Int),
    attr("last_updated_timestamp", "m.last_updated_timestamp", Int),
    order_only(attr("timestamp", "m.creation_timestamp", Int)),
];

const MODEL_VERSION_ATTRS: &[Attr] = &[
    attr("name", "v.name", Str),
    attr("version_number", "v.version", Int),
    filter_only(listable(attr("run_id", "v.run_id", Str))),
    filter_only(attr("source_path", "v.source", Str)),
    attr("creation_timestamp", "v.creation_timestamp", Int),
    attr("last_updated_timestamp", "v.last_updated_timestamp", Int),
];

const LOGGED_MODEL_ATTRS: &[Attr] = &[
    attr("name", "lm.name", Str),
    listable(attr("model_id", "lm.model_id", Str)),
    listable(attr("source_run_id", "lm.source_run_id", Str)),
    attr("status", "lm.status", Str),
    attr("model_type", "lm.model_type", Str),
    attr("creation_timestamp", "lm.creation_timestamp", Int),
    attr("last_updated_timestamp", "lm.last_updated_timestamp", Int),
];

/// The kind's attributes.
pub(super) fn attrs(kind: SearchKind) -> &'static [Attr] {
    match kind {
        SearchKind::Runs => RUN_ATTRS,
        SearchKind::Experiments => EXPERIMENT_ATTRS,
        SearchKind::RegisteredModels => REGISTERED_MODEL_ATTRS,
        SearchKind::ModelVersions => MODEL_VERSION_ATTRS,
        SearchKind::LoggedModels => LOGGED_MODEL_ATTRS,
    }
}

/// Other names MLflow accepts for an attribute (`SearchUtils._ALTERNATE_*_ATTRIBUTES` and
/// friends), mapped to the canonical name.
pub(super) fn attr_alias(kind: SearchKind, key: &str) -> Option<&'static str> {
    Some(match (kind, key) {
        (SearchKind::Runs, "created" | "Created") => "start_time",
        (SearchKind::Runs, "run name" | "Run name" | "Run Name") => "run_name",
        (SearchKind::ModelVersions, "version") => "version_number",
        (SearchKind::LoggedModels, "creation_timestamp_ms" | "creation_time") => {
            "creation_timestamp"
        }
        (SearchKind::LoggedModels, "last_updated_timestamp_ms") => "last_updated_timestamp",
        _ => return None,
    })
}

/// Looks up an attribute by canonical name.
pub(super) fn find_attr(kind: SearchKind, name: &str) -> Option<&'static Attr> {
    attrs(kind).iter().find(|a| a.name == name)
}

/// The prefix before the first `.` of an identifier, as MLflow spells it
/// (`SearchUtils._VALID_IDENTIFIERS`); case-insensitive.
pub(super) fn entity_of_prefix(prefix: &str) -> Option<Entity> {
    Some(match prefix.to_ascii_lowercase().as_str() {
        "metric" | "metrics" => Entity::Metric,
        "param" | "params" | "parameter" | "parameters" => Entity::Param,
        "tag" | "tags" => Entity::Tag,
        "attribute" | "attributes" | "attr" | "run" => Entity::Attribute,
        "dataset" | "datasets" => Entity::Dataset,
        _ => return None,
    })
}

/// The entities a kind's filters may name, in the order error messages list them.
pub(super) fn filter_entities(kind: SearchKind) -> &'static [Entity] {
    use Entity::{Attribute, Dataset, Metric, Param, Tag};
    match kind {
        SearchKind::Runs => &[Metric, Param, Tag, Attribute, Dataset],
        SearchKind::Experiments | SearchKind::RegisteredModels | SearchKind::ModelVersions => {
            &[Tag, Attribute]
        }
        SearchKind::LoggedModels => &[Param, Tag, Attribute],
    }
}

/// The entities a kind's `order_by` may name.
pub(super) fn order_entities(kind: SearchKind) -> &'static [Entity] {
    use Entity::{Attribute, Metric, Param, Tag};
    match kind {
        SearchKind::Runs => &[Metric, Param, Tag, Attribute],
        _ => &[Attribute],
    }
}

/// The prefix used in messages.
pub(super) fn entity_prefix(entity: Entity) -> &'static str {
    match entity {
        Entity::Metric => "metrics",
        Entity::Param => "params",
        Entity::Tag => "tags",
        Entity::Attribute => "attributes",
        Entity::Dataset => "datasets",
    }
}

/// The singular noun used in messages.
pub(super) fn entity_noun(entity: Entity) -> &'static str {
    match entity {
        Entity::Metric => "metric",
        Entity::Param => "param",
        Entity::Tag => "tag",
        Entity::Attribute => "attribute",
        Entity::Dataset => "dataset field",
    }
}

/// Dataset fields (`SearchUtils.DATASET_ATTRIBUTES`).
pub(super) const DATASET_FIELDS: &[&str] = &["name", "digest", "context"];

/// The human name of a kind, for messages.
pub(super) fn kind_noun(kind: SearchKind) -> &'static str {
    match kind {
        SearchKind::Runs => "runs",
        SearchKind::Experiments => "experiments",
        SearchKind::RegisteredModels => "registered models",
        SearchKind::ModelVersions => "model versions",
        SearchKind::LoggedModels => "logged models",
    }
}
