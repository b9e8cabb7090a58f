//! The OpenAPI 3.1 document at `/openapi.json`: every route, with the served models' names and
//! an example request built from each model's signature.

use serde_json::{Value, json};

use crate::app::App;
use crate::signature::Signature;

fn example_value(i: &crate::signature::InputSpec) -> Value {
    match (&i.categories, i.datatype) {
        (Some(c), _) => c.first().map_or(Value::Null, |s| Value::from(s.as_str())),
        (None, "BOOL") => Value::Bool(true),
        (None, "INT64") => Value::from(0),
        (None, "BYTES") => Value::from("2024-01-01T00:00:00Z"),
        _ => Value::from(0.0),
    }
}

fn example_record(s: &Signature) -> Value {
    Value::Object(
        s.inputs
            .iter()
            .map(|i| (i.name.clone(), example_value(i)))
            .collect(),
    )
}

fn op(summary: &str, tag: &str) -> Value {
    json!({ "summary": summary, "tags": [tag], "responses": {
        "200": {"description": "OK"},
        "400": {"description": "Bad request: the message names the row, feature and value", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "401": {"description": "Missing or wrong API key"},
        "404": {"description": "Unknown model or version"},
        "413": {"description": "Body over server.max_body_bytes"},
        "429": {"description": "Over the API key's rate limit (Retry-After)"},
        "503": {"description": "Queue full, timed out or not ready (Retry-After)"},
    }})
}

fn with_body(mut o: Value, example: Value) -> Value {
    o["requestBody"] =
        json!({"required": true, "content": {"application/json": {"example": example}}});
    o
}

/// The document.
pub fn document(app: &App) -> Value {
    let models = app.models.all();
    let names: Vec<String> = models.iter().map(|e| e.name.clone()).collect();
    let first = models.first().map(|e| e.routing().primary.clone());
    let record = first
        .as_ref()
        .map_or(json!({}), |v| example_record(&v.signature));
    let oip_example = first.as_ref().map_or(json!({}), |v| {
        json!({"inputs": v.signature.inputs.iter().map(|i| json!({
            "name": i.name, "shape": [1], "datatype": i.datatype, "data": [example_value(i)],
        })).collect::<Vec<_>>()})
    });
    let name_param = json!({"name": "name", "in": "path", "required": true,
        "schema": {"type": "string", "enum": names}});
    let version_param =
        json!({"name": "version", "in": "path", "required": true, "schema": {"type": "string"}});
    let mut paths = serde_json::Map::new();
    let mut add = |path: &str, method: &str, mut o: Value, params: &[&Value]| {
        if !params.is_empty() {
            o["parameters"] = Value::Array(params.iter().map(|p| (*p).clone()).collect());
        }
        paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(method.to_string(), o));
    };
    add("/v2", "get", op("Server metadata (OIP v2)", "oip"), &[]);
    add("/v2/health/live", "get", op("Liveness", "oip"), &[]);
    add(
        "/v2/health/ready",
        "get",
        op("Readiness: models loaded", "oip"),
        &[],
    );
    add(
        "/v2/models/{name}",
        "get",
        op("Model metadata: inputs, outputs, signature", "oip"),
        &[&name_param],
    );
    add(
        "/v2/models/{name}/ready",
        "get",
        op("Model readiness", "oip"),
        &[&name_param],
    );
    add(
        "/v2/models/{name}/infer",
        "post",
        with_body(
            op("Inference: named tensors, JSON or binary", "oip"),
            oip_example.clone(),
        ),
        &[&name_param],
    );
    add(
        "/v2/models/{name}/versions/{version}/infer",
        "post",
        with_body(op("Inference on one loaded version", "oip"), oip_example),
        &[&name_param, &version_param],
    );
    add(
        "/invocations",
        "post",
        with_body(
            op(
                "MLflow scoring: dataframe_split, dataframe_records, instances, inputs, or text/csv",
                "mlflow",
            ),
            json!({"dataframe_records": [record.clone()]}),
        ),
        &[],
    );
    add("/ping", "get", op("MLflow health", "mlflow"), &[]);
    add("/version", "get", op("Server version", "mlflow"), &[]);
    add(
        "/predict/{name}",
        "post",
        with_body(
            op("Named features: one object or a list", "predict"),
            record,
        ),
        &[&name_param],
    );
    add(
        "/v1/embeddings",
        "post",
        with_body(
            op(
                "OpenAI's embeddings API, for embedding models: input (a text or a list), model, encoding_format float|base64",
                "openai",
            ),
            json!({"model": "minilm", "input": ["A man is eating food."]}),
        ),
        &[],
    );
    add(
        "/admin/models",
        "get",
        op("Routing of every model", "rollouts"),
        &[],
    );
    add(
        "/admin/models/{name}/deploy",
        "post",
        with_body(
            op(
                "Deploy a new primary (the old one is kept for rollback)",
                "rollouts",
            ),
            json!({"source": "models:/churn/4"}),
        ),
        &[&name_param],
    );
    add(
        "/admin/models/{name}/challenger",
        "post",
        with_body(
            op("Load a challenger with a traffic split", "rollouts"),
            json!({"source": "models:/churn/4", "split": {"canary": {"percent": 10}}}),
        ),
        &[&name_param],
    );
    add(
        "/admin/models/{name}/challenger",
        "delete",
        op("Remove the challenger", "rollouts"),
        &[&name_param],
    );
    add(
        "/admin/models/{name}/split",
        "post",
        with_body(
            op("Change the challenger's split", "rollouts"),
            json!({"sticky": {"percent": 50, "header": "x-user-id"}}),
        ),
        &[&name_param],
    );
    add(
        "/admin/models/{name}/promote",
        "post",
        op("Promote the challenger", "rollouts"),
        &[&name_param],
    );
    add(
        "/admin/models/{name}/rollback",
        "post",
        op("Back to the previous version, at once", "rollouts"),
        &[&name_param],
    );
    add(
        "/metrics",
        "get",
        op("Prometheus metrics", "operations"),
        &[],
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "smelt serve", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Smelt models behind the Open Inference Protocol v2, MLflow's scoring protocol and a named-feature JSON route."},
        "paths": Value::Object(paths),
        "components": {
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "security": if app.keys.enabled() { json!([{"bearer": []}, {"apiKey": []}]) } else { json!([]) },
    })
}
