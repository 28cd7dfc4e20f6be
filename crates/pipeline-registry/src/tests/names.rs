//! Issue 21: run names and short ids, selectable wherever an id is.

use super::{new_run, open_temp};
use crate::{NewRun, RegistryError, RunFilter, RunSelector, SHORT_ID_MIN};

fn named(experiment: &str, name: &str) -> NewRun {
    NewRun {
        name: Some(name.to_owned()),
        ..new_run(experiment, false)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn runs_made_within_a_second_get_distinct_short_ids_that_select_them() {
    let (_dir, reg) = open_temp().await;
    let mut ids = Vec::new();
    for _ in 0..300 {
        ids.push(reg.create_run(&new_run("burst", false)).await.unwrap());
    }
    let short_ids = reg.short_ids().await.unwrap();
    let mut seen = std::collections::HashSet::new();
    for id in &ids {
        let short = short_ids.get(id);
        assert!(short.len() >= SHORT_ID_MIN, "{short}");
        assert!(seen.insert(short.clone()), "{short} printed twice");
        let typed = RunSelector::Id(short.to_uppercase());
        assert_eq!(&reg.resolve(&typed, None).await.unwrap(), id, "{short}");
        // A 12-character id prefix (the time) no longer tells runs apart.
        assert!(!id.as_str()[..12].contains(short.as_str()));
    }
    // The listing carries the same short ids.
    let listed = reg.list_runs(&RunFilter::default()).await.unwrap();
    for run in &listed {
        assert_eq!(run.short_id, short_ids.get(&run.id));
    }
    // Four characters shared by several short ids: ambiguous, listing them
    // by short id and id.
    let first = short_ids.get(&ids[0]);
    let four = &first[..4];
    let sharing: Vec<_> = ids
        .iter()
        .filter(|id| short_ids.get(id).starts_with(four))
        .collect();
    let result = reg.resolve(&RunSelector::Id(four.to_owned()), None).await;
    if sharing.len() == 1 {
        assert_eq!(&result.unwrap(), &ids[0]);
    } else {
        match result {
            Err(RegistryError::AmbiguousRun { prefix, matches }) => {
                assert_eq!(prefix, four);
                assert!(matches.iter().any(|m| m.starts_with(&first)), "{matches:?}");
            }
            other => panic!("expected AmbiguousRun, got {other:?}"),
        }
    }
    // Three characters are never read as a short id.
    assert!(
        reg.resolve(&RunSelector::Id(first[..3].to_owned()), None)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_name_selects_its_run_and_is_unique() {
    let (_dir, reg) = open_temp().await;
    let a = reg.create_run(&named("exp", "baseline")).await.unwrap();
    let b = reg.create_run(&new_run("exp", false)).await.unwrap();
    let by_name = RunSelector::Id("baseline".to_owned());
    assert_eq!(reg.resolve(&by_name, None).await.unwrap(), a);
    // Whatever --experiment says, as an exact id or an alias.
    assert_eq!(reg.resolve(&by_name, Some("other")).await.unwrap(), a);
    assert_eq!(reg.run(&a).await.unwrap().name.as_deref(), Some("baseline"));

    let err = reg.create_run(&named("exp", "baseline")).await.unwrap_err();
    match &err {
        RegistryError::InvalidInput { what, reason } => {
            assert!(what.contains("baseline"), "{what}");
            assert!(reason.contains(a.as_str()), "{reason}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert!(
        reg.set_name(&b, Some("baseline")).await.is_err(),
        "a second run cannot take the name"
    );

    // Renamed, then the old name selects nothing and the new one selects it.
    reg.set_name(&a, Some("tuned")).await.unwrap();
    assert!(reg.resolve(&by_name, None).await.is_err());
    reg.set_name(&b, Some("baseline")).await.unwrap();
    assert_eq!(reg.resolve(&by_name, None).await.unwrap(), b);
    reg.set_name(&b, None).await.unwrap();
    assert_eq!(reg.run(&b).await.unwrap().name, None);

    let listed = reg.list_runs(&RunFilter::default()).await.unwrap();
    let names: Vec<_> = listed.iter().map(|r| r.name.as_deref()).collect();
    assert_eq!(names, [None, Some("tuned")]);
}

#[tokio::test(flavor = "current_thread")]
async fn names_that_read_as_selectors_or_ids_are_refused() {
    let (_dir, reg) = open_temp().await;
    for bad in [
        "",
        " ",
        "latest",
        "best",
        "best:test_r2",
        "cafe",
        "0193abcd",
        "has space",
        "9lives",
    ] {
        let err = reg.create_run(&named("exp", bad)).await.unwrap_err();
        assert!(
            matches!(err, RegistryError::InvalidInput { .. }),
            "{bad:?}: {err:?}"
        );
    }
    for good in ["baseline", "lr-0.01", "tuned/fold-1-of-5", "Größe_2"] {
        reg.create_run(&named("exp", good)).await.unwrap();
    }
}
