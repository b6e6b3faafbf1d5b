use std::io::Write as _;

use super::*;

fn parse(text: &str) -> Result<GroupsFile, FairError> {
    GroupsFile::parse(text, Path::new("groups.csv"))
}

/// The one-line message of a groups-file error, `FILE:LINE: ...`.
fn error(text: &str) -> String {
    match parse(text) {
        Err(e @ FairError::BadGroupsFile { .. }) => e.to_string(),
        other => panic!("expected BadGroupsFile, got {other:?}"),
    }
}

#[test]
fn paths_map_to_groups_numbered_in_name_order() {
    let file = parse("key,group\ncat/1.png,site B\ndog/1.png,site A\ncat/2.png,site B\n").unwrap();
    assert_eq!(file.names, ["site A", "site B"]);
    assert_eq!(file.kind(), KeyKind::Path);
    assert_eq!(file.group_of_path("cat/1.png"), Some(1));
    assert_eq!(file.group_of_path("dog/1.png"), Some(0));
    assert_eq!(file.group_of_path("dog/2.png"), None);
    assert_eq!(file.group_of_index(0), None);
    assert_eq!(
        file.assign_paths(&["dog/1.png", "cat/2.png", "cat/1.png"])
            .unwrap(),
        [0, 1, 1]
    );
}

#[test]
fn indices_map_to_groups_and_cover_train_then_test() {
    let file = parse("key,group\n0,b\n1,a\n2,b\n3,a\n").unwrap();
    assert_eq!(file.kind(), KeyKind::Index);
    assert_eq!(file.assign_indices(4).unwrap(), [1, 0, 1, 0]);
    assert_eq!(file.group_of_index(2), Some(1));
    assert_eq!(file.group_of_path("2"), None);
    let message = file.assign_indices(5).unwrap_err().to_string();
    assert_eq!(message, "groups.csv:0: no group for sample index 4");
}

#[test]
fn the_first_unlisted_sample_is_an_error_naming_it() {
    let file = parse("key,group\ncat/1.png,a\n").unwrap();
    let message = file
        .assign_paths(&["cat/1.png", "cat/9.png", "cat/8.png"])
        .unwrap_err()
        .to_string();
    assert_eq!(message, "groups.csv:0: no group for sample \"cat/9.png\"");
}

#[test]
fn a_file_of_the_wrong_kind_for_the_source_is_an_error() {
    let paths = parse("key,group\ncat/1.png,a\n").unwrap();
    assert!(
        paths
            .assign_indices(1)
            .unwrap_err()
            .to_string()
            .contains("holds file paths")
    );
    let indices = parse("key,group\n0,a\n").unwrap();
    let message = indices.assign_paths(&["0"]).unwrap_err().to_string();
    assert!(message.contains("holds sample indices"), "{message}");
}

#[test]
fn crlf_line_ends_a_bom_and_blank_lines_are_accepted() {
    let file = parse("\u{feff}key,group\r\n\r\ncat/1.png,a\r\n  dog/1.png , b \r\n\r\n").unwrap();
    assert_eq!(file.names, ["a", "b"]);
    assert_eq!(file.group_of_path("dog/1.png"), Some(1));
}

#[test]
fn quoted_fields_hold_commas_and_doubled_quotes() {
    let file = parse("key,group\n\"cat/a,b.png\",\"say \"\"hi\"\"\"\n").unwrap();
    assert_eq!(file.names, ["say \"hi\""]);
    assert_eq!(file.group_of_path("cat/a,b.png"), Some(0));
    assert_eq!(
        error("key,group\n\"cat/1.png,a\n"),
        "groups.csv:2: a quoted field is not closed: \"\\\"cat/1.png,a\""
    );
    assert!(error("key,group\n\"cat/1.png\"x,a\n").contains("text after a closing quote"));
    assert!(error("key,group\ncat/\"1.png,a\n").contains("a quote inside an unquoted field"));
}

#[test]
fn a_missing_header_is_an_error() {
    assert_eq!(
        error("cat/1.png,a\n"),
        "groups.csv:1: expected the header `key,group`, found \"cat/1.png,a\""
    );
    assert_eq!(
        error("\n\n"),
        "groups.csv:0: empty: expected the header `key,group`"
    );
    assert_eq!(
        error("key,group\r\n"),
        "groups.csv:0: no rows after the header"
    );
}

#[test]
fn a_key_given_twice_is_an_error_naming_both_lines() {
    assert_eq!(
        error("key,group\ncat/1.png,a\ndog/1.png,a\ncat/1.png,a\n"),
        "groups.csv:4: key \"cat/1.png\" given twice (first on line 2)"
    );
    // "07" and "7" are the same sample.
    assert_eq!(
        error("key,group\n7,a\n07,b\n"),
        "groups.csv:3: key \"07\" given twice (first on line 2)"
    );
}

