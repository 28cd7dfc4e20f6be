//! The work queue (`work.rs`) and the owner fence: claims in order and
//! once each, leases renewed, reaped on the database's clock, attempts
//! counted, and a handle that lost its run writes nothing.

use std::time::Duration;

use super::{metric, new_run, open_temp};
use crate::{Registry, RegistryError, RunStatus, WorkEnd, WorkKind};

const LONG: Duration = Duration::from_secs(600);

/// Submits `n` runs and returns the registry.
async fn submitted(reg: &Registry, n: usize, attempts: u32) -> Vec<crate::RunId> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(
            reg.submit_run(&new_run("exp", false), attempts)
                .await
                .unwrap(),
        );
    }
    ids
}

#[tokio::test(flavor = "current_thread")]
async fn items_are_claimed_oldest_first_and_once() {
    let (_dir, reg) = open_temp().await;
    let ids = submitted(&reg, 3, 3).await;
    let mut claimed = Vec::new();
    while let Some(item) = reg.claim_work("w", LONG, None).await.unwrap() {
        claimed.push(item);
    }
    let kinds: Vec<WorkKind> = claimed.iter().map(|c| c.kind.clone()).collect();
    let expected: Vec<WorkKind> = ids.iter().cloned().map(WorkKind::Run).collect();
    assert_eq!(kinds, expected);
    let tokens: std::collections::HashSet<&str> =
        claimed.iter().map(|c| c.token.as_str()).collect();
    assert_eq!(tokens.len(), 3, "one lease each");
    // A submitted run waits for a worker: the crash check leaves it queued.
    reg.mark_crashed_runs().await.unwrap();
    for id in &ids {
        assert_eq!(reg.run(id).await.unwrap().status, RunStatus::Queued);
    }
    let counts = reg.queue_counts(None).await.unwrap();
    assert_eq!((counts.queued, counts.leased), (0, 3));
}

#[tokio::test(flavor = "current_thread")]
async fn an_expired_lease_is_reaped_and_its_holder_writes_nothing() {
    let (_dir, reg) = open_temp().await;
    let [id] = <[_; 1]>::try_from(submitted(&reg, 1, 3).await).unwrap();
    let first = reg
        .claim_work("w1", Duration::ZERO, None)
        .await
        .unwrap()
        .unwrap();
    let holder = reg.owned_by(&first.token);
    holder.start_run(&id).await.unwrap();
    holder
        .record_epoch(&id, 1, &[metric("train", "loss", 0.5)])
        .await
        .unwrap();

    let reaped = reg.reap_expired().await.unwrap();
    assert_eq!(reaped.len(), 1);
    assert_eq!(reaped[0].run.as_ref(), Some(&id));
    assert!(!reaped[0].failed);
    assert_eq!(reg.run(&id).await.unwrap().status, RunStatus::Crashed);
    // Reaped once: a second reaper finds nothing.
    assert!(reg.reap_expired().await.unwrap().is_empty());
    assert!(
        !reg.renew_lease(first.item, &first.token, LONG)
            .await
            .unwrap()
    );
    assert!(
        !reg.end_work(first.item, &first.token, "w1", &WorkEnd::Done)
            .await
            .unwrap()
    );

    // Another worker takes it over: the first holder's writes are refused.
    let second = reg.claim_work("w2", LONG, None).await.unwrap().unwrap();
    assert_eq!(second.item, first.item);
    assert_eq!(second.attempts, 1);
    let taker = reg.owned_by(&second.token);
    taker.resume_run(&id, 1).await.unwrap();
    let refused = holder
        .record_epoch(&id, 2, &[metric("train", "loss", 0.4)])
        .await
        .unwrap_err();
    assert!(
        matches!(refused, RegistryError::LostRun { .. }),
        "{refused:?}"
    );
    assert!(holder.heartbeat(&id).await.is_err());
    assert!(
        holder
            .end_run(&id, crate::EndStatus::Failed, None)
            .await
            .is_err()
    );
    taker
        .record_epoch(&id, 2, &[metric("train", "loss", 0.4)])
        .await
        .unwrap();
    assert_eq!(reg.run(&id).await.unwrap().epochs_run, 2);
    assert!(
        reg.renew_lease(second.item, &second.token, LONG)
            .await
            .unwrap()
    );
    assert!(
        reg.end_work(second.item, &second.token, "w2", &WorkEnd::Done)
            .await
            .unwrap()
    );
    assert_eq!(reg.queue_counts(None).await.unwrap().done, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn the_last_lost_lease_fails_the_item_and_its_run() {
    let (_dir, reg) = open_temp().await;
    let [id] = <[_; 1]>::try_from(submitted(&reg, 1, 1).await).unwrap();
    let claimed = reg
        .claim_work("w", Duration::ZERO, None)
        .await
        .unwrap()
        .unwrap();
    reg.owned_by(&claimed.token).start_run(&id).await.unwrap();
    let reaped = reg.reap_expired().await.unwrap();
    assert!(reaped[0].failed);
    let run = reg.run(&id).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.unwrap().contains("gave up after 1"));
    assert!(reg.claim_work("w", LONG, None).await.unwrap().is_none());
    assert_eq!(reg.queue_counts(None).await.unwrap().failed, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_handed_back_item_keeps_its_attempts_and_a_retry_counts_one() {
    let (_dir, reg) = open_temp().await;
    submitted(&reg, 1, 2).await;
    let first = reg.claim_work("w", LONG, None).await.unwrap().unwrap();
    assert!(
        reg.end_work(first.item, &first.token, "w", &WorkEnd::GiveBack)
            .await
            .unwrap()
    );
    let second = reg.claim_work("w", LONG, None).await.unwrap().unwrap();
    assert_eq!(second.attempts, 0);
    let retry = WorkEnd::Retry("disk full".to_owned());
    assert!(
        reg.end_work(second.item, &second.token, "w", &retry)
            .await
            .unwrap()
    );
    let third = reg.claim_work("w", LONG, None).await.unwrap().unwrap();
    assert_eq!(third.attempts, 1);
    assert!(
        reg.end_work(third.item, &third.token, "w", &retry)
            .await
            .unwrap()
    );
    assert!(reg.claim_work("w", LONG, None).await.unwrap().is_none());
    assert_eq!(reg.queue_counts(None).await.unwrap().failed, 1);
}
