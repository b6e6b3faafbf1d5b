//! Hostile storage specs and trials: passwords in every URL and libpq form stay out of
//! messages, strings that are not file paths never become SQLite files, and a trial that
//! kills every worker running it ends failed instead of being retried forever.
//! Storage hiccups (SQLite busy, PostgreSQL connection loss) are in [`super::hiccup`].

use std::path::Path;

use crate::pruner::NopPruner;
use crate::sampler::RandomSampler;
use crate::space::Space;
use crate::storage::*;
use crate::study::{StaleRule, Study};
use crate::test_support::{Backend, on_every_storage, unique_name};
use crate::trial::{TrialOutcome, now_secs};

/// (spec, the password as written, the password as the server reads it).
const SECRET_FORMS: &[(&str, &str, &str)] = &[
    ("postgres://u:pa/ss@db.lan/t", "pa/ss", "pa/ss"),
    ("postgres://u:pa?ss@db.lan:5432/t", "pa?ss", "pa?ss"),
    ("postgresql://u:pa#ss@db.lan/t", "pa#ss", "pa#ss"),
    ("postgres://u:p@ss@w0rd@db.lan/t", "p@ss@w0rd", "p@ss@w0rd"),
    ("postgres://u:s3:cr:et@db.lan/t", "s3:cr:et", "s3:cr:et"),
    (
        "postgresql://u:p%40ss%2Fw%3Frd@db.lan/t",
        "p%40ss%2Fw%3Frd",
        "p@ss/w?rd",
    ),
    (
        "postgres://u@db.lan/t?password=hunter22",
        "hunter22",
        "hunter22",
    ),
    (
        "postgres://db.lan/t?user=u&password=hun%26ter#2&sslmode=disable",
        "hun%26ter#2",
        "hun&ter#2",
    ),
    (
        "postgres://db.lan/t?PASSWORD=hunter22",
        "hunter22",
        "hunter22",
    ),
    (
        "host=db.lan user=u password='s e c' dbname=t",
        "'s e c'",
        "s e c",
    ),
    (
        r"host=db.lan password = 'it\'s \\ x' user=u",
        r"'it\'s \\ x'",
        r"it's \ x",
    ),
    (
        r"host=db.lan password=a\ b\ c dbname=t",
        r"a\ b\ c",
        "a b c",
    ),
    (
        "host=db.lan user=u password=hunter22",
        "hunter22",
        "hunter22",
    ),
    (
        "host=db.lan sslpassword=keyphrase user=u",
        "keyphrase",
        "keyphrase",
    ),
    ("u:hunter22@db.lan/t", "hunter22", "hunter22"),
    ("mysql://u:hunter22@db.lan/t", "hunter22", "hunter22"),
];

#[test]
fn redact_leaves_no_part_of_any_password_form() {
    for &(spec, raw, read) in SECRET_FORMS {
        let shown = redact(spec);
        assert!(!shown.contains(raw), "{spec} -> {shown}");
        assert!(!shown.contains(read), "{spec} -> {shown}");
        assert!(shown.contains("***"), "{spec} -> {shown}");
        // What is not secret stays readable.
        assert!(shown.contains("db.lan"), "{spec} -> {shown}");
        assert_eq!(spec_for_disk(spec), shown);
    }
    let exact = [
        (
            "postgres://u:p@ss/w?rd@db.lan:5432/t?sslmode=disable",
            "postgres://u:***@db.lan:5432/t?sslmode=disable",
        ),
        (
            r"host=h password='a\\' user=u",
            "host=h password=*** user=u",
        ),
        (
            "postgres://u@h/t?password=x&sslmode=disable",
            "postgres://u@h/t?password=***&sslmode=disable",
        ),
        ("postgres://u@h:5432/t", "postgres://u@h:5432/t"),
        ("runs/study.db", "runs/study.db"),
        ("sqlite:runs/a:b@c.db", "sqlite:runs/a:b@c.db"),
    ];
    for (spec, shown) in exact {
        assert_eq!(redact(spec), shown, "{spec}");
    }
}

