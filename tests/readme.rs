//! README stays true to the code: every finding id is listed, in the
//! order of `FindingId::ALL`, with the meaning the code gives it.

use mailwire::finding::FindingId;

const BEGIN: &str = "<!-- finding ids: begin";
const END: &str = "<!-- finding ids: end -->";

/// `(id, meaning)` of every row of README's findings table.
fn readme_rows() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README has the finding ids table");
    let end = readme[start..].find(END).expect("the table ends") + start;
    readme[start..end]
        .lines()
        .filter_map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let id = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            Some((id.to_string(), cells.get(1)?.to_string()))
        })
        .collect()
}

#[test]
fn readme_lists_every_finding_id_with_its_meaning() {
    let rows = readme_rows();
    let want: Vec<(String, String)> = FindingId::ALL
        .iter()
        .map(|id| (id.as_str().to_string(), id.meaning().to_string()))
        .collect();
    // On a difference, the rows to paste (add a fix in the third column).
    let expected: String = want
        .iter()
        .map(|(id, meaning)| format!("| `{id}` | {meaning} | ... |\n"))
        .collect();
    assert_eq!(
        rows.iter().map(|r| &r.0).collect::<Vec<_>>(),
        want.iter().map(|r| &r.0).collect::<Vec<_>>(),
        "README's finding ids differ from FindingId::ALL; the rows should be:\n{expected}"
    );
    for ((id, meaning), (_, code)) in rows.iter().zip(&want) {
        assert_eq!(
            meaning, code,
            "README's meaning of {id} differs from the code's"
        );
    }
}

#[test]
fn readme_has_no_retired_starttls_result() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        !readme.contains("not_requested"),
        "not_requested is no STARTTLS result"
    );
    for result in [
        "upgraded",
        "not_offered",
        "refused",
        "handshake_failed",
        "implicit",
        "not_attempted",
    ] {
        assert!(
            readme.contains(&format!("`{result}`")),
            "README lacks the result {result}"
        );
    }
}