#[test]
fn empty_and_oversized_fields_are_errors() {
    assert_eq!(
        error("key,group\ncat/1.png,\n"),
        "groups.csv:2: empty group name"
    );
    assert_eq!(error("key,group\n  ,a\n"), "groups.csv:2: empty key");
    let long = "x".repeat(MAX_GROUP_NAME_BYTES + 1);
    let message = error(&format!("key,group\ncat/1.png,{long}\n"));
    // The name is quoted to 60 characters.
    let quoted = format!("\"{}\"…", "x".repeat(60));
    assert_eq!(
        message,
        format!("groups.csv:2: group name {quoted} is 101 bytes, over the limit of 100")
    );
    let long_key = format!("a/{}", "k".repeat(MAX_KEY_BYTES));
    assert!(error(&format!("key,group\n{long_key},a\n")).contains("over the limit of 4096"));
    assert!(error("key,group\ncat/1.png,a\tb\n").contains("holds a control character"));
}

#[test]
fn wrong_field_counts_are_errors() {
    assert_eq!(
        error("key,group\ncat/1.png\n"),
        "groups.csv:2: expected two fields `key,group`, found 1 in \"cat/1.png\""
    );
    assert!(error("key,group\ncat/1.png,a,b\n").contains("found 3"));
}

#[test]
fn a_mixed_file_of_paths_and_indices_is_an_error() {
    assert_eq!(
        error("key,group\ncat/1.png,a\n3,a\n"),
        "groups.csv:3: key \"3\" is a sample index, but earlier keys are file paths: a file \
         holds paths (folder sources) or indices (IDX, CIFAR), not both"
    );
    assert!(error("key,group\n3,a\ncat/1.png,a\n").contains("is a file path, but earlier"));
}

#[test]
fn paths_must_be_plain_and_relative() {
    for key in [
        "/cat/1.png",
        "./cat/1.png",
        "cat//1.png",
        "../cat/1.png",
        "cat/",
    ] {
        let message = error(&format!("key,group\n{key},a\n"));
        assert!(
            message.contains("not a plain relative path"),
            "{key}: {message}"
        );
    }
}

#[test]
fn an_index_past_usize_is_an_error() {
    let message = error("key,group\n99999999999999999999999,a\n");
    assert!(message.contains("is too large"), "{message}");
}

#[test]
fn more_than_max_groups_is_an_error_at_the_new_group() {
    let mut text = String::from("key,group\n");
    for i in 0..=MAX_GROUPS {
        text.push_str(&format!("{i},g{i}\n"));
    }
    assert_eq!(
        error(&text),
        format!(
            "groups.csv:{}: group \"g256\" would be group 257, over the limit of 256",
            MAX_GROUPS + 2
        )
    );
    // Exactly MAX_GROUPS is fine.
    let at_limit: String = text
        .lines()
        .take(MAX_GROUPS + 1)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(parse(&at_limit).unwrap().names.len(), MAX_GROUPS);
}

#[test]
fn a_lone_carriage_return_is_an_error() {
    assert_eq!(
        error("key,group\rcat/1.png,a\r"),
        "groups.csv:1: a carriage return inside a line: line ends must be LF or CRLF"
    );
}

#[test]
fn read_refuses_non_utf8_naming_the_line() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"key,group\ncat/1.png,a\ncat/2.png,caf\xe9\n")
        .unwrap();
    let message = GroupsFile::read(file.path()).unwrap_err().to_string();
    assert!(
        message.ends_with(":3: not UTF-8: an invalid byte at byte 14 of the line"),
        "{message}"
    );
}

#[test]
fn read_refuses_an_oversized_file_from_its_metadata() {
    let file = tempfile::NamedTempFile::new().unwrap();
    // A sparse file: the size check must come before any read.
    file.as_file().set_len(MAX_GROUPS_FILE_BYTES + 1).unwrap();
    let message = GroupsFile::read(file.path()).unwrap_err().to_string();
    assert!(
        message.ends_with(":0: 134217729 bytes, over the limit of 134217728 bytes"),
        "{message}"
    );
}

#[test]
fn read_parses_a_file_and_names_a_missing_one() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"key,group\r\n0,a\r\n1,b\r\n").unwrap();
    let groups = GroupsFile::read(file.path()).unwrap();
    assert_eq!(groups.assign_indices(2).unwrap(), [0, 1]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    assert!(matches!(
        GroupsFile::read(&missing),
        Err(FairError::Io { .. })
    ));
    let message = GroupsFile::read(dir.path()).unwrap_err().to_string();
    assert!(message.ends_with(":0: not a regular file"), "{message}");
}