#[test]
fn open_storage_errors_never_show_a_password() {
    // Nothing listens on loopback port 1: each PostgreSQL form fails to connect at once.
    let specs = [
        "postgres://u:p@ss/w?rd@127.0.0.1:1/t?connect_timeout=2".to_string(),
        "postgresql://u:p%40ss%2Fword@127.0.0.1:1/t?connect_timeout=2".to_string(),
        "postgres://u@127.0.0.1:1/t?password=hunter22&connect_timeout=2".to_string(),
        "host=127.0.0.1 port=1 user=u password='s e c' connect_timeout=2".to_string(),
        "host=127.0.0.1 port=1 user=u password=hunter22 connect_timeout=2".to_string(),
        "u:hunter22@db.lan/t".to_string(),
        "mysql://u:hunter22@db.lan/t".to_string(),
        "sqlite://u:hunter22@db.lan/t".to_string(),
    ];
    let secrets = [
        "p@ss", "ss/w", "rd@127", "p%40ss", "hunter22", "s e c", "'s e c'",
    ];
    for spec in &specs {
        let e = open_storage(spec).err().unwrap().to_string();
        for s in secrets {
            assert!(!e.contains(s), "{spec} -> {e}");
        }
        assert!(!e.contains('\n'), "{spec} -> one line: {e}");
        assert!(e.starts_with("storage"), "{spec} -> {e}");
        assert!(!Path::new(spec).exists(), "{spec} became a file");
    }
}

#[test]
fn strings_that_are_not_paths_never_become_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let refused = [
        "my study.db port = 5",
        "study.db?mode=ro",
        "u_1:pw@db.lan/t",
        "mysql:study",
        "study\n.db",
    ];
    for spec in refused {
        let e = open_storage(spec).err().unwrap().to_string();
        assert!(e.contains("not a file path"), "{spec:?} -> {e}");
        assert!(e.contains("write sqlite:PATH"), "{spec:?} -> {e}");
        assert!(!e.contains('\n'), "{spec:?} -> {e}");
        assert!(!Path::new(spec).exists(), "{spec:?} became a file");
    }
    // A key=value string is libpq's form: PostgreSQL or a parse error naming the key, with
    // the way to a SQLite file of that name; never a file.
    for spec in ["lr=0.1.db", "lr = 0.1"] {
        let e = open_storage(spec).err().unwrap().to_string();
        #[cfg(feature = "postgres")]
        assert!(
            e.contains("unknown option `lr`") && e.contains("sqlite:PATH"),
            "{e}"
        );
        #[cfg(not(feature = "postgres"))]
        assert!(e.contains("no PostgreSQL storage"), "{e}");
        assert!(!Path::new(spec).exists());
    }
    // Odd but clear paths still open, and sqlite:PATH takes any name literally.
    #[cfg(feature = "sqlite")]
    for path in [
        dir.path().join("lr=0.1.db").display().to_string(),
        dir.path().join("a@b:c.db").display().to_string(),
    ] {
        open_storage(&path).unwrap();
        assert!(Path::new(&path).exists(), "{path}");
    }
    #[cfg(feature = "sqlite")]
    {
        let odd = dir.path().join("host=h user=u.db");
        open_storage(&format!("sqlite:{}", odd.display())).unwrap();
        assert!(odd.exists());
    }
}

#[cfg(feature = "postgres")]
#[test]
fn a_libpq_key_value_string_opens_the_test_server() {
    let Some(url) = crate::test_support::pg_url() else {
        return;
    };
    let c: ::postgres::Config = url.parse().unwrap();
    let host = match &c.get_hosts()[0] {
        ::postgres::config::Host::Tcp(h) => h.clone(),
        #[allow(unreachable_patterns)]
        other => panic!("the test server listens on TCP, not {other:?}"),
    };
    let spec = format!(
        "host={host} port={} user={} dbname={} password='s e c' application_name=hostile",
        c.get_ports().first().copied().unwrap_or(5432),
        c.get_user().unwrap(),
        c.get_dbname().unwrap(),
    );
    let mut s = open_storage(&spec).unwrap();
    let name = unique_name("keyvalue");
    let info = s.create_study(&name, Direction::Minimize).unwrap();
    assert_eq!(s.find_study(&name).unwrap(), Some(info));
    assert!(!Path::new(&spec).exists());
    let shown = format!("{:?}", PostgresStorage::connect(&spec).unwrap());
    assert!(
        shown.contains("password=***") && !shown.contains("s e c"),
        "{shown}"
    );
}

