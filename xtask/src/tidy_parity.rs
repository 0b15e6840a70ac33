//! The architecture chapter's parity table (`book/src/architecture.md`, between `<!-- parity:begin -->` and
//! `<!-- parity:end -->`): every AWS behaviour a learner's code can meet, what the local cloud does about it, and the
//! tests that show it. A row that names a test that does not exist would be a claim nobody checks.

use crate::steps::root;

/// One row of the table.
struct Row {
    behaviour: String,
    status: String,
    tests: Vec<String>,
}

fn rows() -> Vec<Row> {
    let chapter = std::fs::read_to_string(root().join("book/src/architecture.md")).expect("the architecture chapter");
    let table = chapter
        .split("<!-- parity:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- parity:end -->").next())
        .expect("the architecture chapter has its parity table between <!-- parity:begin --> and <!-- parity:end -->");
    table
        .lines()
        .filter(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "a parity row has four cells: {line}");
            Row {
                behaviour: cells[0].to_owned(),
                status: cells[2].to_owned(),
                tests: cells[3].split('`').skip(1).step_by(2).map(str::to_owned).collect(),
            }
        })
        .collect()
}

#[test]
fn every_parity_row_names_tests_that_exist() {
    let rows = rows();
    assert!(rows.len() > 10, "the parity table lost its rows");
    let mut missing = vec![];
    for row in &rows {
        for test in &row.tests {
            let Some((file, name)) = test.split_once("::") else {
                missing.push(format!(
                    "{test:?} (not `path/to/file.rs::test_name`), in {:?}",
                    row.behaviour
                ));
                continue;
            };
            let found =
                std::fs::read_to_string(root().join(file)).is_ok_and(|text| text.contains(&format!("fn {name}(")));
            if !found {
                missing.push(format!("{file} has no test `{name}`, named for {:?}", row.behaviour));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the parity table names tests that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_parity_row_says_enforced_refused_or_differs_and_an_enforced_one_shows_a_test() {
    for row in rows() {
        let word = row.status.split([':', ',', ';', ' ']).next().unwrap_or("");
        assert!(
            ["enforced", "refused", "differs"].contains(&word),
            "{:?}: the local cloud's column starts with enforced, refused or differs, not {:?}",
            row.behaviour,
            row.status
        );
        assert!(
            word == "differs" || !row.tests.is_empty(),
            "{:?} is {word}: which test shows it?",
            row.behaviour
        );
    }
}
