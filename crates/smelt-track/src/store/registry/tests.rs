//! Tests of the registry: models, versions, tags, aliases, renames, deletes, lineage.

use super::super::tests::backends;
use super::*;
use crate::ErrorCode;

#[tokio::test]
async fn registry_round_trip() {
    for (s, _dir) in backends().await {
        let run = s
            .create_run(super::super::RunCreate::default())
            .await
            .expect("run")
            .info
            .run_id;
        s.create_registered_model("iris", &[KeyValue::new("team", "a")], "first")
            .await
            .expect("creates");
        assert_eq!(
            s.create_registered_model("iris", &[], "")
                .await
                .expect_err("dup")
                .code(),
            ErrorCode::ResourceAlreadyExists
        );
        let v1 = s
            .create_model_version(VersionCreate {
                name: "iris".into(),
                source: format!("runs:/{run}/model"),
                run_id: run.clone(),
                ..Default::default()
            })
            .await
            .expect("v1");
        assert_eq!(
            (
                v1.version.as_str(),
                v1.status.as_str(),
                v1.current_stage.as_str()
            ),
            ("1", "READY", "None")
        );
        let v2 = s
            .create_model_version(VersionCreate {
                name: "iris".into(),
                source: "models:/m-x".into(),
                ..Default::default()
            })
            .await
            .expect("v2");
        assert_eq!(v2.version, "2");
        s.set_registered_model_alias("iris", "champion", "1")
            .await
            .expect("alias");
        s.set_registered_model_alias("iris", "challenger", "2")
            .await
            .expect("alias");
        assert_eq!(
            s.get_model_version_by_alias("iris", "champion")
                .await
                .expect("by alias")
                .version,
            "1"
        );
        s.set_registered_model_alias("iris", "champion", "2")
            .await
            .expect("moves");
        let v2 = s.get_model_version("iris", "2").await.expect("v2");
        assert_eq!(
            v2.aliases,
            vec!["challenger".to_string(), "champion".to_string()]
        );
        assert!(
            s.set_registered_model_alias("iris", "x", "9")
                .await
                .is_err(),
            "no such version"
        );
        let uri = s
            .get_model_version_download_uri("iris", "1")
            .await
            .expect("uri");
        assert_eq!(uri, format!("mlflow-artifacts:/0/{run}/artifacts/model"));
        s.set_model_version_tag("iris", "1", "k", "v")
            .await
            .expect("tag");
        assert_eq!(
            s.get_model_version("iris", "1").await.expect("v1").tags,
            vec![KeyValue::new("k", "v")]
        );
        s.update_model_version("iris", "1", "desc")
            .await
            .expect("update");
        let moved = s
            .transition_model_version_stage("iris", "1", "production", true)
            .await
            .expect("stage");
        assert_eq!(moved.current_stage, "Production");
        let m = s
            .rename_registered_model("iris", "iris2")
            .await
            .expect("rename");
        assert_eq!(m.aliases.len(), 2);
        assert_eq!(
            s.get_model_version("iris2", "1")
                .await
                .expect("follows")
                .description,
            "desc"
        );
        s.delete_model_version("iris2", "2")
            .await
            .expect("delete version");
        assert!(
            s.get_model_version_by_alias("iris2", "champion")
                .await
                .is_err(),
            "alias went with the version"
        );
        // The highest version is gone, but its number is not reused (renamed model too).
        let next = s
            .create_model_version(VersionCreate {
                name: "iris2".into(),
                source: "s3://b/m".into(),
                run_id: "not-a-run-here".into(),
                ..Default::default()
            })
            .await
            .expect("a run id this store does not hold is kept as given");
        assert_eq!(
            (next.version.as_str(), next.run_id.as_str()),
            ("3", "not-a-run-here")
        );
        s.delete_registered_model("iris2").await.expect("delete");
        assert_eq!(
            s.get_registered_model("iris2")
                .await
                .expect_err("gone")
                .code(),
            ErrorCode::ResourceDoesNotExist
        );
    }
}