fn study_on(b: &Backend, name: &str) -> Study {
    Study::create(
        b.open(),
        name,
        Direction::Minimize,
        Space::from_toml_str("x = { uniform = [0.0, 1.0] }").unwrap(),
        Box::new(RandomSampler),
        Box::new(NopPruner),
        1,
    )
    .unwrap()
    .with_stale_rule(StaleRule::Never)
    .unwrap()
}

/// Every running trial's worker "dies": the trial is failed as stale, as a worker's next
/// `ask_within` would after the heartbeat timeout.
fn kill_running(b: &Backend, name: &str) {
    let mut s = b.open();
    let id = s.find_study(name).unwrap().unwrap().id;
    s.fail_stale(id, f64::NEG_INFINITY, now_secs()).unwrap();
}

on_every_storage!(
    a_trial_that_goes_stale_twice_ends_failed_and_the_study_finishes,
    a_study_whose_every_trial_kills_its_worker_still_ends,
);

fn a_trial_that_goes_stale_twice_ends_failed_and_the_study_finishes(b: &Backend) {
    let name = unique_name("stale-twice");
    let mut study = study_on(b, &name);
    let t0 = study.ask_within(2).unwrap().unwrap();
    kill_running(b, &name);
    let t1 = study.ask_within(2).unwrap().unwrap();
    assert_eq!(t1.attrs.get(RETRIED_FROM_ATTR), Some(&0.0), "first retry");
    assert_eq!(t1.params, t0.params);
    kill_running(b, &name);
    // Trial 1 (trial 0's retry) went stale too: given up, counted, and a fresh trial 2 is
    // sampled instead of a third run of the same parameters.
    let t2 = study.ask_within(2).unwrap().unwrap();
    assert_eq!(t2.number, 2);
    assert_eq!(t2.attrs.get(RETRIED_FROM_ATTR), None);
    study.tell(2, TrialOutcome::Complete(0.5)).unwrap();
    assert_eq!(study.ask_within(2).unwrap(), None, "budget of 2 spent");
    let trials = study.trials().unwrap();
    assert_eq!(trials.len(), 3);
    assert_eq!(
        trials[0].message.as_deref(),
        Some(&*format!("{STALE_MESSAGE}; retried as trial 1"))
    );
    assert_eq!(trials[1].state, TrialState::Failed);
    assert_eq!(trials[1].message.as_deref(), Some(GAVE_UP_MESSAGE));
    assert!(!is_stale(trials[1].state, trials[1].message.as_deref()));
    // Its slow process can no longer finish it either.
    let e = study.tell(1, TrialOutcome::Complete(1.0)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("trial 1: already failed ({GAVE_UP_MESSAGE})")
    );
}

fn a_study_whose_every_trial_kills_its_worker_still_ends(b: &Backend) {
    let name = unique_name("all-die");
    let mut study = study_on(b, &name);
    let budget = 3;
    let mut allocated = 0;
    while let Some(t) = study.ask_within(budget).unwrap() {
        allocated += 1;
        assert!(allocated <= budget * 2, "trial {} allocated", t.number);
        kill_running(b, &name);
    }
    // Each slot: the original and one retry, both dead.
    assert_eq!(allocated, budget * 2);
    let trials = study.trials().unwrap();
    let gave_up = trials
        .iter()
        .filter(|t| t.message.as_deref() == Some(GAVE_UP_MESSAGE))
        .count();
    assert_eq!(gave_up, budget);
    assert!(trials.iter().all(|t| t.state == TrialState::Failed));
}
